"""The scenario file's schema: every key a planner may write, typed and checked.

Models refuse unknown keys (a typo is an error, never a silent default) and are
immutable once loaded. Cross-references (steps naming services, routing naming
steps …) are checked in :mod:`icssim.scenario.checks`, after this per-key pass.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    field_validator,
    model_validator,
)

from icssim.distributions import ANY_SIZE, Distribution, SpanValue, check_weights, coerce_distribution
from icssim.scenario.dated_schema import CalendarSpec, CapacityChange
from icssim.scenario.health import HEALTH_MODELS, Health
from icssim.scenario.report_spec import ReportSpec
from icssim.scenario.pathway_schema import (
    AgeLimit,
    Branch,
    Dropout,
    MissedAppointments,
    Monitoring,
    PanelMeetings,
    Pathway,
    Sessions,
    Step,
)
from icssim.scenario.types import (
    INTERVAL_POINT,
    MAX_SEED,
    STEP_KINDS,
    FolderName,
    PositiveSpan,
    Probability,
    RateValue,
    Strict,
    TimeDist,
)
from icssim.units import TIME_UNITS, Rate, Span


# Re-exported: the models and types moved to pathway_schema, dated_schema and types are still
# imported from here by the plan compiler, the checks and the tests.
__all__ = ["MAX_SEED", "STEP_KINDS", "AgeLimit", "Branch", "CalendarSpec", "CapacityChange", "Categorical",
           "CaseloadPerWte", "Cohort", "Deterioration", "Dropout", "FolderName", "InitialGroup", "InitialState",
           "MissedAppointments", "Monitoring", "PanelMeetings", "PathTime", "Pathway", "Scenario", "Service", "Sessions",
           "Standard", "Step", "Strict", "known_keys"]

class Standard(Strict):
    """A waiting-time standard, e.g. 95% of routine referrals start treatment within 4 weeks."""

    urgency: str | None = None
    #: the cohort, or cohorts, it covers (all when not given)
    cohort: str | list[Annotated[str, Field(min_length=1)]] | None = None
    within: PositiveSpan
    target: Probability = 0.95
    measure: Literal["referral_to_treatment", "referral_to_assessment"] = "referral_to_treatment"
    #: an interval standard (issue 25): measured from ``from`` to ``to``, each ``arrival``, ``exit``,
    #: ``<step>`` (its start), ``<step>.enter`` (referred or routed to it, before its hand-off and
    #: queue), ``<step>.start`` or ``<step>.end`` (the first such time of each patient), among the
    #: patients who reached ``to``; ``measure`` is then not used
    from_: str | None = Field(default=None, alias="from", pattern=INTERVAL_POINT)
    to: str | None = Field(default=None, pattern=INTERVAL_POINT)
    #: the standard in the domain's words (``Referral to first treatment contact within 6 weeks``);
    #: without it reports say whom it covers and what it measures (``Routine: treatment within 4 weeks``)
    label: str | None = Field(default=None, min_length=1, max_length=120)

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True)

    @model_validator(mode="after")
    def _interval(self) -> "Standard":
        interval = self.from_ is not None or self.to is not None
        if interval and "measure" in self.model_fields_set:
            raise ValueError("give either 'measure' or 'from' and 'to', not both")
        if (self.from_ is None) != (self.to is None):
            missing = ("'from' is missing (where its clock starts)" if self.from_ is None
                       else "'to' is missing (where its clock stops)")
            raise ValueError(f"an interval standard needs both 'from' and 'to': {missing}")
        return self


#: the labels of the path times (``scenario.path_times``) of the scenarios loaded in this process, by
#: name (the last loaded wins), for the KPI registry, which names KPIs without a scenario at hand
DECLARED_PATH_TIMES: dict[str, str] = {}


class PathTime(Strict):
    """A time measured between two points of each patient's path, named in the domain's words: the
    same points as an interval standard's (``arrival``, ``exit``, ``<step>``, ``<step>.enter``,
    ``<step>.start``, ``<step>.end``), reported as its mean, median and 90th percentile and as the share of those who
    left the pathway having reached ``to`` (:class:`icssim.stage_kpis.PathTimes`). Two pathways that
    reach the same point by different steps (a psychiatrist called in, a liaison team on site) name
    their own step, so a comparison measures the same interval in both."""

    #: the time in the domain's words (``Mental health attendances: arrival to psychiatric assessment``)
    label: str = Field(min_length=1, max_length=120)
    from_: str = Field(alias="from", pattern=INTERVAL_POINT)
    to: str = Field(pattern=INTERVAL_POINT)
    #: the cohort, or cohorts, it covers (all when not given)
    cohort: str | list[Annotated[str, Field(min_length=1)]] | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True)


class ScenarioInfo(Strict):
    """Name, run length and seed of a scenario."""

    name: FolderName
    description: str = ""
    time_unit: Literal[TIME_UNITS] = "days"  # type: ignore[valid-type]
    horizon: SpanValue
    warmup: SpanValue = Span(0.0)
    seed: int = Field(default=1, ge=0, le=MAX_SEED, json_schema_extra={ANY_SIZE: True})
    population: int | None = Field(default=None, gt=0)
    start_date: dt.date | None = None
    sample_every: PositiveSpan | None = None
    standards: dict[str, Standard] = Field(default_factory=dict)
    #: times between two points of each patient's path, each named, labelled and reported (issue 25)
    path_times: dict[str, PathTime] = Field(default_factory=dict)
    #: report the wait and time at every step and the time from arrival to exit (issue 25)
    stage_waits: bool = False
    #: the front door closes at this time after the start: no arrivals after it; the run goes on
    #: to the horizon, so work in progress can finish (a terminating day)
    arrivals_until: PositiveSpan | None = None

    @model_validator(mode="after")
    def _declare(self) -> "ScenarioInfo":
        """Make the path times' labels known to the KPI registry (:data:`DECLARED_PATH_TIMES`)."""
        for name, pt in self.path_times.items():
            DECLARED_PATH_TIMES[name] = pt.label
        return self


