"""Checks of the urgent-care keys (issue 25): interval standards name real points of the path, and
a step's places are places of its service.

A scenario that asks for stage waits or interval standards also has their KPIs registered here
(:mod:`icssim.stage_kpis`), so that every process that reads such a scenario labels them.
"""

from __future__ import annotations

from collections.abc import Iterator

from icssim.scenario.findings import Finding, unknown
from icssim.scenario.schema import Scenario


def uses_stage_kpis(s: Scenario) -> bool:
    """True when ``s`` asks for stage waits or has a standard on an interval."""
    return s.scenario.stage_waits or any(std.from_ is not None for std in s.scenario.standards.values())


def intervals(s: Scenario) -> Iterator[Finding]:
    """Each interval standard's ``from`` and ``to`` name ``arrival``/``exit`` or a step."""
    if uses_stage_kpis(s):
        import icssim.stage_kpis  # noqa: F401  (registers the KPIs)
    for name, std in s.scenario.standards.items():
        if std.from_ is None or std.to is None:
            continue
        for key, point, wrong in (("from", std.from_, "exit"), ("to", std.to, "arrival")):
            at = ("scenario", "standards", name, key)
            if point == wrong:
                yield at, f"an interval cannot {'start at exit' if key == 'from' else 'end at arrival'}"
            elif point not in ("arrival", "exit"):
                step = point.partition(".")[0]
                if step not in s.pathway.steps:
                    yield at, unknown("step", step, s.pathway.steps)


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
