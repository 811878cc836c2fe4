"""Times and rates with explicit units ("3 days", "2 weeks", "5 per week").

Scenario files may state a time either with a unit or as a bare number in the
scenario's own time unit. Parsing keeps the unit until the scenario's time unit is
known; :func:`to_time_unit` then converts everything once, at load time, so the
engine only ever sees plain floats.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

#: Length of each supported unit in days.
UNIT_DAYS: dict[str, float] = {
    "minute": 1 / 1440,
    "hour": 1 / 24,
    "day": 1.0,
    "week": 7.0,
    "month": 365.25 / 12,
    "year": 365.25,
}
_ALIASES = {
    "min": "minute", "mins": "minute", "minutes": "minute", "minute": "minute",
    "h": "hour", "hr": "hour", "hrs": "hour", "hours": "hour", "hour": "hour",
    "d": "day", "days": "day", "day": "day",
    "w": "week", "wk": "week", "wks": "week", "weeks": "week", "week": "week",
    "month": "month", "months": "month",
    "y": "year", "yr": "year", "yrs": "year", "years": "year", "year": "year",
}
TIME_UNITS = ("minutes", "hours", "days", "weeks")

_SPAN = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*([A-Za-z]+)\s*$")
_NUMBER = re.compile(r"^\s*[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?\s*$")
_RATE = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*(?:/|per)\s*([A-Za-z]+)\s*$")


def canonical_unit(name: str) -> str:
    """Return the canonical singular unit for ``name`` or raise ``ValueError``."""
    unit = _ALIASES.get(name.strip().lower())
    if unit is None:
        raise ValueError(f"unknown time unit {name!r}; expected one of {', '.join(UNIT_DAYS)}")
    return unit


@dataclass(frozen=True, slots=True)
class Span:
    """A length of time: ``value`` in ``unit``, or in the scenario time unit when ``unit`` is None."""

    value: float
    unit: str | None = None

    def to(self, time_unit: str) -> float:
        """Express this span in ``time_unit`` (e.g. ``"days"``)."""
        if self.unit is None:
            return float(self.value)
        return self.value * UNIT_DAYS[self.unit] / UNIT_DAYS[canonical_unit(time_unit)]

    def __str__(self) -> str:
        return _number(self.value) if self.unit is None else f"{_number(self.value)} {self.unit}s"


@dataclass(frozen=True, slots=True)
class Rate:
    """Events per unit of time: ``value`` per ``unit`` (None = per scenario time unit)."""

    value: float
    unit: str | None = None

    def to(self, time_unit: str) -> float:
        """Express this rate as events per ``time_unit``."""
        if self.unit is None:
            return float(self.value)
        return self.value * UNIT_DAYS[canonical_unit(time_unit)] / UNIT_DAYS[self.unit]

    def __str__(self) -> str:
        return _number(self.value) if self.unit is None else f"{_number(self.value)} per {self.unit}"


def _number(value: float) -> str:
    """``value`` written without losing precision (``3``, ``2.5``, ``100000.5``)."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


#: Largest magnitude accepted for a time or a rate (beyond it a value is a typo, not a plan).
MAX_MAGNITUDE = 1e12


def _sane(value: float, raw: object, what: str) -> float:
    if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        raise ValueError(f"expected {what} with a finite number of at most {MAX_MAGNITUDE:g}, found {raw!r}")
    return value


def parse_span(raw: object) -> Span:
    """Parse ``3``, ``2.5``, ``"3 days"`` or ``"2 weeks"`` into a :class:`Span`."""
    if isinstance(raw, Span):
        return raw
    if isinstance(raw, bool):
        raise ValueError(f"expected a time such as '3 days' or a number, found {raw!r}")
    if isinstance(raw, (int, float)):
        return Span(_sane(float(raw), raw, "a time"))
    if isinstance(raw, str):
        match = _SPAN.match(raw)
        if match:
            return Span(_sane(float(match.group(1)), raw, "a time"), canonical_unit(match.group(2)))
        if _NUMBER.match(raw):
            return Span(_sane(float(raw), raw, "a time"))
    raise ValueError(f"expected a time such as '3 days', '2 weeks' or a number, found {raw!r}")


