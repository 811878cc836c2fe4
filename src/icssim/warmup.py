"""Warm-up diagnostics: running means over time and the MSER-5 truncation point.

A simulation that starts empty spends a while filling up; statistics from that period
bias the results. MSER-5 (White 1997; Hoad, Robinson and Davies 2010) groups the
output series into batches of 5, then picks the truncation point d that minimises
the squared standard error of the remaining mean, sum((y_i - mean_d)^2) / (n - d)^2,
searching only the first half of the series.

MSER always names a truncation point, even for a series that never settles (a waiting list
that grows because demand exceeds capacity): it then truncates as much as it may. So each series,
and each step's waiting list, is also checked for a trend after its suggested warm-up: the slope
of a straight line fitted to each replication's remaining series, averaged over the replications
(independent, so a t interval is valid; one replication: the slope over batch means of 5). A
series *does not settle* when that slope is clearly not zero (its interval excludes 0) and it
moves the series by more than :data:`SETTLE_TOLERANCE` of its mean over the remaining run.

The intervals are family-wise 95% (Bonferroni over every series tested): a scenario has a waiting
list per step, and with twenty lists tested at 5% each one of them would be flagged by chance in
most runs of a model in steady state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from icssim.model import RunRecords


def mser(series: np.ndarray, batch: int = 5) -> int:
    """MSER-``batch`` truncation point, as an index into ``series`` (0 = no warm-up needed)."""
    y = np.asarray(series, dtype=float)
    n_batches = len(y) // batch
    if n_batches < 4:
        return 0
    means = y[: n_batches * batch].reshape(n_batches, batch).mean(axis=1)
    best, best_d = np.inf, 0
    for d in range(n_batches // 2):
        tail = means[d:]
        stat = ((tail - tail.mean()) ** 2).sum() / len(tail) ** 2
        if stat < best:
            best, best_d = stat, d
    return best_d * batch


#: A trend that moves a series by more than this share of its mean after the warm-up is "not settling".
SETTLE_TOLERANCE = 0.10
DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class Trend:
    """The trend of one series after its suggested warm-up."""

    per_year: float       # slope, in the series' unit per year (mean over replications)
    low: float            # 95% interval of the slope (family-wise when several series are tested)
    high: float
    change: float         # the slope times the length of the remaining run, as a share of its mean

    @property
    def settles(self) -> bool:
        significant = self.low > 0 or self.high < 0
        return not (significant and abs(self.change) > SETTLE_TOLERANCE)


def trend(frame: pd.DataFrame, start_day: float, tests: int = 1) -> Trend:
    """The straight-line trend of each replication's series (rows: days) from ``start_day`` on, with
    a 95% interval that holds jointly over ``tests`` series (Bonferroni)."""
    q = 1 - 0.025 / max(tests, 1)
    tail = frame[frame.index >= start_day]
    days = tail.index.to_numpy(dtype=float)
    nan = Trend(float("nan"), float("nan"), float("nan"), 0.0)
    if len(days) < 4 or days[-1] <= days[0]:
        return nan
    slopes = [_slope(days, tail[c].to_numpy(dtype=float)) for c in tail.columns]
    slopes = [b for b in slopes if np.isfinite(b)]
    if len(slopes) >= 2:
        b = float(np.mean(slopes))
        half = float(stats.t.ppf(q, len(slopes) - 1) * np.std(slopes, ddof=1) / np.sqrt(len(slopes)))
    else:
        b, half = _batch_slope(days, tail.mean(axis=1).to_numpy(dtype=float), q=q)
    return _trend_of(b, half, days, float(np.nanmean(tail.to_numpy(dtype=float))))


def _trend_of(b: float, half: float, days: np.ndarray, level: float) -> Trend:
    """The trend of a slope ``b`` a day with half-width ``half``, over ``days``, of a series whose mean is ``level``."""
    change = b * (days[-1] - days[0]) / abs(level) if level else (0.0 if b == 0 else np.inf)
    return Trend(b * DAYS_PER_YEAR, (b - half) * DAYS_PER_YEAR, (b + half) * DAYS_PER_YEAR, float(change))


def _slope(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0:
        return float("nan")
    return float(np.polyfit(x[ok], y[ok], 1)[0])


def _batch_slope(x: np.ndarray, y: np.ndarray, batch: int = 5, q: float = 0.975) -> tuple[float, float]:
    """Slope and half-width (t quantile ``q``) from a regression on batch means (one replication)."""
    n = len(y) // batch
    if n < 4:
        return _slope(x, y), float("inf")
    bx = x[: n * batch].reshape(n, batch).mean(axis=1)
    by = y[: n * batch].reshape(n, batch).mean(axis=1)
    fit = stats.linregress(bx, by)
    return float(fit.slope), float(stats.t.ppf(q, n - 2) * fit.stderr)


@dataclass
class WarmupDiagnostic:
    """Series per replication (rows: time in days), the suggested warm-up for each KPI, and the
    trend after it of each series and of each step's waiting list."""

    series: dict[str, pd.DataFrame]
    suggested_days: dict[str, float]
    trends: dict[str, Trend] = field(default_factory=dict)
    #: series with no value in any replication (no one starts a treatment step in an urgent-care
    #: scenario): left out of the suggestion, which would otherwise call them settled at 0 days
    absent: list[str] = field(default_factory=list)

    @property
    def overall_days(self) -> float:
        """The longest of the per-KPI suggestions (the safe choice)."""
        return max(self.suggested_days.values(), default=0.0)

    @property
    def unsettled(self) -> dict[str, Trend]:
        """The series and waiting lists that still trend after the warm-up."""
        return {name: t for name, t in self.trends.items() if not t.settles}

    def verdict(self, current_days: float) -> str:
        """Whether a warm-up of ``current_days`` is enough, or why no warm-up can be."""
        if self.unsettled:
            worst = ", ".join(f"{name} {'rises' if t.per_year > 0 else 'falls'} by {abs(t.per_year):.3g} a year "
                              f"(95% CI {t.low:.3g} to {t.high:.3g}, family-wise over {len(self.trends)} series)"
                              for name, t in self.unsettled.items())
            return (f"does NOT settle: {worst} after the suggested warm-up: no length of warm-up removes a trend; the "
                    "run is not in steady state (demand above capacity, or growing)")
        return "enough" if current_days >= self.overall_days else "SHORTER than suggested"


