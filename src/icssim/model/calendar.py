"""Calendar time: open days, dated capacity plans, panel meetings and today's waiting list.

Everything here is compiled once per scenario into a :class:`CalendarPlan` (numbers and
indices only; times in scenario units from ``scenario.start_date``; see ``calendar_compile.py``)
and installed into a simulation by :func:`install`, which schedules the dated events. The calendar acts on the
simulation only through its small public API (:class:`Host`, which
:class:`~icssim.model.engine.Simulation` provides), and imports nothing of the engine. The
engine keeps a few cheap hooks: arrivals from a rate profile, a closed-day check before giving
appointments (:func:`closed_until`), and the panel hold. A scenario without these keys compiles
to ``Plan.calendar = None`` and runs exactly as before.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from icssim.sampling import BlockStream, Sampler
from icssim.units import UNIT_DAYS, canonical_unit

if TYPE_CHECKING:  # plan.py imports this module
    from icssim.model.plan import Plan

WEEKDAY_INDEX = {d: i for i, d in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))}


def days_per_unit(time_unit: str) -> float:
    return UNIT_DAYS[canonical_unit(time_unit)]


def time_of(date: dt.date, start: dt.date, time_unit: str) -> float:
    """Engine time (scenario units after ``start``) of midnight at the start of ``date``."""
    return (date - start).days / days_per_unit(time_unit)


def date_of(t: float, start: dt.date, time_unit: str) -> dt.date:
    """The calendar date that engine time ``t`` falls on."""
    return start + dt.timedelta(days=math.floor(t * days_per_unit(time_unit) + 1e-9))


@dataclass(frozen=True)
class OpenDays:
    """Which days services are open: ``next_open[d]`` is the first open day index >= d."""

    days_per_unit: float
    next_open: tuple[int, ...]  # one entry per day of the horizon (+1); a tuple: read per event

    @classmethod
    def build(cls, start: dt.date, horizon_days: float, working_days: list[str],
              holidays: list[dt.date], dpu: float) -> "OpenDays":
        n = int(math.ceil(horizon_days)) + 1
        work = {WEEKDAY_INDEX[d] for d in working_days}
        hol = {(h - start).days for h in holidays}
        is_open = np.array([((start.weekday() + d) % 7 in work) and d not in hol for d in range(n)])
        nxt = np.full(n, n, dtype=np.int64)  # beyond the horizon: treat as open at day n
        upcoming = n
        for d in range(n - 1, -1, -1):
            if is_open[d]:
                upcoming = d
            nxt[d] = upcoming
        return cls(dpu, tuple(nxt.tolist()))

    def is_open(self, t: float) -> bool:
        d = int(t * self.days_per_unit + 1e-9)
        return d >= len(self.next_open) or self.next_open[d] == d

    def day_end(self, t: float) -> float:
        """The first time after ``t`` that falls on a later day than ``t`` (as the other methods count
        days, ``int(t * days_per_unit + 1e-9)``); infinity beyond the calendar. Exact to the last bit
        of a float, so that a cached "open until" gives the same answers as asking ``is_open``."""
        d = int(t * self.days_per_unit + 1e-9)
        if d + 1 >= len(self.next_open):
            return math.inf
        return self.day_start(d + 1)

    def day_start(self, d: int) -> float:
        """The first time that falls on day ``d`` or later (as the other methods count days), exact
        to the last bit of a float."""
        dpu = self.days_per_unit
        start = (d - 1e-9) / dpu  # within a few ulps of the boundary: step onto it
        while int(start * dpu + 1e-9) >= d:
            start = math.nextafter(start, -math.inf)
        while int(start * dpu + 1e-9) < d:
            start = math.nextafter(start, math.inf)
        return start

    def next_open_time(self, t: float) -> float:
        """``t`` when its day is open, else the start of the next open day."""
        d = int(t * self.days_per_unit + 1e-9)
        if d >= len(self.next_open):
            return t
        nd = self.next_open[d]
        return t if nd == d else nd / self.days_per_unit


@dataclass(frozen=True)
class CapacityEvent:
    """New capacities of some resources, and new elapsed-time scales of some steps, at ``time``."""

    time: float
    caps: tuple[tuple[int, int], ...]  # (resource index, servers / slots / beds)
    scales: tuple[tuple[int, float], ...]  # (step index, calendar time per unit of staff time)


@dataclass(frozen=True)
class InitialPatient:
    """One patient already in the system at time 0 (times are negative: before the start)."""

    cohort: int
    step: int
    referral: float
    since: float  # when they joined this step's queue
    assess_start: float
    treat_start: float
    in_service: bool
    attrs: tuple[float, ...]  # per plan attribute; NaN = sample from the cohort's distribution


@dataclass(frozen=True)
class InitialGroup:
    """A summary group: ``count`` patients of a cohort at a step, time already waited from ``waited``."""

    cohort: int
    step: int
    count: int
    waited: Sampler
    samplers: tuple[Sampler | None, ...]  # per plan attribute overrides (None: the cohort's)
    treated_for: Sampler | None = None  # in service: time since their service started (else None)


@dataclass(frozen=True)
class CalendarPlan:
    """Everything dated in a scenario, compiled to engine times."""

    start_date: dt.date | None
    days_per_unit: float
    open_days: OpenDays | None = None
    capacity: tuple[CapacityEvent, ...] = ()
    mean_capacity: tuple[float, ...] = ()  # per resource, time-averaged over the window
    meetings: dict[int, tuple[float, ...]] = field(default_factory=dict)  # panel step -> meeting times
    initial: tuple[InitialPatient, ...] = ()
    initial_groups: tuple[InitialGroup, ...] = ()


# ---------------------------------------------------------------------------------- runtime
class Clock(Protocol):
    """What :func:`closed_until` needs of a simulation (``queues.Queues``): the time, the open days,
    what it remembers of them, and a way to schedule a retry that starts those waiting."""

    now: float
    open_days: OpenDays | None
    open_until: float
    closed_end: float
    reopen_at: float
    reopen: dict[int, float]

    def schedule(self, delay: float, fn: Callable[[Any], None], arg: Any) -> None: ...

    def dispatch(self, step: int) -> None: ...


class Host(Clock, Protocol):
    """The public API of a simulation (``engine.Simulation``) through which the calendar acts."""

    plan: Plan
    age_idx: int  # the attribute index of age, or -1
    ypu: float  # years per time unit

    def rng(self, name: str) -> np.random.Generator: ...

    def change_capacity(self, caps: tuple[tuple[int, int], ...], scales: tuple[tuple[int, float], ...]) -> None: ...

    def open_panel(self, step: int) -> None: ...

    def meet(self, step: int) -> None: ...

    def admit(self, cohort: int, attrs: list[float], step: int, referral: float, since: float,
              assess_start: float, treat_start: float, in_service: bool) -> None: ...


def install(sim: Host) -> None:
    """Schedule the calendar's events in a fresh simulation (called once from ``run``)."""
    cal = sim.plan.calendar
    if cal is None:
        return
    sim.open_days = cal.open_days
    for ev in cal.capacity:  # first: a change dated on the start date applies before anyone is seen
        sim.schedule(ev.time, _capacity_change, (sim, ev))
    if cal.initial or cal.initial_groups:
        sim.schedule(0.0, _load_initial, sim)
    for si, times in cal.meetings.items():
        if times:
            sim.open_panel(si)
            sim.schedule(times[0], _meet, (sim, si, 0))


