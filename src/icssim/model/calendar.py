"""Calendar time: open days, dated capacity plans, panel meetings and today's waiting list.

Everything here is compiled once per scenario into a :class:`CalendarPlan` (numbers and
indices only; times in scenario units from ``scenario.start_date``) and installed into a
simulation by :func:`install`, which schedules the dated events. The calendar acts on the
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

from icssim.distributions import BlockStream, Sampler
from icssim.kinds import KINDS
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


# ---------------------------------------------------------------------------------- compile
def staff_capacity(wte: float, weekly: float | None) -> tuple[int, float]:
    """(servers, elapsed scale) of a staff pool of ``wte`` (as :func:`icssim.model.plan._resources`)."""
    servers = math.ceil(wte - 1e-9) if wte > 1e-9 else 0
    if weekly is None or servers == 0:
        return servers, 1.0
    return servers, 168.0 / (wte * weekly / servers)


def capacity_levels(s, unit: str) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """Level over time of every planned (service, role|'beds'): [(time, level), ...] from time 0."""
    start = s.scenario.start_date
    out: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for ch in sorted(s.capacity_plan, key=lambda c: _when(c, start, unit)):
        key = (ch.service, ch.role)
        svc = s.services[ch.service]
        if key not in out:
            base = float(svc.beds) if ch.role == "beds" else svc.staff[ch.role].wte
            out[key] = [(0.0, base)]
        t = _when(ch, start, unit)
        level = out[key][-1][1] + ch.change if ch.change is not None else ch.to
        out[key].append((t, level))
    return out


def _when(ch, start: dt.date | None, unit: str) -> float:
    if ch.date is not None:
        return time_of(ch.date, start, unit)
    return ch.at.to(unit)


def compile_capacity(s, unit: str, horizon: float, warmup: float, resources, res_index, steps):
    """Capacity events and the window-averaged capacity of every resource."""
    levels = capacity_levels(s, unit)
    caps_now = [r.capacity for r in resources]
    mean = [float(r.capacity) for r in resources]
    if not levels:
        return (), tuple(mean)
    wte = {(sn, role): st.wte for sn, svc in s.services.items() for role, st in svc.staff.items()}
    beds = {sn: float(svc.beds) for sn, svc in s.services.items()}
    times = sorted({t for traj in levels.values() for t, _ in traj[1:]})
    scale = {ri: r.elapsed_scale for ri, r in enumerate(resources)}
    timeline: dict[int, list[tuple[float, int]]] = {ri: [(0.0, c)] for ri, c in enumerate(caps_now)}
    events = []
    for t in times:
        for (sn, role), traj in levels.items():
            for when, level in traj[1:]:
                if when == t:
                    if role == "beds":
                        beds[sn] = level
                    else:
                        wte[(sn, role)] = level
        changed: dict[int, int] = {}
        for sn, svc in s.services.items():
            for role, st in svc.staff.items():
                ri = res_index[(sn, role)]
                servers, sc = staff_capacity(wte[(sn, role)], st.clinical_hours_per_week)
                scale[ri] = sc
                changed[ri] = servers
            cl = svc.caseload
            if cl is not None and not isinstance(cl, int):
                changed[res_index[(sn, "@caseload")]] = int(round(cl.per_wte * wte[(sn, cl.role)]))
            if (sn, "@beds") in res_index:
                changed[res_index[(sn, "@beds")]] = int(round(beds[sn]))
        caps = tuple((ri, c) for ri, c in sorted(changed.items()) if c != timeline[ri][-1][1])
        for ri, c in caps:
            timeline[ri].append((t, c))
        step_scales = []
        share = open_share(s.calendar) if s.calendar is not None else 1.0
        for sp in steps:
            staff_res = [ri for ri in sp.resources if resources[ri].kind == "staff"]
            if staff_res and sp.sessions is None:
                sc = max(scale[ri] for ri in staff_res)
                step_scales.append((sp.index, office_scale(sc, share) if sp.working_days_only else sc))
        events.append(CapacityEvent(t, caps, tuple(step_scales)))
    for ri, tl in timeline.items():
        area = 0.0
        for (t0, c), nxt in zip(tl, tl[1:] + [(horizon, None)]):
            lo, hi = max(t0, warmup), max(nxt[0], warmup)
            area += c * max(hi - lo, 0.0)
        mean[ri] = area / (horizon - warmup)
    return tuple(events), tuple(mean)


def meeting_times(meets, start: dt.date | None, unit: str, horizon: float,
                  open_days: OpenDays | None) -> tuple[float, ...]:
    """Times a panel meets before the horizon (a meeting on a closed day moves to the next open day)."""
    every = meets.every.to(unit)
    if meets.weekday is not None:
        ahead = (WEEKDAY_INDEX[meets.weekday] - start.weekday()) % 7
        first = ahead / days_per_unit(unit)
    elif meets.first is not None:
        first = meets.first.to(unit)
    else:
        first = every
    out: list[float] = []
    t = first
    while t < horizon:
        m = open_days.next_open_time(t) if open_days is not None else t
        if m < horizon and (not out or m > out[-1]):
            out.append(m)
        t += every
    return tuple(out)


def needs_calendar(s) -> bool:
    """Whether scenario ``s`` uses any calendar feature that needs a :class:`CalendarPlan`."""
    return bool(s.calendar is not None or s.capacity_plan or s.initial_state is not None
                or any(KINDS[st.kind].meets for st in s.pathway.steps.values()))


def working_days_only(step) -> bool:
    """Whether appointments at ``step`` are only given on open days (default: staffed clinic steps)."""
    if step.working_days_only is not None:
        return step.working_days_only
    return bool(step.staff) and not KINDS[step.kind].always_open


def open_share(spec) -> float:
    """Share of the week that is open (working days / 7)."""
    return len(set(spec.working_days)) / 7


def office_scale(scale: float, share: float) -> float:
    """Elapsed time per unit of staff time when staff work only on open days.

    Part-time staff deliver their clinical hours per week over the open days only, so a contact
    takes ``duration x 24 x open days / clinical hours`` of elapsed time instead of ``x 168 / hours``
    (never less than the contact itself). Always-available pools (scale 1) are unchanged."""
    return max(scale * share, 1.0) if scale > 1.0 else scale


def office_hours(sp, step, spec):
    """The compiled step ``sp`` with its office-hours flag and elapsed-time scale under calendar ``spec``."""
    from dataclasses import replace

    if not working_days_only(step):
        return sp
    return replace(sp, working_days_only=True, elapsed_scale=office_scale(sp.elapsed_scale, open_share(spec)))


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


def compile_calendar(s, unit: str, horizon: float, warmup: float, attributes, resources, res_index,
                     steps, step_index, cohort_index) -> CalendarPlan:
    """Compile the calendar parts of scenario ``s`` (already validated) into a :class:`CalendarPlan`."""
    dpu = days_per_unit(unit)
    start = s.scenario.start_date
    open_days = None
    if s.calendar is not None:
        open_days = OpenDays.build(start, horizon * dpu, list(s.calendar.working_days),
                                   list(s.calendar.bank_holidays), dpu)
    capacity, mean = compile_capacity(s, unit, horizon, warmup, resources, res_index, steps)
    meetings = {step_index[name]: meeting_times(st.meets, start, unit, horizon, open_days)
                for name, st in s.pathway.steps.items() if KINDS[st.kind].meets}
    initial: list[InitialPatient] = []
    groups: list[InitialGroup] = []
    init = s.initial_state
    if init is not None:
        from icssim.errors import IcssimError
        from icssim.model.plan import _attr_sampler
        from icssim.scenario.initial_state import read_waiting_list, resolve_path

        path = resolve_path(s)
        if path is not None:
            rows, problems = read_waiting_list(path, s)
            if problems:
                raise IcssimError("\n".join(problems))

            def t(d):
                return math.nan if d is None else time_of(d, start, unit)

            for r in rows:
                attrs = []
                for a in attributes:
                    v = r.attrs.get(a.name, math.nan)
                    attrs.append(float(a.levels.index(v)) if isinstance(v, str) else float(v))
                initial.append(InitialPatient(cohort_index[r.cohort], step_index[r.step], t(r.referral),
                                              t(r.since), t(r.assessment), t(r.treatment), r.in_service,
                                              tuple(attrs)))
        for g in init.waiting:
            groups.append(InitialGroup(
                cohort_index[g.cohort], step_index[g.step], g.count, g.waited.compile(unit),
                tuple(_attr_sampler(g.attributes.get(a.name), a, unit) for a in attributes),
                g.treated_for.compile(unit) if g.treated_for is not None else None))
    return CalendarPlan(start, dpu, open_days, capacity, mean, meetings, tuple(initial), tuple(groups))
