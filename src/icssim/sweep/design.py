"""Designs: which settings to run. Full grid, Latin hypercube, one-at-a-time; times bases and areas.

Every point is a base scenario with some values set by key path (and, for area
sweeps, a population and capacities scaled to it). Each point's scenario is built
from a deep copy of the base's merged data (to validate it, from a copy of only what it
changes: :func:`read_only_raw`) and validated like a scenario file, so a wrong value is
reported with its key path (:func:`validate_points`; a point that differs from one validated
before only in its area, by what its area changes: :mod:`icssim.sweep.point_checks`). A point
keeps only its values: its scenario data is built again when a run needs it, so that a design
of thousands of points (a PSA) does not hold thousands of scenarios in memory.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any

import numpy as np

from icssim.errors import IcssimError, ScenarioError, as_yaml
from icssim.estimate import expected_patients
from icssim.scenario import Scenario, provenance, scenario_from_dict
from icssim.scenario.initial_state import anchored_raw
from icssim.scenario.schema import StaffRole
from icssim.sweep.paths import MISSING, check_path, get_path, set_path, split_path
from icssim.sweep.spec import Parameter, Sweep
from icssim.sweep.ties import parameter_targets
from icssim.sweep.value_units import value_units, with_unit

#: Scenario keys that hold whole numbers (scaled values are rounded for these).
INTEGER_KEYS = {"beds", "caseload", "discharge_after", "seed", "population"}


@dataclass
class Point:
    """One setting of the sweep: a base scenario, an area, and parameter values."""

    index: int
    base: str
    values: dict[str, Any]
    area: str | None = None
    population: int | None = None
    role: str = "grid"              # grid | lhs | psa | base | low | high
    varied: str | None = None       # oat: the parameter moved away from its base value
    build: Callable[[Point], dict[str, Any]] | None = field(default=None, repr=False, compare=False)
    expected_patients: float = 0.0
    _key: str = field(default="", repr=False, compare=False)

    @property
    def raw(self) -> dict[str, Any]:
        """The point's scenario data, built afresh from its base's each time it is asked for."""
        return self.build(self) if self.build is not None else {}

    @property
    def key(self) -> str:
        """A content hash of the point's scenario (identifies it across processes)."""
        if not self._key:
            self._key = raw_key(self.raw)
        return self._key

    @cached_property
    def scenario(self) -> Scenario:
        """The point's validated scenario (built when first asked for, then kept)."""
        return scenario_from_dict(self.raw, name=f"sweep point {self.index}")

    def describe(self) -> str:
        parts = [self.base] + ([self.area] if self.area else [])
        if self.role == "base":
            parts.append("every parameter at its base value")
        elif self.role in ("low", "high"):
            parts.append(f"{self.role}: {self.varied}={_fmt(self.values[self.varied])}")
        else:
            parts += [f"{k}={_fmt(v)}" for k, v in self.values.items()]
        return ", ".join(parts)

    def row(self) -> dict[str, Any]:
        return {"point": self.index, "base": self.base, "area": self.area, "population": self.population,
                "role": self.role, "varied": self.varied, **self.values}


def build_points(sweep: Sweep) -> list[Point]:
    """Every point of the sweep, validated (raises :class:`IcssimError` naming the key path)."""
    points = design_points(sweep)
    validate_points(sweep, points)
    return points