def closed_until(sim: Clock, step: int) -> bool:
    """If step ``step`` (which keeps office hours) is closed today, schedule a retry at the next
    opening and return True; False if it is open.

    An open day is remembered (``sim.open_until``, its end), so that the engine asks again only once
    the day is over: a dispatch at a gated step tests one float instead of calling here. So is a run
    of closed days (``sim.closed_end``, the start of the next open day, and ``sim.reopen_at``, the
    retry time): until it ends, the engine answers for a step whose retry is already set."""
    now = sim.now
    days = sim.open_days
    assert days is not None  # asked only while there are open days
    t = days.next_open_time(now)
    if t <= now:
        sim.open_until = days.day_end(now)
        return False
    sim.closed_end = days.day_start(days.next_open[int(now * days.days_per_unit + 1e-9)])
    sim.reopen_at = t
    if sim.reopen.get(step) != t:
        sim.reopen[step] = t
        sim.schedule(t - now, _reopen, (sim, step))
    return True


def _reopen(arg: tuple[Clock, int]) -> None:
    sim, step = arg
    sim.reopen.pop(step, None)
    sim.dispatch(step)


def _capacity_change(arg: tuple[Host, CapacityEvent]) -> None:
    sim, change = arg
    sim.change_capacity(change.caps, change.scales)


