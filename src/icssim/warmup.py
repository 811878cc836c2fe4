"""Warm-up diagnostics: running means over time and the MSER-5 truncation point.

A simulation that starts empty spends a while filling up; statistics from that period
bias the results. MSER-5 (White 1997; Hoad, Robinson and Davies 2010) groups the
output series into batches of 5, then picks the truncation point d that minimises
the squared standard error of the remaining mean, sum((y_i - mean_d)^2) / (n - d)^2,
searching only the first half of the series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

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


@dataclass
class WarmupDiagnostic:
    """Series per replication (rows: time in days) and the suggested warm-up for each KPI."""

    series: dict[str, pd.DataFrame]
    suggested_days: dict[str, float]

    @property
    def overall_days(self) -> float:
        """The longest of the per-KPI suggestions (the safe choice)."""
        return max(self.suggested_days.values(), default=0.0)


def diagnose(records: list[RunRecords]) -> WarmupDiagnostic:
    """Waiting list size and waits to treatment over time, across replications, with MSER-5."""
    series = {
        "Patients waiting, all services (patients)": _waiting(records),
        "Wait to treatment by referral week (days)": _waits_by_period(records),
    }
    suggested = {}
    for name, frame in series.items():
        mean = frame.mean(axis=1).to_numpy()
        ok = ~np.isnan(mean)
        idx = mser(mean[ok])
        times = frame.index.to_numpy()[ok]
        suggested[name] = float(times[idx]) if len(times) else 0.0
    return WarmupDiagnostic(series, suggested)


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
