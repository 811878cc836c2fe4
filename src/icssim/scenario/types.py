"""Types every scenario model shares: rates, times and probabilities as written in a file, safe
names for folders, step-kind names read from the registry, and the strict base model."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
)
from pydantic_core import PydanticCustomError

from icssim.distributions import Distribution, NumbersChecked, SpanValue, coerce_distribution
from icssim.kinds import KINDS, expected_text
from icssim.units import Rate, Span, parse_rate

RateValue = Annotated[Rate, PlainValidator(parse_rate), PlainSerializer(str)]
TimeDist = Annotated[Distribution, BeforeValidator(coerce_distribution)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveInt = Annotated[int, Field(gt=0)]


def _positive_span(value: Span) -> Span:
    if not value.value > 0:
        raise ValueError(f"must be a time greater than 0, found {value}")
    return value


#: A length of time that must be greater than zero (intervals, mean times).
PositiveSpan = Annotated[SpanValue, AfterValidator(_positive_span)]

#: The step kinds known when the schema was imported (``icssim.kinds.KINDS`` is the live registry).
STEP_KINDS = tuple(KINDS)


def _known_kind(value: Any) -> Any:
    """A step's ``kind`` must name a registered kind (read at validation time, so kinds registered
    later are accepted); the error is pydantic's own for a ``Literal`` of the names."""
    if not isinstance(value, str) or value not in KINDS:
        raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected_text()})
    return value


#: The ``kind`` of a step: the name of a registered :class:`icssim.kinds.StepKind`.
StepKindName = Annotated[str, BeforeValidator(_known_kind)]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


#: A scenario name names its results folder, so it must be a safe path component on any system:
#: letters, digits, '_', '.', '-'; not starting with '.' or '-' (so never '.', '..', a hidden folder
#: or a command-line option); not ending with '.' (Windows drops it).
NAME_PATTERN = r"^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_-])?$"
MAX_NAME_LENGTH = 100
#: Device names Windows reserves, with or without an extension.
WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
                    *(f"lpt{i}" for i in range(1, 10))}
#: Largest seed (numpy's SeedSequence takes any non-negative integer; results record it as int64).
MAX_SEED = 2**63 - 1


def _not_reserved(name: str) -> str:
    if name.split(".")[0].lower() in WINDOWS_RESERVED:
        raise ValueError(f"{name!r} is a device name reserved by Windows, so it cannot name the results "
                         f"folder; expected another name")
    return name


#: A name that names a folder (a scenario's, a sweep's): one safe path component.
FolderName = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=NAME_PATTERN),
                       AfterValidator(_not_reserved)]


#: the points of a step an interval standard measures from or to: when the patient entered it (was
#: referred or routed to it, before its hand-off and queue), first started there, first finished it
STEP_POINTS = ("enter", "start", "end")
#: a point of a patient's path an interval standard measures from or to (issue 25): ``arrival``,
#: ``exit``, ``<step>`` (its start) or ``<step>.<one of STEP_POINTS>``
INTERVAL_POINT = r"^(arrival|exit|[^.]+(\.(enter|start|end))?)$"


class Strict(NumbersChecked):
    """Base for every scenario model: unknown keys are errors; values are frozen; numbers are checked
    (no booleans for numbers, finite, of sane size: :class:`~icssim.distributions.NumbersChecked`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


