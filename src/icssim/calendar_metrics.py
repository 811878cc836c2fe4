"""KPIs per calendar month and quarter, with confidence intervals across replications.

Needs ``scenario.start_date`` (time 0). For each period and replication:

- ``referrals``: patients arriving in the period (today's waiting list is not a referral);
- ``assessments_started`` / ``treatments_started``: first assessment / treatment starts in the period;
- ``waiting_for_assessment`` / ``waiting_for_treatment``: the waiting list at the end of the period
  (referral clock started, first assessment (or treatment) / first treatment not yet started, still
  in the system) — the
  NHS "incomplete pathways" count, including today's waiting list with its true referral dates;
- ``within_<standard>``: share of the period's completed waits (assessment or treatment starts, as the
  standard measures) of the standard's urgency and cohort that were within its threshold (NaN when
  none) — the NHS clock-stop convention, as :func:`icssim.metrics.compute_kpis` uses; a standard on
  an interval (``from``/``to``) measures its own interval, counted in the period its ``to`` was reached;
- ``over_<standard>``: patients of that urgency and cohort still waiting at the end of the period who
  have already waited longer than the threshold (for an interval standard: past its ``from``, not yet
  at its ``to``, still in the pathway);
- ``cost``: cost in the period (GBP), all services, each counted once (a staffed team at its establishment).

Across replications each value gets a mean and a Student-t 95% CI (:func:`summarise_periods`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from icssim.experiments import standards_of
from icssim.intervals import half_width
from icssim.kpi_base import each_service_once, standard_group
from icssim.model.records import RunRecords
from icssim.path_times import interval_times
from icssim.tables import write_csv

FREQS = {"month": "M", "quarter": "Q"}


def periods(start: dt.date, horizon_days: float, freq: str) -> pd.DataFrame:
    """Calendar periods (``month`` or ``quarter``) covering [start, start + horizon): label, start, end, days.

    ``start_day``/``end_day`` are days after ``start``; the first and last periods may be partial
    (a last period shorter than one day is left out)."""
    code = FREQS[freq]
    first = pd.Period(start, freq=code)
    end_date = pd.Timestamp(start) + pd.Timedelta(days=horizon_days)
    rows = []
    p = first
    while p.start_time < end_date:
        lo = max(p.start_time, pd.Timestamp(start))
        hi = min(p.end_time.normalize() + pd.Timedelta(days=1), end_date)
        rows.append({"period": str(p), "start": lo.date(), "end": (hi - pd.Timedelta(days=1)).date(),
                     "start_day": (lo - pd.Timestamp(start)).total_seconds() / 86400,
                     "end_day": (hi - pd.Timestamp(start)).total_seconds() / 86400})
        p += 1
    df = pd.DataFrame(rows)
    df["days"] = df["end_day"] - df["start_day"]
    # a horizon in years (365.25 days) ends with a fraction of a day: not a period to report
    return df[(df["days"] >= 1) | (df.index == 0)].reset_index(drop=True)


def _days(rec: RunRecords, col: str) -> np.ndarray:
    return rec.patients[col] * rec.hours_per_unit / 24


def waiting_at(rec: RunRecords, times_days: np.ndarray, until: str = "treat_start",
               mask: np.ndarray | None = None, longer_than: float | None = None) -> np.ndarray:
    """Patients waiting at each time (days): referred, ``until`` not started, not exited.

    Waiting for assessment also ends when treatment starts (some reach treatment without an
    assessment step, e.g. after an emergency admission). With ``longer_than`` (days), only those
    whose wait at that time already exceeds it."""
    ref = _days(rec, "referral")
    stop = np.fmin(_days(rec, until), _days(rec, "exit"))
    if until == "assess_start":
        stop = np.fmin(stop, _days(rec, "treat_start"))
    stop = np.where(np.isnan(stop), np.inf, stop)
    keep = ~np.isnan(ref) if mask is None else (~np.isnan(ref) & mask)
    ref, stop = ref[keep], stop[keep]
    times = np.asarray(times_days, dtype=float)
    if longer_than is None:
        return (np.searchsorted(np.sort(ref), times, side="right")
                - np.searchsorted(np.sort(stop), times, side="right")).astype(float)
    return np.array([np.count_nonzero((ref < t - longer_than) & (stop > t)) for t in times], dtype=float)


def period_kpis(rec: RunRecords, start: dt.date, freq: str,
                standards: dict[str, tuple] | None = None) -> pd.DataFrame:
    """One row per period of one replication, one column per KPI (see the module docstring)."""
    horizon_days = rec.horizon * rec.hours_per_unit / 24
    per = periods(start, horizon_days, freq)
    lo, hi = per["start_day"].to_numpy(), per["end_day"].to_numpy()
    out = per[["period", "start", "end", "days"]].copy()
    out.insert(0, "replication", rec.replication)
    arrival = _days(rec, "arrival")
    initial = rec.patients.get("initial", np.zeros(len(arrival), dtype=bool))
    out["referrals"] = _count_in(arrival[~initial], lo, hi)
    ref = _days(rec, "referral")
    a_start, t_start = _days(rec, "assess_start"), _days(rec, "treat_start")
    out["assessments_started"] = _count_in(a_start[~np.isnan(ref)], lo, hi)
    out["treatments_started"] = _count_in(t_start[~np.isnan(ref)], lo, hi)
    ends = hi - 1e-9
    out["waiting_for_assessment"] = waiting_at(rec, ends, "assess_start")
    out["waiting_for_treatment"] = waiting_at(rec, ends, "treat_start")
    for name, (threshold, level, measure, *rest) in (standards or {}).items():
        group = standard_group(rec, level, rest[0] if rest else None)
        if name in rec.intervals:  # from its own 'from' to its own 'to'
            began, done = (t * rec.hours_per_unit / 24 for t in interval_times(rec, name))
            stop = np.fmin(done, np.where(np.isnan(_days(rec, "exit")), np.inf, _days(rec, "exit")))
            waiting = _still_waiting(began, stop, group, ends, threshold)
        else:  # a referral-to-treatment (or -assessment) standard
            col = "treat_start" if measure == "referral_to_treatment" else "assess_start"
            began, done = ref, _days(rec, col)
            waiting = waiting_at(rec, ends, col, mask=group, longer_than=threshold)
        with np.errstate(invalid="ignore"):  # never reached: inf - inf
            wait = done - began
        ok = group & np.isfinite(wait)
        idx = _period_index(done[ok], lo, hi)
        within = (wait[ok] <= threshold + 1e-12)
        n = np.bincount(idx[idx >= 0], minlength=len(per))
        w = np.bincount(idx[idx >= 0], weights=within[idx >= 0], minlength=len(per))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"within_{name}"] = np.where(n > 0, w / np.maximum(n, 1), np.nan)
        out[f"over_{name}"] = waiting
    out["cost"] = _period_costs(rec, lo, hi)
    return out


def _still_waiting(start: np.ndarray, stop: np.ndarray, group: np.ndarray, times: np.ndarray,
                   longer_than: float) -> np.ndarray:
    """At each time (days), patients of ``group`` between ``start`` and ``stop`` (their interval's
    'from' passed, its 'to' or their exit not yet reached) for longer than ``longer_than`` days."""
    keep = group & np.isfinite(start)
    start, stop = start[keep], stop[keep]
    return np.array([np.count_nonzero((start < t - longer_than) & (stop > t)) for t in times], dtype=float)


def _count_in(t: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    t = np.sort(t[~np.isnan(t)])
    return (np.searchsorted(t, hi, side="left") - np.searchsorted(t, lo, side="left")).astype(float)


def _period_index(t: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    i = np.searchsorted(lo, t, side="right") - 1
    bad = (i < 0) | (t >= hi[np.clip(i, 0, len(hi) - 1)])
    i[bad] = -1
    return i


def _period_costs(rec: RunRecords, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Costs per time bucket, each service counted once (a staffed team at its establishment:
    kpi_base.each_service_once), apportioned to periods by overlap (uniform within a bucket)."""
    per_bucket = each_service_once(rec, rec.costs.sum(axis=2), 0, 0.0).sum(axis=1)
    days = rec.hours_per_unit / 24
    width = rec.sample_every * days
    b0 = np.arange(len(per_bucket)) * width
    b1 = np.minimum(b0 + width, rec.horizon * days)
    b1[-1] = max(rec.horizon * days, b0[-1])
    out = np.zeros(len(lo))
    for j, (a, b) in enumerate(zip(lo, hi)):
        overlap = np.clip(np.minimum(b1, b) - np.maximum(b0, a), 0, None)
        span = np.where(b1 > b0, b1 - b0, 1.0)
        out[j] = float((per_bucket * overlap / span).sum())
    return out


