"""Compiling the calendar parts of a scenario into a :class:`~icssim.model.calendar.CalendarPlan`.

Dated capacity plans become capacity events and window-averaged capacities, panels their meeting
times, today's waiting list its patients and groups, and staffed clinic steps their office hours
(``plan.compile_plan`` calls these once per scenario). The calendar at run time is ``calendar.py``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from icssim.errors import IcssimError
from icssim.kinds import KINDS
from icssim.model.calendar import (
    WEEKDAY_INDEX, CalendarPlan, CapacityEvent, InitialGroup, InitialPatient, OpenDays, days_per_unit, time_of,
)
from icssim.sampling import Sampler
from icssim.scenario.initial_state import read_waiting_list, resolve_path

# (distribution or None, attribute, time unit) -> sampler or None: plan._attr_sampler
AttrSampler = Callable[[Any, Any, str], Sampler | None]


def staff_capacity(wte: float, weekly: float | None) -> tuple[int, float]:
    """(servers, elapsed scale) of a staff pool of ``wte`` (as :func:`icssim.model.plan._resources`)."""
    servers = math.ceil(wte - 1e-9) if wte > 1e-9 else 0
    if weekly is None or servers == 0:
        return servers, 1.0
    return servers, 168.0 / (wte * weekly / servers)


def capacity_levels(s: Any, unit: str) -> dict[tuple[str, str], list[tuple[float, float]]]:
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


def _when(ch: Any, start: dt.date | None, unit: str) -> float:
    if ch.date is not None:
        return time_of(ch.date, start, unit)
    return ch.at.to(unit)


def compile_capacity(s: Any, unit: str, horizon: float, warmup: float, resources: Any, res_index: dict[Any, int],
                     steps: Any) -> tuple[tuple[CapacityEvent, ...], tuple[float, ...]]:
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


def meeting_times(meets: Any, start: dt.date | None, unit: str, horizon: float,
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


def needs_calendar(s: Any) -> bool:
    """Whether scenario ``s`` uses any calendar feature that needs a :class:`CalendarPlan`."""
    return bool(s.calendar is not None or s.capacity_plan or s.initial_state is not None
                or any(KINDS[st.kind].meets for st in s.pathway.steps.values()))


def working_days_only(step: Any) -> bool:
    """Whether appointments at ``step`` are only given on open days (default: staffed clinic steps)."""
    if step.working_days_only is not None:
        return step.working_days_only
    return bool(step.staff) and not KINDS[step.kind].always_open


def open_share(spec: Any) -> float:
    """Share of the week that is open (working days / 7)."""
    return len(set(spec.working_days)) / 7


def office_scale(scale: float, share: float) -> float:
    """Elapsed time per unit of staff time when staff work only on open days.

    Part-time staff deliver their clinical hours per week over the open days only, so a contact
    takes ``duration x 24 x open days / clinical hours`` of elapsed time instead of ``x 168 / hours``
    (never less than the contact itself). Always-available pools (scale 1) are unchanged."""
    return max(scale * share, 1.0) if scale > 1.0 else scale


def office_hours(sp: Any, step: Any, spec: Any) -> Any:
    """The compiled step ``sp`` with its office-hours flag and elapsed-time scale under calendar ``spec``."""
    if not working_days_only(step):
        return sp
    return replace(sp, working_days_only=True, elapsed_scale=office_scale(sp.elapsed_scale, open_share(spec)))


def compile_calendar(s: Any, unit: str, horizon: float, warmup: float, attributes: Any, resources: Any,
                     res_index: dict[Any, int], steps: Any, step_index: dict[str, int], cohort_index: dict[str, int],
                     attr_sampler: AttrSampler) -> CalendarPlan:
    """Compile the calendar parts of scenario ``s`` (already validated) into a :class:`CalendarPlan`
    (``attr_sampler`` is ``plan._attr_sampler``, which compiles an attribute's distribution)."""
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
        initial = _waiting_list(s, unit, attributes, step_index, cohort_index)
        for g in init.waiting:
            groups.append(InitialGroup(
                cohort_index[g.cohort], step_index[g.step], g.count, g.waited.compile(unit),
                tuple(attr_sampler(g.attributes.get(a.name), a, unit) for a in attributes),
                g.treated_for.compile(unit) if g.treated_for is not None else None))
    return CalendarPlan(start, dpu, open_days, capacity, mean, meetings, tuple(initial), tuple(groups))


def _waiting_list(s: Any, unit: str, attributes: Any, step_index: dict[str, int],
                  cohort_index: dict[str, int]) -> list[InitialPatient]:
    """The patients of the waiting-list CSV that scenario ``s`` names (none if it names none)."""
    path = resolve_path(s)
    if path is None:
        return []
    rows, problems = read_waiting_list(path, s)
    if problems:
        raise IcssimError("\n".join(problems))
    start = s.scenario.start_date

    def t(d: dt.date | None) -> float:
        return math.nan if d is None else time_of(d, start, unit)

    initial = []
    for r in rows:
        attrs = []
        for a in attributes:
            v = r.attrs.get(a.name, math.nan)
            attrs.append(float(a.levels.index(v)) if isinstance(v, str) else float(v))
        initial.append(InitialPatient(cohort_index[r.cohort], step_index[r.step], t(r.referral),
                                      t(r.since), t(r.assessment), t(r.treatment), r.in_service,
                                      tuple(attrs)))
    return initial
