"""The ``health:`` block of a scenario: the course of illness as data.

A person's health is a continuous-time multi-state process (states such as moderately ill,
severely ill, in early remission, in sustained remission) with hazards that depend on where the
person is in the pathway (``untreated``, ``waiting`` or ``treated``), on how long they were ill
before treatment (the duration of untreated illness), and on background mortality (a life table
by age and sex, times a state's rate ratio). States carry a utility (for QALYs) and a cost per year.
With ``by: <categorical attribute>`` (e.g. the diagnosis), the starting states, a state's utility
and mortality rate ratio, and which transitions apply (``when:``) may differ by the person's level
of that attribute. Cross-references (state names, attributes) are checked in
:mod:`icssim.scenario.health_checks`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, PlainSerializer, PlainValidator, model_validator

from icssim.distributions import NumbersChecked, SpanValue
from icssim.scenario.types import Probability, TimeDist
from icssim.units import Rate, Span, parse_rate

HazardValue = Annotated[Rate, PlainValidator(parse_rate), PlainSerializer(str)]
#: The pathway statuses a hazard can depend on, in the order the health model indexes them.
STATUSES = ("untreated", "waiting", "treated")
#: Life tables shipped with icssim (``icssim/data/life_tables/<name>.csv``).
LIFE_TABLES = ("england_wales_ons",)
MIN_UTILITY, MAX_UTILITY = -0.6, 1.0
MAX_DISCOUNT_RATE = 0.2
#: labels of the KPIs declared by the ``health:`` blocks loaded in this process (``measures`` and
#: contacts of a second service), by KPI name; the last loaded wins
DECLARED_LABELS: dict[str, str] = {}


class _Strict(NumbersChecked):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


Utility = Annotated[float, Field(ge=MIN_UTILITY, le=MAX_UTILITY)]
RateRatio = Annotated[float, Field(ge=0.0, le=1000.0)]


class HealthState(_Strict):
    """One health state: its utility, its mortality rate ratio, its cost, and whether it is remission.

    ``utility`` and ``mortality_rr`` are a number, or one number per level of the health block's
    ``by`` attribute (e.g. ``{anorexia: 10.7, bulimia: 2.9, ...}``). A *tunnel* state moves to
    ``then`` after ``after`` in the state (e.g. early remission becomes sustained remission after
    12 months) unless another transition happens first."""

    label: str = ""
    utility: Utility | dict[str, Utility]
    mortality_rr: RateRatio | dict[str, RateRatio] = 1.0
    cost_per_year: float = Field(default=0.0, ge=0.0)
    remission: bool = False
    absorbing: bool = False
    then: str | None = None
    after: SpanValue | None = None

    @model_validator(mode="after")
    def _tunnel(self) -> "HealthState":
        if (self.then is None) != (self.after is None):
            raise ValueError("'then' (the next state) and 'after' (time in this state) go together")
        if self.after is not None and not self.after.value > 0:
            raise ValueError(f"'after' must be a time greater than 0, found {self.after}")
        return self


def _coerce_hazards(raw: Any) -> Any:
    """A single rate applies whatever the pathway status."""
    if isinstance(raw, (str, int, float)) and not isinstance(raw, bool):
        return {"untreated": raw}
    return raw


class Hazards(_Strict):
    """A transition's hazard by pathway status; ``waiting`` and ``treated`` default to ``untreated``."""

    untreated: HazardValue
    waiting: HazardValue | None = None
    treated: HazardValue | None = None

    @model_validator(mode="after")
    def _not_negative(self) -> "Hazards":
        for status in STATUSES:
            rate = getattr(self, status)
            if rate is not None and rate.value < 0:
                raise ValueError(f"hazard '{status}' must not be negative, found {rate}")
        return self

    def by_status(self) -> tuple[Rate, Rate, Rate]:
        """The hazard while (untreated, waiting, treated)."""
        base = self.untreated
        return base, self.waiting or base, self.treated or base


def _as_list(raw: Any) -> Any:
    return [raw] if isinstance(raw, str) else raw