def with_dates(df: pd.DataFrame, start: dt.date | None, columns: dict[str, str]) -> pd.DataFrame:
    """``df`` with a calendar-date column after each time column in days (``{time_col: date_col}``);
    unchanged when there is no start date. Dates are the days the times fall on (NaN -> NaT)."""
    if start is None:
        return df
    for col, name in columns.items():
        if col in df:
            days = pd.to_timedelta(np.floor(df[col].to_numpy(dtype=float)), unit="D")
            df.insert(df.columns.get_loc(col) + 1, name, pd.Timestamp(start) + days)
    return df


KEYS = ["period", "start", "end", "days"]


def summarise_periods(frames: list[pd.DataFrame], level: float = 0.95) -> pd.DataFrame:
    """Long table: one row per period and KPI with mean, sd, n, lower, upper, half_width."""
    df = pd.concat(frames, ignore_index=True)
    kpis = [c for c in df.columns if c not in KEYS and c != "replication"]
    long = df.melt(id_vars=KEYS + ["replication"], value_vars=kpis, var_name="kpi")
    g = long.groupby(KEYS + ["kpi"], sort=False)["value"]
    out = g.agg(mean="mean", sd="std", n="count").reset_index()
    out["half_width"] = half_width(out["sd"].to_numpy(), out["n"].to_numpy(), level)
    out["lower"] = out["mean"] - out["half_width"]
    out["upper"] = out["mean"] + out["half_width"]
    return out[KEYS + ["kpi", "mean", "sd", "n", "lower", "upper", "half_width"]]


