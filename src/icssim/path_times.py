"""Times of points on each patient's path, read from a run's records (issue 25).

A point is a patient's ``arrival`` or ``exit``, or the first time they entered a step (were referred
or routed to it, before its hand-off and queue), started there or ended a visit there;
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

#: which point of a step an interval's ``from`` or ``to`` is, as :attr:`RunRecords.intervals` holds
#: it: the first start of a visit there (``<step>`` or ``<step>.start``), its first end
#: (``<step>.end``), or the first time the patient entered it (``<step>.enter``: ``t_enter``)
START, END, ENTER = 0, 1, 2
#: the visit records' column of each
POINT_COLUMN = {START: "t_start", END: "t_end", ENTER: "t_enter"}


def pid_index(P: dict[str, np.ndarray]) -> np.ndarray:
    """Row of each pid in the patient records (-1 for none)."""
    pid = P["pid"].astype(np.intp)
    index = np.full(int(pid.max()) + 1 if len(pid) else 0, -1, dtype=np.intp)
    index[pid] = np.arange(len(pid))
    return index


def interval_times(rec: RunRecords, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Each patient's (from, to) times of interval standard ``name``, in the scenario's time unit,
    aligned with :attr:`RunRecords.patients` (inf where a patient never reached the point)."""
    f_step, f_which, t_step, t_which = rec.intervals[name]
    return point_times(rec, f_step, f_which, "arrival"), point_times(rec, t_step, t_which, "exit")


def point_times(rec: RunRecords, step: int, which: int, whole: str) -> np.ndarray:
    """Each patient's time of a point of the path (inf where they never reached it): ``whole``
    (arrival or exit) when ``step`` is -1, else the first start, end or entry (``which``:
    :data:`START`, :data:`END`, :data:`ENTER`) of a visit of ``step``.

    A visit in progress at the horizon (:attr:`RunRecords.in_progress`) has been entered, has a
    start if its service had begun, and has no end."""
    P = rec.patients
    if step < 0:
        t = P[whole].astype(float)
        return np.where(np.isnan(t), np.inf, t)
    out = np.full(len(P["pid"]), np.inf)
    index = pid_index(P)
    for V in (rec.visits, None if which == END else rec.in_progress):
        if V is None or not len(V["pid"]):
            continue
        col = V[POINT_COLUMN[which]]
        at = (V["step"] == step) & ~np.isnan(col)
        np.minimum.at(out, index[V["pid"][at].astype(np.intp)], col[at])
    return out


def on_the_way(rec: RunRecords, name: str) -> np.ndarray:
    """Patients on their way to interval standard ``name``'s ``to`` at the horizon, not there yet:
    for ``exit``, everyone still in the pathway; for a step's start, those waiting at that step;
    for a step's end, those waiting at it or in its service (visits in progress). For a step's
    entry nobody: no one can be known to be on the way to a step they have not been sent to
    (the routing decides only when they leave the step before), so all are False."""
    P = rec.patients
    _f_step, _f_which, step, which = rec.intervals[name]
    if step < 0:
        return np.isnan(P["exit"])
    out = np.zeros(len(P["pid"]), dtype=bool)
    V = rec.in_progress
    if which == ENTER or V is None or not len(V["pid"]):
        return out
    at = (V["step"] == step) & (True if which == END else np.isnan(V["t_start"]))
    out[pid_index(P)[V["pid"][at].astype(np.intp)]] = True
    return out
