"""The discrete-event engine: patients flowing through a compiled pathway on simpy.

One replication is one ``simpy.Environment``. The engine uses simpy's event queue
and clock, but drives patients with callbacks rather than one generator process per
patient, and keeps its own queues and resource counters: that removes most per-event
overhead (see ``benchmarks/README.md``). Waits are cancelled lazily: every patient
carries a wait token, and a timer or queue entry whose token is stale is ignored.

The engine knows nothing of files or plots: it returns :class:`RunRecords`.
"""

from __future__ import annotations

import math
import time
from array import array
from collections import deque
from heapq import heappop, heappush
from itertools import count

import numpy as np
import simpy

from icssim.distributions import BlockStream, Sampler, UniformStream
from icssim.model import calendar
from icssim.model.arrivals import InversionGaps
from icssim.model.plan import COST_CATEGORIES, Plan, RouterPlan, StepPlan
from icssim.model.records import ResourceUse, RunRecords, VISIT_OUTCOMES
from icssim.model.streams import Streams

NAN = math.nan
_EXP1 = Sampler(lambda rng, n: rng.exponential(1.0, n), 1.0, 1.0)
(SERVED, REJECTED, DROPPED, EMERGENCY, MISSED, DISCHARGED_MISSED, AGED_OUT, ESCALATED) = range(8)
# where a patient is: not waiting, in a hand-off or delay step, in a queue, on a routing delay
NOWHERE, IN_TRANSIT, IN_QUEUE, RETURNING = 0, 1, 2, 3
_NCAT = len(COST_CATEGORIES)
STAFF, CONTACTS, BED_DAYS, MONITORING = range(_NCAT)


class _Event:
    """The smallest object simpy's ``Environment.step`` can process: callbacks plus a value."""

    __slots__ = ("callbacks", "_ok", "_value", "_defused")


class Patient:
    """One person on the pathway: attributes, where they are, and running totals."""

    __slots__ = (
        "pid", "cohort", "attrs", "urgency0", "arrival", "referral", "assess_start", "treat_start",
        "first_intensive", "assessed", "n_dup",
        "step", "t_enter", "t_queue", "wait", "qseq", "where", "misses", "rejections", "rereferrals",
        "n_assess", "n_ae", "n_admit", "n_inpatient", "bed_days", "n_missed", "sessions", "cost",
        "mon",
    )


class _Resource:
    """Runtime state of a staff pool, caseload or bed stock."""

    __slots__ = ("cap", "used", "area", "last", "steps")

    def __init__(self, capacity: int) -> None:
        self.cap, self.used, self.area, self.last = capacity, 0, 0.0, 0.0
        self.steps: list[_Step] = []


class _Step:
    """Runtime state of a step: its plan, random streams and queue."""

    __slots__ = (
        "plan", "index", "res", "queue", "n_wait", "n_transit", "n_returning", "priority", "duration",
        "handoff",
        "urgent_handoff",
        "route_u", "dropout", "missed_u", "rebook", "sessions", "scale", "seq",
    )

    def __init__(self, plan: StepPlan, streams: Streams, resources: list[_Resource]) -> None:
        name = plan.name
        self.plan, self.index = plan, plan.index
        self.res = [resources[i] for i in plan.resources]
        self.priority = plan.priority
        self.queue: deque | list = [] if plan.priority else deque()
        self.n_wait = self.n_transit = self.n_returning = 0
        self.seq = count()
        self.scale = plan.elapsed_scale
        self.duration = _stream(streams, f"duration/{name}", plan.duration)
        self.handoff = _stream(streams, f"handoff/{name}", plan.handoff)
        self.urgent_handoff = _stream(streams, f"urgent-handoff/{name}", plan.urgent_handoff)
        self.route_u = UniformStream(streams.rng(f"route/{name}"))
        self.dropout = _stream(streams, f"dropout/{name}", _EXP1 if plan.dropout_mean else None)
        self.missed_u = UniformStream(streams.rng(f"missed/{name}"))
        self.rebook = _stream(streams, f"rebook/{name}", plan.rebook)
        self.sessions = _stream(streams, f"sessions/{name}", plan.sessions)


def _stream(streams: Streams, name: str, sampler: Sampler | None) -> BlockStream | None:
    return None if sampler is None else BlockStream(streams.rng(name), sampler)


