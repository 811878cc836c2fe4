"""Designs: which settings to run. Full grid, Latin hypercube, one-at-a-time; times bases and areas.

Every point is a base scenario with some values set by key path (and, for area
sweeps, a population and capacities scaled to it). Each point's scenario is built
from a deep copy of the base's merged data and validated like a scenario file, so a
wrong value is reported with its key path. A point keeps only its values: its scenario
data is built again when a run needs it, so that a design of thousands of points (a
PSA) does not hold thousands of scenarios in memory.
"""

from __future__ import annotations

import copy
import difflib
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

from icssim.errors import IcssimError, Problem, ScenarioError
from icssim.estimate import expected_patients
from icssim.scenario import Scenario, provenance, scenario_from_dict
from icssim.scenario.initial_state import anchored_raw
from icssim.scenario.schema import StaffRole, known_keys
from icssim.sweep.spec import Parameter, Sweep

MISSING = object()
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
    that every parameter path exists in every base (in a PSA, in at least one, with its ties:
    :func:`parameter_targets`)."""
    spec = sweep.spec
    points: list[Point] = []
    targets = parameter_targets(sweep)
    table = sweep.draws
    if table is not None:
        for column in table.columns:
            for label, scenario in sweep.bases.items():
                check_path(provenance(scenario).raw, column, sweep.base_files[label],
                           f"{sweep.path}: draws: {table.path}: column {column!r}")
    if sweep.areas:
        for path in spec.areas.scale:
            for label, scenario in sweep.bases.items():
                raw = provenance(scenario).raw
                check_path(raw, path, sweep.base_files[label], f"{sweep.path}: areas.scale: {path!r}")
                if not isinstance(get_path(raw, path), (int, float)):
                    raise IcssimError(f"{sweep.path}: areas.scale: {path!r} must be a number in "
                                      f"{sweep.base_files[label]}, found {get_path(raw, path)!r}")
        for label, scenario in sweep.bases.items():
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
    for label, scenario in sweep.bases.items():
        base_raw = anchored_raw(scenario)  # its waiting-list file, if any, found from any folder
        build = partial(point_raw, sweep, base_raw, targets=targets[label])
        patients = expected_patients(scenario)
        for area in areas:
            scale = area.population / scenario.scenario.population if area and scenario.scenario.population else 1.0
            for role, varied, values in design_values(sweep, base_raw):
                points.append(Point(len(points), label, values, area.name if area else None,
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
    milliseconds a point: minutes for a design of 100,000 (see ``runner.RoughSize``)."""
    for p in points:  # each validated, then let go
        raw = p.raw
        p._key = raw_key(raw)
        p.expected_patients = expected_patients(validate_point(sweep, p, raw))


def raw_key(raw: dict[str, Any]) -> str:
    """A content hash of scenario data."""
    return hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:16]


def validate_point(sweep: Sweep, p: Point, raw: dict[str, Any] | None = None) -> Scenario:
    try:
        return scenario_from_dict(p.raw if raw is None else raw, name=f"{sweep.path} point {p.index}")
    except ScenarioError as exc:
        lines = "\n".join(f"  {prob.path}: {prob.message}" for prob in exc.problems)
        raise IcssimError(f"{sweep.path}: point {p.index} ({p.describe()}) is not a valid scenario:\n{lines}") from None


