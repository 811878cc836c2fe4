"""Checking a sweep's points fast, with the verdict and the words of checking each in full.

A sweep with areas runs each setting of its design in every area: the national PSA's 200 draws
in 42 ICSs are 8,400 points on each pathway, each a whole scenario to validate (a few
milliseconds: minutes in all). Points on the same base with the same values differ only where
:func:`~icssim.sweep.design.point_raw` writes for an area (the population, the name and the
capacities it scales: :func:`~icssim.sweep.design.area_keys`); their data is the same everywhere
else. So the first of them (the reference) is validated in full, noting what of the scenario each
check of :data:`~icssim.scenario.checks.CHECKS` read, and each later one is checked by what its
area changes:

- its scenario is validated by the schema from its own data for each top-level part its area
  writes (``scenario``, ``services``), and with the reference's validated models for the parts it
  leaves alone: the same data gives the same model, as each part is validated on its own (no
  model of the schema reads another part's values);
- each check that read a part, or a key of ``scenario``, that its area writes, or anything else
  (the provenance, the whole model) is run on it; a check that read only parts it leaves alone
  would read the same values and find what it found in the reference (nothing).

A point with a problem found this way, or without a valid reference, is validated in full
(:func:`~icssim.sweep.design.validate_point`), in the order of the points: the first point that is
not a valid scenario is refused with the same message as when every point was validated in full.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from functools import partial
from typing import Any

from icssim.scenario.checks import CHECKS
from icssim.scenario.schema import Scenario, ScenarioInfo
from icssim.scenario.yaml_reader import Provenance
from icssim.sweep.design import Point, area_keys, point_raw, read_only_raw, validate_point
from icssim.sweep.spec import Sweep

#: Each top-level key of scenario data and the field of :class:`Scenario` it fills.
FIELDS = {field.alias or name: name for name, field in Scenario.model_fields.items()}


class PointChecker:
    """Check a sweep's points one by one, in their order, as
    :func:`~icssim.sweep.design.validate_point` does, each point that differs from one checked
    before only in its area by what its area changes."""

    def __init__(self, sweep: Sweep) -> None:
        self.sweep = sweep
        keys = [key.split(".", 1) for key in area_keys(sweep)]
        #: the top-level parts an area writes in, but for ``scenario``: the keys of it it writes
        self._parts = frozenset(key[0] for key in keys if key[0] != "scenario")
        self._info = frozenset(key[1] if len(key) > 1 else "*" for key in keys if key[0] == "scenario")
        #: the services an area writes in (the others' data and models are the reference's)
        self._services = frozenset(key[1] if len(key) > 1 else "*" for key in keys if key[0] == "services")
        #: the parts of a point's data built for it (the others are its reference's)
        self._built = self._parts | {"scenario"}
        self._references: dict[tuple, _Reference] = {}

    def check(self, p: Point, raw: dict[str, Any] | None = None) -> Scenario:
        """Point ``p``'s validated scenario (``raw``: its data, if built already); raise as
        :func:`~icssim.sweep.design.validate_point` does if it is not a valid scenario."""
        key = _design_key(p)
        reference = self._references.get(key) if key is not None else None
        if reference is not None:
            scenario = self._by_area(p, reference, raw)
            if scenario is not None:
                return scenario
        raw = read_only_raw(p) if raw is None else raw
        scenario = validate_point(self.sweep, p, raw)
        if key is not None and key not in self._references:
            rerun = tuple(check for check, reads in zip(CHECKS, _reads(scenario)) if not self._unchanged(reads))
            self._references[key] = _Reference(scenario, raw, rerun, tuple(p.values.values()))
        return scenario

    def _by_area(self, p: Point, reference: _Reference, raw: dict[str, Any] | None) -> Scenario | None:
        """``p``'s scenario if checking what its area changes finds nothing wrong, else None."""
        try:
            if raw is None:   # its own data where its area writes, the reference's elsewhere (the same)
                build: Any = p.build  # (a partial of point_raw, as _design_key found, which takes these)
                own = build(p, shared=True, only=self._built)
                raw = {key: own[key] if key in self._built else reference.raw[key] for key in own}
            if raw.keys() != reference.raw.keys() or any(key not in FIELDS for key in raw):
                return None
            scenario = Scenario.model_validate({key: self._part(key, value, reference)
                                                for key, value in raw.items()})
            scenario._provenance = _Provenance(f"{self.sweep.path} point {p.index}", raw)   # as validate_point's
            for check in reference.rerun:
                if next(iter(check(scenario)), None) is not None:
                    return None
        except Exception:  # noqa: BLE001 (ValidationError or any other: the full validation says what)
            return None
        return scenario

    def _part(self, key: str, value: Any, reference: _Reference) -> Any:
        """What to validate for top-level part ``key`` of a point's data (``value``): the data
        of each part, and each service, its area writes in; the reference's models of the rest."""
        model = getattr(reference.scenario, FIELDS[key])
        if key == "services" and "*" not in self._services and isinstance(value, dict):
            return {name: service if name in self._services else model[name] for name, service in value.items()}
        return value if key in self._parts or (key == "scenario" and self._info) else model

    def _unchanged(self, reads: frozenset[str] | None) -> bool:
        """Whether all a check read of the reference (``reads``: :func:`_reads`) is the same in
        each point that differs from it only in its area."""
        return reads is not None and all(map(self._same, reads))

    def _same(self, name: str) -> bool:
        """Whether what a check reads as ``name`` (:func:`_reads`) is the same in each point."""
        if name == "__class__":
            return True
        if name == "scenario":   # (the part itself: each key of it read is noted apart)
            return "*" not in self._info
        if name.startswith("scenario."):
            key = name.removeprefix("scenario.")
            return key in ScenarioInfo.model_fields and key not in self._info and "*" not in self._info
        return name in Scenario.model_fields and name not in self._parts