class Transition(_Strict):
    """Moves from any state in ``from`` to ``to`` at ``rate`` (a hazard, by pathway status).

    With ``scaled_by_untreated_duration``, the *treated* hazard is multiplied by the scenario's
    untreated-duration effect (the "critical window"). ``cohorts`` and ``when`` (levels of the
    health block's ``by`` attribute, e.g. ``{diagnosis: [bulimia]}``) restrict who it applies to."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True)

    from_: Annotated[list[str], BeforeValidator(_as_list)] = Field(alias="from", min_length=1)
    to: str
    rate: Annotated[Hazards, BeforeValidator(_coerce_hazards)]
    scaled_by_untreated_duration: bool = False
    cohorts: list[str] | None = Field(default=None, min_length=1)
    when: dict[str, Annotated[list[str], BeforeValidator(_as_list), Field(min_length=1)]] | None = Field(
        default=None, min_length=1, max_length=1)
    note: str = ""


class UntreatedDuration(_Strict):
    """The effect of time ill before treatment on the treated hazards of the transitions scaled by it:
    × exp(−effect_per_year × max(0, DUI − after) in years), DUI = time ill before asking for help (the
    cohort attribute ``attribute``, in years) + time from asking for help to the start of treatment.
    ``effect_per_year: 0`` is the null case (time untreated has no effect on treatment)."""

    attribute: str = "illness_years"
    effect_per_year: float = Field(ge=0.0, le=5.0)
    after: SpanValue = Span(12, "month")


class Discount(_Strict):
    """Annual discount rates (NICE reference case: 3.5% for both)."""

    costs: float = Field(default=0.035, ge=0.0, le=MAX_DISCOUNT_RATE)
    qalys: float = Field(default=0.035, ge=0.0, le=MAX_DISCOUNT_RATE)


class Mortality(_Strict):
    """Background mortality from a life table by age and sex, times each state's ``mortality_rr``."""

    life_table: str = "england_wales_ons"
    female_share: float = Field(ge=0.0, le=1.0)
    age_attribute: str = "age"

    @model_validator(mode="after")
    def _known_table(self) -> "Mortality":
        if self.life_table not in LIFE_TABLES:
            raise ValueError(f"unknown life table {self.life_table!r}; expected one of {list(LIFE_TABLES)}")
        return self


class HealthEvent(_Strict):
    """Something that happens to people at a rate that depends on their health state, whether or
    not they are in the pathway (e.g. A&E attendances and emergency admissions for the physical
    condition): counted per person and costed (to ``payer``) over the follow-up.

    With ``service`` it is a contact of that service of the scenario, care in a second service
    alongside the pathway (e.g. a diabetes review every 3 months while in therapy): ``every``
    schedules it at the same rate in every living state (or ``rate`` gives it by state), its
    payer is the service's, and it is counted separately while the person is in the pathway.
    Its capacity is not modelled: the contacts are not queued and use no staff."""

    label: str = ""
    rate: dict[str, HazardValue] = Field(default_factory=dict)
    every: SpanValue | None = None
    cost: float = Field(default=0.0, ge=0.0)
    payer: str = Field(default="icb", pattern=r"^[a-z][a-z0-9_]*$", max_length=60)
    service: str | None = None

    @model_validator(mode="after")
    def _not_negative(self) -> HealthEvent:
        if (self.every is None) == (not self.rate):
            raise ValueError("give either 'rate' (by health state) or 'every' (a scheduled contact), not both")
        if self.every is not None and not self.every.value > 0:
            raise ValueError(f"'every' must be a time greater than 0, found {self.every}")
        if self.every is not None and self.service is None:
            raise ValueError("'every' schedules contacts of a service: name it with 'service'")
        for state, rate in self.rate.items():
            if rate.value < 0:
                raise ValueError(f"the rate in state {state!r} must not be negative, found {rate}")
        return self


class ExitMeasure(_Strict):
    """A domain KPI declared as data: of the people whose pathway ended with ``outcome`` (in the
    observation window), the share who were in one of ``states`` when they left the pathway (e.g.
    Talking Therapies' recovery rate: completers who left recovered). Reported as
    ``share_at_exit_<name>`` with ``label``; ``target`` (optional) is drawn and judged in reports."""

    label: str = Field(min_length=1, max_length=120)
    outcome: str
    states: list[str] = Field(min_length=1)
    target: float | None = Field(default=None, ge=0.0, le=1.0)