def _meet(arg: tuple[Host, int, int]) -> None:
    sim, si, k = arg
    sim.meet(si)
    times = sim.plan.calendar.meetings[si]  # type: ignore[union-attr]  # installed from it
    if k + 1 < len(times):
        sim.schedule(times[k + 1] - sim.now, _meet, (sim, si, k + 1))


def _load_initial(sim: Host) -> None:
    """Put today's waiting list into the system at time 0 (those in service first)."""
    plan = sim.plan
    cal = plan.calendar
    assert cal is not None  # scheduled from it
    rows: list[tuple[bool, int, int, float, float, float, float, list[float]]] = []
    attr_streams: dict[tuple[str, int, int], BlockStream] = {}

    def draw(ci: int, ai: int, sampler: Sampler | None, key: str) -> float:
        if sampler is None:
            return math.nan
        st = attr_streams.get((key, ci, ai))
        if st is None:
            st = attr_streams[(key, ci, ai)] = BlockStream(
                sim.rng(f"initial/{key}/{plan.cohorts[ci].name}/{plan.attributes[ai].name}"), sampler)
        return st()

    for ip in cal.initial:
        attrs = [v if v == v else draw(ip.cohort, ai, plan.cohorts[ip.cohort].samplers[ai], "csv")
                 for ai, v in enumerate(ip.attrs)]
        rows.append((ip.in_service, ip.cohort, ip.step, ip.referral, ip.since, ip.assess_start,
                     ip.treat_start, attrs))
    for gi, g in enumerate(cal.initial_groups):
        waited = BlockStream(sim.rng(f"initial/waited/{gi}"), g.waited)
        treated = BlockStream(sim.rng(f"initial/treated/{gi}"), g.treated_for) if g.treated_for else None
        for _ in range(g.count):
            w = max(waited(), 0.0)
            attrs = [draw(g.cohort, ai, g.samplers[ai] or plan.cohorts[g.cohort].samplers[ai], f"group{gi}")
                     for ai in range(len(plan.attributes))]
            if treated is None:
                rows.append((False, g.cohort, g.step, -w, -w, math.nan, math.nan, attrs))
            else:  # in service for tf, after waiting w from referral; assessed before that (assumed)
                tf = max(treated(), 0.0)
                rows.append((True, g.cohort, g.step, -(w + tf), -tf, -tf, -tf, attrs))
    rows.sort(key=lambda r: (not r[0], r[4]))  # in service first, then longest waiting first
    age = sim.age_idx
    for in_service, ci, si, referral, since, a_start, t_start, attrs in rows:
        if age >= 0 and attrs[age] == attrs[age]:
            attrs[age] -= (0.0 - referral) * sim.ypu  # ages are given at the start date; store at referral
        sim.admit(ci, list(attrs), si, referral, since, a_start, t_start, in_service)