class Simulation:
    """One replication of a compiled :class:`Plan`."""

    def __init__(self, plan: Plan, replication: int = 0, seed: int | None = None,
                 record_visits: bool = True) -> None:
        self.plan = plan
        self.seed = plan.seed if seed is None else int(seed)
        self.replication = replication
        streams = Streams(self.seed, replication)
        self.env = simpy.Environment()
        self._queue, self._eid = self.env._queue, self.env._eid
        self.res = [_Resource(r.capacity) for r in plan.resources]
        self.steps = [_Step(sp, streams, self.res) for sp in plan.steps]
        #: steps with resources: the ones with a waiting list (queue plus hand-off)
        self._served = [s for s in self.steps if s.res]
        for step in self.steps:
            for r in step.res:
                if step not in r.steps:
                    r.steps.append(step)
        self.det = plan.deterioration
        self.det_exp = BlockStream(streams.rng("deterioration"), _EXP1)
        self.det_u = UniformStream(streams.rng("detection"))
        self.mon_u = UniformStream(streams.rng("monitoring"))
        self.delay_streams = {}
        self._streams = streams
        self.ypu = plan.hours_per_unit / 24 / 365.25
        urg = plan.urgency
        self.urgent_level = float(len(plan.attributes[urg].levels) - 1) if urg >= 0 else NAN
        self.n_services = len(plan.services)
        self.n_buckets = int(plan.horizon // plan.sample_every) + 1
        self.costs = [0.0] * (self.n_buckets * max(self.n_services, 1) * _NCAT)
        self.active: dict[int, Patient] = {}
        self.arrivals = self.exits = self.scheduled = 0
        self.in_sys = 0
        self.in_sys_area = 0.0
        self.in_sys_last = 0.0
        self._init_columns(record_visits)
        self.ts: list[tuple] = []
        # calendar features (model/calendar.py); all inert unless plan.calendar is set
        self.open_days = self.deciding = None
        self.panel_held: dict[int, list] = {}
        self.reopen: dict[int, float] = {}

    # ------------------------------------------------------------------ scheduling
    def _at(self, delay: float, fn, arg) -> None:
        ev = _Event()
        ev.callbacks = [fn]
        ev._ok = True
        ev._value = arg
        self.scheduled += 1
        heappush(self._queue, (self.env._now + delay, 1, next(self._eid), ev))

    # ------------------------------------------------------------------ run
    def run(self) -> RunRecords:
        """Simulate to the horizon and return the records."""
        started = time.perf_counter()
        plan = self.plan
        for ci, cohort in enumerate(plan.cohorts):
            if cohort.profile is not None:  # time-varying demand: exact inversion of Lambda(t)
                gap = InversionGaps(cohort.profile, BlockStream(self._streams.rng(f"arrivals/{cohort.name}"), _EXP1))
            elif cohort.rate > 0:
                gap = BlockStream(self._streams.rng(f"arrivals/{cohort.name}"),
                                  Sampler(lambda rng, n, m=1 / cohort.rate: rng.exponential(m, n), 0, 0))
            if cohort.profile is not None or cohort.rate > 0:
                attr = [_stream(self._streams, f"attribute/{cohort.name}/{a.name}", smp)
                        for a, smp in zip(plan.attributes, cohort.samplers)]
                state = (ci, gap, attr)
                self._at(gap(), self._arrive, state)
        if plan.calendar is not None:
            calendar.install(self)
        self._at(0.0, self._sample, None)
        if plan.warmup > 0:
            self._at(plan.warmup, self._end_warmup, None)
        self._warm = None
        self.env.run(until=plan.horizon)
        records = self._records()
        records.wall_seconds = time.perf_counter() - started
        return records

    def _arrive(self, ev: _Event) -> None:
        ci, gap, attr = state = ev._value
        now = self.env._now
        p = Patient()
        p.pid = self.arrivals
        self.arrivals += 1
        p.cohort = ci
        p.attrs = [NAN if s is None else s() for s in attr]
        p.attrs.append(float(ci))
        urg = self.plan.urgency
        p.urgency0 = p.attrs[urg] if urg >= 0 else NAN
        p.arrival = now
        p.referral = p.assess_start = p.treat_start = p.first_intensive = NAN
        p.step = None
        p.t_enter = p.t_queue = NAN
        p.wait = p.qseq = p.where = p.misses = 0
        p.rejections = p.rereferrals = p.n_assess = p.n_ae = p.n_admit = p.n_inpatient = 0
        p.n_missed = p.sessions = p.n_dup = 0
        p.assessed = False
        p.bed_days = 0.0
        p.cost = [0.0] * self.n_services if self.n_services else None
        p.mon = None
        self.active[p.pid] = p
        self.in_sys_area += self.in_sys * (now - self.in_sys_last)
        self.in_sys_last = now
        self.in_sys += 1
        nxt = gap()
        if now + nxt < self.plan.horizon:
            self._at(nxt, self._arrive, state)
        self._enter(p, self.steps[self.plan.cohorts[ci].entry])

    def _new_patient(self, ci: int, attrs: list[float], arrival: float) -> Patient:
        """A patient put into the system other than by ``_arrive`` (today's waiting list).

        Keep in step with ``_arrive``."""
        now = self.env._now
        p = Patient()
        p.pid = self.arrivals
        self.arrivals += 1
        p.cohort = ci
        p.attrs = list(attrs)
        p.attrs.append(float(ci))
        urg = self.plan.urgency
        p.urgency0 = p.attrs[urg] if urg >= 0 else NAN
        p.arrival = arrival
        p.referral = p.assess_start = p.treat_start = p.first_intensive = NAN
        p.step = None
        p.t_enter = p.t_queue = NAN
        p.wait = p.qseq = p.where = p.misses = 0
        p.rejections = p.rereferrals = p.n_assess = p.n_ae = p.n_admit = p.n_inpatient = 0
        p.n_missed = p.sessions = p.n_dup = 0
        p.assessed = False
        p.bed_days = 0.0
        p.cost = [0.0] * self.n_services if self.n_services else None
        p.mon = None
        self.active[p.pid] = p
        self.in_sys_area += self.in_sys * (now - self.in_sys_last)
        self.in_sys_last = now
        self.in_sys += 1
        return p

    # ------------------------------------------------------------------ moving between steps
    def _enter(self, p: Patient, s: _Step) -> None:
        """Patient arrives at step ``s`` (a referral is sent, or they walk in)."""
        sp = s.plan
        now = self.env._now
        if p.step is not s:
            p.misses = 0
        p.step = s
        p.t_enter = now
        p.t_queue = NAN
        p.wait += 1
        p.where = NOWHERE
        if sp.kind == "discharge":
            self._exit(p, sp.outcome)
            return
        if p.mon is not None and s.index in p.mon[2]:
            self._stop_monitoring(p)
        if sp.monitoring is not None:
            self._maybe_monitor(p, sp)
        if sp.deteriorates and self.det is not None:
            self._schedule_deterioration(p)
        if s.handoff is not None:
            p.where = IN_TRANSIT
            s.n_transit += 1
            urgent = s.urgent_handoff is not None and p.attrs[self.plan.urgency] == self.urgent_level
            delay = s.urgent_handoff() if urgent else s.handoff()
            self._at(delay, self._after_handoff, (p, s, p.wait))
        else:
            self._join(p, s)

    def _after_handoff(self, ev: _Event) -> None:
        p, s, tok = ev._value
        if p.wait == tok:
            s.n_transit -= 1
            p.where = NOWHERE
            self._join(p, s)

    def _move(self, p: Patient, router: RouterPlan, s: _Step) -> None:
        """Follow ``router`` from step ``s``: choose the next step, maybe after a delay."""
        while router.target < 0:
            if router.cumulative:
                u = s.route_u()
                cum = router.cumulative
                i = 0
                while u >= cum[i]:
                    i += 1
                router = router.branches[i]
            else:
                now = self.env._now
                for cond, branch in zip(router.conditions, router.branches):
                    if cond is None or cond(p.attrs, p.arrival, now):
                        router = branch
                        break
        target = self.steps[router.target]
        if router.delay is None:
            self._enter(p, target)
            return
        key = (s.index, router.target)
        stream = self.delay_streams.get(key)
        if stream is None:
            stream = self.delay_streams[key] = BlockStream(
                self._streams.rng(f"route-delay/{s.plan.name}/{target.plan.name}"), router.delay)
        p.wait += 1
        if p.step is not target:
            p.misses = 0
            p.step = target
        p.where = RETURNING
        target.n_returning += 1
        if target.plan.deteriorates and self.det is not None:
            self._schedule_deterioration(p)
        self._at(stream(), self._arrive_after_delay, (p, target, p.wait))

    def _arrive_after_delay(self, ev: _Event) -> None:
        p, s, tok = ev._value
        if p.wait == tok:
            s.n_returning -= 1
            self._enter(p, s)

    def _join(self, p: Patient, s: _Step) -> None:
        """The referral reaches step ``s``: acceptance, clock, age limit, then the queue."""
        sp = s.plan
        if sp.meets:  # a panel: wait for the next meeting, which calls _join again to decide
            if self.deciding is not p:
                calendar.hold(self, p, s)
                return
            self.deciding = None
        now = self.env._now
        if sp.accept is not None:
            if p.rejections:
                p.rereferrals += 1
            if not sp.accept(p.attrs, p.arrival, now):
                p.rejections += 1
                p.wait += 1
                self._visit(p, s, NAN, REJECTED)
                self._move(p, sp.on_reject, s)
                return
        if sp.starts_clock and p.referral != p.referral:
            p.referral = p.t_enter
        if sp.age_max is not None:
            years_left = sp.age_max - (p.attrs[self.age_idx] + (now - p.arrival) * self.ypu)
            if years_left <= 0:
                p.wait += 1
                self._visit(p, s, NAN, AGED_OUT)
                self._move(p, sp.age_then, s)
                return
            if s.res:
                self._at(years_left / self.ypu, self._age_out, (p, s, p.wait))
        p.t_queue = now
        if not s.res:
            self._pass_through(p, s)
            return
        self._enqueue(p, s)

    def _pass_through(self, p: Patient, s: _Step) -> None:
        """A step without resources: a pure delay, or an instantaneous decision."""
        if s.duration is None:
            p.wait += 1
            self._start_counts(p, s)
            self._charge_contact(p, s, 0.0)
            self._visit(p, s, self.env._now, SERVED)
            for i, value in s.plan.sets:
                p.attrs[i] = value
            self._move(p, s.plan.next, s)
            return
        p.where = IN_TRANSIT
        s.n_transit += 1
        self._start_counts(p, s)
        length = s.duration()
        self._charge_contact(p, s, length)
        self._at(length, self._end_delay, (p, s, p.wait))

    def _end_delay(self, ev: _Event) -> None:
        p, s, tok = ev._value
        if p.wait != tok:
            return
        s.n_transit -= 1
        p.wait += 1
        p.where = NOWHERE
        self._visit(p, s, p.t_queue, SERVED)
        for i, value in s.plan.sets:
            p.attrs[i] = value
        self._move(p, s.plan.next, s)

    # ------------------------------------------------------------------ queues
    def _enqueue(self, p: Patient, s: _Step) -> None:
        p.where = IN_QUEUE
        s.n_wait += 1
        if s.priority:
            p.qseq += 1
            heappush(s.queue, (-p.attrs[self.plan.urgency], p.t_queue, next(s.seq), p, p.wait, p.qseq))
        else:
            s.queue.append((p, p.wait))
        if s.dropout is not None:
            self._at(s.dropout() * s.plan.dropout_mean, self._drop_out, (p, s, p.wait))
        self._dispatch(s)

    def _dispatch(self, s: _Step) -> None:
        """Start as many waiting patients at ``s`` as its resources allow."""
        if self.open_days is not None and s.plan.working_days_only and calendar.closed_until(self, s):
            return
        q = s.queue
        res = s.res
        while s.n_wait:
            for r in res:
                if r.used >= r.cap:
                    return
            if s.priority:
                entry = heappop(q)
                p = entry[3]
                if p.wait != entry[4] or p.qseq != entry[5]:
                    continue
            else:
                p, tok = q.popleft()
                if p.wait != tok:
                    continue
            self._start(p, s)

    def _leave_queue(self, p: Patient) -> _Step:
        """Take ``p`` out of whatever it is waiting in (queue entries go stale)."""
        s = p.step
        if p.where == IN_QUEUE:
            s.n_wait -= 1
        elif p.where == IN_TRANSIT:
            s.n_transit -= 1
        elif p.where == RETURNING:
            s.n_returning -= 1
        p.where = NOWHERE
        p.wait += 1
        return s

    def _drop_out(self, ev: _Event) -> None:
        p, s, tok = ev._value
        if p.wait != tok:
            return
        self._leave_queue(p)
        self._visit(p, s, NAN, DROPPED)
        if s.plan.dropout_then is not None:
            self._move(p, s.plan.dropout_then, s)
        else:
            self._exit(p, "dropped_out")

    def _age_out(self, ev: _Event) -> None:
        p, s, tok = ev._value
        if p.wait != tok:
            return
        self._leave_queue(p)
        self._visit(p, s, NAN, AGED_OUT)
        self._move(p, s.plan.age_then, s)

    # ------------------------------------------------------------------ service
    def _start(self, p: Patient, s: _Step) -> None:
        now = self.env._now
        sp = s.plan
        p.wait += 1
        p.where = NOWHERE
        s.n_wait -= 1
        for r in s.res:
            r.area += r.used * (now - r.last)
            r.last = now
            r.used += 1
        if s.sessions is not None:
            self._start_counts(p, s)
            self._start_episode(p, s, now)
        elif sp.bed_day_cost or sp.kind in ("admission", "inpatient"):
            self._start_counts(p, s)
            self._start_stay(p, s, now)
        else:
            missed = sp.missed_p > 0 and s.missed_u() < sp.missed_p
            if not missed:
                self._start_counts(p, s)
            contact = s.duration()
            self._charge_contact(p, s, contact)
            self._at(contact * s.scale, self._end_service, (p, s, now, MISSED if missed else SERVED))

    def _charge_contact(self, p: Patient, s: _Step, contact: float) -> None:
        """Charge one contact at ``s``: its contact cost, or the staff time it took."""
        sp = s.plan
        if sp.contact_cost or sp.staff_hours_cost:
            now = self.env._now
            cost = sp.contact_cost + sp.staff_hours_cost * contact
            self._book(p, sp.service, CONTACTS if sp.contact_cost else STAFF, cost, now, now)

    def _start_counts(self, p: Patient, s: _Step) -> None:
        sp = s.plan
        now = self.env._now
        if p.mon is not None and s.index in p.mon[2]:
            self._stop_monitoring(p)
        if sp.is_assessment:
            p.n_assess += 1
            if p.assessed:  # assessed again before any treatment: a duplicated assessment
                p.n_dup += 1
            p.assessed = True
            if p.assess_start != p.assess_start:
                p.assess_start = now
        elif sp.is_treatment:
            p.assessed = False
            if p.treat_start != p.treat_start:
                p.treat_start = now
        if sp.is_intensive and p.first_intensive != p.first_intensive:
            p.first_intensive = now
        kind = sp.kind
        if kind == "emergency":
            p.n_ae += 1
        elif kind == "admission":
            p.n_admit += 1
        elif kind == "inpatient":
            p.n_inpatient += 1

    def _start_episode(self, p: Patient, s: _Step, now: float) -> None:
        """A treatment episode: book sessions every interval, count misses, maybe discharge."""
        sp = s.plan
        n = max(1, int(round(s.sessions())))
        every = sp.session_every
        booked = attended = consecutive = 0
        outcome = SERVED
        while attended < n:
            booked += 1
            if sp.missed_p > 0 and s.missed_u() < sp.missed_p:
                consecutive += 1
                if consecutive >= sp.discharge_after:
                    outcome = DISCHARGED_MISSED
                    break
            else:
                attended += 1
                consecutive = 0
        length = booked * every
        if sp.age_max is not None:
            years_left = sp.age_max - (p.attrs[self.age_idx] + (now - p.arrival) * self.ypu)
            if years_left / self.ypu < length:
                share = max(years_left / self.ypu, 0.0) / length
                attended, booked = int(attended * share), max(int(booked * share), 1)
                length = max(years_left / self.ypu, 0.0)
                outcome = AGED_OUT
        p.sessions += attended
        p.n_missed += booked - attended
        if sp.contact_cost or sp.staff_hours_cost:
            per = sp.contact_cost or sp.staff_hours_cost * (s.duration() if s.duration else 0.0)
            self._book(p, sp.service, CONTACTS if sp.contact_cost else STAFF, per * booked, now, now + length)
        self._at(length, self._end_service, (p, s, now, outcome))

    def _start_stay(self, p: Patient, s: _Step, now: float) -> None:
        """A bed-based stay (admission or inpatient): length of stay from ``duration``."""
        sp = s.plan
        los = s.duration()
        days = los * self.plan.hours_per_unit / 24
        if sp.kind == "inpatient":
            p.bed_days += days
        if sp.bed_day_cost:
            self._book(p, sp.service, BED_DAYS, sp.bed_day_cost * los, now, now + los)
        if sp.contact_cost:
            self._book(p, sp.service, CONTACTS, sp.contact_cost, now, now)
        self._at(los, self._end_service, (p, s, now, SERVED))

    def _end_service(self, ev: _Event) -> None:
        p, s, started, outcome = ev._value
        now = self.env._now
        for r in s.res:
            r.area += r.used * (now - r.last)
            r.last = now
            r.used -= 1
        self._visit(p, s, started, outcome)
        for r in s.res:
            for waiting in r.steps:
                if waiting.n_wait:
                    self._dispatch(waiting)
        sp = s.plan
        if outcome == SERVED:
            for i, value in sp.sets:
                p.attrs[i] = value
            self._move(p, sp.next, s)
        elif outcome == MISSED:
            self._after_missed(p, s)
        elif outcome == DISCHARGED_MISSED:
            self._discharge_missed(p, s)
        else:  # AGED_OUT
            self._move(p, sp.age_then, s)

    def _after_missed(self, p: Patient, s: _Step) -> None:
        p.misses += 1
        p.n_missed += 1
        if p.misses >= s.plan.discharge_after:
            self._discharge_missed(p, s)
            return
        p.wait += 1
        if s.plan.deteriorates and self.det is not None:  # waiting again: risk can escalate again
            self._schedule_deterioration(p)
        if s.rebook is None:
            p.t_queue = self.env._now
            self._arm_age_limit(p, s)
            self._enqueue(p, s)
            return
        p.where = IN_TRANSIT
        s.n_transit += 1
        self._at(s.rebook(), self._rebooked, (p, s, p.wait))

    def _rebooked(self, ev: _Event) -> None:
        p, s, tok = ev._value
        if p.wait == tok:
            s.n_transit -= 1
            p.t_queue = self.env._now
            self._arm_age_limit(p, s)
            self._enqueue(p, s)

    def _arm_age_limit(self, p: Patient, s: _Step) -> None:
        """Schedule leaving the queue at ``s`` on reaching its age limit (re-armed on every wait)."""
        if s.plan.age_max is not None:
            years_left = s.plan.age_max - (p.attrs[self.age_idx] + (self.env._now - p.arrival) * self.ypu)
            self._at(max(years_left, 0.0) / self.ypu, self._age_out, (p, s, p.wait))

    def _discharge_missed(self, p: Patient, s: _Step) -> None:
        if s.plan.missed_then is not None:
            self._move(p, s.plan.missed_then, s)
        else:
            self._exit(p, "discharged_missed")

    # ------------------------------------------------------------------ deterioration and monitoring
    def _schedule_deterioration(self, p: Patient) -> None:
        det = self.det
        level = int(p.attrs[det.attribute])
        if level == level and level < len(det.hazard) and det.hazard[level] > 0:
            self._at(self.det_exp() / det.hazard[level], self._deteriorate, (p, p.wait))

    def _deteriorate(self, ev: _Event) -> None:
        p, tok = ev._value
        if p.wait != tok:
            return
        det = self.det
        level = int(p.attrs[det.attribute]) + 1
        p.attrs[det.attribute] = float(level)
        if level >= det.emergency_at:
            s = self._leave_queue(p)
            caught = (p.mon is not None and det.detection_probability > 0
                      and self.det_u() < det.detection_probability)
            self._visit(p, s, NAN, ESCALATED if caught else EMERGENCY)
            self._enter(p, self.steps[det.detected_step if caught else det.emergency_step])
            return
        urg = self.plan.urgency
        if level >= det.urgent_from and urg >= 0:
            top = float(len(self.plan.attributes[urg].levels) - 1)
            if p.attrs[urg] < top:
                p.attrs[urg] = top
                s = p.step
                if p.where == IN_QUEUE and s.priority:
                    p.qseq += 1
                    heappush(s.queue, (-top, p.t_queue, next(s.seq), p, p.wait, p.qseq))
        self._schedule_deterioration(p)

    def _maybe_monitor(self, p: Patient, sp: StepPlan) -> None:
        prob = sp.monitoring[0]
        if prob >= 1.0 or self.mon_u() < prob:
            if p.mon is not None:
                self._stop_monitoring(p)
            p.mon = (self.env._now, *sp.monitoring[1:])

    def _stop_monitoring(self, p: Patient) -> None:
        since, every, _until, service, cost = p.mon
        p.mon = None
        now = self.env._now
        contacts = int((now - since) // every)
        if contacts and cost and service >= 0:
            self._book(p, service, MONITORING, contacts * cost, since, now)

    # ------------------------------------------------------------------ bookkeeping
    def _book(self, p: Patient, service: int, category: int, amount: float, t0: float, t1: float) -> None:
        """Charge ``amount`` to ``service``, spread evenly over [t0, t1] in time buckets."""
        if service < 0:
            return
        p.cost[service] += amount
        width = self.plan.sample_every
        last = self.n_buckets - 1
        b0 = min(int(t0 // width), last)
        b1 = min(int(t1 // width), last)
        stride = self.n_services * _NCAT
        base = service * _NCAT + category
        if b0 == b1:
            self.costs[b0 * stride + base] += amount
            return
        rate = amount / (t1 - t0)
        for b in range(b0, b1 + 1):
            lo, hi = max(t0, b * width), min(t1, (b + 1) * width) if b < last else t1
            self.costs[b * stride + base] += rate * (hi - lo)

    def _exit(self, p: Patient, outcome: str) -> None:
        now = self.env._now
        if p.mon is not None:
            self._stop_monitoring(p)
        del self.active[p.pid]
        self.in_sys_area += self.in_sys * (now - self.in_sys_last)
        self.in_sys_last = now
        self.in_sys -= 1
        self.exits += 1
        self._write_patient(p, now, self._outcome_code[outcome])

    def _sample(self, ev: _Event) -> None:
        now = self.env._now
        self.ts.append((now, self.in_sys, *(s.n_wait + s.n_transit for s in self._served),
                        *(s.n_wait for s in self._served), *(r.used for r in self.res)))
        if now + self.plan.sample_every <= self.plan.horizon:
            self._at(self.plan.sample_every, self._sample, None)

    def _end_warmup(self, ev: _Event) -> None:
        now = self.env._now
        for r in self.res:
            r.area += r.used * (now - r.last)
            r.last = now
        self.in_sys_area += self.in_sys * (now - self.in_sys_last)
        self.in_sys_last = now
        self._warm = ([r.area for r in self.res], self.in_sys_area)

    # ------------------------------------------------------------------ records
    _PATIENT_FLOATS = ("arrival", "referral", "assess_start", "treat_start", "first_intensive", "exit",
                       "bed_days", "urgency0")
    _PATIENT_INTS = ("pid", "cohort", "outcome", "rejections", "rereferrals", "n_assessments",
                     "n_duplicated_assessments", "n_ae", "n_emergency_admissions",
                     "n_inpatient_admissions", "n_missed", "sessions")

    def _init_columns(self, record_visits: bool) -> None:
        plan = self.plan
        self._outcome_code = {o: i for i, o in enumerate(plan.outcomes)}
        self.pf = {k: array("d") for k in self._PATIENT_FLOATS}
        self.pi = {k: array("i") for k in self._PATIENT_INTS}
        self.pattr = [array("d") for _ in range(len(plan.attributes))]
        self.pattr_end = array("d")
        self.pcost = [array("d") for _ in range(self.n_services)]
        self.visits = ({k: array("d") for k in ("t_enter", "t_queue", "t_start", "t_end")}
                       | {k: array("i") for k in ("pid", "step", "outcome")}) if record_visits else None
        self._final_attr = plan.deterioration.attribute if plan.deterioration else -1
        self._icols = [self.pi[k] for k in self._PATIENT_INTS]
        self.age_idx = next((i for i, a in enumerate(plan.attributes) if a.ages), -1)

    def _write_patient(self, p: Patient, exit_time: float, outcome: int) -> None:
        f, i = self.pf, self.pi
        f["arrival"].append(p.arrival)
        f["referral"].append(p.referral)
        f["assess_start"].append(p.assess_start)
        f["treat_start"].append(p.treat_start)
        f["first_intensive"].append(p.first_intensive)
        f["exit"].append(exit_time)
        f["bed_days"].append(p.bed_days)
        f["urgency0"].append(p.urgency0)
        for col, val in zip(self._icols, (p.pid, p.cohort, outcome, p.rejections, p.rereferrals,
                                              p.n_assess, p.n_dup, p.n_ae, p.n_admit, p.n_inpatient, p.n_missed,
                                              p.sessions)):
            col.append(val)
        for col, val in zip(self.pattr, p.attrs):
            col.append(val)
        if self._final_attr >= 0:
            self.pattr_end.append(p.attrs[self._final_attr])
        if p.cost is not None:
            for col, val in zip(self.pcost, p.cost):
                col.append(val)

    def _visit(self, p: Patient, s: _Step, started: float, outcome: int) -> None:
        v = self.visits
        if v is None:
            return
        v["pid"].append(p.pid)
        v["step"].append(s.index)
        v["t_enter"].append(p.t_enter)
        v["t_queue"].append(p.t_queue)
        v["t_start"].append(started)
        v["t_end"].append(self.env._now)
        v["outcome"].append(outcome)

    def _records(self) -> RunRecords:
        plan = self.plan
        end = plan.horizon
        for r in self.res:
            r.area += r.used * (end - r.last)
            r.last = end
        self.in_sys_area += self.in_sys * (end - self.in_sys_last)
        warm_areas, warm_sys = self._warm or ([0.0] * len(self.res), 0.0)
        in_system_end = len(self.active)
        for p in list(self.active.values()):
            if p.mon is not None:
                self._stop_monitoring(p)
            self._write_patient(p, NAN, self._outcome_code["in_system"])
        patients = {k: np.frombuffer(v, dtype=np.float64) for k, v in self.pf.items()}
        patients |= {k: np.frombuffer(v, dtype=np.int32) for k, v in self.pi.items()}
        for a, col in zip(plan.attributes, self.pattr):
            patients[f"attr_{a.name}"] = np.frombuffer(col, dtype=np.float64)
        if self._final_attr >= 0:
            patients[f"final_{plan.attributes[self._final_attr].name}"] = np.frombuffer(self.pattr_end, np.float64)
        for name, col in zip(plan.services, self.pcost):
            patients[f"cost_{name}"] = np.frombuffer(col, dtype=np.float64)
        cal = plan.calendar
        if cal is not None and (cal.initial or cal.initial_groups):  # today's waiting list: pids 0..n-1
            n0 = len(cal.initial) + sum(g.count for g in cal.initial_groups)
            patients["initial"] = patients["pid"] < n0
        visits = None
        if self.visits is not None:
            visits = {k: np.frombuffer(v, dtype=np.float64 if v.typecode == "d" else np.int32)
                      for k, v in self.visits.items()}
        ts_cols = (["time", "in_system"] + [f"waiting_{s.plan.name}" for s in self._served]
                   + [f"queue_{s.plan.name}" for s in self._served] + [f"in_use_{r.name}" for r in plan.resources])
        ts = np.array(self.ts, dtype=float).reshape(len(self.ts), len(ts_cols))
        costs = np.array(self.costs).reshape(self.n_buckets, max(self.n_services, 1), _NCAT)
        return RunRecords(
            scenario=plan.name, seed=self.seed, replication=self.replication, time_unit=plan.time_unit,
            horizon=plan.horizon, warmup=plan.warmup, sample_every=plan.sample_every,
            hours_per_unit=plan.hours_per_unit,
            steps=tuple(s.name for s in plan.steps), step_kinds=tuple(s.kind for s in plan.steps),
            services=plan.services, cohorts=tuple(c.name for c in plan.cohorts),
            attributes=tuple(a.name for a in plan.attributes),
            attribute_levels={a.name: a.levels for a in plan.attributes if a.levels},
            outcomes=plan.outcomes, patients=patients, visits=visits,
            timeseries={c: ts[:, i] for i, c in enumerate(ts_cols)},
            costs=costs,
            resources=[ResourceUse(rp.name, plan.services[rp.service], rp.kind, rp.role,
                                   rp.capacity if cal is None or not cal.capacity else cal.mean_capacity[i],
                                   r.area - wa, rp.hours_available, bool(r.steps))
                       for i, (rp, r, wa) in enumerate(zip(plan.resources, self.res, warm_areas))],
            arrivals=self.arrivals, exits=self.exits, in_system_end=in_system_end,
            in_system_area=self.in_sys_area - warm_sys,
            events=self.scheduled - len(self._queue),
        )


def simulate(plan: Plan, replication: int = 0, seed: int | None = None,
             record_visits: bool = True) -> RunRecords:
    """Run one replication of ``plan`` and return its records."""
    return Simulation(plan, replication, seed, record_visits).run()
