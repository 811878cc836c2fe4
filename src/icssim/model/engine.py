"""The discrete-event engine: patients flowing through a compiled pathway on simpy.

One replication is one ``simpy.Environment``. The engine keeps its events in simpy's
heap, ordered as simpy orders them (time, priority, insertion number), but drives
patients with plain callbacks rather than one generator process per patient, runs its
own loop over the heap, and keeps its own queues and resource counters: that removes
most per-event overhead (see ``benchmarks/README.md``). An engine event is the heap
entry ``(time, 1, eid, callback, argument)``; a 4-tuple entry is an ordinary simpy
event (so simpy processes still work alongside). Waits are cancelled lazily: every
patient carries a wait token, and a timer or queue entry whose token is stale is
ignored (and cleared out of the heap in bulk once it has grown, see ``_drop_stale_events``).
A patient's deterioration timer serves all their waits (``_schedule_deterioration``), and
events due at or after the horizon are never pushed (``_at``).
Python's cyclic garbage collector is paused for a run, which creates no cycles, and the
run's objects are released before it resumes (``_cyclic_gc_paused``, ``Simulation._release``).

Hot paths are written for speed: per-step flags are precomputed, random numbers are
drawn in numpy blocks, and records go into flat typed arrays (one ``extend`` per
patient or visit). Any change must keep ``tests/test_engine_backtest.py`` passing.

This module type-checks with mypy, and an install compiles it with mypyc (``setup.py``): the
classes become C structs with typed fields, so the attributes of ``Patient``, ``_Resource`` and
``_Step`` are declared with their types, and a new attribute must be declared too (assigned in
``__init__`` for ``Simulation``). A compiled instance's methods cannot be replaced at run time.
``tests/test_engine_compiled.py`` checks that the compiled engine and this source give the same
records.

The engine knows nothing of files or plots: it returns :class:`RunRecords`.
"""

from __future__ import annotations

import gc
import math
import struct
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from heapq import heapify, heappop, heappush
from itertools import count
from typing import Any, ClassVar, Final

import numpy as np
import simpy

from icssim.errors import RunawayPathway
from icssim.distributions import Sampler, block_draws, uniform_draws
from icssim.model import calendar
from icssim.model.arrivals import InversionGaps
from icssim.model.plan import COST_CATEGORIES, Condition, Plan, RouterPlan, StepPlan
from icssim.model.records import ResourceUse, RunRecords
from icssim.model.streams import Streams

Draw = Callable[[], float]  # a stream: the next block-drawn value on each call (distributions.block_draws)

# Constants are Final: compiled, they are C constants, not look-ups in the module's namespace.
NAN: Final = math.nan
_EXP1 = Sampler(lambda rng, n: rng.exponential(1.0, n), 1.0, 1.0)
# visit outcomes (records.VISIT_OUTCOMES in this order)
SERVED: Final = 0
REJECTED: Final = 1
DROPPED: Final = 2
EMERGENCY: Final = 3
MISSED: Final = 4
DISCHARGED_MISSED: Final = 5
AGED_OUT: Final = 6
ESCALATED: Final = 7
# where a patient is: not waiting, in a hand-off or delay step, in a queue, on a routing delay
NOWHERE: Final = 0
IN_TRANSIT: Final = 1
IN_QUEUE: Final = 2
RETURNING: Final = 3
_MIN_COMPACT: Final = 1024  # heap entries before stale ones are first cleared out
_COMPACT_GROWTH: Final = 3  # ... and then whenever the heap has grown this many times since the last clean-up
# cost categories, in the order of plan.COST_CATEGORIES
STAFF: Final = 0
CONTACTS: Final = 1
BED_DAYS: Final = 2
MONITORING: Final = 3
_NCAT: Final = len(COST_CATEGORIES)


class Patient:
    """One person on the pathway: attributes, where they are, and running totals."""

    __slots__ = (
        "pid", "cohort", "attrs", "urgency0", "arrival", "referral", "assess_start", "treat_start",
        "first_intensive", "assessed", "n_dup",
        "step", "t_enter", "t_queue", "wait", "qseq", "where", "misses", "rejections", "rereferrals",
        "n_assess", "n_ae", "n_admit", "n_inpatient", "bed_days", "n_missed", "sessions", "cost",
        "mon", "det_due", "det_level", "det_seq", "det_wait",
    )

    pid: int
    cohort: int
    attrs: list[float]
    urgency0: float
    arrival: float
    referral: float
    assess_start: float
    treat_start: float
    first_intensive: float
    assessed: bool
    n_dup: int
    step: Any
    t_enter: float
    t_queue: float
    wait: int
    qseq: int
    where: int
    misses: int
    rejections: int
    rereferrals: int
    n_assess: int
    n_ae: int
    n_admit: int
    n_inpatient: int
    bed_days: float
    n_missed: int
    sessions: int
    cost: Any
    mon: Any
    det_due: float
    det_level: int
    det_seq: int
    det_wait: int


class _Resource:
    """Runtime state of a staff pool, caseload or bed stock."""

    __slots__ = ("cap", "used", "area", "last", "steps")
    cap: Any  # an int, or a float under a capacity plan
    used: int
    area: float
    last: float
    steps: list[_Step]

    def __init__(self, capacity: int) -> None:
        self.cap, self.used, self.area, self.last = capacity, 0, 0.0, 0.0
        self.steps = []