def calendar_tables(records: list[RunRecords], start: dt.date,
                    standards: dict[str, tuple] | None = None
                    ) -> dict[str, pd.DataFrame]:
    """``monthly``/``quarterly`` summaries and their ``*_by_replication`` tables."""
    out = {}
    for freq, name in (("month", "monthly"), ("quarter", "quarterly")):
        frames = [period_kpis(r, start, freq, standards) for r in records]
        out[name] = summarise_periods(frames)
        out[f"{name}_by_replication"] = pd.concat(frames, ignore_index=True)
    return out


def waiting_trajectory(records: list[RunRecords], start: dt.date, every_days: float = 7.0,
                       until: str = "treat_start") -> pd.DataFrame:
    """Waiting list (see :func:`waiting_at`) every ``every_days``: index dates, one column per replication."""
    horizon_days = records[0].horizon * records[0].hours_per_unit / 24
    t = np.arange(0.0, horizon_days + 1e-9, every_days)
    index = pd.DatetimeIndex(pd.Timestamp(start) + pd.to_timedelta(t, unit="D"), name="date")
    return pd.DataFrame({r.replication: waiting_at(r, t, until) for r in records}, index=index)


def write_calendar_tables(result, folder) -> dict[str, pd.DataFrame]:
    """Write the monthly and quarterly KPI tables (and each by replication) of a run whose
    scenario has a start date; returns them by name (none without a start date or records)."""
    start = result.scenario.scenario.start_date
    if start is None or not result.records:
        return {}
    tables = calendar_tables(result.records, start, standards_of(result.scenario))
    for name, df in tables.items():
        write_csv(df, Path(folder) / f"{name}.csv")   # as every other table of the run
    return tables
