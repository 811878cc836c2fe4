"""The pathway's part of a scenario's schema: steps, their routing, sessions, drop-out, missed
appointments, age limits, monitoring and panels."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    field_validator,
    model_validator,
)

from icssim.distributions import SpanValue
from icssim.scenario.types import (
    WEEKDAYS,
    PositiveInt,
    PositiveSpan,
    Probability,
    StepKindName,
    Strict,
    TimeDist,
)
from icssim.units import Span


class Branch(Strict):
    """One routing branch: go ``to`` a step, with probability ``p`` or when a condition holds."""

    to: str | None = None
    p: Probability | None = None
    when: str | None = None
    after: TimeDist | None = None
    next: list["Branch"] | None = None

    @model_validator(mode="after")
    def _target(self) -> "Branch":
        if (self.to is None) == (self.next is None):
            raise ValueError("a branch needs exactly one of 'to' (a step) or 'next' (a list of branches)")
        return self


def _coerce_routing(raw: Any) -> Any:
    if isinstance(raw, str):
        return [{"to": raw}]
    if isinstance(raw, dict):
        return [raw]
    return raw


Routing = Annotated[list[Branch], BeforeValidator(_coerce_routing), Field(min_length=1)]


class Dropout(Strict):
    """Leaving the waiting list: exponential time to drop out, with its mean."""

    mean_time: PositiveSpan
    then: Routing | None = None


class MissedAppointments(Strict):
    """Did-not-attend: per-appointment probability and the discharge rule."""

    probability: Probability
    discharge_after: PositiveInt = 2
    rebook_after: TimeDist | None = None
    then: Routing | None = None


class Sessions(Strict):
    """A treatment episode: ``count`` sessions, one ``every`` interval."""

    count: TimeDist
    every: PositiveSpan

    @field_validator("count")
    @classmethod
    def _count(cls, count: Any) -> Any:
        if count.uses_time_units():
            raise ValueError("is a number of sessions, not a time: write it without a unit")
        if count.compile("days").mean < 1:
            raise ValueError("must be at least 1 session on average")
        return count


class AgeLimit(Strict):
    """Patients who reach ``max_age`` (years) leave the step and follow ``then``."""

    max_age: float = Field(gt=0)
    then: Routing


class Monitoring(Strict):
    """Physical-health monitoring taken on with ``probability`` until one of ``until`` starts."""

    probability: Probability = 1.0
    every: PositiveSpan
    until: list[str] = Field(default_factory=list)
    cost_per_contact: float | None = Field(default=None, ge=0)
    #: the service whose contacts these are (default: the step's): its cost and payer
    service: str | None = None


class PanelMeetings(Strict):
    """When a panel meets: every ``every``, on ``weekday`` or first at ``first`` after the start."""

    every: SpanValue = Span(1.0, "week")
    weekday: Literal[WEEKDAYS] | None = None  # type: ignore[valid-type]
    first: SpanValue | None = None

    @model_validator(mode="after")
    def _check(self) -> "PanelMeetings":
        if self.weekday is not None and self.first is not None:
            raise ValueError("give at most one of 'weekday' and 'first'")
        if not self.every.value > 0:
            raise ValueError(f"'every' must be greater than 0, found {self.every}")
        return self


class Step(Strict):
    """One pathway step: queue for resources, be served, then route on."""

    kind: StepKindName
    label: str = ""
    service: str | None = None
    staff: list[str] = Field(default_factory=list)
    #: places of ``service`` held, with the staff, for each contact (issue 25)
    places: list[str] = Field(default_factory=list)
    duration: TimeDist | None = None
    queue: Literal["fifo", "priority"] = "fifo"
    handoff: TimeDist | None = None
    urgent_handoff: TimeDist | None = None
    accept: str | None = None
    on_reject: Routing | None = None
    dropout: Dropout | None = None
    missed: MissedAppointments | None = None
    sessions: Sessions | None = None
    caseload: bool = False
    bed: bool = False
    age_limit: AgeLimit | None = None
    monitoring: Monitoring | None = None
    cost_per_contact: float | None = Field(default=None, ge=0)
    deteriorate_while_waiting: bool | None = None
    outcome: str | None = None
    sets: dict[str, str | float] = Field(default_factory=dict)
    next: Routing | None = None
    meets: PanelMeetings | None = None
    working_days_only: bool | None = None
    #: what the step counts as, overriding its kind's default (issue 25): an assessment, a further
    #: stage of one (an assessment never counted as duplicated), a treatment, or neither
    counts_as: Literal["assessment", "further_assessment", "treatment", "none"] | None = None
    #: the person's own choice the step's routing draws from (model/choices.py): steps, in this
    #: scenario or another, that name the same choice let the same person decide alike
    choice: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$", max_length=60)


class Pathway(Strict):
    """The pathway graph: named steps."""

    steps: dict[str, Step] = Field(min_length=1)