class HealthReturn(_Strict):
    """The course of illness sends a person who has left the pathway back into it.

    After the person leaves the pathway (with one of ``outcomes``; any outcome but death when not
    given), each time their course enters one of the states ``to`` (from one of ``from``, when
    given: e.g. from a remission state, a relapse), they ask for help again with ``probability``:
    after ``delay`` (a distribution of a time), if they are alive and still in one of ``to`` then,
    and if that is before the run ends, they re-enter the pathway at ``step``, the same person with
    the same course. ``at_exit: true`` also counts being in one of ``to`` when leaving (people
    who leave still ill)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True)

    to: Annotated[list[str], BeforeValidator(_as_list)] = Field(min_length=1)
    from_: Annotated[list[str], BeforeValidator(_as_list)] | None = Field(default=None, alias="from", min_length=1)
    outcomes: Annotated[list[str], BeforeValidator(_as_list)] | None = Field(default=None, min_length=1)
    probability: Probability
    delay: TimeDist
    step: str
    at_exit: bool = False
    note: str = ""


Shares = dict[str, float]


class Health(_Strict):
    """The course of illness: states, where people start, transitions, mortality, and how long
    each person is followed from the day they ask for help.

    ``start`` gives the share starting in each state, or (with ``by``) those shares for each level
    of the ``by`` attribute: ``{anorexia: {ill_moderate: 0.56, ill_severe: 0.44}, bulimia: ...}``."""

    by: str | None = None
    states: dict[str, HealthState] = Field(min_length=1)
    start: Shares | dict[str, Shares] = Field(min_length=1)
    transitions: list[Transition] = Field(default_factory=list)
    follow_up: SpanValue | Literal["lifetime"] = Span(10, "year")
    on_admission: str | None = None
    untreated_duration: UntreatedDuration | None = None
    #: the treated hazards apply for at least this long from the start of treatment, also after the
    #: person leaves the pathway (None: only while in it); see :attr:`HealthPlan.treated_hazards_for`
    treated_hazards_for: SpanValue | None = None
    mortality: Mortality | None = None
    discount: Discount = Discount()
    events: dict[str, HealthEvent] = Field(default_factory=dict)
    measures: dict[str, ExitMeasure] = Field(default_factory=dict)
    #: entering one of these states while waiting (at a step where people deteriorate) makes the
    #: person ``urgent`` or sends them to the deterioration block's ``emergency`` step
    escalation: dict[str, Literal["urgent", "emergency"]] = Field(default_factory=dict)
    #: after leaving the pathway, entering these states sends people back to a step (re-referral)
    returns: dict[str, HealthReturn] = Field(default_factory=dict)

    def start_by_level(self) -> dict[str | None, Shares]:
        """The starting shares for each level of ``by`` (one entry, keyed None, when they do not differ)."""
        if any(isinstance(v, dict) for v in self.start.values()):
            return {str(k): dict(v) for k, v in self.start.items() if isinstance(v, dict)}
        return {None: {str(k): float(v) for k, v in self.start.items() if not isinstance(v, dict)}}

    @model_validator(mode="after")
    def _declare(self) -> "Health":
        """Make the labels of the KPIs this block declares known to the KPI registry, which names
        KPIs without a scenario at hand (:data:`DECLARED_LABELS`)."""
        for name, m in self.measures.items():
            DECLARED_LABELS[f"share_at_exit_{name}"] = m.label
        for name, e in self.events.items():
            if e.label:
                DECLARED_LABELS[f"health_events_{name}"] = f"{e.label}, over the follow-up"
            if e.service is not None:
                DECLARED_LABELS[f"contacts_in_pathway_{name}"] = (
                    f"{e.label or name.replace('_', ' ')} while in the pathway")
        return self

    @model_validator(mode="after")
    def _start_weights(self) -> "Health":
        for level, shares in self.start_by_level().items():
            if any(w < 0 for w in shares.values()) or abs(sum(shares.values()) - 1.0) > 1e-9:
                where = f" for {level!r}" if level is not None else ""
                raise ValueError(f"'start' shares{where} must be at least 0 and add up to 1, found {shares}")
        if self.follow_up == "lifetime":
            if self.mortality is None:
                raise ValueError("a 'lifetime' follow-up needs 'mortality' (a life table and the age attribute)")
        elif not self.follow_up.value > 0:
            raise ValueError(f"'follow_up' must be a time greater than 0, found {self.follow_up}")
        if self.treated_hazards_for is not None and not self.treated_hazards_for.value >= 0:
            raise ValueError(f"'treated_hazards_for' must be a time of at least 0, found {self.treated_hazards_for}")
        return self


HEALTH_MODELS = (Health, HealthState, Hazards, Transition, UntreatedDuration, Discount, Mortality, HealthEvent,
                 ExitMeasure, HealthReturn)
