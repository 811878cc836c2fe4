"""Deterioration while waiting, the course of illness in the pathway, and monitoring of those who wait.

A patient waiting at a step that lets people deteriorate climbs the levels of the plan's
deterioration attribute at the hazard of their level; at the emergency level they leave the wait for
the emergency step (or for the step that catches them, when monitoring detects it). Monitoring is a
span of regular contacts, booked as a cost when it ends.

With a ``health:`` block the engine also runs each person's course of illness while they are in
the pathway (:mod:`icssim.health.person`: one heap event per move or breakpoint, on the person's
own random numbers), from the first moment a death could be due (or from arrival, when entering a
state can escalate); those who leave the pathway before then are followed after the run. A death
takes them out of the pathway (service.py, ``_die``); entering a state that ``health.escalation``
names, while waiting at a step where people deteriorate, escalates them as the deterioration
block's levels would: to the top urgency, or to the emergency step. After someone leaves the
pathway, a ``health.returns`` rule may send them back: their course is run on out of the pathway to
the move that does (a relapse), and they re-enter at the rule's step after its delay, the same
patient (``_course_park``, ``_course_return``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from heapq import heappush
from typing import TYPE_CHECKING, Any

from icssim.model.choices import PersonChoices
from icssim.model.entities import EMERGENCY, ESCALATED, IN_QUEUE, MONITORING, NAN, NOWHERE, RETURNING, Patient, Step
from icssim.model.plan import Plan
from icssim.model.plan_types import OWN_DRAWS
from icssim.model.recording import Recording
from icssim.sampling import block_draws

if TYPE_CHECKING:  # (typed locals let the compiled engine call the compiled course natively)
    from icssim.health.person_keys import Person
    from icssim.health.person_returns import PathwayCourse


#: whether the engine logs every course it runs, not only those of the people the KPIs measure
#: (the tests that follow everyone from the records set it)
LOG_ALL = False


class Deterioration(Recording):
    """Deterioration timers and monitoring spans."""

    _deteriorate_cb: Callable[[Any], None]  # self._deteriorate, made once (set by Simulation)
    _course_cb: Callable[[Any], None]  # self._course_event, made once (set by Simulation)
    _course_wake_cb: Callable[[Any], None]  # self._course_wake, made once (set by Simulation)
    _course_return_cb: Callable[[Any], None]  # self._course_return, made once (set by Simulation)

    def __init__(self, plan: Plan, replication: int, seed: int | None, record_visits: bool) -> None:
        super().__init__(plan, replication, seed, record_visits)
        self.det: Any = plan.deterioration  # a DeteriorationPlan, or None
        self._det_attr = self.det.attribute if self.det is not None else -1
        self._det_hazard = self.det.hazard if self.det is not None else ()
        #: the people's own choices that steps route by (``choice``) and the person's own draws of
        #: deterioration and monitoring here (model/choices.py)
        self.choices = PersonChoices(plan.choices, self.seed, replication, [c.name for c in plan.cohorts])
        self.has_choices = bool(plan.choices)
        own = {name: i for i, name in enumerate(plan.choices)}
        self._timer, self._detection, self._monitoring = (own.get(name, -1) for name in OWN_DRAWS)
        #: the course of illness of those in the pathway (health.person_returns.PathwayCourse), or None
        #: (set by Simulation when the scenario has a health: block)
        self.course: Any = None
        #: each person's course once they left the pathway, by pid (handed to the follow-up)
        self.courses: dict[int, Any] = {}
        #: whether courses start only when a death could be due (set by Simulation: _course_lazy)
        self._lazy = False
        #: returns to the pathway (health.returns; see _setup_returns): by exit outcome code, the
        #: bits of the rules that apply; per rule its step and delay draws
        self._ret_mask: dict[int, int] = {}
        self._ret_step: list[Step] = []
        self._ret_delay: list[Callable[[], float]] = []
        self._died = -1  # the outcome code of a death (set by Simulation when there is a course)

    # the other parts' operations used here (see engine.py)
    def _leave_queue(self, p: Patient) -> Step:
        """(queues.py) Take ``p`` out of whatever it is waiting in."""
        raise NotImplementedError

    def _enter(self, p: Patient, s: Step) -> None:
        """(flow.py) ``p`` arrives at step ``s``."""
        raise NotImplementedError

    def _die(self, p: Patient) -> None:
        """(service.py) ``p`` dies: out of their queue or service, and out of the pathway."""
        raise NotImplementedError

    # ------------------------------------------------------------------ deterioration
    def _schedule_deterioration(self, p: Patient) -> None:
        """Expose ``p`` to deterioration for the wait it has just begun (wait token ``p.wait``).

        Each patient has at most one live deterioration timer, which acts only if it falls inside
        a wait at a deteriorating step; between such waits (in service, or at steps that do not
        deteriorate) it is ignored. A wait reuses the timer when it is still ahead and was drawn
        for the risk level the patient has now: the time left on an exponential timer that has
        not gone off is itself exponential with the same rate (memorylessness; the Next Reaction
        Method of Gibson and Bruck, 2000, reuses unused times the same way). The patient's path since
        the draw depended on the timer only through its not having gone off in the earlier waits,
        which its being still ahead implies. Otherwise a new time is drawn. A patient's successive
        waits then need one heap entry, not one each (ed_fragmented: about five waits per patient,
        most of them ending long before their timer, which sat in the heap as a stale entry).
        ``tests/test_engine_deterioration.py`` checks the hazard over successive waits.
        """
        hazard = self._det_hazard
        level = int(p.attrs[self._det_attr])
        if level >= len(hazard) or hazard[level] <= 0:
            p.det_wait = -1  # no risk at this level: the timer (if any) stays ignored
            return
        p.det_wait = p.wait
        now = self.now
        if p.det_due > now and p.det_level == level:
            return  # the timer still ahead stands for this wait
        due = now - math.log(self.choices.draw(p, self._timer)) / hazard[level]
        p.det_due, p.det_level = due, level
        p.det_seq += 1  # a timer drawn earlier and still in the heap is superseded
        if due < self._horizon:  # (see _at)
            heappush(self._queue, (due, 1, next(self._eid), self._deteriorate_cb, (p, p.det_seq)))

    def _deteriorate(self, arg: tuple[Patient, int]) -> None:
        p, seq = arg
        if p.det_seq != seq or p.wait != p.det_wait:
            return  # superseded, or it went off outside a deteriorating wait (see _schedule_deterioration)
        det = self.det
        level = int(p.attrs[det.attribute]) + 1
        p.attrs[det.attribute] = float(level)
        if level >= det.emergency_at:
            caught = (p.mon is not None and det.detection_probability > 0
                      and self.choices.draw(p, self._detection) < det.detection_probability)
            self._escalate(p, caught)
            return
        if level >= det.urgent_from:
            self._make_urgent(p)
        self._schedule_deterioration(p)

    def _escalate(self, p: Patient, caught: bool) -> None:
        """``p`` leaves their wait for the emergency step, or for the detected step when monitoring caught it."""
        det = self.det
        visiting = p.where != RETURNING   # (on a routing delay the next step's visit has not begun)
        s = self._leave_queue(p)
        if visiting:
            self._visit(p, s, NAN, ESCALATED if caught else EMERGENCY)
        self._enter(p, self.steps[det.detected_step if caught else det.emergency_step])

    def _make_urgent(self, p: Patient) -> None:
        """``p`` becomes urgent (the urgency attribute's top level), and moves up a priority queue."""
        urg = self.plan.urgency
        if urg < 0:
            return
        top = float(len(self.plan.attributes[urg].levels or ()) - 1)
        if p.attrs[urg] < top:
            p.attrs[urg] = top
            s = p.step
            if p.where == IN_QUEUE and s.priority:
                p.qseq += 1
                heappush(s.queue, (-top, p.t_queue, next(s.seq), p, p.wait, p.qseq))

    # ------------------------------------------------------------------ the course of illness
    def _course_lazy(self) -> bool:
        """Whether courses may be left alone until a death could be due (PathwayCourse.arrive):
        not when the engine may change an attribute the course reads when it starts (its group,
        age or time ill before asking), as the follow-up reads their values at exit."""
        course, plan = self.course, self.plan
        changed = {i for step in plan.steps for i, _ in step.sets} | {self._det_attr, plan.urgency}
        read = {course.by_index, course.age_index, course.dued_index} - {-1}
        return bool(course.lazy) and not (read & changed)

    def _course_begin(self, p: Patient) -> None:
        """Start ``p``'s course of illness on arrival (today's waiting list: when the run starts), or,
        when courses are lazy, when a death could first be due if they are still in the pathway
        then (those who leave sooner are followed after the run, on the same numbers)."""
        course: PathwayCourse = self.course
        t0 = max(self.now - p.arrival, 0.0) * self.ypu
        if t0 > 0 or not self._lazy:
            p.hc = course.begin(p.cohort, p.attrs, t0, -1, self._logged(p))
            self._course_schedule(p)
            return
        number, safe = course.arrive(p.cohort, p.attrs, (self._horizon - p.arrival) * self.ypu)
        p.hc_number = number
        when = p.arrival + safe / self.ypu
        if when < self._horizon:
            heappush(self._queue, (max(when, self.now), 1, next(self._eid), self._course_wake_cb, p))

    def _logged(self, p: Patient) -> bool:
        """Whether to log ``p``'s course for the follow-up: if a KPI measures them (they asked for
        help after the warm-up, or there is none: kpi_base.window_people), or LOG_ALL is set."""
        return p.arrival >= self._courses_from()

    def _courses_from(self) -> float:
        """From when on (arrivals) the engine logs courses and keeps them for the follow-up."""
        warmup = self.plan.warmup
        return -math.inf if warmup <= 0 or LOG_ALL else warmup

    def _course_wake(self, p: Patient) -> None:
        """A death could be due from now: start the course of ``p`` if they are still in the
        pathway, as it would have run since they asked for help (their treatment and first
        admission so far applied at their times), and follow it event by event from here."""
        if p.hc is not None or self.active.get(p.pid) is not p:
            return
        if self._late_start(p):
            self._course_schedule(p)

    def _late_start(self, p: Patient) -> bool:
        """Start the course of ``p`` (arrival ``p.hc_number`` of their cohort) now, as it would have
        run since they asked for help; False (and ``p`` has died) if a death came first."""
        course: PathwayCourse = self.course
        ypu = self.ypu
        hc = p.hc = course.begin(p.cohort, p.attrs, 0.0, p.hc_number, self._logged(p))
        treated = (p.treat_start - p.arrival) * ypu  # (NaN: not treated, not admitted)
        admitted = (p.first_intensive - p.arrival) * ypu
        if admitted == admitted and not treated <= admitted:  # at the same instant, treatment first (as service.py)
            course.catch_up(hc, admitted)
            course.admit(hc, admitted)
            admitted = NAN
        if treated == treated:
            course.catch_up(hc, treated)
            course.treat(hc, treated)
        if admitted == admitted:
            course.catch_up(hc, admitted)
            course.admit(hc, admitted)
        course.catch_up(hc, (self.now - p.arrival) * ypu)
        if hc.state == course.dead:  # not before now (see PathwayCourse.arrive); kept for safety
            self._die(p)
            return False
        return True

    def _course_schedule(self, p: Patient) -> None:
        """Put ``p``'s next health event (move or breakpoint) in the heap, superseding any earlier one."""
        hc: Person = p.hc
        course: PathwayCourse = self.course
        hc.seq += 1
        t = course.next_event(hc)
        if t == t and t < 1e300:  # inf: the course is over (dead, or past the follow-up)
            when = max(p.arrival + t / self.ypu, self.now)
            if when < self._horizon:  # (see _at)
                heappush(self._queue, (when, 1, next(self._eid), self._course_cb, (p, hc.seq)))

    def _course_event(self, arg: tuple[Patient, int]) -> None:
        p, seq = arg
        hc: Person = p.hc
        if hc.seq != seq:
            return  # superseded by a change of status, or the person has left
        course: PathwayCourse = self.course
        entered = course.advance(hc)
        if entered == course.dead:
            self._die(p)
            return
        self._course_schedule(p)
        if entered >= 0:
            kind = course.escalation(entered)
            if kind:
                self._course_escalate(p, kind)

    def _course_escalate(self, p: Patient, kind: int) -> None:
        """``p`` entered a state that escalates (kind 1 urgent, 2 emergency): acted on only while
        they wait (in a queue, a hand-off or a routing delay) at a step where people deteriorate."""
        s = p.step
        if p.where == NOWHERE or s is None or not s.det:
            return
        det = self.det
        attr = det.attribute
        if kind == 2:
            p.attrs[attr] = max(p.attrs[attr], float(det.emergency_at))
            caught = (p.mon is not None and det.detection_probability > 0
                      and p.hc.draw() < det.detection_probability)
            self._escalate(p, caught)
            return
        if det.urgent_from < len(self._det_hazard):
            p.attrs[attr] = max(p.attrs[attr], float(det.urgent_from))
        self._make_urgent(p)

    def _course_treated(self, p: Patient) -> None:
        """Treatment starts: the course's hazards are the treated ones from now."""
        course: PathwayCourse = self.course
        course.treat(p.hc, (p.treat_start - p.arrival) * self.ypu)
        self._course_schedule(p)

    def _course_retreated(self, p: Patient) -> None:
        """Treatment starts again after a return to the pathway (health.returns): treated hazards
        from now (a course already treated, i.e. anyone who never left, is left alone)."""
        hc: Person = p.hc
        course: PathwayCourse = self.course
        if hc.status != 2:  # health.plan.TREATED
            course.treat(hc, (self.now - p.arrival) * self.ypu)
            self._course_schedule(p)

    def _course_admitted(self, p: Patient) -> None:
        """A first admission: the course moves to the plan's admission state."""
        course: PathwayCourse = self.course
        course.admit(p.hc, (self.now - p.arrival) * self.ypu)
        self._course_schedule(p)

    def _course_leave(self, p: Patient, at: float) -> None:
        """``p`` leaves the pathway (or the run ends) at ``at``: their course goes to the follow-up,
        if it logged their moves (the follow-up takes over no other course: see _logged)."""
        course: PathwayCourse = self.course
        hc: Person = p.hc
        course.leave(hc, (at - p.arrival) * self.ypu)
        if hc.logged:
            self.courses[p.pid] = hc

    # ------------------------------------------------------------------ returns to the pathway
    def _setup_returns(self) -> None:
        """Compile the course's return rules (health.returns) against the pathway: the rules that
        apply after each exit outcome (by default any but death), their steps and delay draws."""
        rules = self.course.plan.returns
        codes = self._outcome_code
        living = [code for name, code in codes.items() if name not in ("died", "in_system")]
        for i, rule in enumerate(rules):
            for code in ([codes[name] for name in rule.outcomes if name in codes] if rule.outcomes else living):
                self._ret_mask[code] = self._ret_mask.get(code, 0) | 1 << i
            self._ret_step.append(next(s for s in self.steps if s.plan.name == rule.step))
            self._ret_delay.append(block_draws(self._streams.rng(f"health-return/{rule.name}"), rule.delay))

    def _course_park(self, p: Patient, outcome: int, row: int) -> None:
        """``p`` has just left the pathway with ``outcome`` (their row written at ``row``): when a
        return rule applies, follow their course (starting it now if a lazy engine had not) to the
        first move that sends them back, and schedule their return."""
        rules = self._ret_mask.get(outcome, 0)
        if not rules:
            return
        course: PathwayCourse = self.course
        if p.hc is None:
            number = p.hc_number
            ypu = self.ypu
            t = (self.now - p.arrival) * ypu
            treated = (p.treat_start - p.arrival) * ypu if p.treat_start == p.treat_start else NAN
            admitted = p.first_intensive == p.first_intensive
            if number < 0 or not course.could_return(p.cohort, p.attrs, number, treated, t,
                                                     (self._horizon - p.arrival) * ypu, rules, admitted):
                return  # nothing can send them back before the run ends: the follow-up runs their course
            if not self._late_start(p):  # (a late start cannot find them dead)
                return
            self._course_leave(p, self.now)
        course.park(p.hc)
        self._rows[p.pid] = row
        self._course_seek(p, rules, True, p.hc.t)

    def _course_seek(self, p: Patient, rules: int, leaving: bool, left: float) -> None:
        """Run ``p``'s course out of the pathway to the next return (see PathwayCourse.seek_return)
        and put it in the heap, if it comes before the run ends, with ``left`` (years after asking
        when they left the pathway: the course's time then) for :meth:`_course_return`."""
        course: PathwayCourse = self.course
        hc: Person = p.hc
        ypu = self.ypu
        limit = (self._horizon - p.arrival) * ypu
        while True:
            rule = course.seek_return(hc, rules, limit, leaving)
            if rule < 0:
                return
            leaving = False
            back = hc.t + self._ret_delay[rule]() * ypu
            if back >= limit:
                return
            if course.still_wants(hc, rule, back):
                heappush(self._queue, (p.arrival + back / ypu, 1, next(self._eid), self._course_return_cb,
                                       (p, rule, left)))
                return

    def _course_return(self, arg: tuple[Patient, int, float]) -> None:
        """``p`` asks for help again: back into the pathway at the rule's step, the same person. Their
        course notes when they left and came back (``Person.away``: only the records' last exit is
        kept), so that the follow-up counts the time between as out of the pathway."""
        p, rule, left = arg
        now = self.now
        course: PathwayCourse = self.course
        hc: Person = p.hc
        hc.away = hc.away + (left, hc.t)  # (hc.t: where still_wants ran the course to, ``back``)
        course.rejoin(hc)
        self.active[p.pid] = p
        self.in_sys_area += self.in_sys * (now - self.in_sys_last)
        self.in_sys_last = now
        self.in_sys += 1
        self.exits -= 1  # their exit is undone: their row is written again when they leave
        p.where = NOWHERE
        self._course_schedule(p)
        self._enter(p, self._ret_step[rule])

    # ------------------------------------------------------------------ monitoring
    def _maybe_monitor(self, p: Patient, monitoring: tuple[float, float, frozenset[int], int, float]) -> None:
        """Start monitoring ``p`` with probability ``monitoring[0]`` (the step's (p, every, until,
        service, cost)), ending any monitoring already running."""
        prob = monitoring[0]
        if prob >= 1.0 or self.choices.draw(p, self._monitoring) < prob:
            if p.mon is not None:
                self._stop_monitoring(p)
            p.mon = (self.now, *monitoring[1:])

    def _stop_monitoring(self, p: Patient) -> None:
        since, every, _until, service, cost = p.mon
        p.mon = None
        now = self.now
        contacts = int((now - since) // every)
        if contacts and cost and service >= 0:
            self._book(p, service, MONITORING, contacts * cost, since, now)