def from_series(series: dict[str, pd.DataFrame], lists: dict[str, pd.DataFrame] | None = None) -> WarmupDiagnostic:
    """MSER-5 on each series' mean over replications, then the trend after it of each series and
    each waiting list in ``lists`` (checked after the longest suggestion)."""
    suggested = {}
    for name, frame in series.items():
        mean = frame.mean(axis=1).to_numpy()
        ok = ~np.isnan(mean)
        idx = mser(mean[ok])
        times = frame.index.to_numpy()[ok]
        suggested[name] = float(times[idx]) if len(times) else 0.0
    tests = len(series) + len(lists or {})
    trends = {name: trend(frame, suggested[name], tests) for name, frame in series.items()}
    start = max(suggested.values(), default=0.0)
    trends.update({name: trend(frame, start, tests) for name, frame in (lists or {}).items()})
    return WarmupDiagnostic(series, suggested, trends)


def diagnose(records: list[RunRecords]) -> WarmupDiagnostic:
    """Waiting list size and waits to treatment over time, across replications, with MSER-5; and
    whether each series and each step's waiting list settles after it."""
    series = {
        "Patients waiting, all services (patients)": _waiting(records),
        "Wait to treatment by referral week (days)": _waits_by_period(records),
    }
    absent = [name for name, frame in series.items() if not np.isfinite(frame.to_numpy(dtype=float)).any()]
    diagnostic = from_series({name: frame for name, frame in series.items() if name not in absent}, _lists(records))
    diagnostic.absent = absent
    return diagnostic


def _lists(records: list[RunRecords]) -> dict[str, pd.DataFrame]:
    """Each step's waiting list over time in ``records`` (see :func:`waiting_lists`)."""
    return waiting_lists(_table(records)) if records else {}


def _table(records: list[RunRecords]) -> pd.DataFrame:
    """The records' timeseries as a run's table: time in days, one row per replication and time."""
    from icssim.metrics import timeseries_frame

    return pd.concat([timeseries_frame(rec).assign(replication=rec.replication) for rec in records], ignore_index=True)


