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
    step (``.enter``, ``.start`` and ``.end`` only on a step), and none goes from a point to itself or
    back to a step's entry (:func:`_order`); a path time's name is one a KPI's name can hold, and its
    cohorts are the scenario's."""
    if uses_stage_kpis(s):
        import icssim.stage_kpis  # noqa: F401  (registers the KPIs)
    ends = [("standards", name, std.from_, std.to) for name, std in s.scenario.standards.items()
            if std.from_ is not None and std.to is not None]
    ends += [("path_times", name, pt.from_, pt.to) for name, pt in s.scenario.path_times.items()]
    for table, name, start, end in ends:
        known = True
        for key, point, wrong in (("from", start, "exit"), ("to", end, "arrival")):
            at = ("scenario", table, name, key)
            if point == wrong:
                known = False
                yield at, (f"an interval cannot {'start at exit' if key == 'from' else 'end at arrival'}: expected "
                           f"'{'arrival' if key == 'from' else 'exit'}', '<step>', '<step>.enter', '<step>.start' "
                           "or '<step>.end'")
            elif point not in ("arrival", "exit"):
                step, _, which = point.partition(".")
                if step not in s.pathway.steps:
                    known = False
                    if step in ("arrival", "exit"):
                        yield at, (f"{step!r} is a point of its own, with no '.{which}' (only a step has "
                                   f"'.enter', '.start' and '.end'): write {step!r}, found {point!r}")
                    else:
                        yield at, unknown("step", step, s.pathway.steps)
        if known:
            yield from _order(table, name, start, end)
    for name, pt in s.scenario.path_times.items():
        if not PATH_TIME_NAME.fullmatch(name):
            yield (("scenario", "path_times", name), "expected a name of lower-case letters, digits and '_', "
                   f"starting with a letter (it is part of the KPIs' names), found {name!r}")
        for i, cohort in enumerate([pt.cohort] if isinstance(pt.cohort, str) else pt.cohort or []):
            if cohort not in s.cohorts:
                where = ("scenario", "path_times", name, "cohort") + (() if isinstance(pt.cohort, str) else (i,))
                yield where, unknown("cohort", cohort, s.cohorts)


#: the order of a step's points on every visit: entered, then started, then ended
_POINT_ORDER = {"enter": 0, "start": 1, "end": 2}


def _step_point(point: str) -> tuple[str, int]:
    """(the step, the place of the point among its :data:`_POINT_ORDER`) of a step's point;
    ``<step>`` alone is its start."""
    step, _, which = point.partition(".")
    return step, _POINT_ORDER[which or "start"]


def _order(table: str, name: str, start: str, end: str) -> Iterator[Finding]:
    """An interval from a point of a step to the same point, or from its start or end to its entry
    (``therapy.start`` to ``therapy.enter``: every visit is entered before it starts or ends),
    measures 0 or a negative time for every patient. (From its end to its start is left alone: a
    visit left unstarted, a drop-out from the queue, ends, and a later visit may start.)"""
    if start in ("arrival", "exit") or end in ("arrival", "exit"):
        return   # (from arrival to arrival, or exit to exit: refused above)
    (f_step, f_at), (t_step, t_at) = _step_point(start), _step_point(end)
    if f_step != t_step or t_at > f_at or 0 < t_at < f_at:
        return
    at = ("scenario", table, name, "to")
    if t_at == f_at:
        same = repr(start) if start == end else f"{start!r} and {end!r} are both the start of {t_step!r}"
        later = [f"'{t_step}.{p}'" for p, i in _POINT_ORDER.items() if i > f_at][:1]
        yield at, (f"'to' is the same point as 'from' ({same}), so every time would be 0: expected a later "
                   f"point ({' or '.join(later + ['a later step'])})")
    else:
        yield at, (f"{end!r} comes before {start!r} (a step is entered before it starts or ends), so every "
                   f"time would be 0 or negative: did you mean from {end!r} to {start!r}?")


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