class Categorical(Strict):
    """A categorical attribute: one of ``values`` with optional ``weights``."""

    values: list[str] = Field(min_length=1)
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _check(self) -> "Categorical":
        if self.weights is not None:
            check_weights(self.weights, self.values)
        return self


def _attribute_kind(raw: Any) -> str:
    """'categorical' for ``{values: [names...]}``, else 'distribution' (numbers and times)."""
    if isinstance(raw, BaseModel):  # when serialising a validated scenario
        return "categorical" if isinstance(raw, Categorical) else "distribution"
    if isinstance(raw, dict) and "dist" not in raw and isinstance(raw.get("values"), list):
        if raw["values"] and all(isinstance(v, str) for v in raw["values"]):
            return "categorical"
    return "distribution"


def _coerce_attribute(raw: Any) -> Any:
    if isinstance(raw, str) and not raw.strip()[:1].isdigit():
        return {"values": [raw]}
    if _attribute_kind(raw) == "categorical":
        return raw
    return coerce_distribution(raw)


#: An attribute is either categorical (level names) or numeric (a distribution); the choice is
#: made from the data, so errors speak about the one the user meant.
AttributeDist = Annotated[
    Union[Annotated[Categorical, Tag("categorical")], Annotated[Distribution, Tag("distribution")]],
    Discriminator(_attribute_kind),
    BeforeValidator(_coerce_attribute),
]


class DemandChange(Strict):
    """A step change in a cohort's referral rate from a date (or a time after the start) on."""

    date: dt.date | None = None
    at: SpanValue | None = None
    factor: float = Field(gt=0)
    note: str = ""

    @model_validator(mode="after")
    def _when(self) -> "DemandChange":
        if (self.date is None) == (self.at is None):
            raise ValueError("give exactly one of 'date' (needs scenario.start_date) or 'at' (time after the start)")
        return self