def waiting_lists(ts: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Each step's waiting list over time (rows: days; one column per replication) from a run's
    timeseries table (``time`` in days, a ``replication`` column, a ``waiting_<step>`` column per
    step), for the steps where anyone waits."""
    keys = sorted(c for c in ts.columns if c.startswith("waiting_"))
    if not keys:
        return {}
    wide = ts.drop_duplicates(["time", "replication"]).set_index(["time", "replication"])[keys].unstack("replication")
    out: dict[str, pd.DataFrame] = {}
    for key in keys:
        frame = wide[key]
        if frame.to_numpy(dtype=float).max(initial=0) > 0:
            out[f"waiting list at {key[len('waiting_'):]}"] = frame
    return out


def unsettled_lists(ts: pd.DataFrame, warmup_days: float) -> dict[str, Trend]:
    """The waiting lists of a run's timeseries table that still rise (or fall) through its
    observation window, from the warm-up's end on, tested as :func:`trend` does (family-wise over
    the lists). A run without a warm-up starts from today's state and is meant to move: nothing is
    tested."""
    if warmup_days <= 0 or ts is None or ts.empty:
        return {}
    lists = waiting_lists(ts)
    trends = {name: trend(frame, warmup_days, len(lists)) for name, frame in lists.items()}
    return {name: t for name, t in trends.items()
            if not t.settles and (lists[name].shape[1] > 1 or _clear_rise(t, _span_years(lists[name], warmup_days)))}


#: One replication's slope interval comes from batch means of one autocorrelated series, and is
#: too narrow: a full bed unit's list swings slowly by 10 or more people over years (2 of 40 single
#: replications of ed_fragmented had its adult bed list rise by 11-12 people, on a mean of 8, and
#: 36 of the 200 draws of the ED PSA). So one replication flags only a clear rise: by at least this
#: share of the list's mean over the window, and by at least :data:`CLEAR_RISE_PATIENTS` people
#: (the overflowing day care of the integrated design at the fragmented budget rises by 80 to 150).
CLEAR_RISE_SHARE = 0.30
CLEAR_RISE_PATIENTS = 25.0


def _clear_rise(t: Trend, span_years: float) -> bool:
    return (not t.settles and t.per_year > 0 and t.change > CLEAR_RISE_SHARE
            and t.per_year * span_years >= CLEAR_RISE_PATIENTS)


def _span_years(frame: pd.DataFrame, start_day: float) -> float:
    days = frame.index.to_numpy(dtype=float)
    days = days[days >= start_day]
    return (days[-1] - days[0]) / DAYS_PER_YEAR if len(days) else 0.0


def rising_in_replication(rec: RunRecords) -> list[str]:
    """The steps whose waiting list clearly rises through one replication's observation window
    (:data:`CLEAR_RISE_SHARE`, family-wise over the steps where anyone waits): what a sweep or a
    PSA, which keep no time series, can tell of each run. Nothing is tested without a warm-up."""
    if rec.warmup <= 0:
        return []
    days = np.asarray(rec.timeseries["time"], dtype=float) * rec.hours_per_unit / 24
    start = rec.warmup * rec.hours_per_unit / 24
    keep = days >= start
    d = days[keep]
    lists = {k[len("waiting_"):]: np.asarray(v, dtype=float)[keep] for k, v in rec.timeseries.items()
             if k.startswith("waiting_") and np.max(v, initial=0) > 0}
    if len(d) < 4 or d[-1] <= d[0]:
        return []
    q = 1 - 0.025 / max(len(lists), 1)
    span = (d[-1] - d[0]) / DAYS_PER_YEAR
    return [step for step, y in lists.items()
            if _clear_rise(_trend_of(*_batch_slope(d, y, q=q), d, float(np.nanmean(y))), span)]


def steady_state_warning(name: str, moving: dict[str, Trend]) -> str:
    """What a reader of ``name``'s results must know when waiting lists still move through the
    observation window (``moving``, from :func:`unsettled_lists`; "" when none does): its waits,
    costs and outcomes then depend on how long the model runs, not on the pathway alone."""
    if not moving:
        return ""
    lists = "; ".join(f"the {list_name} {'rises' if t.per_year > 0 else 'falls'} by {abs(t.per_year):.3g} a year "
                      f"(95% CI {t.low:.3g} to {t.high:.3g})" for list_name, t in moving.items())
    return (f"{name} is not in a steady state through its observation window: {lists}. Its waits, costs and "
            "outcomes then depend on how long the model runs. Demand there exceeds capacity, or the warm-up is "
            "too short: `icssim warmup` shows which.")


def records_warning(name: str, records: list[RunRecords]) -> str:
    """:func:`steady_state_warning` for a run's records (nothing when no records were kept)."""
    if not records:
        return ""
    warmup_days = records[0].warmup * records[0].hours_per_unit / 24
    return steady_state_warning(name, unsettled_lists(_table(records), warmup_days))


def _waiting(records: list[RunRecords]) -> pd.DataFrame:
    cols = {}
    for rec in records:
        ts = rec.timeseries
        waiting = sum(v for k, v in ts.items() if k.startswith("waiting_"))
        cols[rec.replication] = pd.Series(waiting, index=ts["time"] * rec.hours_per_unit / 24)
    return pd.DataFrame(cols)


def _waits_by_period(records: list[RunRecords]) -> pd.DataFrame:
    cols = {}
    for rec in records:
        days = rec.hours_per_unit / 24
        P = rec.patients
        width = rec.sample_every * days
        referral = P["referral"] * days
        wait = (P["treat_start"] - P["referral"]) * days
        ok = ~np.isnan(wait)
        period = np.floor(referral[ok] / width)
        frame = pd.DataFrame({"period": period, "wait": wait[ok]}).groupby("period")["wait"].mean()
        cols[rec.replication] = pd.Series(frame.to_numpy(), index=frame.index.to_numpy() * width)
    waits = pd.DataFrame(cols).sort_index()
    # referrals in the last tenth of the run have not all started yet: their mean wait is biased low
    horizon_days = records[0].horizon * records[0].hours_per_unit / 24 if records else 0.0
    return waits[waits.index <= 0.9 * horizon_days]
