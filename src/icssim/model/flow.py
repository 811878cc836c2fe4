"""Flow between steps: arrivals, entering a step, hand-offs, routing, acceptance, panels and exits.

A patient enters a step (``_enter``), possibly after a hand-off, and joins it (``_join``): the
step's acceptance test, the referral clock, its age limit, a panel's meeting, then its queue
(queues.py) or, at a step without resources, a delay or an instant decision (``_pass_through``).
When they are done they follow a router to the next step (``_move``), possibly after a delay, or
leave (``_exit``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from heapq import heappush
from typing import Any

from icssim.errors import RunawayPathway
from icssim.model.entities import (
    AGED_OUT, IN_QUEUE, IN_TRANSIT, NAN, NOWHERE, REJECTED, RETURNING, SERVED, Draw, Patient, Resource, Router,
    Step,
)
from icssim.model.plan import Plan
from icssim.model.queues import Queues
from icssim.sampling import block_draws


class Flow(Queues):
    """Patients arriving, moving between steps and leaving."""

    _arrive_cb: Callable[[Any], None]  # self._arrive, made once (set by Simulation)
    _after_handoff_cb: Callable[[Any], None]  # self._after_handoff, likewise

    def __init__(self, plan: Plan, replication: int, seed: int | None, record_visits: bool) -> None:
        super().__init__(plan, replication, seed, record_visits)
        self.deciding: Patient | None = None  # the patient a panel is deciding on (see meet)
        self.panel_held: dict[int, list[tuple[Patient, int]]] = {}  # per panel step, those waiting for it

    # the other parts' operations used here (see engine.py)
    def _start_counts(self, p: Patient, s: Step) -> None:
        """(service.py) Count the start of a service at ``s`` in ``p``'s totals."""
        raise NotImplementedError

    def _charge_contact(self, p: Patient, s: Step, contact: float) -> None:
        """(service.py) Charge one contact at ``s``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ arriving
    def _arrive(self, state: tuple[int, Draw, list[Draw | None], list[float] | None, Step]) -> None:
        ci, gap, attr, const, entry = state
        now = self.now
        attrs = const.copy() if const is not None else [NAN if s is None else s() for s in attr]
        p = self._new_patient(ci, attrs, now)
        nxt = now + gap()
        if nxt < self._horizon:
            heappush(self._queue, (nxt, 1, next(self._eid), self._arrive_cb, state))
        self._enter(p, entry)

    def _new_patient(self, ci: int, attrs: list[float], arrival: float) -> Patient:
        """A new patient of cohort ``ci`` with attribute values ``attrs`` (the list is kept and
        gets the cohort index appended), counted into the system now."""
        now = self.now
        p = Patient()
        p.pid = self.arrivals
        self.arrivals += 1
        p.cohort = ci
        p.attrs = attrs
        attrs.append(float(ci))
        urg = self._urg
        p.urgency0 = attrs[urg] if urg >= 0 else NAN
        p.attrs0 = [attrs[i] for i in self._changing]
        p.arrival = arrival
        p.referral = p.assess_start = p.treat_start = p.first_intensive = NAN
        p.step = None
        p.t_enter = p.t_queue = NAN
        p.wait = p.qseq = p.where = p.misses = 0
        p.rejections = p.rereferrals = p.n_assess = p.n_ae = p.n_admit = p.n_inpatient = 0
        p.n_missed = p.sessions = p.n_dup = 0
        p.assessed = False
        p.bed_days = 0.0
        p.cost = self._no_costs if self._no_costs is not None else [0.0] * self.n_services
        p.mon = None
        p.det_due, p.det_level, p.det_seq, p.det_wait = -math.inf, -1, 0, -1
        p.hc = None
        p.hc_number = -1
        if self.has_choices:
            self.choices.enrol(p)
        self.active[p.pid] = p
        self.in_sys_area += self.in_sys * (now - self.in_sys_last)
        self.in_sys_last = now
        self.in_sys += 1
        if self.course is not None:
            self._course_begin(p)
        return p

    def _runaway(self, p: Patient, s: Step) -> None:
        """Stop a replication in which a patient moves between steps without end (a loop whose
        way out is, in practice, never taken): a clear error instead of a run that never ends."""
        raise RunawayPathway(
            f"replication {self.replication}: patient {p.pid} (cohort {self.plan.cohorts[p.cohort].name!r}) "
            f"moved between steps more than {self._max_moves:,} times by time {self.now:g} "
            f"{self.plan.time_unit}, last into step {s.plan.name!r}; the pathway loops without end in "
            f"practice. Check the routing back into {s.plan.name!r} (its probabilities and conditions) "
            f"and the delays on the loop")

    # ------------------------------------------------------------------ moving between steps
    def _enter(self, p: Patient, s: Step) -> None:
        """Patient arrives at step ``s`` (a referral is sent, or they walk in)."""
        p.wait += 1  # pending events of the last step go stale
        if p.wait > self._max_moves:
            self._runaway(p, s)
        p.where = NOWHERE
        if s.discharge:  # nobody waits here: the patient leaves (their row needs no step bookkeeping)
            self._exit(p, s.outcome_code)
            return
        now = self.now
        if p.step is not s:
            p.misses = 0
        p.step = s
        p.t_enter = now
        p.t_queue = NAN
        if p.mon is not None and s.index in p.mon[2]:
            self._stop_monitoring(p)
        if s.plain:  # _join and _enqueue for a plain step, inlined (the same effects, in order)
            if s.starts_clock and p.referral != p.referral:
                p.referral = now
            p.t_queue = now
            r: Resource = s.single  # type: ignore[assignment]  # a plain step has one resource
            if not s.n_wait and r.used < r.cap:
                s.n_wait = 1
                self._start(p, s)
            else:  # no _dispatch(s) here: it could start nobody (a plain step's queue only
                # holds valid patients while its one resource is full, as every release re-dispatches)
                p.where = IN_QUEUE
                s.n_wait += 1
                s.queue.append((p, p.wait))
            return
        if s.monitoring is not None:
            self._maybe_monitor(p, s.monitoring)
        if s.det:
            if p.det_due > now and p.det_level == int(p.attrs[self._det_attr]):
                p.det_wait = p.wait  # _schedule_deterioration's reuse of the timer ahead, inlined
            else:
                self._schedule_deterioration(p)
        if s.handoff is not None:
            p.where = IN_TRANSIT
            s.n_transit += 1
            urgent = s.urgent_handoff is not None and p.attrs[self._urg] == self.urgent_level
            # (urgent_handoff is set when urgent)
            due = now + (s.urgent_handoff() if urgent else s.handoff())  # type: ignore[misc]
            if due < self._horizon:  # self._at(delay, self._after_handoff, ...), inlined
                heappush(self._queue, (due, 1, next(self._eid), self._after_handoff_cb, (p, s, p.wait)))
        else:
            self._join(p, s)

    def _after_handoff(self, arg: tuple[Patient, Step, int]) -> None:
        p, s, tok = arg
        if p.wait == tok:
            s.n_transit -= 1
            p.where = NOWHERE
            self._join(p, s)

    def _move(self, p: Patient, router: Router, s: Step) -> None:
        """Follow ``router`` from step ``s``: choose the next step, maybe after a delay."""
        while router.target < 0:
            if router.cumulative:
                u = s.route_u() if s.choice < 0 else self.choices.draw(p, s.choice)
                cum = router.cumulative
                i = 0
                while u >= cum[i]:
                    i += 1
                router = router.branches[i]
            else:
                now = self.now
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
            stream = self.delay_streams[key] = block_draws(
                self._streams.rng(f"route-delay/{s.plan.name}/{target.plan.name}"), router.delay)
        p.wait += 1
        if p.step is not target:
            p.misses = 0
            p.step = target
        p.where = RETURNING
        target.n_returning += 1
        if target.det:
            self._schedule_deterioration(p)
        self._at(stream(), self._arrive_after_delay, (p, target, p.wait))

    def _arrive_after_delay(self, arg: tuple[Patient, Step, int]) -> None:
        p, s, tok = arg
        if p.wait == tok:
            s.n_returning -= 1
            self._enter(p, s)

    def _join(self, p: Patient, s: Step) -> None:
        """The referral reaches step ``s``: acceptance, clock, age limit, then the queue."""
        if s.meets:  # a panel: wait for the next meeting, which calls _join again to decide
            if self.deciding is not p:
                self._hold(p, s)
                return
            self.deciding = None
        now = self.now
        if s.accept is not None:
            if p.rejections:
                p.rereferrals += 1
            if not s.accept(p.attrs, p.arrival, now):
                p.rejections += 1
                p.wait += 1
                self._visit(p, s, NAN, REJECTED)
                self._move(p, s.on_reject, s)  # type: ignore[arg-type]  # set wherever accept is
                return
        if s.starts_clock and p.referral != p.referral:
            p.referral = p.t_enter
        if s.age_max is not None:
            years_left = s.age_max - (p.attrs[self.age_idx] + (now - p.arrival) * self.ypu)
            if years_left <= 0:
                p.wait += 1
                self._visit(p, s, NAN, AGED_OUT)
                self._move(p, s.age_then, s)  # type: ignore[arg-type]  # set wherever age_max is
                return
            if s.res:
                self._at(years_left / self.ypu, self._age_out, (p, s, p.wait))
        p.t_queue = now
        if not s.res:
            self._pass_through(p, s)
            return
        self._enqueue(p, s)

    def _pass_through(self, p: Patient, s: Step) -> None:
        """A step without resources: a pure delay, or an instantaneous decision."""
        if s.duration is None:
            p.wait += 1
            self._start_counts(p, s)
            self._charge_contact(p, s, 0.0)
            self._visit(p, s, self.now, SERVED)
            for i, value in s.sets:
                p.attrs[i] = value
            self._move(p, s.next, s)
            return
        p.where = IN_TRANSIT
        s.n_transit += 1
        self._start_counts(p, s)
        length = s.duration()
        self._charge_contact(p, s, length)
        self._at(length, self._end_delay, (p, s, p.wait))

    def _end_delay(self, arg: tuple[Patient, Step, int]) -> None:
        p, s, tok = arg
        if p.wait != tok:
            return
        s.n_transit -= 1
        p.wait += 1
        p.where = NOWHERE
        self._visit(p, s, p.t_queue, SERVED)
        for i, value in s.sets:
            p.attrs[i] = value
        self._move(p, s.next, s)

    # ------------------------------------------------------------------ panels
    def open_panel(self, step: int) -> None:
        """Referrals reaching panel step ``step`` wait for its meetings (the calendar schedules them)."""
        self.panel_held[step] = []

    def _hold(self, p: Patient, s: Step) -> None:
        """A referral reaches a panel: it waits for the next meeting."""
        p.where = IN_QUEUE
        s.n_wait += 1
        self.panel_held[s.index].append((p, p.wait))
        if s.dropout is not None:
            self._at(s.dropout() * s.dropout_mean, self._drop_out, (p, s, p.wait))

    def meet(self, step: int) -> None:
        """Panel step ``step`` meets: it decides on every referral held for it, in the order they came."""
        s = self.steps[step]
        held, self.panel_held[step] = self.panel_held[step], []
        for p, tok in held:
            if p.wait != tok:
                continue
            s.n_wait -= 1
            p.where = NOWHERE
            p.wait += 1
            self.deciding = p
            self._join(p, s)

    # ------------------------------------------------------------------ leaving
    def _exit(self, p: Patient, outcome: int) -> None:
        """``p`` leaves the system with outcome code ``outcome`` (an index into plan.outcomes)."""
        now = self.now
        if p.mon is not None:
            self._stop_monitoring(p)
        p.det_wait = -1  # a deterioration timer still in the heap finds nobody waiting
        if p.hc is not None:
            self._course_leave(p, now)
        del self.active[p.pid]
        self.in_sys_area += self.in_sys * (now - self.in_sys_last)
        self.in_sys_last = now
        self.in_sys -= 1
        self.exits += 1
        if self._ret_step:  # the course may send them back (health.returns)
            row = self._write_patient(p, now, outcome, self._rows.pop(p.pid, -1))
            if outcome != self._died:
                self._course_park(p, outcome, row)
            return
        self._write_patient(p, now, outcome)