def design_values(sweep: Sweep, base_raw: dict) -> list[tuple[str, str | None, dict[str, Any]]]:
    """(role, varied parameter, {path: value}) for each design point on one base."""
    spec = sweep.spec
    params = spec.parameters
    if not params and sweep.draws is None:
        return [("grid", None, {})]
    if spec.design == "grid":
        lists = {path: grid_values(path, p) for path, p in params.items()}
        return [("grid", None, dict(zip(lists, combo))) for combo in itertools.product(*lists.values())]
    if spec.design in ("psa", "sobol"):
        from icssim.sweep.draws import psa_values, saltelli_values, table_values  # scipy: loaded only for a PSA

        base_values = drawn_base_values(sweep, base_raw)
        draw = saltelli_values if spec.design == "sobol" else psa_values
        samples = sweep.samples
        draws = draw(params, base_values, samples, spec.sweep.seed) if params else [{} for _ in range(samples)]
        if sweep.draws is not None:  # the table's rows, joined row by row with the independent draws
            rows = table_values(sweep.draws, base_values, samples, spec.sweep.seed)
            draws = [{**row, **values} for row, values in zip(rows, draws)]
        return [("psa", None, values) for values in draws]
    if spec.design == "lhs":
        from scipy.stats import qmc

        u = qmc.LatinHypercube(d=len(params), seed=spec.sweep.seed).random(n=spec.samples)
        out = []
        for row in u:
            out.append(("lhs", None, {path: lhs_value(p, x) for (path, p), x in zip(params.items(), row)}))
        return out
    # one at a time
    base = {}
    for path, p in params.items():
        value = p.base if p.base is not None else get_path(base_raw, path)
        if value is MISSING:
            raise IcssimError(f"{sweep.path}: parameters: {path!r} is not set in the base scenario; "
                              "give its 'base' value for a one-at-a-time design")
        base[path] = value
    out = [("base", None, dict(base))]
    for path, p in params.items():
        low, high = (p.values[0], p.values[-1]) if p.values is not None else (p.low, p.high)
        if p.integer:
            low, high = int(round(low)), int(round(high))
        out.append(("low", path, {**base, path: low}))
        out.append(("high", path, {**base, path: high}))
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


def point_raw(sweep: Sweep, base_raw: dict, p: Point, targets: dict[str, list[str]] | None = None) -> dict:
    """The scenario data of point ``p`` on its base (``base_raw``): scaled to its area, and each of its
    values set at its key path, or at the key paths ``targets`` gives for it in this base (a PSA
    parameter's own path and those it sets ``also``, each only where the base has it: see
    :func:`parameter_targets`)."""
    raw = copy.deepcopy(base_raw)
    areas = sweep.spec.areas
    if p.population is not None and areas is not None:
        factor = p.population / base_raw["scenario"].get("population")
        for path in areas.scale:
            base = get_path(base_raw, path)
            exact = base * factor
            scaled = scaled_value(path, base, factor, areas.whole_servers)
            set_path(raw, path, scaled)
            hours = hours_path(path) if areas.whole_servers else None
            if hours is not None and scaled and get_path(base_raw, hours) is not MISSING:
                set_path(raw, hours, round(get_path(base_raw, hours) * exact / scaled, 3))
                paid = hours.replace("clinical_hours_per_week", "paid_hours_per_year")
                base_paid = get_path(base_raw, paid)
                base_paid = PAID_HOURS if base_paid is MISSING else base_paid
                set_path(raw, paid, round(base_paid * exact / scaled, 3))  # the establishment's cost stays exact
        raw["scenario"]["population"] = p.population
        raw["scenario"]["name"] = f"{raw['scenario']['name']}_{_slug(p.area)}"
    for path, value in p.values.items():
        for target in targets.get(path, [path]) if targets is not None else [path]:
            set_path(raw, target, value)
    return raw


# -- a PSA parameter's key paths: its own and those it sets `also` --------------------------------