def design_points(sweep: Sweep) -> list[Point]:
    """Every point of the sweep, not yet validated (:func:`validate_points`): each with its base's
    expected patients (scaled to its area's population), which validating makes exact. Checks
    that every parameter path exists in every base (in a PSA, and for a table of draws' columns,
    in at least one, with its ties: :func:`parameter_targets`), and that every number is in a
    unit the rule of :mod:`icssim.sweep.value_units` accepts."""
    spec = sweep.spec
    points: list[Point] = []
    targets = parameter_targets(sweep)
    units = value_units(sweep)
    if spec.is_psa:
        from icssim.sweep.draw_checks import refuse_unreachable  # scipy: loaded only for a PSA

        refuse_unreachable(sweep, targets, units)
    if sweep.areas:
        for path in spec.areas.scale:
            for label, scenario in sweep.running.items():
                raw = provenance(scenario).raw
                check_path(raw, path, sweep.base_files[label], f"{sweep.path}: areas.scale: {path!r}")
                if not isinstance(get_path(raw, path), (int, float)):
                    raise IcssimError(f"{sweep.path}: areas.scale: {path!r} must be a number in "
                                      f"{sweep.base_files[label]}, found {get_path(raw, path)!r}")
        for label, scenario in sweep.running.items():
            fixed = [n for n, c in scenario.cohorts.items() if c.rate is not None]
            if fixed:
                raise IcssimError(
                    f"{sweep.path}: areas: cohort(s) {', '.join(fixed)} in {sweep.base_files[label]} have a "
                    "fixed 'rate'; an area sweep scales demand with population, so give them "
                    "'rate_per_100k_per_year' instead")
            if spec.areas.scale and scenario.scenario.population is None:
                raise IcssimError(f"{sweep.path}: areas.scale needs 'scenario.population' in "
                                  f"{sweep.base_files[label]} (capacity is scaled by population / that)")
    areas = sweep.areas or [None]
    for label, scenario in sweep.running.items():
        base_raw = anchored_raw(scenario)  # its waiting-list file, if any, found from any folder
        build = partial(point_raw, sweep, base_raw, targets=targets[label])
        patients = expected_patients(scenario)
        design = design_values(sweep, base_raw, units)   # the same in every area
        for area in areas:
            scale = area.population / scenario.scenario.population if area and scenario.scenario.population else 1.0
            for role, varied, values in design:
                points.append(Point(len(points), label, dict(values), area.name if area else None,
                                    area.population if area else None, role, varied, build=build,
                                    expected_patients=patients * scale))
    if not points:
        raise IcssimError(f"{sweep.path}: the design has no points")
    if len(points) == 1 and not spec.parameters and sweep.draws is None:
        raise IcssimError(f"{sweep.path}: nothing varies: give 'parameters', several bases or 'areas'")
    return points


def validate_points(sweep: Sweep, points: list[Point]) -> None:
    """Validate each point (raises :class:`IcssimError` naming the point and the key path), to report
    a wrong value before any run, and set its expected patients from its own scenario. A few
    milliseconds a point, a fraction of one for a point that differs from one checked before only
    in its area (:mod:`icssim.sweep.point_checks`): seconds for a national PSA's 8,400."""
    from icssim.sweep.point_checks import PointChecker

    checker = PointChecker(sweep)
    for p in points:  # each validated, then let go
        raw = read_only_raw(p)
        p._key = raw_key(raw)
        p.expected_patients = expected_patients(checker.check(p, raw))


def check_points(sweep: Sweep, points: list[Point]) -> None:
    """Check each point as :func:`validate_points` does, raising the same error for the first
    point that is not a valid scenario, without the content hash and the expected patients a
    run needs (``icssim validate``)."""
    from icssim.sweep.point_checks import PointChecker

    checker = PointChecker(sweep)
    for p in points:
        checker.check(p)


def raw_key(raw: dict[str, Any]) -> str:
    """A content hash of scenario data."""
    return hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:16]


def validate_point(sweep: Sweep, p: Point, raw: dict[str, Any] | None = None) -> Scenario:
    try:
        return scenario_from_dict(p.raw if raw is None else raw, name=f"{sweep.path} point {p.index}")
    except ScenarioError as exc:
        if p.role == "psa":  # dozens of drawn values: each problem named by the one that broke it
            from icssim.sweep.draw_checks import point_problems

            raise ScenarioError(point_problems(sweep, p, exc.problems)) from None
        from icssim.sweep.draw_checks import swept_problems

        located = swept_problems(sweep, p, exc.problems)
        if located:
            raise ScenarioError(located) from None
        lines = "\n".join(f"  {prob.path}: {prob.message}" for prob in exc.problems)
        raise IcssimError(f"{sweep.path}: point {p.index} ({p.describe()}) is not a valid scenario:\n{lines}") from None


