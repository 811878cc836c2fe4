"""The dated parts of a scenario's schema: open days and a capacity plan (see docs/calendar.md)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import (
    Field,
    model_validator,
)

from icssim.distributions import SpanValue
from icssim.scenario.types import WEEKDAYS, Strict


class CalendarSpec(Strict):
    """Open days: services give appointments only on ``working_days`` that are not bank holidays."""

    working_days: list[Literal[WEEKDAYS]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"], min_length=1)
    bank_holidays: list[dt.date] = Field(default_factory=list)


class CapacityChange(Strict):
    """A dated change to a service's staff (WTE of a role) or beds: by ``change`` or ``to`` a level."""

    date: dt.date | None = None
    at: SpanValue | None = None
    service: str
    role: str  # a staff role of the service, or "beds"
    change: float | None = None
    to: float | None = None
    note: str = ""

    @model_validator(mode="after")
    def _check(self) -> "CapacityChange":
        if (self.date is None) == (self.at is None):
            raise ValueError("give exactly one of 'date' (needs scenario.start_date) or 'at' (time after the start)")
        if (self.change is None) == (self.to is None):
            raise ValueError("give exactly one of 'change' (e.g. +2 or -1) or 'to' (the new level)")
        return self


