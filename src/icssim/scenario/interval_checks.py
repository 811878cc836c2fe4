"""Checks of the urgent-care keys (issue 25): interval standards and path times name real points of
the path (and path times real cohorts), and a step's places are places of its service.

A scenario that asks for stage waits, interval standards or path times also has their KPIs
registered here (:mod:`icssim.stage_kpis`), so that every process that reads such a scenario labels them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from icssim.scenario.findings import Finding, unknown
from icssim.scenario.schema import Scenario

#: a path time's name, part of its KPIs' names (``path_time_median_minutes_<name>``)
PATH_TIME_NAME = re.compile(r"[a-z][a-z0-9_]*")


def uses_stage_kpis(s: Scenario) -> bool:
    """True when ``s`` asks for stage waits, has a standard on an interval or has path times."""
    return (s.scenario.stage_waits or bool(s.scenario.path_times)
            or any(std.from_ is not None for std in s.scenario.standards.values()))


def intervals(s: Scenario) -> Iterator[Finding]:
    """Each interval standard's and path time's ``from`` and ``to`` name ``arrival``/``exit`` or a
    step; a path time's name is one a KPI's name can hold, and its cohorts are the scenario's."""
    if uses_stage_kpis(s):
        import icssim.stage_kpis  # noqa: F401  (registers the KPIs)
    ends = [("standards", name, std.from_, std.to) for name, std in s.scenario.standards.items()
            if std.from_ is not None and std.to is not None]
    ends += [("path_times", name, pt.from_, pt.to) for name, pt in s.scenario.path_times.items()]
    for table, name, start, end in ends:
        for key, point, wrong in (("from", start, "exit"), ("to", end, "arrival")):
            at = ("scenario", table, name, key)
            if point == wrong:
                yield at, f"an interval cannot {'start at exit' if key == 'from' else 'end at arrival'}"
            elif point not in ("arrival", "exit"):
                step = point.partition(".")[0]
                if step not in s.pathway.steps:
                    yield at, unknown("step", step, s.pathway.steps)
    for name, pt in s.scenario.path_times.items():
        if not PATH_TIME_NAME.fullmatch(name):
            yield (("scenario", "path_times", name), "expected a name of lower-case letters, digits and '_', "
                   f"starting with a letter (it is part of the KPIs' names), found {name!r}")
        for i, cohort in enumerate([pt.cohort] if isinstance(pt.cohort, str) else pt.cohort or []):
            if cohort not in s.cohorts:
                where = ("scenario", "path_times", name, "cohort") + (() if isinstance(pt.cohort, str) else (i,))
                yield where, unknown("cohort", cohort, s.cohorts)


def places(s: Scenario) -> Iterator[Finding]:
    """A step's ``places`` need its ``service`` to have them, and a ``duration`` (the time held)."""
    for name, st in s.pathway.steps.items():
        if not st.places:
            continue
        at = ("pathway", "steps", name, "places")
        svc = s.services.get(st.service) if st.service else None
        if svc is None:
            yield at, "places need the step's 'service' (whose places they are)"
            continue
        for place in st.places:
            if place not in svc.places:
                yield at, unknown(f"place of service {st.service!r}", place, svc.places)
        if st.duration is None:
            yield at, "a step that holds a place needs a 'duration' (how long the place is held)"
        if st.sessions is not None:
            yield at, "places are held per contact: a step with 'sessions' cannot hold them"
