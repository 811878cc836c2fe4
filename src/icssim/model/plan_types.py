"""What a compiled plan is made of: attributes, cohorts, resources, routers, steps, deterioration
and the plan itself, as frozen dataclasses of numbers, indices and samplers (the engine's input).
:mod:`icssim.model.plan` builds them from a scenario."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from icssim.model.arrivals import RateProfile
from icssim.model.calendar import CalendarPlan
from icssim.sampling import Sampler

COST_CATEGORIES = ("staff", "contacts", "bed_days", "monitoring")
#: the person's own draws the engine makes besides routing choices (model/choices.py), by what they
#: decide: when their deterioration timer goes off, whether monitoring catches it, whether a step's
#: monitoring takes them on. No ``choice`` name holds a colon.
OWN_DRAWS = ("deterioration:timer", "deterioration:detected", "monitoring:start")

Condition = Callable[[list, float, float], bool]  # (attrs, arrival, now) -> bool


@dataclass(frozen=True)
class AttributePlan:
    """One patient attribute: its name, levels (categorical) and whether it ages with time."""

    name: str
    levels: tuple[str, ...] | None
    ages: bool


@dataclass(frozen=True)
class CohortPlan:
    """A cohort: constant referral rate, entry step and per-attribute samplers."""

    name: str
    rate: float
    entry: int
    samplers: tuple[Sampler | None, ...]  # per attribute, None when the cohort lacks it
    profile: RateProfile | None = None  # time-varying rate (None: constant ``rate``)


@dataclass(frozen=True)
class ResourcePlan:
    """A countable resource: a staff pool (servers), caseload slots, beds or places (rooms, bays)."""

    name: str
    service: int
    kind: str  # "staff" | "caseload" | "beds" | "place"
    role: str
    capacity: int
    elapsed_scale: float  # calendar time per unit of staff time (part-time availability)
    hours_available: float  # clinical hours per scenario time unit across the pool
    cost_per_year: float = 0.0  # establishment cost: wte x cost per hour x paid hours per year


@dataclass(frozen=True)
class RouterPlan:
    """Compiled routing: a certain target, a categorical draw, or conditional sub-routers."""

    target: int = -1
    delay: Sampler | None = None
    cumulative: tuple[float, ...] = ()
    branches: tuple["RouterPlan", ...] = ()
    conditions: tuple[Condition | None, ...] = ()


@dataclass(frozen=True)
class StepPlan:
    """Everything the engine needs to run one pathway step."""

    index: int
    name: str
    kind: str
    service: int
    resources: tuple[int, ...]
    elapsed_scale: float
    duration: Sampler | None
    priority: bool
    handoff: Sampler | None
    urgent_handoff: Sampler | None
    accept: Condition | None
    on_reject: RouterPlan | None
    dropout_mean: float | None
    dropout_then: RouterPlan | None
    missed_p: float
    discharge_after: int
    rebook: Sampler | None
    missed_then: RouterPlan | None
    sessions: Sampler | None
    session_every: float
    age_max: float | None
    age_then: RouterPlan | None
    monitoring: tuple[float, float, frozenset[int], int, float] | None  # p, every, until, service, cost
    contact_cost: float
    staff_hours_cost: float  # cost per scenario time unit of contact (0 if contact_cost given)
    bed_day_cost: float
    deteriorates: bool
    outcome: str
    sets: tuple[tuple[int, float], ...]  # attribute assignments when the step ends
    next: RouterPlan | None
    is_assessment: bool
    is_treatment: bool
    is_intensive: bool
    starts_clock: bool
    working_days_only: bool = False  # appointments only on open days (when the scenario has a calendar)
    meets: bool = False  # a panel: referrals wait for the next meeting, then are decided together
    # what the step's kind does (copied from icssim.kinds.KINDS when compiled: no lookups in the loop)
    is_exit: bool = False  # a discharge: the patient leaves
    is_stay: bool = False  # a bed-based stay (admission, inpatient): duration is a length of stay
    is_inpatient: bool = False  # counts as an inpatient admission, its stay as bed-days
    counts_ae: bool = False  # counts as an A&E attendance
    counts_admission: bool = False  # counts as an emergency admission
    #: a further stage of an assessment (``counts_as: further_assessment``): counted as an
    #: assessment, never as a duplicated one
    further_assessment: bool = False
    #: the index in Plan.choices of the person's own choice its routing draws from (``choice``;
    #: -1: the step's own route stream)
    choice: int = -1


@dataclass(frozen=True)
class DeteriorationPlan:
    """Escalation of a categorical risk attribute while waiting."""

    attribute: int
    hazard: tuple[float, ...]  # per level, per time unit
    urgent_from: int  # level index, or a large number for never
    emergency_at: int
    emergency_step: int
    detection_probability: float
    detected_step: int


@dataclass(frozen=True)
class Plan:
    """A whole scenario, compiled."""

    name: str
    time_unit: str
    horizon: float
    warmup: float
    seed: int
    sample_every: float
    hours_per_unit: float
    attributes: tuple[AttributePlan, ...]
    cohorts: tuple[CohortPlan, ...]
    services: tuple[str, ...]
    resources: tuple[ResourcePlan, ...]
    steps: tuple[StepPlan, ...]
    deterioration: DeteriorationPlan | None
    urgency: int  # attribute index of 'urgency', or -1
    outcomes: tuple[str, ...] = field(default=())
    calendar: CalendarPlan | None = None  # dated features (None: the scenario uses none)
    #: most moves between steps one patient may make in a replication before the engine stops
    #: it as a loop without end (see :func:`max_moves_for`)
    max_moves: int = 100_000
    #: steps whose waits and times are reported (``scenario.stage_waits``), and the interval
    #: standards as (name, from step, which point of it, to step, which point of it), step -1 for
    #: arrival or exit, the point 0 its start, 1 its end, 2 its entry (icssim.path_times.START, END,
    #: ENTER): both need the visit records, which the engine then keeps
    stages: tuple[int, ...] = ()
    stage_queues: tuple[int, ...] = ()  # those of ``stages`` that queue for resources
    intervals: tuple[tuple[str, int, int, int, int], ...] = ()
    #: each path time's (``scenario.path_times``) cohorts, by its name among ``intervals`` (empty: all)
    path_cohorts: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: the names of the people's own choices that steps draw their routing from, then of the
    #: engine's own draws from the person's streams (model.choices.OWN_DRAWS)
    choices: tuple[str, ...] = ()
    #: the attributes a run may change on the way (a step's ``sets``, deterioration), whose values
    #: on arrival the patient records keep beside those on leaving (urgency has ``urgency0``)
    changing: tuple[int, ...] = ()