def parameter_targets(sweep: Sweep) -> dict[str, dict[str, list[str]]]:
    """For each base scenario (by label), each parameter's key paths to set in it; raises
    :class:`IcssimError` naming the sweep file (line and key where known) for a key path that
    cannot be.

    Outside a PSA every parameter's key path must be in every base, as always. In a PSA (``design:
    psa`` or ``sobol``) the strategies may differ in what they have: a drawn key path, and each key
    path it sets ``also``, must be in at least one base, and is set in the bases that have it (a
    cost of a team only one pathway has is drawn once and set in that pathway). A tied key path is
    set only where the base writes it, and every key path of a parameter with ``also`` must hold
    one base value, the same in every base that has it: a tied path receives the drawn value
    itself, which is centred on that base value."""
    spec = sweep.spec
    raws = {label: provenance(scenario).raw for label, scenario in sweep.bases.items()}
    out: dict[str, dict[str, list[str]]] = {label: {} for label in raws}
    psa = spec.design in ("psa", "sobol")
    problems: list[Problem] = []
    for path, p in spec.parameters.items():
        where = f"{sweep.path}: parameters: {path!r}"
        if not psa:
            for label, raw in raws.items():
                check_path(raw, path, sweep.base_files[label], where)
            for label in raws:
                out[label][path] = [path]
            continue
        has = {label: path_problem(raw, path, sweep.base_files[label]) is None for label, raw in raws.items()}
        if not any(has.values()):
            first = next(iter(raws))
            check_path(raws[first], path, sweep.base_files[first], where)  # raises, with its nearest key
            raise IcssimError(f"{where}: not in any base scenario")  # pragma: no cover (check_path raised)
        for label in raws:
            out[label][path] = [path] if has[label] else []
        for i, tied in enumerate(p.also):
            written = [label for label, raw in raws.items() if get_path(raw, tied) is not MISSING]
            if not written:
                problems.append(_tie_problem(sweep, path, i, _absent(sweep, raws, tied)))
                continue
            for label in written:
                out[label][path].append(tied)
        if p.also:
            problems += _different_base_values(sweep, raws, path, p.also)
    if problems:
        raise ScenarioError(problems)
    return out


def path_problem(raw: dict, path: str, file: Any) -> str | None:
    """Why ``path`` is not a key path of ``raw`` (None if it is): :func:`check_path`'s message."""
    try:
        check_path(raw, path, file, "")
    except IcssimError as exc:
        return str(exc).removeprefix(": ")
    return None


def _absent(sweep: Sweep, raws: dict[str, dict], tied: str) -> str:
    """Why a tied key path written in no base cannot be set: the first base's missing key (with the
    nearest key path), or that no base writes it."""
    for label, raw in raws.items():
        problem = path_problem(raw, tied, sweep.base_files[label])
        if problem is not None:
            return f"{tied!r}: {problem}"
    files = ", ".join(str(f) for f in sweep.base_files.values())
    return (f"{tied!r} is not set in any base scenario ({files}): a tied key path must be written in the "
            "scenario, with the drawn parameter's base value")


def _tie_problem(sweep: Sweep, path: str, i: int | None, message: str) -> Problem:
    key: tuple[Any, ...] = ("parameters", path) if i is None else ("parameters", path, "also", i)
    file, line = sweep.provenance.where(key) if sweep.provenance is not None else (str(sweep.path), None)
    return Problem(file, line, ".".join(map(str, key)), message)


def _same(a: Any, b: Any) -> bool:
    """Whether two base values are the same value as written: numbers equal as numbers, text
    (a number with a unit) equal but for spacing."""
    number = (int, float)
    if isinstance(a, number) and isinstance(b, number) and not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=0.0)
    if isinstance(a, str) and isinstance(b, str):
        return " ".join(a.split()) == " ".join(b.split())
    return bool(a == b)


def _different_base_values(sweep: Sweep, raws: dict[str, dict], path: str, also: list[str]) -> list[Problem]:
    """A problem for each key path of a tied parameter (its own, then ``also``) that a base writes
    with another value than the parameter's own key path in the first base that writes it (or, if
    none does, the first tied path written), or that is not a single value."""
    written = []
    for label, raw in raws.items():
        for i, key in [(None, path), *enumerate(also)]:
            value = get_path(raw, key)
            if value is not MISSING:
                written.append((label, i, key, value))
    if not written:
        return []
    problems = []
    ref_label, _, ref_key, ref = next((w for w in written if w[1] is None), written[0])
    for label, i, key, value in written:
        file = sweep.base_files[label]
        if isinstance(value, (dict, list)) or isinstance(value, bool) or value is None:
            kind = "a mapping" if isinstance(value, dict) else "a list" if isinstance(value, list) else repr(value)
            problems.append(_tie_problem(sweep, path, i, f"{key!r} in {file} is {kind}, not a single value: a tied "
                                                          "parameter gives each of its key paths one drawn number"))
        elif not _same(value, ref):
            problems.append(_tie_problem(
                sweep, path, i,
                f"{key!r} is {value!r} in {file}, but {ref_key!r} is {ref!r} in {sweep.base_files[ref_label]}: a key "
                "path under 'also' is given the drawn value itself, so expected every key path of the parameter to "
                f"hold the same base value ({ref!r}) in every base scenario; draw a different value as a parameter "
                "of its own"))
    return problems


