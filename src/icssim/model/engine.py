"""The discrete-event engine: patients flowing through a compiled pathway on simpy.

:func:`simulate` runs one replication of a :class:`~icssim.model.plan.Plan` and returns its
:class:`~icssim.model.records.RunRecords`; the engine knows nothing of files or plots. The engine is
in parts, one module each, and each part's class is the base of the next:

* ``entities.py``: ``Patient``, ``Resource``, ``Step``, ``Router`` and the engine's integer codes;
* ``loop.py``: the plan, the clock, the own event loop on simpy's heap, scheduling;
* ``recording.py``: patient and visit rows, cost spans, the time series, :class:`RunRecords`;
* ``deterioration.py``: deterioration while waiting, and monitoring;
* ``queues.py``: joining a queue, giving free resources to those waiting, office hours;
* ``flow.py``: arrivals, entering a step, hand-offs, routing, acceptance, panels, exits;
* ``service.py``: a contact, an episode of sessions or a stay, its start and its end;
* this module: :class:`Simulation`, which runs them, and the public API the calendar uses
  (``model/calendar.py``, which schedules dated events and today's waiting list).

A part calls a later part's operation through a declaration in its own class (a method that raises
``NotImplementedError``, overridden by the later part): each module then type-checks on its own.

Hot paths are written for speed: per-step flags are precomputed, random numbers are drawn in numpy
blocks, records go into flat typed arrays, and the hottest calls are inlined by hand. An install
compiles all these modules together with mypyc (``setup.py``): their classes become C structs with
typed fields, so a new attribute must be declared with its type (assigned in an ``__init__``, which
must not call methods of ``self``); a compiled instance's methods cannot be replaced at run time.
Python's cyclic garbage collector is paused for a run, which creates no cycles, and the run's objects
are released before it resumes (``cyclic_gc_paused``, ``Simulation._release``). Any change must keep
``tests/test_engine_backtest.py`` passing; ``tests/test_engine_compiled.py`` checks that the
compiled engine and its source give the same records.
"""

from __future__ import annotations

import time

from typing import Any

from icssim.model import calendar
from icssim.model.arrivals import InversionGaps
from icssim.model.entities import (
    AGED_OUT, BED_DAYS, CONTACTS, DIED, DISCHARGED_MISSED, DROPPED, EMERGENCY, ESCALATED, EXP1, MISSED, MONITORING,
    NAN, REJECTED, SERVED, STAFF, Draw, Patient, draws, exponential,
)
from icssim.model.loop import cyclic_gc_paused
from icssim.model.plan import Plan
from icssim.model.recording import bucket_costs
from icssim.model.records import RunRecords
from icssim.model.service import Service
from icssim.sampling import block_draws

__all__ = [
    "AGED_OUT", "BED_DAYS", "CONTACTS", "DIED", "DISCHARGED_MISSED", "DROPPED", "EMERGENCY", "ESCALATED", "MISSED",
    "MONITORING", "REJECTED", "SERVED", "STAFF", "Patient", "Simulation", "bucket_costs", "simulate",
]


