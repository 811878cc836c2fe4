"""Checks of the dated features: the start date, dates in order and inside the horizon, feasible
capacity plans, panel meetings, working days, and today's waiting list (the initial state)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from icssim.kinds import KINDS
from icssim.scenario.findings import Finding, unknown
from icssim.scenario.initial_state import nobody_there, read_waiting_list, resolve_path
from icssim.scenario.demand_profile import profile_findings
from icssim.scenario.interval_checks import intervals, places
from icssim.scenario.schema import Scenario
from icssim.units import UNIT_DAYS, canonical_unit

#: A dated run (start_date to start_date + horizon) must lie within these dates.
FIRST_DATE, LAST_DATE = dt.date(1900, 1, 1), dt.date(2200, 12, 31)


class _Dates:
    """The run's start and end dates (if dated) and its horizon, to check dated items against."""

    def __init__(self, s: Scenario, start: dt.date | None, end: dt.date | None) -> None:
        self.info = s.scenario
        self.unit = s.scenario.time_unit
        self.horizon = s.scenario.horizon.to(self.unit)
        self.start, self.end = start, end

    def need_start(self, at: tuple[Any, ...], what: str) -> Iterator[Finding]:
        if self.start is None:
            yield at, f"{what} needs 'scenario.start_date' (the date time 0 stands for)"

    def dated(self, at: tuple[Any, ...], item: Any) -> Iterator[Finding]:
        """Check a date/at pair is inside [start, end)."""
        start, end = self.start, self.end
        if item.date is not None:
            if start is None:
                yield (*at, "date"), "a 'date' needs 'scenario.start_date'; or give 'at' (time after the start)"
            elif not start <= item.date < end:
                yield (*at, "date"), f"{item.date} is outside the horizon ({start} to {end})"
        elif not 0 <= item.at.to(self.unit) < self.horizon:
            yield (*at, "at"), f"{item.at} is outside the horizon (0 to {self.info.horizon})"

    def when(self, item: Any) -> float:
        if item.date is not None:
            return (item.date - self.start).days / UNIT_DAYS[canonical_unit(self.unit)] if self.start else 0.0
        return item.at.to(self.unit)


def calendar(s: Scenario) -> Iterator[Finding]:
    """Dated features: start date present, dates in order and inside the horizon, plans feasible;
    and the urgent-care keys (:mod:`~icssim.scenario.interval_checks`)."""
    yield from intervals(s)
    yield from places(s)
    yield from profile_findings(s)
    info = s.scenario
    start = info.start_date
    unit = info.time_unit
    horizon = info.horizon.to(unit)
    end = None
    if start is not None:
        days = horizon * UNIT_DAYS[canonical_unit(unit)]
        if not (FIRST_DATE <= start and start.toordinal() + max(days, 0) <= LAST_DATE.toordinal()):
            yield ("scenario", "start_date"), (
                f"the run must lie between {FIRST_DATE} and {LAST_DATE} (the dates plots and calendars can "
                f"show), found start_date {start} with a horizon of {info.horizon}")
            return
        end = start + dt.timedelta(days=days)
    dates = _Dates(s, start, end)
    if s.calendar is not None:
        yield from dates.need_start(("calendar",), "'calendar' (working days)")
    yield from _demand(s, dates)
    yield from _capacity_plan(s, dates)
    yield from _dated_steps(s, dates)
    yield from initial_state(s, start)


def _demand(s: Scenario, dates: _Dates) -> Iterator[Finding]:
    for name, c in s.cohorts.items():
        d = c.demand
        if d is None:
            continue
        at = ("cohorts", name, "demand")
        if d.seasonality is not None:
            yield from dates.need_start((*at, "seasonality"), "monthly seasonality")
        previous = None
        for i, ch in enumerate(d.changes):
            yield from dates.dated((*at, "changes", i), ch)
            t = dates.when(ch)
            if previous is not None and t < previous:
                yield (*at, "changes", i), "changes must be in date order (this one is earlier than the one before)"
            previous = t