def design_values(sweep: Sweep, base_raw: dict,
                  units: dict[str, str] | None = None) -> list[tuple[str, str | None, dict[str, Any]]]:
    """(role, varied parameter, {path: value}) for each design point on one base; ``units``: what
    each parameter writes after a bare number (:func:`icssim.sweep.value_units.value_units`)."""
    spec = sweep.spec
    params = spec.parameters
    units = units if units is not None else value_units(sweep)

    def unit(path: str, value: Any) -> Any:
        return with_unit(value, units.get(path, ""))

    if not params and sweep.draws is None:
        return [("grid", None, {})]
    if spec.design == "grid":
        lists = {path: [unit(path, v) for v in grid_values(path, p)] for path, p in params.items()}
        return [("grid", None, dict(zip(lists, combo))) for combo in itertools.product(*lists.values())]
    if spec.is_psa:
        from icssim.sweep.draws import psa_values, saltelli_values, table_values  # scipy: loaded only for a PSA

        draw = saltelli_values if spec.design == "sobol" else psa_values
        samples = sweep.samples
        draws = draw(params, units, samples, spec.sweep.seed) if params else [{} for _ in range(samples)]
        if sweep.draws is not None:  # the table's rows, joined row by row with the independent draws
            rows = table_values(sweep.draws, samples, spec.sweep.seed)
            draws = [{**row, **values} for row, values in zip(rows, draws)]
        return [("psa", None, values) for values in draws]
    if spec.design == "lhs":
        from scipy.stats import qmc

        u = qmc.LatinHypercube(d=len(params), seed=spec.sweep.seed).random(n=spec.samples)
        out = []
        for row in u:
            out.append(("lhs", None, {path: unit(path, lhs_value(p, x)) for (path, p), x in zip(params.items(), row)}))
        return out
    # one at a time
    base = {}
    for path, p in params.items():
        value = unit(path, p.base) if p.base is not None else get_path(base_raw, path)
        if value is MISSING:
            raise IcssimError(f"{sweep.path}: parameters: {path!r} is not set in the base scenario; "
                              "give its 'base' value for a one-at-a-time design")
        base[path] = value
    out = [("base", None, dict(base))]
    for path, p in params.items():
        low, high = (p.values[0], p.values[-1]) if p.values is not None else (p.low, p.high)
        if p.integer:
            low, high = int(round(low)), int(round(high))
        out.append(("low", path, {**base, path: unit(path, low)}))
        out.append(("high", path, {**base, path: unit(path, high)}))
    return out


def grid_values(path: str, p: Parameter) -> list[Any]:
    if p.values is not None:
        return list(p.values)
    if p.low == p.high:
        values = [p.low]
    elif p.points is not None:
        values = list(np.linspace(p.low, p.high, p.points))
    else:
        n = int(math.floor((p.high - p.low) / p.step + 1e-9)) + 1
        values = [p.low + i * p.step for i in range(n)]
    values = [int(round(v)) if p.integer else round(float(v), 10) for v in values]
    return list(dict.fromkeys(values))


def lhs_value(p: Parameter, x: float) -> Any:
    if p.values is not None:
        return p.values[min(int(x * len(p.values)), len(p.values) - 1)]
    if p.integer:
        lo, hi = math.ceil(p.low), math.floor(p.high)
        return int(min(lo + int(x * (hi - lo + 1)), hi))
    return round(p.low + x * (p.high - p.low), 10)


def base_servers(wte: float) -> int:
    """The servers the engine makes of a staff pool of ``wte`` (:func:`icssim.model.plan._resources`)."""
    return math.ceil(wte - 1e-9) if wte > 1e-9 else 0


def scaled_value(path: str, value: float, factor: float, whole_servers: bool = False) -> float | int:
    """The capacity at ``path`` of the base (``value``) scaled by population (``factor``), as the
    area's scenario gets it: whole numbers for beds and caseloads; for staff WTE with
    ``whole_servers``, the base's servers scaled and rounded to the nearest whole number, at least 1
    (see :func:`hours_path` for the hours that make up the difference)."""
    key = str(split_path(path)[-1])
    if key in INTEGER_KEYS:
        return int(round(value * factor))
    if whole_servers and key == "wte" and value > 0:
        return max(1, int(round(base_servers(value) * factor)))
    return round(value * factor, 3)


#: a staff role's paid hours a year when the scenario does not say
PAID_HOURS = StaffRole.model_fields["paid_hours_per_year"].default