class _Router:
    """A :class:`RouterPlan` as the engine follows it (compiled, its fields are read natively)."""

    __slots__ = ("target", "delay", "cumulative", "branches", "conditions")
    target: int
    delay: Sampler | None
    cumulative: tuple[float, ...]
    branches: list[_Router]
    conditions: tuple[Condition | None, ...]

    def __init__(self, plan: RouterPlan) -> None:
        self.target, self.delay, self.cumulative = plan.target, plan.delay, plan.cumulative
        self.branches = [_Router(b) for b in plan.branches]
        self.conditions = plan.conditions


def _router(plan: RouterPlan | None) -> _Router | None:
    return None if plan is None else _Router(plan)


class _Step:
    """Runtime state of a step: its plan, random streams and queue."""

    __slots__ = (
        "plan", "index", "res", "queue", "n_wait", "n_transit", "n_returning", "priority", "duration",
        "handoff",
        "urgent_handoff",
        "route_u", "dropout", "missed_u", "missed_draws", "rebook", "sessions", "scale", "seq",
        # plan fields copied here (one attribute lookup instead of two in the hot path)
        "discharge", "outcome_code", "monitoring", "det", "accept", "starts_clock", "age_max",
        "counts", "stay", "missed_p", "costed", "next", "sets", "single", "plain", "meets", "gated",
        "next_step", "solo", "service", "contact_cost", "staff_hours_cost", "bed_day_cost", "inpatient",
        "session_every", "discharge_after", "dropout_mean", "on_reject", "age_then", "missed_then",
        "dropout_then",
    )
    plan: StepPlan
    index: int
    res: list[_Resource]
    queue: Any
    n_wait: int
    n_transit: int
    n_returning: int
    priority: bool
    duration: Draw | None
    handoff: Draw | None
    urgent_handoff: Draw | None
    route_u: Draw
    dropout: Draw | None
    missed_u: Draw
    missed_draws: Iterator[float]
    rebook: Draw | None
    sessions: Draw | None
    scale: float
    seq: Iterator[int]
    discharge: bool
    outcome_code: int
    monitoring: tuple[float, float, frozenset[int], int, float] | None
    det: bool
    accept: Condition | None
    starts_clock: bool
    age_max: float | None
    counts: int
    stay: bool
    missed_p: float
    costed: bool
    next: Any  # a _Router (None only at a discharge step, which never moves anyone on)
    sets: tuple[tuple[int, float], ...]
    single: _Resource | None
    plain: bool
    meets: bool
    gated: bool
    next_step: _Step | None
    solo: bool
    service: int
    contact_cost: float
    staff_hours_cost: float
    bed_day_cost: float
    inpatient: bool
    session_every: float
    discharge_after: int
    dropout_mean: float
    on_reject: _Router | None
    age_then: _Router | None
    missed_then: _Router | None
    dropout_then: _Router | None

    def __init__(self, plan: StepPlan, streams: Streams, resources: list[_Resource],
                 outcome_code: dict[str, int], has_det: bool) -> None:
        name = plan.name
        self.plan, self.index = plan, plan.index
        self.res = [resources[i] for i in plan.resources]
        self.single = self.res[0] if len(self.res) == 1 else None
        self.priority = plan.priority
        self.discharge = plan.is_exit
        self.outcome_code = outcome_code.get(plan.outcome, -1) if self.discharge else -1
        self.monitoring = plan.monitoring
        self.det = plan.deteriorates and has_det
        self.accept = plan.accept
        self.starts_clock = plan.starts_clock
        self.age_max = plan.age_max
        self.counts = ((_C_ASSESS if plan.is_assessment else _C_TREAT if plan.is_treatment else 0)
                       | (_C_AE if plan.counts_ae else 0) | (_C_ADMIT if plan.counts_admission else 0)
                       | (_C_INPATIENT if plan.is_inpatient else 0) | (_C_INTENSIVE if plan.is_intensive else 0))
        self.stay = bool(plan.bed_day_cost) or plan.is_stay
        self.missed_p = plan.missed_p
        self.costed = bool(plan.contact_cost or plan.staff_hours_cost)
        self.next = _router(plan.next)
        self.on_reject, self.age_then = _router(plan.on_reject), _router(plan.age_then)
        self.missed_then, self.dropout_then = _router(plan.missed_then), _router(plan.dropout_then)
        self.next_step = None  # the next _Step when ``next`` is a plain edge (set by Simulation)
        self.solo = False  # one resource, used by no other step (set by Simulation)
        self.sets = plan.sets
        self.service = plan.service
        self.contact_cost, self.staff_hours_cost = plan.contact_cost, plan.staff_hours_cost
        self.bed_day_cost = plan.bed_day_cost
        self.inpatient = plan.is_inpatient
        self.session_every, self.discharge_after = plan.session_every, plan.discharge_after
        self.dropout_mean = plan.dropout_mean or 0.0  # used only where there is a dropout stream
        # A plain queueing step: one resource, FIFO, nothing between arrival and the queue
        # (no hand-off, acceptance test, age limit, monitoring, deterioration or dropout).
        # Not a panel, and not gated by a calendar's open days (those go through _dispatch).
        self.meets = plan.meets
        self.gated = plan.working_days_only
        self.plain = (self.single is not None and not self.priority and not self.discharge
                      and plan.handoff is None and plan.accept is None and plan.age_max is None
                      and plan.monitoring is None and not self.det and plan.dropout_mean is None
                      and not self.meets and not self.gated)
        self.queue: deque | list = [] if plan.priority else deque()
        self.n_wait = self.n_transit = self.n_returning = 0
        self.seq = count()
        self.scale = plan.elapsed_scale
        self.duration = _stream(streams, f"duration/{name}", plan.duration)
        self.handoff = _stream(streams, f"handoff/{name}", plan.handoff)
        self.urgent_handoff = _stream(streams, f"urgent-handoff/{name}", plan.urgent_handoff)
        self.route_u = uniform_draws(streams.rng(f"route/{name}"))
        self.dropout = _stream(streams, f"dropout/{name}", _EXP1 if plan.dropout_mean else None)
        self.missed_u = uniform_draws(streams.rng(f"missed/{name}"))
        # the iterator behind missed_u (the same values, shared)
        self.missed_draws = self.missed_u.__self__  # type: ignore[attr-defined]
        self.rebook = _stream(streams, f"rebook/{name}", plan.rebook)
        self.sessions = _stream(streams, f"sessions/{name}", plan.sessions)