def parse_rate(raw: object) -> Rate:
    """Parse ``5``, ``"5 per week"`` or ``"0.2/day"`` into a :class:`Rate`."""
    if isinstance(raw, Rate):
        return raw
    if isinstance(raw, bool):
        raise ValueError(f"expected a rate such as '5 per week' or a number, found {raw!r}")
    if isinstance(raw, (int, float)):
        return Rate(_sane(float(raw), raw, "a rate"))
    if isinstance(raw, str):
        match = _RATE.match(raw)
        if match:
            return Rate(_sane(float(match.group(1)), raw, "a rate"), canonical_unit(match.group(2)))
        if _NUMBER.match(raw):
            return Rate(_sane(float(raw), raw, "a rate"))
    raise ValueError(f"expected a rate such as '5 per week' or a number, found {raw!r}")


def years_per_unit(time_unit: str) -> float:
    """How many years one scenario time unit lasts (used to age patients)."""
    return UNIT_DAYS[canonical_unit(time_unit)] / UNIT_DAYS["year"]


def in_days(span: Span, time_unit: str) -> float:
    """``span`` in days, reading a bare number in the scenario's ``time_unit``."""
    return span.to(time_unit) * UNIT_DAYS[canonical_unit(time_unit)]


def format_number(x: float) -> str:
    """A number for a text table: thousands separators for large values, 3 decimals for small."""
    x = float(x)
    if x != x:
        return "n/a"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3f}"


def span_text(v: Span, unit: str | None = None) -> str:
    """A span in words with a correctly pluralised unit: ``1 year``, ``4 weeks``, ``20000 hours``
    (a span written without a unit takes ``unit``, the scenario's time unit)."""
    if v.unit is None:
        if unit and v.value == 1:
            unit = unit.removesuffix("s")
        return f"{v.value:g}" + (f" {unit}" if unit else "")
    return f"{v.value:g} {v.unit}" + ("" if v.value == 1 else "s")


#: The unit of a scenario's plain number, by its key (the last part of its key path): what a form, an
#: axis or a table writes beside it. Spans and rates (``2 weeks``, ``3 per day``) carry their own.
KEY_UNITS = {"wte": "WTE", "beds": "beds", "rate_per_100k_per_year": "per 100,000 a year", "population": "people",
             "per_wte": "patients per WTE", "clinical_hours_per_week": "hours a week",
             "paid_hours_per_year": "hours a year", "cost_per_hour": "£ an hour", "cost_per_contact": "£ a contact",
             "cost_per_bed_day": "£ a bed-day", "cost_per_year": "£ a year", "cost": "£",
             "probability": "probability, 0 to 1", "p": "probability, 0 to 1", "weights": "relative weight",
             "detection_probability": "probability, 0 to 1", "caseload": "patients", "count": "places",
             "utility": "utility, 1 = full health", "mortality_rr": "× the background death rate",
             "effect_per_year": "per year of illness", "target": "share, 0 to 1"}


def key_unit(path: str | tuple) -> str:
    """The unit of the number at a scenario key path (:data:`KEY_UNITS`), by its last named part
    (``services.a.staff.b.wte`` → ``WTE``; a list item, ``...weights.2``, by its list's name);
    empty when unknown."""
    parts = path.split(".") if isinstance(path, str) else [str(p) for p in path]
    named = [p for p in parts if not p.isdigit()]
    if len(named) > 1 and named[-1] in ("costs", "qalys") and named[-2] == "discount":
        return "discount rate a year, 0 to 0.2"
    if len(named) > 1 and named[-2] in _BY_ATTRIBUTE:   # health.states.ill.utility.anorexia
        return KEY_UNITS[named[-2]]
    return KEY_UNITS.get(named[-1], "") if named else ""


#: Keys whose value may be a mapping by an attribute's level (a utility for each diagnosis).
_BY_ATTRIBUTE = ("utility", "mortality_rr", "cost_per_year")

