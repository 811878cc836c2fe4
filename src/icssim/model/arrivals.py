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


def demand_profile(rate: float, horizon: float, days_per_unit: float, start: dt.date | None,
                   growth_per_year: float = 0.0, seasonality: Sequence[float] | None = None,
                   changes: Sequence[tuple[float, float]] = ()) -> RateProfile:
    """Compile a cohort's demand into a :class:`RateProfile` (times in scenario units).

    ``changes`` are (time, factor) pairs; ``seasonality`` needs ``start`` (to know the months).
    """
    k = math.log1p(growth_per_year) / (365.25 / days_per_unit) if growth_per_year else 0.0
    points: dict[float, None] = {0.0: None}
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
        # store the level at the segment start, so that level * exp(k * (t' - t)) continues the growth
        levels.append(a)
    return RateProfile.build(starts, levels, k, horizon)