def _exponential(mean: float) -> Sampler:
    """Exponential draws of the given mean (a cohort's gaps between arrivals at a constant rate)."""
    return Sampler(lambda rng, n: rng.exponential(mean, n), 0, 0)


def _stream(streams: Streams, name: str, sampler: Sampler | None):
    """A zero-argument callable giving block-drawn floats from stream ``name`` (or None)."""
    return None if sampler is None else block_draws(streams.rng(name), sampler)


# bit flags of Step.counts: which patient counters a service start increments
_C_ASSESS: Final = 1
_C_TREAT: Final = 2
_C_AE: Final = 4
_C_ADMIT: Final = 8
_C_INPATIENT: Final = 16
_C_INTENSIVE: Final = 32


def bucket_costs(spans: np.ndarray | list[tuple[int, float, float, float]], n_buckets: int, width: float,
                 n_cells: int) -> np.ndarray:
    """Spread each ``(cell, amount, t0, t1)`` evenly over [t0, t1] across time buckets of ``width``.

    ``spans`` is a sequence of such rows or an ``(n, 4)`` float array (the engine's).

    Returns a flat ``n_buckets * n_cells`` array (bucket-major). Bucket ``b`` covers
    [b·width, (b+1)·width); the last bucket also takes whatever lies beyond it (episodes booked to end
    after the horizon), so every pound booked is counted once.

    A span inside one bucket books its whole amount there. A longer span books its part-weeks at
    each end directly, and the whole buckets between them through a difference array summed
    along time, so the work grows with the number of spans and buckets, not with their product
    (monitoring spans years of weekly buckets). Buckets no span covers stay exactly zero.
    """
    out_len = n_buckets * n_cells
    spans = np.asarray(spans, dtype=float).reshape(-1, 4)
    if not len(spans):
        return np.zeros(out_len)
    cell, amount, t0, t1 = spans.T
    cell = cell.astype(np.intp)
    last = n_buckets - 1
    b0 = np.minimum(t0 // width, last).astype(np.intp)
    b1 = np.minimum(t1 // width, last).astype(np.intp)
    inside = b0 == b1
    out = np.bincount(b0 * n_cells + cell, weights=np.where(inside, amount, 0.0), minlength=out_len)
    spread = ~inside
    if not spread.any():
        return out
    c, a, s0, s1, k0, k1 = (x[spread] for x in (cell, amount, t0, t1, b0, b1))
    rate = a / (s1 - s0)
    out += np.bincount(k0 * n_cells + c, weights=rate * ((k0 + 1) * width - s0), minlength=out_len)
    out += np.bincount(k1 * n_cells + c, weights=rate * (s1 - k1 * width), minlength=out_len)
    # whole buckets k0+1 .. k1-1: +rate·width from k0+1 on, -rate·width from k1 on
    n_diff = (n_buckets + 1) * n_cells
    starts, stops = (k0 + 1) * n_cells + c, k1 * n_cells + c
    per_bucket = rate * width
    diff = (np.bincount(starts, weights=per_bucket, minlength=n_diff)
            - np.bincount(stops, weights=per_bucket, minlength=n_diff))
    covering = np.bincount(starts, minlength=n_diff) - np.bincount(stops, minlength=n_diff)
    middle = np.cumsum(diff.reshape(n_buckets + 1, n_cells), axis=0)[:n_buckets]
    covered = np.cumsum(covering.reshape(n_buckets + 1, n_cells), axis=0)[:n_buckets] > 0
    out += np.where(covered, middle, 0.0).ravel()
    return out


class Simulation:
    """One replication of a compiled :class:`Plan`."""

    def __init__(self, plan: Plan, replication: int = 0, seed: int | None = None,
                 record_visits: bool = True) -> None:
        self.plan = plan
        self.seed = plan.seed if seed is None else int(seed)
        self.replication = replication
        streams = Streams(self.seed, replication)
        self.env = simpy.Environment()
        self._queue: list[Any] = self.env._queue  # heap entries: see the module docstring
        self._eid = self.env._eid
        self._eid0 = next(self._eid)
        self.now = 0.0
        self._outcome_code = {o: i for i, o in enumerate(plan.outcomes)}
        self.res = [_Resource(r.capacity) for r in plan.resources]
        self.steps = [_Step(sp, streams, self.res, self._outcome_code, plan.deterioration is not None)
                      for sp in plan.steps]
        #: steps with resources: the ones with a waiting list (queue plus hand-off)
        self._served = [s for s in self.steps if s.res]
        for step in self.steps:
            for r in step.res:
                if step not in r.steps:
                    r.steps.append(step)
        for step in self.steps:
            step.solo = step.single is not None and len(step.single.steps) == 1
            nxt = step.next
            if nxt is not None and nxt.target >= 0 and nxt.delay is None:
                step.next_step = self.steps[nxt.target]
        self.det: Any = plan.deterioration  # a DeteriorationPlan, or None
        self.det_exp = block_draws(streams.rng("deterioration"), _EXP1)
        self._det_attr = self.det.attribute if self.det is not None else -1
        self._det_hazard = self.det.hazard if self.det is not None else ()
        self.det_u = uniform_draws(streams.rng("detection"))
        self.mon_u = uniform_draws(streams.rng("monitoring"))
        self.delay_streams: dict[tuple[int, int], Any] = {}
        self._streams = streams
        self.ypu = plan.hours_per_unit / 24 / 365.25
        urg = plan.urgency
        self.urgent_level = float(len(plan.attributes[urg].levels or ()) - 1) if urg >= 0 else NAN
        self.n_services = len(plan.services)
        self.n_buckets = int(plan.horizon // plan.sample_every) + 1
        # flat rows of (service*_NCAT+category, £, t0, t1): read by numpy without conversion at the end
        self.cost_spans = bytearray()
        self.active: dict[int, Patient] = {}
        # hot-path constants and bound methods, made once (not per event)
        self._horizon = plan.horizon
        self._max_moves = plan.max_moves
        self._urg = plan.urgency
        self._arrive_cb, self._end_service_cb = self._arrive, self._end_service
        self._deteriorate_cb, self._after_handoff_cb = self._deteriorate, self._after_handoff
        # callbacks whose argument is (patient, ..., wait token): stale once the token moved on
        # (a deterioration timer is not one: it can serve a later wait, see _schedule_deterioration)
        self._tokened = frozenset((self._after_handoff, self._arrive_after_delay, self._end_delay,
                                   self._drop_out, self._age_out, self._rebooked))
        self._compact_at = _MIN_COMPACT
        # a plan that books no cost shares one row of zeros instead of a list per patient
        books_costs = any(sp.contact_cost or sp.staff_hours_cost or sp.bed_day_cost
                          or (sp.monitoring is not None and sp.monitoring[4]) for sp in plan.steps)
        self._no_costs = None if books_costs or not self.n_services else (0.0,) * self.n_services
        self.arrivals = self.exits = 0
        self.in_sys = 0
        self.in_sys_area = 0.0
        self.in_sys_last = 0.0
        self._warm: tuple[list[float], float] | None = None  # areas at the end of the warm-up
        self._init_columns(record_visits)
        self.ts: list[tuple] = []
        # calendar features (model/calendar.py); all inert unless plan.calendar is set
        self.open_days: calendar.OpenDays | None = None
        self.deciding: Patient | None = None  # the patient a panel is deciding on (calendar.hold)
        self.open_until = -math.inf  # end of the open day last seen by calendar.closed_until
        self.closed_end = -math.inf  # end of the closed days last seen by it ...
        self.reopen_at = math.inf  # ... and the retry time it set for them
        self.panel_held: dict[int, list] = {}
        self.reopen: dict[int, float] = {}

    # ------------------------------------------------------------------ scheduling
    def _at(self, delay: float, fn, arg) -> None:
        """Call ``fn(arg)`` after ``delay`` (simpy's NORMAL priority, FIFO among equal times).

        An event due at or after the horizon would never run, so it is not pushed at all: it
        would only deepen the heap that every other event is pushed into and popped from
        (age limits and deterioration timers often lie years ahead).
        """
        t = self.now + delay
        if t < self._horizon:
            heappush(self._queue, (t, 1, next(self._eid), fn, arg))

    # ------------------------------------------------------------------ run
    def run(self) -> RunRecords:
        """Simulate to the horizon and return the records."""
        started = time.perf_counter()
        self._schedule_start()
        with _cyclic_gc_paused():
            self._loop(self.plan.horizon)
            records = self._records()
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
                gap = InversionGaps(cohort.profile, block_draws(rng, _EXP1))
            else:
                gap = block_draws(rng, _exponential(1 / cohort.rate))
            attr = [_stream(self._streams, f"attribute/{cohort.name}/{a.name}", smp)
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

    def _loop(self, until: float) -> None:
        """Process events in time order up to (not including) ``until``, like ``env.run(until)``."""
        env = self.env
        q = self._queue
        pop = heappop
        item: tuple  # (time, priority, id, callback, argument), or a simpy event's 4-tuple
        t: float
        while q:
            item = pop(q)
            t = item[0]
            if t >= until:  # simpy's until-event is URGENT: nothing at exactly ``until`` runs
                heappush(q, item)  # left queued, as env.run(until) leaves it
                break
            self.now = t
            try:
                arg = item[4]
            except IndexError:  # a 4-tuple: an ordinary simpy event
                self._simpy_event(item[3], t)
                continue
            item[3](arg)
        self.now = env._now = until

    def _simpy_event(self, event, now: float) -> None:
        """Process a simpy event the way ``Environment.step`` does (simpy's clock is kept for these)."""
        self.env._now = now
        callbacks, event.callbacks = event.callbacks, None
        for callback in callbacks:
            callback(event)
        if not event._ok and not hasattr(event, "_defused"):
            raise event._value

    def _arrive(self, state: tuple[int, Draw, list[Draw | None], list[float] | None, _Step]) -> None:
        ci, gap, attr, const, entry = state
        now = self.now
        attrs = const.copy() if const is not None else [NAN if s is None else s() for s in attr]
        p = self._new_patient(ci, attrs, now)
        nxt = now + gap()
        if nxt < self._horizon:
            heappush(self._queue, (nxt, 1, next(self._eid), self._arrive_cb, state))
        self._enter(p, entry)

    def _runaway(self, p: Patient, s: _Step) -> None:
        """Stop a replication in which a patient moves between steps without end (a loop whose
        way out is, in practice, never taken): a clear error instead of a run that never ends."""
        raise RunawayPathway(
            f"replication {self.replication}: patient {p.pid} (cohort {self.plan.cohorts[p.cohort].name!r}) "
            f"moved between steps more than {self._max_moves:,} times by time {self.now:g} "
            f"{self.plan.time_unit}, last into step {s.plan.name!r}; the pathway loops without end in "
            f"practice. Check the routing back into {s.plan.name!r} (its probabilities and conditions) "
            f"and the delays on the loop")

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
        self.active[p.pid] = p
        self.in_sys_area += self.in_sys * (now - self.in_sys_last)
        self.in_sys_last = now
        self.in_sys += 1
        return p

    # ------------------------------------------------------------------ moving between steps
    def _enter(self, p: Patient, s: _Step) -> None:
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
            r: _Resource = s.single  # type: ignore[assignment]  # a plain step has one resource
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

    def _after_handoff(self, arg: tuple[Patient, _Step, int]) -> None:
        p, s, tok = arg
        if p.wait == tok:
            s.n_transit -= 1
            p.where = NOWHERE
            self._join(p, s)

    def _move(self, p: Patient, router: _Router, s: _Step) -> None:
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

    def _arrive_after_delay(self, arg: tuple[Patient, _Step, int]) -> None:
        p, s, tok = arg
        if p.wait == tok:
            s.n_returning -= 1
            self._enter(p, s)

    def _join(self, p: Patient, s: _Step) -> None:
        """The referral reaches step ``s``: acceptance, clock, age limit, then the queue."""
        if s.meets:  # a panel: wait for the next meeting, which calls _join again to decide
            if self.deciding is not p:
                calendar.hold(self, p, s)
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

    def _pass_through(self, p: Patient, s: _Step) -> None:
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

    def _end_delay(self, arg: tuple[Patient, _Step, int]) -> None:
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

    # ------------------------------------------------------------------ queues
    def _enqueue(self, p: Patient, s: _Step) -> None:
        p.where = IN_QUEUE
        if not s.n_wait and (not s.gated or self.open_days is None or self.now < self.open_until):
            r = s.single
            if r.used < r.cap if r is not None else all(x.used < x.cap for x in s.res):
                # Nobody valid is waiting, every resource has room and the step is open: _dispatch
                # would start this very patient (stale entries stay harmlessly in the queue).
                s.n_wait = 1
                if s.dropout is not None:
                    self._at(s.dropout() * s.dropout_mean, self._drop_out, (p, s, p.wait))
                self._start(p, s)
                return
        s.n_wait += 1
        if s.priority:
            p.qseq += 1
            heappush(s.queue, (-p.attrs[self._urg], p.t_queue, next(s.seq), p, p.wait, p.qseq))
        else:
            s.queue.append((p, p.wait))
        if s.dropout is not None:
            self._at(s.dropout() * s.dropout_mean, self._drop_out, (p, s, p.wait))
        self._dispatch(s)

    def _dispatch(self, s: _Step) -> None:
        """Start as many waiting patients at ``s`` as its resources allow."""
        if s.gated and self.open_days is not None and self.now >= self.open_until and self._closed(s):
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

    def _dispatch_shared(self, r: _Resource) -> None:
        """Give ``r``'s free units to the steps sharing it as one combined queue.

        The next patient is the head with the smallest (minus urgency in a priority step,
        time joined) key across the steps: urgent patients of priority steps first, then
        first come first served across steps; never the order the steps are written in.
        """
        while r.used < r.cap:
            best: _Step | None = None
            key: Any = None
            for s in r.steps:
                # a step whose one resource is r has room (the loop's condition): no generator to run
                if not s.n_wait or (s.single is None and any(x.used >= x.cap for x in s.res)):
                    continue
                if s.gated and self.open_days is not None and self.now >= self.open_until and self._closed(s):
                    continue
                q = s.queue
                head = q[0]
                if s.priority:  # drop stale entries until the head is live
                    while head[3].wait != head[4] or head[3].qseq != head[5]:
                        heappop(q)
                        head = q[0]
                    k = (head[0] if head[0] == head[0] else 0.0, head[1])
                else:
                    while head[0].wait != head[1]:
                        q.popleft()
                        head = q[0]
                    k = (0.0, head[0].t_queue)
                if best is None or k < key:
                    best, key = s, k
            if best is None:
                return
            p = heappop(best.queue)[3] if best.priority else best.queue.popleft()[0]
            self._start(p, best)

    def _closed(self, s: _Step) -> bool:
        """``calendar.closed_until(self, s)``, answered here during the closed days it last saw
        when it has already set ``s``'s retry at their end (where it would only return True)."""
        if self.now < self.closed_end and self.reopen.get(s.index) == self.reopen_at:
            return True
        return calendar.closed_until(self, s)

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

    def _drop_out(self, arg: tuple[Patient, _Step, int]) -> None:
        p, s, tok = arg
        if p.wait != tok:
            return
        self._leave_queue(p)
        self._visit(p, s, NAN, DROPPED)
        if s.dropout_then is not None:
            self._move(p, s.dropout_then, s)
        else:
            self._exit(p, self._outcome_code["dropped_out"])

    def _age_out(self, arg: tuple[Patient, _Step, int]) -> None:
        p, s, tok = arg
        if p.wait != tok:
            return
        self._leave_queue(p)
        self._visit(p, s, NAN, AGED_OUT)
        self._move(p, s.age_then, s)  # type: ignore[arg-type]  # set wherever age_max is

    # ------------------------------------------------------------------ service
    def _start(self, p: Patient, s: _Step) -> None:
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

    def _charge_contact(self, p: Patient, s: _Step, contact: float) -> None:
        """Charge one contact at ``s``: its contact cost, or the staff time it took."""
        if s.contact_cost or s.staff_hours_cost:
            now = self.now
            cost = s.contact_cost + s.staff_hours_cost * contact
            self._book(p, s.service, CONTACTS if s.contact_cost else STAFF, cost, now, now)

    def _start_counts(self, p: Patient, s: _Step) -> None:
        now = self.now
        if p.mon is not None and s.index in p.mon[2]:
            self._stop_monitoring(p)
        c = s.counts
        if c & _C_ASSESS:
            p.n_assess += 1
            if p.assessed:  # assessed again before any treatment: a duplicated assessment
                p.n_dup += 1
            p.assessed = True
            if p.assess_start != p.assess_start:
                p.assess_start = now
        elif c & _C_TREAT:
            p.assessed = False
            if p.treat_start != p.treat_start:
                p.treat_start = now
        if c & _C_INTENSIVE and p.first_intensive != p.first_intensive:
            p.first_intensive = now
        if c & _C_AE:
            p.n_ae += 1
        elif c & _C_ADMIT:
            p.n_admit += 1
        elif c & _C_INPATIENT:
            p.n_inpatient += 1

    def _start_episode(self, p: Patient, s: _Step, now: float) -> None:
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
        self._at(length, self._end_service, (p, s, now, outcome))

    def _start_stay(self, p: Patient, s: _Step, now: float) -> None:
        """A bed-based stay (admission or inpatient): length of stay from ``duration``."""
        los = s.duration()  # type: ignore[misc]  # a stay has a duration
        days = los * self.plan.hours_per_unit / 24
        if s.inpatient:
            p.bed_days += days
        if s.bed_day_cost:
            self._book(p, s.service, BED_DAYS, s.bed_day_cost * los, now, now + los)
        if s.contact_cost:
            self._book(p, s.service, CONTACTS, s.contact_cost, now, now)
        self._at(los, self._end_service, (p, s, now, SERVED))

    def _end_service(self, arg: tuple[Patient, _Step, float, int]) -> None:
        p, s, started, outcome = arg
        now = self.now
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
            vbuf += _pack_visit(p.t_enter, p.t_queue, started, now, p.pid, s.index, outcome)
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

    def _after_missed(self, p: Patient, s: _Step) -> None:
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

    def _rebooked(self, arg: tuple[Patient, _Step, int]) -> None:
        p, s, tok = arg
        if p.wait == tok:
            s.n_transit -= 1
            p.t_queue = self.now
            self._arm_age_limit(p, s)
            self._enqueue(p, s)

    def _arm_age_limit(self, p: Patient, s: _Step) -> None:
        """Schedule leaving the queue at ``s`` on reaching its age limit (re-armed on every wait)."""
        if s.plan.age_max is not None:
            years_left = s.plan.age_max - (p.attrs[self.age_idx] + (self.now - p.arrival) * self.ypu)
            self._at(max(years_left, 0.0) / self.ypu, self._age_out, (p, s, p.wait))

    def _discharge_missed(self, p: Patient, s: _Step) -> None:
        if s.missed_then is not None:
            self._move(p, s.missed_then, s)
        else:
            self._exit(p, self._outcome_code["discharged_missed"])

    # ------------------------------------------------------------------ deterioration and monitoring
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
        due = now + self.det_exp() / hazard[level]
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
            s = self._leave_queue(p)
            caught = (p.mon is not None and det.detection_probability > 0
                      and self.det_u() < det.detection_probability)
            self._visit(p, s, NAN, ESCALATED if caught else EMERGENCY)
            self._enter(p, self.steps[det.detected_step if caught else det.emergency_step])
            return
        urg = self.plan.urgency
        if level >= det.urgent_from and urg >= 0:
            top = float(len(self.plan.attributes[urg].levels or ()) - 1)
            if p.attrs[urg] < top:
                p.attrs[urg] = top
                s = p.step
                if p.where == IN_QUEUE and s.priority:
                    p.qseq += 1
                    heappush(s.queue, (-top, p.t_queue, next(s.seq), p, p.wait, p.qseq))
        self._schedule_deterioration(p)

    def _maybe_monitor(self, p: Patient, monitoring: tuple[float, float, frozenset[int], int, float]) -> None:
        """Start monitoring ``p`` with probability ``monitoring[0]`` (the step's (p, every, until,
        service, cost)), ending any monitoring already running."""
        prob = monitoring[0]
        if prob >= 1.0 or self.mon_u() < prob:
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

    # ------------------------------------------------------------------ bookkeeping
    def _book(self, p: Patient, service: int, category: int, amount: float, t0: float, t1: float) -> None:
        """Charge ``amount`` to ``service``, to be spread evenly over [t0, t1] when the run ends.

        Only the span is noted here; ``bucket_costs`` spreads all spans over the time buckets at once
        in numpy (a per-bucket Python loop here was the top item of the calendar scenario's profile).
        """
        if service >= 0:
            p.cost[service] += amount
            self.cost_spans += _pack_span(service * _NCAT + category, amount, t0, t1)

    def _exit(self, p: Patient, outcome: int) -> None:
        """``p`` leaves the system with outcome code ``outcome`` (an index into plan.outcomes)."""
        now = self.now
        if p.mon is not None:
            self._stop_monitoring(p)
        p.det_wait = -1  # a deterioration timer still in the heap finds nobody waiting
        del self.active[p.pid]
        self.in_sys_area += self.in_sys * (now - self.in_sys_last)
        self.in_sys_last = now
        self.in_sys -= 1
        self.exits += 1
        self._write_patient(p, now, outcome)

    def _sample(self, arg) -> None:
        now = self.now
        if len(self._queue) > self._compact_at:
            self._drop_stale_events()
        self.ts.append((now, self.in_sys, *(s.n_wait + s.n_transit for s in self._served),
                        *(s.n_wait for s in self._served), *(r.used for r in self.res)))
        if now + self.plan.sample_every <= self.plan.horizon:
            self._at(self.plan.sample_every, self._sample, None)

    def _drop_stale_events(self) -> None:
        """Remove heap entries of waits that have already ended (their patient's token moved on).

        Drop-out and age-limit timers are set for every wait they apply to and most are
        overtaken by the patient moving on; they would sit in the heap for months of simulated
        time, doing nothing when popped. (Deterioration timers were the bulk of these, five of
        every six heap entries in ed_fragmented, until a patient's waits came to share one timer:
        see ``_schedule_deterioration``; they are left to run out.) Removing them does not change
        the order of the live events (the heap order is total), only the heap's size. Called
        from the periodic sampler once the heap has grown ``_COMPACT_GROWTH`` times since the
        last clean-up, so its cost is a small constant per event.
        """
        q = self._queue
        tokened, horizon = self._tokened, self._horizon
        # simpy events due at or after the horizon stay (never run, counted as pending; the
        # engine's own such events were never pushed, see _at)
        q[:] = [e for e in q  # the same list object: simpy's environment holds it
                if e[0] >= horizon or len(e) != 5 or e[3] not in tokened or e[4][0].wait == e[4][-1]]
        heapify(q)
        self._compact_at = max(_MIN_COMPACT, _COMPACT_GROWTH * len(q))

    def _end_warmup(self, arg) -> None:
        now = self.now
        for r in self.res:
            r.area += r.used * (now - r.last)
            r.last = now
        self.in_sys_area += self.in_sys * (now - self.in_sys_last)
        self.in_sys_last = now
        self._warm = ([r.area for r in self.res], self.in_sys_area)

    # ------------------------------------------------------------------ records
    _PATIENT_FLOATS: ClassVar[tuple[str, ...]] = (
        "arrival", "referral", "assess_start", "treat_start", "first_intensive", "exit", "bed_days",
        "urgency0")
    _PATIENT_INTS: ClassVar[tuple[str, ...]] = (
        "pid", "cohort", "outcome", "rejections", "rereferrals", "n_assessments", "n_duplicated_assessments",
        "n_ae", "n_emergency_admissions", "n_inpatient_admissions", "n_missed", "sessions")
    _VISIT_FLOATS: ClassVar[tuple[str, ...]] = ("t_enter", "t_queue", "t_start", "t_end")
    _VISIT_INTS: ClassVar[tuple[str, ...]] = ("pid", "step", "outcome")

    def _init_columns(self, record_visits: bool) -> None:
        """Records are packed rows (floats, then int32s) appended to a bytearray (see _records)."""
        plan = self.plan
        self._n_attr = len(plan.attributes)
        self._final_attr = plan.deterioration.attribute if plan.deterioration else -1
        self.age_idx = next((i for i, a in enumerate(plan.attributes) if a.ages), -1)
        self._pfloat_names = (self._PATIENT_FLOATS + tuple(f"attr_{a.name}" for a in plan.attributes)
                              + ((f"final_{plan.attributes[self._final_attr].name}",)
                                 if self._final_attr >= 0 else ())
                              + tuple(f"cost_{name}" for name in plan.services))
        self.pbuf = bytearray()
        self.vbuf = bytearray() if record_visits else None
        self._pack_patient = _row_struct(len(self._pfloat_names), len(self._PATIENT_INTS)).pack

    def _write_patient(self, p: Patient, exit_time: float, outcome: int) -> None:
        """Append ``p``'s row (layout in ``_pfloat_names`` and ``_PATIENT_INTS``) to the patient buffer."""
        attrs = p.attrs  # the plan's attributes, then the cohort index (not written)
        final = (attrs[self._final_attr],) if self._final_attr >= 0 else ()
        self.pbuf += self._pack_patient(
            p.arrival, p.referral, p.assess_start, p.treat_start, p.first_intensive, exit_time, p.bed_days,
            p.urgency0, *attrs[:self._n_attr], *final, *p.cost,
            p.pid, p.cohort, outcome, p.rejections, p.rereferrals, p.n_assess, p.n_dup, p.n_ae, p.n_admit,
            p.n_inpatient, p.n_missed, p.sessions)

    def _visit(self, p: Patient, s: _Step, started: float, outcome: int) -> None:
        vbuf = self.vbuf
        if vbuf is not None:
            vbuf += _pack_visit(p.t_enter, p.t_queue, started, self.now, p.pid, s.index, outcome)

    def _resource_use(self, i: int, rp, r: _Resource, warm_area: float, cal) -> ResourceUse:
        """Window use of resource ``i``; capacity and staff cost time-averaged under a capacity plan."""
        capacity = rp.capacity if cal is None or not cal.capacity else cal.mean_capacity[i]
        scale = capacity / rp.capacity if rp.capacity else 1.0
        return ResourceUse(rp.name, self.plan.services[rp.service], rp.kind, rp.role, capacity,
                           r.area - warm_area, rp.hours_available, bool(r.steps), rp.cost_per_year * scale)

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
        # Columns are strided views of the packed row buffers: no copy, so a million patients
        # cost only the buffer (8 bytes per float field, 4 per int field, padded to 8 per row).
        cols = _columns(self.pbuf, self._pfloat_names, self._PATIENT_INTS)
        n_fixed = len(self._PATIENT_FLOATS)
        names = self._PATIENT_FLOATS + self._PATIENT_INTS + self._pfloat_names[n_fixed:]
        patients = {k: cols[k] for k in names}
        cal = plan.calendar
        if cal is not None and (cal.initial or cal.initial_groups):  # today's waiting list: pids 0..n-1
            n0 = len(cal.initial) + sum(g.count for g in cal.initial_groups)
            patients["initial"] = patients["pid"] < n0
        visits = None
        if self.vbuf is not None:
            visits = _columns(self.vbuf, self._VISIT_FLOATS, self._VISIT_INTS)
        ts_cols = (["time", "in_system"] + [f"waiting_{s.plan.name}" for s in self._served]
                   + [f"queue_{s.plan.name}" for s in self._served]
                   + [f"in_use_{r.name}" for r in plan.resources])
        ts = np.array(self.ts, dtype=float).reshape(len(self.ts), len(ts_cols))
        n_cells = max(self.n_services, 1) * _NCAT
        spans = np.frombuffer(self.cost_spans, dtype=float).reshape(-1, 4)
        costs = bucket_costs(spans, self.n_buckets, plan.sample_every, n_cells)
        costs = costs.reshape(self.n_buckets, max(self.n_services, 1), _NCAT)
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
            resources=[self._resource_use(i, rp, r, wa, cal)
                       for i, (rp, r, wa) in enumerate(zip(plan.resources, self.res, warm_areas))],
            arrivals=self.arrivals, exits=self.exits, in_system_end=in_system_end,
            in_system_area=self.in_sys_area - warm_sys,
            # events due before the horizon (stale ones cleared from the heap count as run: they
            # would have been popped, doing nothing)
            events=next(self._eid) - self._eid0 - 1 - len(self._queue),
        )


@contextmanager
def _cyclic_gc_paused():
    """Pause Python's cyclic garbage collector for a replication (restored afterwards, also on an error).

    A run allocates hundreds of thousands of short-lived tuples while thousands of patients and
    heap entries stay alive, so the collector's periodic passes over them took about 30% of a
    5-year ED replication and freed nothing: the engine creates no reference cycles while it
    runs (reference counting frees what it drops; see ``Simulation._release`` for the end).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _row_struct(n_float: int, n_int: int) -> struct.Struct:
    """Native-order row of ``n_float`` doubles then ``n_int`` int32s, padded to a multiple of 8."""
    pad = -(8 * n_float + 4 * n_int) % 8
    return struct.Struct(f"={n_float}d{n_int}i{pad}x")


_pack_visit = _row_struct(len(Simulation._VISIT_FLOATS), len(Simulation._VISIT_INTS)).pack
_pack_span = struct.Struct("=4d").pack  # a cost span (cell, £, t0, t1), read back as an (n, 4) float array


def _columns(buf: bytearray, float_names, int_names) -> dict[str, np.ndarray]:
    """Column views (no copy) of a buffer of rows packed by :func:`_row_struct`."""
    size = _row_struct(len(float_names), len(int_names)).size
    dtype = np.dtype({
        "names": list(float_names) + list(int_names),
        "formats": [np.float64] * len(float_names) + [np.int32] * len(int_names),
        "offsets": [8 * i for i in range(len(float_names))]
                   + [8 * len(float_names) + 4 * i for i in range(len(int_names))],
        "itemsize": size,
    })
    table = np.frombuffer(buf, dtype=dtype) if len(buf) else np.zeros(0, dtype=dtype)
    return {name: table[name] for name in dtype.names or ()}


def simulate(plan: Plan, replication: int = 0, seed: int | None = None,
             record_visits: bool = True) -> RunRecords:
    """Run one replication of ``plan`` and return its records."""
    return Simulation(plan, replication, seed, record_visits).run()
