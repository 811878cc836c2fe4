"""The engine's entities: patients, resources, steps and routers, and the engine's integer codes.

A :class:`Step` is a step of the plan as the engine runs it: its plan's fields copied onto it (one
attribute read instead of two in the hot path), flags precomputed once (``plain``, ``solo``,
``counts``), its random streams and its queue. Compiled by mypyc (``setup.py``), every class here is
a C struct with typed fields: a new attribute must be declared with its type.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator
from itertools import count
from typing import Any, Final

from icssim.model.plan import COST_CATEGORIES, Condition, RouterPlan, StepPlan
from icssim.model.streams import Streams
from icssim.sampling import Sampler, block_draws, uniform_draws

Draw = Callable[[], float]  # a stream: the next block-drawn value on each call (sampling.block_draws)

# Constants are Final: compiled, they are C constants, not look-ups in the module's namespace.
NAN: Final = math.nan
EXP1 = Sampler(lambda rng, n: rng.exponential(1.0, n), 1.0, 1.0)
# visit outcomes (records.VISIT_OUTCOMES in this order)
SERVED: Final = 0
REJECTED: Final = 1
DROPPED: Final = 2
EMERGENCY: Final = 3
MISSED: Final = 4
DISCHARGED_MISSED: Final = 5
AGED_OUT: Final = 6
ESCALATED: Final = 7
DIED: Final = 8
# where a patient is: not waiting (in service, between events), in a hand-off or delay step, in a
# queue, on a routing delay, or dead (out of the pathway, any service of theirs ended)
NOWHERE: Final = 0
IN_TRANSIT: Final = 1
IN_QUEUE: Final = 2
RETURNING: Final = 3
GONE: Final = 4
# cost categories, in the order of plan.COST_CATEGORIES
STAFF: Final = 0
CONTACTS: Final = 1
BED_DAYS: Final = 2
MONITORING: Final = 3
NCAT: Final = len(COST_CATEGORIES)
# bit flags of Step.counts: which patient counters a service start increments
C_ASSESS: Final = 1
C_TREAT: Final = 2
C_AE: Final = 4
C_ADMIT: Final = 8
C_INPATIENT: Final = 16
C_INTENSIVE: Final = 32
C_FURTHER: Final = 64  # a further stage of an assessment: never a duplicated assessment


class Patient:
    """One person on the pathway: attributes, where they are, and running totals."""

    __slots__ = (
        "pid", "cohort", "attrs", "attrs0", "urgency0", "arrival", "referral", "assess_start", "treat_start",
        "first_intensive", "assessed", "n_dup",
        "step", "t_enter", "t_queue", "wait", "qseq", "where", "misses", "rejections", "rereferrals",
        "n_assess", "n_ae", "n_admit", "n_inpatient", "bed_days", "n_missed", "sessions", "cost",
        "mon", "det_due", "det_level", "det_seq", "det_wait", "hc", "hc_number", "choice_hi", "choice_lo", "chosen",
    )

    pid: int
    cohort: int
    attrs: list[float]
    attrs0: list[float]  # the values on arrival of the attributes a run may change (Plan.changing)
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
    hc: Any  # the person's course of illness in the pathway (health.person.Person), or None
    #: the person's arrival number in their cohort, for a course a lazy engine has not started
    #: (model.deterioration: _course_begin), else -1
    hc_number: int
    # the key of the person's own choices and how many of each they made (model.choices; set only
    # when the plan names choices)
    choice_hi: int
    choice_lo: int
    chosen: list[int]


class Resource:
    """Runtime state of a staff pool, caseload or bed stock."""

    __slots__ = ("cap", "used", "area", "last", "steps")
    cap: Any  # an int, or a float under a capacity plan
    used: int
    area: float
    last: float
    steps: list[Step]

    def __init__(self, capacity: int) -> None:
        self.cap, self.used, self.area, self.last = capacity, 0, 0.0, 0.0
        self.steps = []


class Router:
    """A :class:`RouterPlan` as the engine follows it (compiled, its fields are read natively)."""

    __slots__ = ("target", "delay", "cumulative", "branches", "conditions")
    target: int
    delay: Sampler | None
    cumulative: tuple[float, ...]
    branches: list[Router]
    conditions: tuple[Condition | None, ...]

    def __init__(self, plan: RouterPlan) -> None:
        self.target, self.delay, self.cumulative = plan.target, plan.delay, plan.cumulative
        self.branches = [Router(b) for b in plan.branches]
        self.conditions = plan.conditions


def router_of(plan: RouterPlan | None) -> Router | None:
    return None if plan is None else Router(plan)


class Step:
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
        "dropout_then", "choice",
    )
    plan: StepPlan
    index: int
    res: list[Resource]
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
    next: Any  # a Router (None only at a discharge step, which never moves anyone on)
    sets: tuple[tuple[int, float], ...]
    single: Resource | None
    plain: bool
    meets: bool
    gated: bool
    next_step: Step | None
    solo: bool
    service: int
    contact_cost: float
    staff_hours_cost: float
    bed_day_cost: float
    inpatient: bool
    session_every: float
    discharge_after: int
    dropout_mean: float
    on_reject: Router | None
    age_then: Router | None
    missed_then: Router | None
    dropout_then: Router | None
    choice: int  # the index of the person's own choice its routing draws from (-1: its route stream)

    def __init__(self, plan: StepPlan, streams: Streams, resources: list[Resource],
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
        self.counts = ((C_ASSESS if plan.is_assessment else C_TREAT if plan.is_treatment else 0)
                       | (C_AE if plan.counts_ae else 0) | (C_ADMIT if plan.counts_admission else 0)
                       | (C_INPATIENT if plan.is_inpatient else 0) | (C_INTENSIVE if plan.is_intensive else 0)
                       | (C_FURTHER if plan.further_assessment else 0))
        self.stay = bool(plan.bed_day_cost) or plan.is_stay
        self.missed_p = plan.missed_p
        self.costed = bool(plan.contact_cost or plan.staff_hours_cost)
        self.next = router_of(plan.next)
        self.on_reject, self.age_then = router_of(plan.on_reject), router_of(plan.age_then)
        self.missed_then, self.dropout_then = router_of(plan.missed_then), router_of(plan.dropout_then)
        self.next_step = None  # the next Step when ``next`` is a plain edge (set by Simulation)
        self.solo = False  # one resource, used by no other step (set by Simulation)
        self.sets = plan.sets
        self.service = plan.service
        self.contact_cost, self.staff_hours_cost = plan.contact_cost, plan.staff_hours_cost
        self.bed_day_cost = plan.bed_day_cost
        self.inpatient = plan.is_inpatient
        self.session_every, self.discharge_after = plan.session_every, plan.discharge_after
        self.dropout_mean = plan.dropout_mean or 0.0  # used only where there is a dropout stream
        self.choice = plan.choice
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
        self.duration = draws(streams, f"duration/{name}", plan.duration)
        self.handoff = draws(streams, f"handoff/{name}", plan.handoff)
        self.urgent_handoff = draws(streams, f"urgent-handoff/{name}", plan.urgent_handoff)
        self.route_u = uniform_draws(streams.rng(f"route/{name}"))
        self.dropout = draws(streams, f"dropout/{name}", EXP1 if plan.dropout_mean else None)
        self.missed_u = uniform_draws(streams.rng(f"missed/{name}"))
        # the iterator behind missed_u (the same values, shared)
        self.missed_draws = self.missed_u.__self__  # type: ignore[attr-defined]
        self.rebook = draws(streams, f"rebook/{name}", plan.rebook)
        self.sessions = draws(streams, f"sessions/{name}", plan.sessions)


def exponential(mean: float) -> Sampler:
    """Exponential draws of the given mean (a cohort's gaps between arrivals at a constant rate)."""
    return Sampler(lambda rng, n: rng.exponential(mean, n), 0, 0)


def draws(streams: Streams, name: str, sampler: Sampler | None) -> Draw | None:
    """A zero-argument callable giving block-drawn floats from stream ``name`` (or None)."""
    return None if sampler is None else block_draws(streams.rng(name), sampler)