def drawn_base_values(sweep: Sweep, base_raw: dict) -> dict[str, Any]:
    """Each drawn key path's base value in this base (``base_raw``), which a drawn value is written
    like (a number, or a number with its unit): its own value; where this base lacks it, a key path
    it sets ``also`` here; else its value in the first base that has either, so that a parameter set
    is written alike for every strategy (its seed comes from its values)."""
    out = {}
    for path in sweep.drawn():
        p = sweep.spec.parameters.get(path)
        keys = [path, *(p.also if p is not None else [])]
        value = next((v for v in (get_path(base_raw, k) for k in keys) if v is not MISSING), MISSING)
        if value is MISSING:
            for scenario in sweep.bases.values():
                raw = provenance(scenario).raw
                value = next((v for v in (get_path(raw, k) for k in keys) if v is not MISSING), MISSING)
                if value is not MISSING:
                    break
        out[path] = value
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "area"


# -- key paths --------------------------------------------------------------------------------

def split_path(path: str) -> list[Any]:
    return [int(s) if s.isdigit() else s for s in path.split(".")]


def get_path(raw: Any, path: str) -> Any:
    node = raw
    for seg in split_path(path):
        if isinstance(node, dict) and seg in node:
            node = node[seg]
        elif isinstance(node, dict) and str(seg) in node:
            node = node[str(seg)]
        elif isinstance(node, list) and isinstance(seg, int) and seg < len(node):
            node = node[seg]
        else:
            return MISSING
    return node


def set_path(raw: dict, path: str, value: Any) -> None:
    segs = split_path(path)
    node: Any = raw
    for seg in segs[:-1]:
        if isinstance(node, dict) and seg not in node and str(seg) in node:
            seg = str(seg)
        node = node[seg]
    last = segs[-1]
    if isinstance(node, dict) and last not in node and str(last) in node:
        last = str(last)
    node[last] = copy.deepcopy(value)


def check_path(raw: dict, path: str, file: Any, where: str) -> None:
    """Refuse a key path that does not exist in ``raw`` (a missing last key is allowed when the
    schema knows it, e.g. an optional setting the base leaves at its default)."""
    segs = split_path(path)
    node: Any = raw
    for i, seg in enumerate(segs):
        prefix = ".".join(str(s) for s in segs[:i])
        last = i == len(segs) - 1
        if isinstance(node, dict):
            key = seg if seg in node else str(seg)
            if key in node:
                node = node[key]
                continue
            if last and str(seg) in known_keys():
                return
            options = [str(k) for k in node] + (sorted(known_keys()) if last else [])
            near = difflib.get_close_matches(str(seg), options, n=1, cutoff=0.5)
            hint = ""
            if near:
                hint = f"; did you mean {'.'.join([*(str(s) for s in segs[:i]), near[0], *(str(s) for s in segs[i + 1:])])!r}?"
            elif node:
                hint = f"; keys there: {', '.join(str(k) for k in node)}"
            raise IcssimError(f"{where}: no key {str(seg)!r} under {prefix or 'the top level'} of {file}{hint}")
        if isinstance(node, list):
            if isinstance(seg, int) and seg < len(node):
                node = node[seg]
                continue
            raise IcssimError(f"{where}: {prefix} in {file} is a list of {len(node)}; "
                              f"{str(seg)!r} is not an index into it (0 to {len(node) - 1})")
        raise IcssimError(f"{where}: {prefix} in {file} is a single value ({node!r}), "
                          f"so it has no key {str(seg)!r}")


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)