def hours_path(path: str) -> str | None:
    """For a staff WTE path, the path of the role's clinical hours per week (else None).

    With whole servers, each server's hours are set to base hours x exact WTE / servers, so the
    role's clinical hours stay exactly in proportion to population however its servers round. The
    servers scaled are the base's (``ceil`` of its WTE, as the engine builds them), not its WTE:
    roles that a step needs together (the psychologist and physician of a joint assessment) with as
    many servers in the base keep as many in every area. A joint contact holds one server of each
    role for the longer of their calendar times, so its capacity is the fewest servers x the fewest
    hours per server; with the pairs kept whole that is the base's x population / base population.
    """
    return path[: -len("wte")] + "clinical_hours_per_week" if path.endswith(".wte") else None


def point_raw(sweep: Sweep, base_raw: dict, p: Point, targets: dict[str, list[str]] | None = None,
              shared: bool = False, only: frozenset[str] | None = None) -> dict:
    """The scenario data of point ``p`` on its base (``base_raw``): scaled to its area, and each of its
    values set at its key path, or at the key paths ``targets`` gives for it in this base (a PSA
    parameter's own path and those it sets ``also``, each only where the base has it: see
    :func:`parameter_targets`). In a PSA a drawn value at a key path the areas scale (a
    posterior's beds or team) is the base area's, and is scaled to the point's area as the base's
    value would be; in other designs a value is set as given, after scaling.

    With ``shared``, the data is the same but only the mappings and lists on the key paths written
    are copies of the point's own (copy on write): the rest is ``base_raw``'s, so the data must be
    read and never changed (validating it, hashing it: :func:`read_only_raw`), and costs a few
    writes to build rather than a copy of the whole scenario. With ``only`` too (top-level keys,
    among them the top-level key of each of :func:`area_keys`), the point's values are set under
    those keys alone: its data under the others is its base's, not yet the point's
    (:mod:`icssim.sweep.point_checks` takes those parts from another point with the same values).

    What an area writes beyond the point's values is under the keys :func:`area_keys` lists."""
    areas = sweep.spec.areas
    scaled_here = set(areas.scale) if p.population is not None and areas is not None else set()
    drawn_first = sweep.spec.is_psa and bool(scaled_here)

    def own(data: dict) -> tuple[dict, set[int] | None]:   # a copy to write to, and its own containers
        if not shared:
            return copy.deepcopy(data), None
        mine = dict(data)
        return mine, {id(mine)}

    if drawn_first:  # a drawn capacity is the base area's (a calibration's posterior): scaled like the base's
        base_raw, copied = own(base_raw)
        _set_values(base_raw, p.values, targets, only=scaled_here, copied=copied, parts=only)
    raw, copied = own(base_raw)
    if p.population is not None and areas is not None:
        factor = p.population / base_raw["scenario"].get("population")
        for path in areas.scale:
            base = get_path(base_raw, path)
            exact = base * factor
            scaled = scaled_value(path, base, factor, areas.whole_servers)
            set_path(raw, path, scaled, copied)
            hours = hours_path(path) if areas.whole_servers else None
            if hours is not None and scaled and get_path(base_raw, hours) is not MISSING:
                set_path(raw, hours, round(get_path(base_raw, hours) * exact / scaled, 3), copied)
                paid = hours.replace("clinical_hours_per_week", "paid_hours_per_year")
                base_paid = get_path(base_raw, paid)
                base_paid = PAID_HOURS if base_paid is MISSING else base_paid
                set_path(raw, paid, round(base_paid * exact / scaled, 3), copied)  # the establishment's cost stays exact
        if areas.whole_servers:  # (changes only roles whose WTE was scaled just now: copies of the point's own)
            keep_joint_capacity(raw, set(areas.scale))
        set_path(raw, "scenario.population", p.population, copied)
        set_path(raw, "scenario.name", f"{raw['scenario']['name']}_{_slug(p.area)}", copied)
    _set_values(raw, p.values, targets, skip=scaled_here if drawn_first else set(), copied=copied, parts=only)
    return raw


def area_keys(sweep: Sweep) -> frozenset[str]:
    """Where :func:`point_raw` writes for a point's area, beyond the point's values: each key path
    it scales (or, with whole servers, sets the hours of, or changes for a joint step:
    :func:`keep_joint_capacity`) cut to its service (``services.cyp_ed``), to its key under
    ``scenario`` (``scenario.population``, ``scenario.name``), or else to its top-level key. Two
    points that differ only in their areas (same base, same values) have the same data
    everywhere else: :mod:`icssim.sweep.point_checks` relies on this to check such a point by
    what its area changes. Keep it beside :func:`point_raw`."""
    areas = sweep.spec.areas
    if areas is None:
        return frozenset()
    # (hours and paid hours are beside each scaled WTE, and keep_joint_capacity changes only roles
    # whose WTE is scaled: all are in the scaled paths' services)
    return frozenset({"scenario.population", "scenario.name"} | {_area_key(path) for path in areas.scale})


