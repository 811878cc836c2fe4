"""Times of points on each patient's path, read from a run's records (issue 25).

A point is a patient's ``arrival`` or ``exit``, or the first start or end of their visit to a step;
a standard on an interval (``from``/``to``) measures the time between two of them, and so does a
path time (``scenario.path_times``), kept among the intervals as ``path_time:<name>``. Used by the
stage KPIs (:mod:`icssim.stage_kpis`) and the monthly tables (:mod:`icssim.calendar_metrics`).
"""

from __future__ import annotations

import numpy as np

from icssim.model.records import RunRecords

#: the prefix of a path time's name (``scenario.path_times``) among :attr:`RunRecords.intervals`
#: (a standard of the same name keeps its own)
PATH_TIME = "path_time:"


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
    (arrival or exit) when ``step`` is -1, else the first start (or end) of a visit of ``step``.

    A visit in progress at the horizon (:attr:`RunRecords.in_progress`) has a start if its service
    had begun, and no end."""
    P = rec.patients
    if step < 0:
        t = P[whole].astype(float)
        return np.where(np.isnan(t), np.inf, t)
    out = np.full(len(P["pid"]), np.inf)
    index = pid_index(P)
    for V in (rec.visits, None if end else rec.in_progress):
        if V is None or not len(V["pid"]):
            continue
        col = V["t_end"] if end else V["t_start"]
        at = (V["step"] == step) & ~np.isnan(col)
        np.minimum.at(out, index[V["pid"][at].astype(np.intp)], col[at])
    return out


def on_the_way(rec: RunRecords, name: str) -> np.ndarray:
    """Patients on their way to interval standard ``name``'s ``to`` at the horizon, not there yet:
    for ``exit``, everyone still in the pathway; for a step's start, those waiting at that step;
    for a step's end, those waiting at it or in its service (visits in progress)."""
    P = rec.patients
    _f_step, _f_end, step, end = rec.intervals[name]
    if step < 0:
        return np.isnan(P["exit"])
    out = np.zeros(len(P["pid"]), dtype=bool)
    V = rec.in_progress
    if V is None or not len(V["pid"]):
        return out
    at = (V["step"] == step) & (True if end else np.isnan(V["t_start"]))
    out[pid_index(P)[V["pid"][at].astype(np.intp)]] = True
    return out