class Demand(Strict):
    """Time-varying demand of a cohort: compound annual growth, monthly seasonality, step changes.

    The rate at time t is the cohort's rate x (1 + growth_per_year) ** years since the start
    x seasonality[month of t] x the factors of every change dated on or before t.
    """

    growth_per_year: float = Field(default=0.0, gt=-1)
    seasonality: list[Annotated[float, Field(ge=0)]] | None = None
    changes: list[DemandChange] = Field(default_factory=list)
    #: hour-of-day multipliers (24, midnight first), repeated every day
    hourly: list[Annotated[float, Field(ge=0)]] | None = None
    #: day-of-week x hour multipliers (7 rows of 24, Monday first), repeated every week
    weekly: list[list[Annotated[float, Field(ge=0)]]] | None = None
    #: the hour-of-day or hour-of-week multipliers as a CSV file, relative to the scenario file
    #: (:mod:`icssim.scenario.demand_profile`)
    profile: str | None = Field(default=None, min_length=1, max_length=500)

    @model_validator(mode="after")
    def _check(self) -> "Demand":
        if sum(x is not None for x in (self.hourly, self.weekly, self.profile)) > 1:
            raise ValueError("give one of 'hourly', 'weekly' or 'profile' (a CSV file), not several")
        if self.hourly is not None:
            if len(self.hourly) != 24:
                raise ValueError(f"hourly needs 24 multipliers (midnight to 1am first), found {len(self.hourly)}")
            if not sum(self.hourly) > 0:
                raise ValueError("hourly multipliers must not all be 0")
        if self.weekly is not None:
            if len(self.weekly) != 7 or any(len(day) != 24 for day in self.weekly):
                raise ValueError("weekly needs 7 rows (Monday first) of 24 hourly multipliers")
            if not sum(map(sum, self.weekly)) > 0:
                raise ValueError("weekly multipliers must not all be 0")
        if self.seasonality is not None:
            if len(self.seasonality) != 12:
                raise ValueError(f"seasonality needs 12 monthly multipliers (January first), found {len(self.seasonality)}")
            if not sum(self.seasonality) > 0:
                raise ValueError("seasonality multipliers must not all be 0")
        return self


class Cohort(Strict):
    """A group of patients with its own referral rate and attribute distributions."""

    label: str = ""
    rate: RateValue | None = None
    rate_per_100k_per_year: float | None = Field(default=None, gt=0)
    entry: str
    attributes: dict[str, AttributeDist] = Field(default_factory=dict)
    demand: Demand | None = None

    @field_validator("rate")
    @classmethod
    def _positive_rate(cls, rate: Rate | None) -> Rate | None:
        if rate is not None and not rate.value > 0:
            raise ValueError(f"must be a rate greater than 0, found {rate}")
        return rate

    @model_validator(mode="after")
    def _one_rate(self) -> "Cohort":
        if (self.rate is None) == (self.rate_per_100k_per_year is None):
            raise ValueError("give exactly one of 'rate' or 'rate_per_100k_per_year'")
        return self


class StaffRole(Strict):
    """Staff of one role in a service: how many, how many clinical hours, at what cost, and what the
    role is called in reports (``label``, for a key such as ``hit`` that reads as a word)."""

    label: str = Field(default="", max_length=120)
    wte: float = Field(ge=0)
    clinical_hours_per_week: float | None = Field(default=None, gt=0, le=168)
    cost_per_hour: float = Field(default=0.0, ge=0)
    paid_hours_per_year: float = Field(default=1560.0, gt=0, le=8766)


class CaseloadPerWte(Strict):
    """Caseload derived from staffing: ``per_wte`` patients for each WTE of ``role``."""

    per_wte: float = Field(gt=0)
    role: str


