"""Times of points on each patient's path, read from a run's records (issue 25).

A point is a patient's ``arrival`` or ``exit``, or the first start or end of their visit to a step;
a standard on an interval (``from``/``to``) measures the time between two of them. Used by the
stage KPIs (:mod:`icssim.stage_kpis`) and the monthly tables (:mod:`icssim.calendar_metrics`).
"""

from __future__ import annotations

import numpy as np

from icssim.model.records import RunRecords


def pid_index(P: dict[str, np.ndarray]) -> np.ndarray:
    """Row of each pid in the patient records (-1 for none)."""
    pid = P["pid"].astype(np.intp)
    index = np.full(int(pid.max()) + 1 if len(pid) else 0, -1, dtype=np.intp)
    index[pid] = np.arange(len(pid))
    return index


def interval_times(rec: RunRecords, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Each patient's (from, to) times of interval standard ``name``, in the scenario's time unit,
    aligned with :attr:`RunRecords.patients` (inf where a patient never reached the point)."""
    f_step, f_end, t_step, t_end = rec.intervals[name]
    return point_times(rec, f_step, f_end, "arrival"), point_times(rec, t_step, t_end, "exit")


def point_times(rec: RunRecords, step: int, end: int, whole: str) -> np.ndarray:
    """Each patient's time of a point of the path (inf where they never reached it): ``whole``
    (arrival or exit) when ``step`` is -1, else the first start (or end) of a visit of ``step``."""
    P = rec.patients
    if step < 0:
        t = P[whole].astype(float)
        return np.where(np.isnan(t), np.inf, t)
    out = np.full(len(P["pid"]), np.inf)
    V = rec.visits
    if V is None or not len(V["pid"]):
        return out
    col = V["t_end"] if end else V["t_start"]
    at = (V["step"] == step) & ~np.isnan(col)
    rows = pid_index(P)[V["pid"][at].astype(np.intp)]
    np.minimum.at(out, rows, col[at])
    return out