@dataclass(frozen=True)
class _Reference:
    """A point validated in full: its scenario, its data (to read only), the checks to run again
    on a point that differs from it only in its area, and its values (kept, for :func:`_design_key`)."""

    scenario: Scenario
    raw: dict[str, Any]
    rerun: tuple[Any, ...]
    values: tuple[Any, ...]


def _design_key(p: Point) -> tuple | None:
    """What points that differ only in their areas share: the base's data and key paths (the
    point's builder), its role, and its values, the very objects (a design's values are the same
    objects in every area: :func:`~icssim.sweep.design.design_points`; ``1`` is neither ``1.0``
    nor ``True`` to the schema); None for a point without an area, or one built otherwise."""
    if p.population is None or not (isinstance(p.build, partial) and p.build.func is point_raw):
        return None
    return (p.build, p.role, p.varied, tuple(p.values), tuple(map(id, p.values.values())))


class _Provenance(Provenance):
    """A point's provenance as :func:`~icssim.scenario.loader.scenario_from_dict` makes it, its
    content hash computed only if something asks for it."""

    def __init__(self, name: str, raw: dict[str, Any]) -> None:
        super().__init__(files=[name], sha256="", raw=raw)
        del self.sha256

    def __getattr__(self, name: str) -> Any:
        if name != "sha256":
            raise AttributeError(name)
        self.sha256 = hashlib.sha256(json.dumps(self.raw, sort_keys=True, default=str).encode()).hexdigest()
        return self.sha256


# What each check reads, noted as it reads it: a scenario (and its ``scenario`` part) of classes
# that note each attribute read, on the thread that checks it.
_trace = threading.local()


class _NotedInfo(ScenarioInfo):
    def __getattribute__(self, name: str) -> Any:
        _trace.reads.add(f"scenario.{name}")
        return super().__getattribute__(name)


class _NotedScenario(Scenario):
    def __getattribute__(self, name: str) -> Any:
        _trace.reads.add(name)
        if name == "scenario":
            return _trace.info
        return super().__getattribute__(name)


def _reads(scenario: Scenario) -> tuple[frozenset[str] | None, ...]:
    """For each check of :data:`CHECKS`, the names it read of valid ``scenario`` (its parts,
    ``scenario.<key>`` for each key of its ``scenario`` part, and any other attribute or method:
    ``_provenance``, ``__dict__``); None for each if a check finds anything or fails here."""
    noted = scenario.model_copy()
    info = scenario.scenario.model_copy()
    object.__setattr__(noted, "__class__", _NotedScenario)
    object.__setattr__(info, "__class__", _NotedInfo)
    out = []
    _trace.info = info
    try:
        for check in CHECKS:
            _trace.reads = set()
            if list(check(noted)):
                return (None,) * len(CHECKS)
            out.append(frozenset(_trace.reads))
    except Exception:  # noqa: BLE001 (a check that cannot run on a noted scenario is always run again)
        return (None,) * len(CHECKS)
    finally:
        _trace.reads = set()
        _trace.info = None
    return tuple(out)