def _capacity_plan(s: Scenario, dates: _Dates) -> Iterator[Finding]:
    levels: dict[tuple[str, str], float] = {}
    previous = None
    for i, ch in enumerate(s.capacity_plan):
        at = ("capacity_plan", i)
        yield from dates.dated(at, ch)
        t = dates.when(ch)
        if previous is not None and t < previous:
            yield at, "capacity_plan entries must be in date order (this one is earlier than the one before)"
        previous = t
        svc = s.services.get(ch.service)
        if svc is None:
            yield (*at, "service"), unknown("service", ch.service, s.services)
            continue
        if ch.role == "beds":
            base = float(svc.beds)
        elif ch.role in svc.staff:
            base = svc.staff[ch.role].wte
        else:
            yield (*at, "role"), unknown(f"staff role of service {ch.service!r} (or 'beds')", ch.role, svc.staff)
            continue
        key = (ch.service, ch.role)
        level = levels.get(key, base)
        level = level + ch.change if ch.change is not None else ch.to
        what = "beds" if ch.role == "beds" else f"{ch.role} WTE"
        if level < -1e-9:
            yield (*at, "change" if ch.change is not None else "to"), (
                f"this takes {ch.service} {what} to {level:g}: a capacity cannot be negative")
        levels[key] = level
        if ch.role == "beds" and "beds" not in svc.model_fields_set and svc.beds == 0 and not any(
                st.bed and st.service == ch.service for st in s.pathway.steps.values()):
            yield (*at, "role"), f"service {ch.service!r} has no bed-based step to use these beds"


def _dated_steps(s: Scenario, dates: _Dates) -> Iterator[Finding]:
    unit, horizon = dates.unit, dates.horizon
    for name, st in s.pathway.steps.items():
        at = ("pathway", "steps", name)
        kind = KINDS[st.kind]
        if kind.meets:
            if st.meets is None:
                yield at, "a panel step needs 'meets' (e.g. {every: 1 week, weekday: tue})"
            elif st.meets.weekday is not None:
                yield from dates.need_start((*at, "meets", "weekday"), "a meeting weekday")
            elif st.meets.first is not None and not 0 <= st.meets.first.to(unit) < horizon:
                yield (*at, "meets", "first"), f"the first meeting ({st.meets.first}) must be inside the horizon"
        elif st.meets is not None:
            yield (*at, "meets"), "only a step of kind 'panel' meets on a schedule"
        if not kind.holds_resources and (st.staff or st.caseload or st.bed or st.sessions is not None):
            yield at, f"{kind.no_resources_because} and takes no 'staff', 'caseload', 'bed' or 'sessions'"
        if st.working_days_only and s.calendar is None:
            yield (*at, "working_days_only"), "needs a top-level 'calendar' (working days) to have an effect"


def initial_state(s: Scenario, start: Any) -> Iterator[Finding]:
    """The initial state's groups (cohort, step, attributes) and its waiting-list file, row by row."""
    init = s.initial_state
    if init is None:
        return
    at = ("initial_state",)
    for i, g in enumerate(init.waiting):
        if g.cohort not in s.cohorts:
            yield (*at, "waiting", i, "cohort"), unknown("cohort", g.cohort, s.cohorts)
        elif g.step not in s.pathway.steps:
            yield (*at, "waiting", i, "step"), unknown("step", g.step, s.pathway.steps)
        elif KINDS[s.pathway.steps[g.step].kind].is_exit:
            yield (*at, "waiting", i, "step"), f"{g.step!r} is a discharge step: nobody waits there"
        elif nobody := nobody_there(s.pathway.steps, g.step, g.status == "in_service"):
            yield (*at, "waiting", i, "step"), nobody
        else:
            yield from _group_attributes(s, (*at, "waiting", i, "attributes"), g)
    if init.file is None:
        return
    if start is None:
        yield (*at, "file"), "a waiting-list file has dates: it needs 'scenario.start_date'"
        return
    _rows, problems = read_waiting_list(resolve_path(s), s)
    for message in problems:
        yield (*at, "file"), message


def _group_attributes(s: Scenario, at: tuple[Any, ...], g: Any) -> Iterator[Finding]:
    for attr, dist in g.attributes.items():
        where = (*at, attr)
        if attr not in s.cohorts[g.cohort].attributes:
            yield where, f"cohort {g.cohort!r} has no attribute {attr!r}"
            continue
        values = getattr(dist, "values", None)
        levels = s.attributes.get(attr)
        categorical = values is not None and all(isinstance(v, str) for v in values)
        if categorical != (levels is not None):
            yield where, (f"give one of the levels {levels}" if levels else "expected a number or a distribution")
        elif categorical:
            for v in values:
                if v not in levels:
                    yield where, f"{v!r} is not one of the levels {levels}"