class Place(Strict):
    """A place a contact needs besides its staff (a room, bay, cubicle, trolley): a count, no WTE,
    no clinical hours, and a cost per hour of use (issue 25)."""

    label: str = ""
    count: int = Field(ge=0)
    cost_per_hour: float = Field(default=0.0, ge=0)


class Service(Strict):
    """A provider or team: staff pools, caseload slots, beds and unit costs."""

    label: str = ""
    staff: dict[str, StaffRole] = Field(default_factory=dict)
    caseload: Annotated[int, Field(ge=0)] | CaseloadPerWte | None = None
    beds: int = Field(default=0, ge=0)
    cost_per_contact: float | None = Field(default=None, ge=0)
    cost_per_bed_day: float = Field(default=0.0, ge=0)
    payer: str = Field(default="icb", pattern=r"^[a-z][a-z0-9_]*$", max_length=60)
    #: places (rooms, bays, cubicles) its steps can hold while in contact (issue 25)
    places: dict[str, Place] = Field(default_factory=dict)


class Deterioration(Strict):
    """Physical risk that escalates one level at a time while a patient waits."""

    attribute: str = "risk"
    hazard: dict[str, RateValue]
    urgent_from: str | None = None
    emergency_at: str
    emergency_step: str
    detection_probability: Probability = 0.0
    detected_step: str | None = None


class InitialGroup(Strict):
    """A summary of part of today's waiting list: ``count`` patients of ``cohort`` at ``step``.

    ``waiting`` patients have waited ``waited`` since referral; ``in_service`` patients waited
    ``waited`` from referral to the start of this step's service, ``treated_for`` ago."""

    step: str
    cohort: str
    count: int = Field(ge=0)
    waited: TimeDist
    status: Literal["waiting", "in_service"] = "waiting"
    treated_for: TimeDist | None = None
    attributes: dict[str, AttributeDist] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> "InitialGroup":
        if (self.status == "in_service") != (self.treated_for is not None):
            raise ValueError("'treated_for' (time in service so far) goes with status: in_service, and only with it")
        return self


class InitialState(Strict):
    """Patients already in the system at the start: a CSV ``file`` and/or summary groups."""

    file: str | None = None
    waiting: list[InitialGroup] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> "InitialState":
        if self.file is None and not self.waiting:
            raise ValueError("give a CSV 'file' of patients and/or 'waiting' groups")
        return self


class Scenario(Strict):
    """A whole scenario file (after ``extends`` has been merged)."""

    scenario: ScenarioInfo
    attributes: dict[str, list[str]] = Field(default_factory=dict)
    cohorts: dict[str, Cohort] = Field(min_length=1)
    services: dict[str, Service] = Field(default_factory=dict)
    pathway: Pathway
    deterioration: Deterioration | None = None
    calendar: CalendarSpec | None = None
    capacity_plan: list[CapacityChange] = Field(default_factory=list)
    initial_state: InitialState | None = None
    health: Health | None = None
    report: ReportSpec | None = None
    _provenance: Any = PrivateAttr(default=None)


def known_keys() -> set[str]:
    """Every key name any scenario model accepts (for 'did you mean' suggestions)."""
    names: set[str] = set()
    models: list[type[BaseModel]] = [
        Scenario, ScenarioInfo, Standard, Cohort, Categorical, StaffRole, CaseloadPerWte,
        Service, Place, Branch, Dropout, MissedAppointments, Sessions, AgeLimit, Monitoring, Step,
        Pathway, Deterioration, DemandChange, Demand, PanelMeetings, CalendarSpec,
        CapacityChange, InitialGroup, InitialState, ReportSpec, *HEALTH_MODELS]
    from icssim import distributions as d

    models += [d.Fixed, d.Exponential, d.Gamma, d.Lognormal, d.Triangular, d.Uniform, d.Empirical,
               d.TruncatedNormal]
    for model in models:
        names.update(field.alias or name for name, field in model.model_fields.items())
    return names