def _area_key(path: str) -> str:
    segs = [str(s) for s in split_path(path)]
    return ".".join(segs[:2]) if segs[0] in ("scenario", "services") and len(segs) > 1 else segs[0]


def read_only_raw(p: Point) -> dict:
    """Point ``p``'s scenario data to read (validate, hash) and never change: built sharing what it
    does not change with its base's (:func:`point_raw` with ``shared``), or :attr:`Point.raw`."""
    build = p.build
    if isinstance(build, partial) and build.func is point_raw:
        return build(p, shared=True)
    return p.raw


def _set_values(raw: dict, values: dict[str, Any], targets: dict[str, list[str]] | None,
                only: set[str] | None = None, skip: frozenset[str] | set[str] = frozenset(),
                copied: set[int] | None = None, parts: frozenset[str] | None = None) -> None:
    """Set each of a point's ``values`` at its key path, or at the key paths ``targets`` gives
    for it: those in ``only`` when given, none in ``skip``, and, with ``parts``, only those under
    one of these top-level keys (``copied``: :func:`set_path`'s)."""
    for path, value in values.items():
        for target in targets.get(path, [path]) if targets is not None else [path]:
            if (only is None or target in only) and target not in skip and \
                    (parts is None or target.partition(".")[0] in parts):
                set_path(raw, target, value, copied)


def keep_joint_capacity(raw: dict, scaled: set[str]) -> None:
    """Give each joint step (one that needs several staff roles of a service at once) of an area's
    scenario ``raw``, scaled with whole servers, its capacity per head. A joint contact holds a
    server of every role for the longest of their calendar times, so the step gives (the fewest
    servers) x (the fewest hours per server) a week. That is the clinical hours of its scarcest
    role (the fewest hours in all), which scale exactly, as long as that role has the fewest
    servers and none works longer per server than the others: rounding its servers to the nearest
    whole number can break the second (10 nurse servers beside 52 practitioners, scaled to an ICS of
    0.65 million, round to 5 nurses of 24.7 hours beside practitioners of 22.1: 10% of the joint
    capacity lost). Such a role gets as many more servers, with fewer hours each, as it takes, but no more
    than any other role has; its paid hours follow, so its establishment cost stays exact. Pairs
    already whole (the ED joint assessment's psychologists and physicians) are left as they are."""
    services = raw.get("services") or {}
    for step in ((raw.get("pathway") or {}).get("steps") or {}).values():
        if not isinstance(step, dict) or len(step.get("staff") or []) < 2:
            continue
        staff = (services.get(step.get("service")) or {}).get("staff") or {}
        roles = list(step["staff"])
        if not all(f"services.{step['service']}.staff.{r}.wte" in scaled and isinstance(staff.get(r), dict)
                   and "clinical_hours_per_week" in staff[r] for r in roles):
            continue
        servers = {r: staff[r]["wte"] for r in roles}
        hours = {r: staff[r]["clinical_hours_per_week"] for r in roles}
        scarce = min(roles, key=lambda r: servers[r] * hours[r])
        others = [r for r in roles if r != scarce]
        needed = math.ceil(servers[scarce] * hours[scarce] / min(hours[r] for r in others) - 1e-9)
        wanted = min(min(servers[r] for r in others), max(servers[scarce], needed))
        if wanted != servers[scarce]:
            role = staff[scarce]
            ratio = servers[scarce] / wanted
            role["clinical_hours_per_week"] = round(hours[scarce] * ratio, 3)
            role["paid_hours_per_year"] = round(role.get("paid_hours_per_year", PAID_HOURS) * ratio, 3)
            role["wte"] = wanted


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "area"


def _fmt(v: Any) -> str:
    """A point's value for a message: as its YAML is written (``{anorexia: 0.7}``, not Python's)."""
    if isinstance(v, (dict, list)):
        return as_yaml(v)
    return f"{v:g}" if isinstance(v, float) else str(v)
