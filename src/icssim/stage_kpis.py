"""Waits and times at every stage, and standards on any interval (issue 25), as registered KPIs.

Measured from the visit records (:attr:`RunRecords.visits`: ``t_enter``, ``t_queue``, ``t_start``,
``t_end`` of each visit of a step) and the patient records, for a scenario that asks for them:

* ``scenario.stage_waits: true`` gives, for every step that queues for staff (or a caseload place
  or a bed), the wait in its queue (``t_start - t_queue``), and for every step that queues or takes
  time, the time at the step (``t_end - t_enter``), each as a mean and a 90th percentile, and the
  time from arrival to leaving the pathway (mean, median, 90th and 95th percentiles, and the mean
  for each cohort when there are several). Times are in minutes when the
  scenario's time unit is minutes or hours, else in days, and the unit is part of the name:
  ``stage_wait_mean_minutes_<step>``, ``stage_time_p90_minutes_<step>``,
  ``time_in_system_p95_minutes``, ``time_in_system_mean_minutes_<cohort>``.
* a standard with ``from`` and ``to`` (``arrival``, ``exit``, ``<step>``, ``<step>.start`` or
  ``<step>.end``) is measured here: the share of the window's patients who reached ``to`` whose
  interval was within the threshold. It is reported under the standard's usual name,
  ``within_<name>`` (this family runs after the referral-based one and replaces its value).

Only visits and patients of the observation window count (patients who arrived after the
warm-up); a visit still in progress at the horizon is not recorded, so a run that does not let
its work finish (see ``scenario.arrivals_until``) under-counts long waits.
"""

from __future__ import annotations

import numpy as np

from icssim.kpis import Family, KpiInfo, Window, register
from icssim.path_times import interval_times, pid_index

STAGES = "Waits and times at each stage"
#: percentiles of the time from arrival to exit
PERCENTILES = (50, 90, 95)


def _minutes(w: Window) -> tuple[float, str]:
    """(factor from the scenario's time unit, unit name) of the times reported."""
    hours = w.rec.hours_per_unit
    return (hours * 60, "minutes") if hours <= 1.0 + 1e-9 else (hours / 24, "days")


def _stat(x: np.ndarray, what: str) -> float:
    if not len(x):
        return float("nan")
    return float(x.mean()) if what == "mean" else float(np.percentile(x, float(what[1:])))


class StageTimes(Family):
    """Wait and time at each step, and time from arrival to exit (``scenario.stage_waits``)."""

    prefix, family, group = "stage_", "step", STAGES

    def owns(self, name: str) -> bool:
        return name.startswith(("stage_wait_", "stage_time_", "time_in_system_"))

    def info(self, name: str) -> KpiInfo:
        if name.startswith("time_in_system_"):
            what, unit, cohort = (name[len("time_in_system_"):].split("_", 2) + [""])[:3]
            label = f"Time from arrival to leaving, {_what(what)}" + (f" ({cohort})" if cohort else "")
            return KpiInfo(label, unit, "lower", "cohort" if cohort else None, cohort or None, self.group)
        kind, what, unit, step = (name[len("stage_"):].split("_", 3) + ["", "", ""])[:4]
        label = ("Wait for " if kind == "wait" else "Time at ") + f"{step}, {_what(what)}"
        return KpiInfo(label, unit, "lower", self.family, step, self.group)

    def compute(self, w: Window) -> dict[str, float]:
        rec = w.rec
        if not rec.stages or rec.visits is None:
            return {}
        factor, unit = _minutes(w)
        P, V = w.patients, rec.visits
        index = pid_index(P)
        row = index[V["pid"].astype(np.intp)] if len(V["pid"]) else np.zeros(0, dtype=np.intp)
        mine = w.in_window[row] if len(row) else np.zeros(0, dtype=bool)
        started = mine & ~np.isnan(V["t_start"]) & ~np.isnan(V["t_queue"])
        out: dict[str, float] = {}
        for si in rec.stages:
            at = V["step"] == si
            wait = (V["t_start"] - V["t_queue"])[at & started] * factor
            time = (V["t_end"] - V["t_enter"])[at & started] * factor
            name = rec.steps[si]
            if si in rec.stage_queues:
                for what in ("mean", "p90"):
                    out[f"stage_wait_{what}_{unit}_{name}"] = _stat(wait, what)
            for what in ("mean", "p90"):
                out[f"stage_time_{what}_{unit}_{name}"] = _stat(time, what)
        left = w.in_window & ~np.isnan(P["exit"])
        stay = (P["exit"] - P["arrival"]) * factor
        out[f"time_in_system_mean_{unit}"] = _stat(stay[left], "mean")
        for q in PERCENTILES:
            out[f"time_in_system_p{q}_{unit}"] = _stat(stay[left], f"p{q}")
        if len(rec.cohorts) > 1:
            for ci, cohort in enumerate(rec.cohorts):
                out[f"time_in_system_mean_{unit}_{cohort}"] = _stat(stay[left & (P["cohort"] == ci)], "mean")
        return out


def _what(what: str) -> str:
    return "mean" if what == "mean" else f"{what[1:]}th percentile"


class IntervalStandards(Family):
    """Standards on an interval (``from``/``to``): shares within, under the names ``within_<name>``.

    Owns no name of its own (the standards family labels them); it only measures.
    """

    prefix, family, group = "", "standard", "Waiting-time standards"

    def owns(self, name: str) -> bool:
        return False

    def compute(self, w: Window) -> dict[str, float]:
        rec = w.rec
        if not rec.intervals:
            return {}
        P = w.patients
        out: dict[str, float] = {}
        for name in rec.intervals:
            std = w.standards.get(name)
            if std is None:
                continue
            threshold, level, _measure, cohort = (*std, None)[:4]
            t0, t1 = interval_times(rec, name)
            group = w.in_window & np.isfinite(t0) & np.isfinite(t1)
            if level is not None:
                levels = rec.attribute_levels.get("urgency", ())
                group &= P["urgency0"] == (levels.index(level) if level in levels else -1)
            if cohort is not None:
                group &= P["cohort"] == (rec.cohorts.index(cohort) if cohort in rec.cohorts else -1)
            interval = (t1[group] - t0[group]) * w.days
            out[f"within_{name}"] = float((interval <= threshold + 1e-12).mean()) if len(interval) else float("nan")
        return out


STAGE_KPIS = (StageTimes(), IntervalStandards())
for _kpi in STAGE_KPIS:
    register(_kpi)
