"""Time-varying referral demand: a non-homogeneous Poisson process generated exactly by inversion.

A cohort's rate at time ``t`` (scenario time units from the start) is

    lambda(t) = rate x (1 + growth_per_year) ** (years since start)
                x seasonality[calendar month of t] x product of step-change factors dated <= t

which is piecewise exponential: on each segment between month starts and change dates it is
``a_i * exp(k * (t - t_i))`` with one growth exponent ``k``. Its integral (the cumulative
intensity Lambda) and the inverse of that integral are closed-form on every segment, so
arrival times are exact: with E_1, E_2, ... the jumps of a unit-rate Poisson process
(cumulative sums of standard exponentials), the arrivals are T_j = Lambda^{-1}(E_1 + ... + E_j)
(Cinlar's inversion method; Law, *Simulation Modeling and Analysis*, 5th ed., section 8.6.2).
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RateProfile:
    """A piecewise-exponential rate: ``levels[i] * exp(k * (t - starts[i]))`` on [starts[i], starts[i+1])."""

    starts: tuple[float, ...]  # segment starts; the first is 0
    levels: tuple[float, ...]  # rate at each segment start (patients per time unit)
    k: float  # growth exponent per time unit (0 for no growth)
    horizon: float
    cum: tuple[float, ...] = ()  # Lambda at each segment start, plus Lambda(horizon) last

    @classmethod
    def build(cls, starts: Sequence[float], levels: Sequence[float], k: float, horizon: float) -> "RateProfile":
        cum = [0.0]
        ends = list(starts[1:]) + [horizon]
        for t0, t1, a in zip(starts, ends, levels):
            cum.append(cum[-1] + _integral(a, k, t1 - t0))
        return cls(tuple(float(s) for s in starts), tuple(float(a) for a in levels), float(k),
                   float(horizon), tuple(cum))

    def rate(self, t: float) -> float:
        """lambda(t)."""
        i = max(bisect.bisect_right(self.starts, t) - 1, 0)
        return self.levels[i] * math.exp(self.k * (t - self.starts[i]))

    def cumulative(self, t: float) -> float:
        """Lambda(t): the expected number of arrivals in [0, t] (t clipped to the horizon)."""
        t = min(max(t, 0.0), self.horizon)
        i = max(bisect.bisect_right(self.starts, t) - 1, 0)
        return self.cum[i] + _integral(self.levels[i], self.k, t - self.starts[i])

    def expected(self, t0: float, t1: float) -> float:
        """Expected number of arrivals in [t0, t1)."""
        return self.cumulative(t1) - self.cumulative(t0)

    def inverse(self, x: float) -> float:
        """The time t with Lambda(t) = x, or infinity when x is beyond Lambda(horizon)."""
        if x >= self.cum[-1]:
            return math.inf
        i = bisect.bisect_right(self.cum, x, 0, len(self.starts)) - 1
        while self.levels[i] <= 0:  # a zero-rate segment holds no arrivals: move on
            i += 1
        r, a, k = x - self.cum[i], self.levels[i], self.k
        dt_ = r / a if k == 0 else math.log1p(k * r / a) / k
        end = self.starts[i + 1] if i + 1 < len(self.starts) else self.horizon
        return min(self.starts[i] + dt_, end)

    def times(self, rng: np.random.Generator) -> np.ndarray:
        """Every arrival time in [0, horizon) for one realisation (vectorised; for tests and tools)."""
        n = rng.poisson(self.cum[-1])
        x = np.sort(rng.uniform(0.0, self.cum[-1], n))  # given N, the E-sums are uniform order statistics
        return np.array([self.inverse(v) for v in x])


def _integral(a: float, k: float, length: float) -> float:
    if length <= 0 or a == 0:
        return 0.0
    return a * length if k == 0 else a * math.expm1(k * length) / k


class InversionGaps:
    """Callable giving successive gaps between arrivals of a :class:`RateProfile`.

    ``unit_exp`` returns standard exponential draws (a stream made by
    :func:`~icssim.distributions.block_draws`). Once the cumulative intensity passes
    Lambda(horizon) every further gap is infinite.
    """

    __slots__ = ("profile", "unit_exp", "x", "t")

    profile: RateProfile
    unit_exp: Callable[[], float]
    x: float
    t: float

    def __init__(self, profile: RateProfile, unit_exp: Callable[[], float]) -> None:
        self.profile, self.unit_exp = profile, unit_exp
        self.x = self.t = 0.0

    def __call__(self) -> float:
        self.x += self.unit_exp()
        t = self.profile.inverse(self.x)
        gap = t - self.t
        self.t = t
        return gap


def month_starts(start: dt.date, horizon_days: float) -> list[tuple[float, int]]:
    """(days after ``start``, month index 0-11) of ``start`` and each first of a month before the horizon."""
    out = [(0.0, start.month - 1)]
    y, m = start.year, start.month
    while True:
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        d = (dt.date(y, m, 1) - start).days
        if d >= horizon_days:
            return out
        out.append((float(d), m - 1))


def hour_points(hours: Sequence[float], first_hour: int, horizon: float, days_per_unit: float) -> list[float]:
    """Times (scenario units) of the hour starts before ``horizon`` at which a repeating profile of
    ``hours`` multipliers (24 a day, or 168 a week) changes value; hour 0 of the run is
    ``hours[first_hour]``."""
    per_unit = days_per_unit * 24
    n, period = math.ceil(horizon * per_unit - 1e-9), len(hours)
    return [h / per_unit for h in range(1, n)
            if hours[(first_hour + h) % period] != hours[(first_hour + h - 1) % period]]


def hour_multiplier(hours: Sequence[float], first_hour: int, t: float, days_per_unit: float) -> float:
    """The multiplier of the hour that contains ``t`` (scenario units)."""
    h = math.floor(t * days_per_unit * 24 + 1e-9)
    return hours[(first_hour + h) % len(hours)]


def demand_profile(rate: float, horizon: float, days_per_unit: float, start: dt.date | None,
                   growth_per_year: float = 0.0, seasonality: Sequence[float] | None = None,
                   changes: Sequence[tuple[float, float]] = (), hours: Sequence[float] | None = None,
                   arrivals_until: float | None = None) -> RateProfile:
    """Compile a cohort's demand into a :class:`RateProfile` (times in scenario units).

    ``changes`` are (time, factor) pairs; ``seasonality`` needs ``start`` (to know the months).
    ``hours`` is a repeating profile, 24 hour-of-day or 168 hour-of-week (Monday 0-1am first)
    multipliers: the rate is multiplied by the value of the hour each time falls in (a segment per
    hour at which it changes, so arrivals stay exact). A weekly profile starts on the weekday of
    ``start`` (a Monday when there is no start date). No arrival comes after ``arrivals_until``.
    """
    k = math.log1p(growth_per_year) / (365.25 / days_per_unit) if growth_per_year else 0.0
    if arrivals_until is not None and arrivals_until < horizon:
        horizon = arrivals_until
    first_hour = (start.weekday() * 24 if start is not None else 0) if hours is not None and len(hours) == 168 else 0
    points: dict[float, None] = {0.0: None}
    if hours is not None:
        points.update((t, None) for t in hour_points(hours, first_hour, horizon, days_per_unit))
    months: list[tuple[float, int]] = []
    if seasonality is not None:
        if start is None:
            raise ValueError("seasonality needs scenario.start_date")
        months = [(d / days_per_unit, mi) for d, mi in month_starts(start, horizon * days_per_unit)]
        points.update((t, None) for t, _ in months)
    points.update((t, None) for t, _ in changes if 0 <= t < horizon)
    starts = sorted(points)
    levels = []
    month_t = [t for t, _ in months]
    for t in starts:
        a = rate * math.exp(k * t)
        if seasonality is not None:
            a *= seasonality[months[bisect.bisect_right(month_t, t) - 1][1]]
        for when, factor in changes:
            if when <= t:
                a *= factor
        if hours is not None:
            a *= hour_multiplier(hours, first_hour, t, days_per_unit)
        # store the level at the segment start, so that level * exp(k * (t' - t)) continues the growth
        levels.append(a)
    return RateProfile.build(starts, levels, k, horizon)