class Simulation(Service):
    """One replication of a compiled :class:`Plan`."""

    def __init__(self, plan: Plan, replication: int = 0, seed: int | None = None,
                 record_visits: bool = True, health: Any = None) -> None:
        super().__init__(plan, replication, seed, record_visits)
        self.outcomes = plan.outcomes
        if health is not None:  # a HealthPlan: run the course of illness in the pathway
            from icssim.health.person_returns import PathwayCourse  # numpy and the schema: only when asked
            self.course = PathwayCourse(health, self.seed, replication, [c.name for c in plan.cohorts],
                                        [a.name for a in plan.attributes])
            if "died" not in self._outcome_code:
                self._outcome_code["died"] = len(self.outcomes)
                self.outcomes = (*self.outcomes, "died")
            self._died = self._outcome_code["died"]
            self._setup_returns()
        # bound methods, made once (not per event); last, as they hand self out (see loop.Loop)
        self._arrive_cb, self._end_service_cb = self._arrive, self._end_service
        self._deteriorate_cb, self._after_handoff_cb = self._deteriorate, self._after_handoff
        self._course_cb, self._course_wake_cb = self._course_event, self._course_wake
        self._course_return_cb = self._course_return
        if self.course is not None:
            self._lazy = self._course_lazy()
        self._tokened = frozenset((self._after_handoff, self._arrive_after_delay, self._end_delay,
                                   self._drop_out, self._age_out, self._rebooked))

    # ------------------------------------------------------------------ run
    def run(self) -> RunRecords:
        """Simulate to the horizon and return the records."""
        started = time.perf_counter()
        self._schedule_start()
        with cyclic_gc_paused():
            self._loop(self.plan.horizon)
            if self.course is not None:  # those still in the pathway hand their course over at the horizon
                for p in self.active.values():
                    if p.hc is not None:
                        self._course_leave(p, self.plan.horizon)
            records = self._records()
            if self.course is not None:
                records.outcomes, records.course = self.outcomes, self.courses
                records.courses_from = self._courses_from()
            self._release()  # before the collector resumes: what it would have to scan is gone
        records.wall_seconds = time.perf_counter() - started
        return records

    def _schedule_start(self) -> None:
        """Put the first events in the heap: each cohort's first arrival, the calendar's own events,
        the first time-series sample and the end of the warm-up."""
        plan = self.plan
        for ci, cohort in enumerate(plan.cohorts):
            if cohort.profile is None and cohort.rate <= 0:
                continue  # nobody arrives
            rng = self._streams.rng(f"arrivals/{cohort.name}")
            gap: Draw
            if cohort.profile is not None:  # time-varying demand: exact inversion of Lambda(t)
                gap = InversionGaps(cohort.profile, block_draws(rng, EXP1))
            else:
                gap = block_draws(rng, exponential(1 / cohort.rate))
            attr = [draws(self._streams, f"attribute/{cohort.name}/{a.name}", smp)
                    for a, smp in zip(plan.attributes, cohort.samplers)]
            const = [NAN] * len(attr) if all(a is None for a in attr) else None
            state = (ci, gap, attr, const, self.steps[cohort.entry])
            self._at(gap(), self._arrive, state)
        if plan.calendar is not None:
            calendar.install(self)
        self._at(0.0, self._sample, None)
        if plan.warmup > 0:
            self._at(plan.warmup, self._end_warmup, None)

    def _release(self) -> None:
        """Empty the event heap, the queues and the patient table once the records are built
        (and drop the cost spans and time-series rows, which the records no longer need).

        Heap entries hold bound methods of this Simulation, and a waiting patient holds its step,
        whose queue holds the patient: cycles that only Python's cyclic collector could free, by
        a pass over every live object, a recurring cost between back-to-back replications.
        Emptied, the run's patients and events are freed at once by reference counting.
        """
        self._queue.clear()
        self.active.clear()
        self.panel_held.clear()
        self.cost_spans = bytearray()
        self.ts = []
        for step in self.steps:
            step.queue.clear()
        if self.course is not None:
            self.course.release()
            self.courses = {}  # (the records hold the courses; the follow-up frees them with the records)
            self._rows.clear()

    # ------------------------------------------------------------------ the calendar's API
    # calendar.py drives dated events through these, the attributes now, plan, open_days, open_until,
    # closed_end, reopen_at, reopen, age_idx and ypu, and schedule, rng, dispatch, open_panel and meet
    # (calendar.Host lists them)
    def change_capacity(self, caps: tuple[tuple[int, int], ...], scales: tuple[tuple[int, float], ...]) -> None:
        """New capacities of some resources and elapsed-time scales of some steps, from now; the
        resources' free units go to those waiting."""
        now = self.now
        for ri, cap in caps:
            r = self.res[ri]
            r.area += r.used * (now - r.last)
            r.last = now
            r.cap = cap
        for si, scale in scales:
            self.steps[si].scale = scale
        for ri, _cap in caps:
            r = self.res[ri]
            if len(r.steps) > 1:
                self._dispatch_shared(r)
            elif r.steps and r.steps[0].n_wait:
                self._dispatch(r.steps[0])

    def admit(self, cohort: int, attrs: list[float], step: int, referral: float, since: float,
              assess_start: float, treat_start: float, in_service: bool) -> None:
        """A patient of today's waiting list, at time 0: referred at ``referral``, at step ``step``
        since ``since`` (times before 0 are before the start), waiting there or in service (and then
        started even if today is a closed day)."""
        office = self.open_days
        if in_service:
            self.open_days = None
        p = self._new_patient(cohort, attrs, referral)
        p.referral, p.assess_start, p.treat_start = referral, assess_start, treat_start
        if p.hc is not None and treat_start == treat_start:  # in treatment since before the run
            self._course_treated(p)
        s = self.steps[step]
        p.step = s
        p.t_enter = since
        p.wait += 1
        if s.plan.deteriorates and self.det is not None:
            self._schedule_deterioration(p)
        if step in self.panel_held:
            self._hold(p, s)
        elif s.res:
            p.t_queue = since
            if not in_service:
                self._arm_age_limit(p, s)
            self._enqueue(p, s)
        else:
            p.t_queue = 0.0
            self._pass_through(p, s)
        self.open_days = office


def simulate(plan: Plan, replication: int = 0, seed: int | None = None,
             record_visits: bool = True, health: Any = None) -> RunRecords:
    """Run one replication of ``plan`` and return its records; with ``health`` (the scenario's
    compiled course of illness, :class:`icssim.health.plan.HealthPlan`) the engine runs each
    person's course while they are in the pathway and hands it over in ``records.course``."""
    return Simulation(plan, replication, seed, record_visits, health).run()
