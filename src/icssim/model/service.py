"""Service: a contact, an episode of sessions or a bed-based stay, from its start to its end.

A service start takes a unit of each of the step's resources and counts the start in the patient's
totals (assessments, treatments, admissions); its end gives the units back to whoever waits
(queues.py) and moves the patient on (flow.py), or handles a missed appointment (rebooked, or
discharged after too many in a row) or an age limit reached during an episode.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappush
from typing import Any

from icssim.model.entities import (
    AGED_OUT, BED_DAYS, C_ADMIT, C_AE, C_ASSESS, C_FURTHER, C_INPATIENT, C_INTENSIVE, C_TREAT, CONTACTS, DIED,
    DISCHARGED_MISSED, GONE, IN_TRANSIT, MISSED, NAN, NOWHERE, RETURNING, SERVED, STAFF, Patient, Step,
)
from icssim.model.flow import Flow
from icssim.model.recording import pack_visit


class Service(Flow):
    """Service at steps with resources (and the counts and costs of service at any step)."""

    _end_service_cb: Callable[[Any], None]  # self._end_service, made once (set by Simulation)

    def _start(self, p: Patient, s: Step) -> None:
        now = self.now
        p.wait += 1
        p.where = NOWHERE
        s.n_wait -= 1
        r = s.single
        if r is not None:
            r.area += r.used * (now - r.last)
            r.last = now
            r.used += 1
        else:
            for r in s.res:
                r.area += r.used * (now - r.last)
                r.last = now
                r.used += 1
        if s.sessions is not None:
            self._start_counts(p, s)
            self._start_episode(p, s, now)
        elif s.stay:
            self._start_counts(p, s)
            self._start_stay(p, s, now)
        else:
            missed = s.missed_p > 0 and s.missed_u() < s.missed_p
            if not missed:
                self._start_counts(p, s)
            contact = s.duration()  # type: ignore[misc]  # a step with resources has a duration
            if s.costed:
                self._charge_contact(p, s, contact)
            end = now + contact * s.scale
            if end < self._horizon:  # (see _at)
                heappush(self._queue, (end, 1, next(self._eid), self._end_service_cb,
                                       (p, s, now, MISSED if missed else SERVED)))
            else:  # still in service at the horizon (recording.py)
                self.beyond[p.pid] = (now, end)

    def _charge_contact(self, p: Patient, s: Step, contact: float) -> None:
        """Charge one contact at ``s``: its contact cost, or the staff time it took."""
        if s.contact_cost or s.staff_hours_cost:
            now = self.now
            cost = s.contact_cost + s.staff_hours_cost * contact
            self._book(p, s.service, CONTACTS if s.contact_cost else STAFF, cost, now, now)

    def _start_counts(self, p: Patient, s: Step) -> None:
        now = self.now
        if p.mon is not None and s.index in p.mon[2]:
            self._stop_monitoring(p)
        c = s.counts
        if c & C_ASSESS:
            p.n_assess += 1
            if not c & C_FURTHER:  # (a further stage of an assessment is never a duplicate, nor makes one)
                if p.assessed:  # assessed again before any treatment: a duplicated assessment
                    p.n_dup += 1
                p.assessed = True
            if p.assess_start != p.assess_start:
                p.assess_start = now
        elif c & C_TREAT:
            p.assessed = False
            if p.treat_start != p.treat_start:
                p.treat_start = now
                if p.hc is not None:
                    self._course_treated(p)
            elif p.hc is not None and self._ret_step:
                self._course_retreated(p)
        if c & C_INTENSIVE and p.first_intensive != p.first_intensive:
            p.first_intensive = now
            if p.hc is not None:
                self._course_admitted(p)
        if c & C_AE:
            p.n_ae += 1
        elif c & C_ADMIT:
            p.n_admit += 1
        elif c & C_INPATIENT:
            p.n_inpatient += 1

    def _start_episode(self, p: Patient, s: Step, now: float) -> None:
        """A treatment episode: book sessions every interval, count misses, maybe discharge."""
        n = max(1, int(round(s.sessions())))  # type: ignore[misc]  # an episode step has sessions
        every = s.session_every
        outcome = SERVED
        missed_p = s.missed_p
        if missed_p > 0:  # one draw per booked session until n attended or too many missed in a row
            booked = attended = consecutive = 0
            limit = s.discharge_after
            for u in s.missed_draws:  # the missed_u stream itself, iterated (no call per draw)
                booked += 1
                if u < missed_p:
                    consecutive += 1
                    if consecutive >= limit:
                        outcome = DISCHARGED_MISSED
                        break
                else:
                    attended += 1
                    if attended >= n:
                        break
                    consecutive = 0
        else:
            booked = attended = n
        length = booked * every
        if s.age_max is not None:
            years_left = s.age_max - (p.attrs[self.age_idx] + (now - p.arrival) * self.ypu)
            if years_left / self.ypu < length:
                share = max(years_left / self.ypu, 0.0) / length
                attended, booked = int(attended * share), max(int(booked * share), 1)
                length = max(years_left / self.ypu, 0.0)
                outcome = AGED_OUT
        p.sessions += attended
        p.n_missed += booked - attended
        if s.contact_cost or s.staff_hours_cost:
            per = s.contact_cost or s.staff_hours_cost * (s.duration() if s.duration else 0.0)
            self._book(p, s.service, CONTACTS if s.contact_cost else STAFF, per * booked, now, now + length)
        if now + length >= self._horizon:  # still in the episode at the horizon (recording.py)
            self.beyond[p.pid] = (now, now + length)
        self._at(length, self._end_service, (p, s, now, outcome))

    def _start_stay(self, p: Patient, s: Step, now: float) -> None:
        """A bed-based stay (admission or inpatient): length of stay from ``duration``."""
        los = s.duration()  # type: ignore[misc]  # a stay has a duration
        days = los * self.plan.hours_per_unit / 24
        if s.inpatient:
            p.bed_days += days
        if s.bed_day_cost:
            self._book(p, s.service, BED_DAYS, s.bed_day_cost * los, now, now + los)
        if s.contact_cost:
            self._book(p, s.service, CONTACTS, s.contact_cost, now, now)
        if now + los >= self._horizon:  # still in the bed at the horizon (recording.py)
            self.beyond[p.pid] = (now, now + los)
        self._at(los, self._end_service, (p, s, now, SERVED))

    def _end_service(self, arg: tuple[Patient, Step, float, int]) -> None:
        p, s, started, outcome = arg
        if p.where == GONE:
            return  # the patient died in service (_die): the units are already back
        now = self.now  # self._free(p, s, started, outcome), inlined (the hot path)
        r = s.single
        if r is not None:
            r.area += r.used * (now - r.last)
            r.last = now
            r.used -= 1
        else:
            for r in s.res:
                r.area += r.used * (now - r.last)
                r.last = now
                r.used -= 1
        vbuf = self.vbuf
        if vbuf is not None:  # self._visit(p, s, started, outcome), inlined
            vbuf += pack_visit(p.t_enter, p.t_queue, started, now, p.pid, s.index, outcome)
        if s.solo:
            if s.n_wait:
                self._dispatch(s)
        else:
            for r in s.res:
                if len(r.steps) == 1:
                    if s.n_wait:
                        self._dispatch(s)
                else:
                    self._dispatch_shared(r)
        if outcome == SERVED:
            if s.sets:
                for i, value in s.sets:
                    p.attrs[i] = value
            if s.next_step is None:
                self._move(p, s.next, s)
            else:  # a plain edge: _move would enter it straight away
                self._enter(p, s.next_step)
        elif outcome == MISSED:
            self._after_missed(p, s)
        elif outcome == DISCHARGED_MISSED:
            self._discharge_missed(p, s)
        else:  # AGED_OUT
            self._move(p, s.age_then, s)  # type: ignore[arg-type]  # set wherever age_max is

    def _free(self, p: Patient, s: Step, started: float, outcome: int) -> None:
        """Service of ``p`` at ``s`` ends with ``outcome``: its units go back to those waiting
        (``_end_service`` has it inlined)."""
        now = self.now
        for r in s.res:
            r.area += r.used * (now - r.last)
            r.last = now
            r.used -= 1
        self._visit(p, s, started, outcome)
        if s.solo:
            if s.n_wait:
                self._dispatch(s)
        else:
            for r in s.res:
                if len(r.steps) == 1:
                    if s.n_wait:
                        self._dispatch(s)
                else:
                    self._dispatch_shared(r)

    def _die(self, p: Patient) -> None:
        """``p`` dies (their course of illness says so): they leave whatever they wait in, or the
        service they are in (its units go back to those waiting; the visit's start is not kept, so
        it is recorded as NaN), and leave the pathway with the outcome ``died``."""
        s = p.step
        if p.where != NOWHERE:  # in a queue, a hand-off, a delay step, a routing delay or a panel's list
            visiting = p.where != RETURNING   # (on a routing delay the next step's visit has not begun)
            self._leave_queue(p)
            if visiting:
                self._visit(p, s, NAN, DIED)
        elif s is not None:  # between events a patient nowhere else is in service at p.step
            self._free(p, s, NAN, DIED)
        p.where = GONE  # a pending _end_service finds them gone
        p.wait += 1  # any timer of the last wait goes stale
        self._exit(p, self._outcome_code["died"])

    def _after_missed(self, p: Patient, s: Step) -> None:
        p.misses += 1
        p.n_missed += 1
        if p.misses >= s.discharge_after:
            self._discharge_missed(p, s)
            return
        p.wait += 1
        if s.det:  # waiting again: risk can escalate again
            self._schedule_deterioration(p)
        if s.rebook is None:
            p.t_queue = self.now
            self._arm_age_limit(p, s)
            self._enqueue(p, s)
            return
        p.where = IN_TRANSIT
        s.n_transit += 1
        self._at(s.rebook(), self._rebooked, (p, s, p.wait))

    def _rebooked(self, arg: tuple[Patient, Step, int]) -> None:
        p, s, tok = arg
        if p.wait == tok:
            s.n_transit -= 1
            p.t_queue = self.now
            self._arm_age_limit(p, s)
            self._enqueue(p, s)

    def _arm_age_limit(self, p: Patient, s: Step) -> None:
        """Schedule leaving the queue at ``s`` on reaching its age limit (re-armed on every wait)."""
        if s.plan.age_max is not None:
            years_left = s.plan.age_max - (p.attrs[self.age_idx] + (self.now - p.arrival) * self.ypu)
            self._at(max(years_left, 0.0) / self.ypu, self._age_out, (p, s, p.wait))

    def _discharge_missed(self, p: Patient, s: Step) -> None:
        if s.missed_then is not None:
            self._move(p, s.missed_then, s)
        else:
            self._exit(p, self._outcome_code["discharged_missed"])
