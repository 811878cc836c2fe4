"""Waits and times at every stage, standards on any interval, and what is open at the horizon
(issue 25), as registered KPIs.

Measured from the visit records (:attr:`RunRecords.visits`: ``t_enter``, ``t_queue``, ``t_start``,
``t_end`` of each visit of a step; :attr:`RunRecords.in_progress`: the visits still open at the
horizon) and the patient records, for a scenario that asks for them:

* ``scenario.stage_waits: true`` gives, for every step that queues for staff (or a caseload place
  or a bed), the wait in its queue (``t_start - t_queue``), and for every step that queues or takes
  time, the time at the step (``t_end - t_enter``), each as a mean and a 90th percentile, and the
  time from arrival to leaving the pathway (mean, median, 90th and 95th percentiles, and the mean
  for each cohort when there are several). Times are in minutes when the
  scenario's time unit is minutes or hours, else in days, and the unit is part of the name:
  ``stage_wait_mean_minutes_<step>``, ``stage_time_p90_minutes_<step>``,
  ``time_in_system_p95_minutes``, ``time_in_system_mean_minutes_<cohort>``.
  Times are of what was over by the horizon: a wait counts once the service began (also a service
  still in progress then), a time at a step once the visit ended, a time in the pathway once the
  patient left. What was still open is counted beside them, so it does not vanish:
  ``stage_open_<step>`` (visits still at the step) and ``time_in_system_open`` (patients still in
  the pathway). Utilisation is also reported counting started work in full
  (``utilisation_in_full_<resource>``: the services in progress at the horizon to their scheduled
  end), beside the usual ``utilisation_<resource>``, cut at the horizon.
* a standard with ``from`` and ``to`` (``arrival``, ``exit``, ``<step>``, ``<step>.enter``,
  ``<step>.start`` or ``<step>.end``) is measured here: the share of the window's patients who
  reached ``to`` whose interval was within the threshold, with those still on their way to ``to``
  at the horizon who have already waited longer than the threshold counted as breaches (nobody is
  on the way to a step's ``.enter``: see :func:`icssim.path_times.on_the_way`). It is reported under the
  standard's usual name, ``within_<name>`` (this family runs after the referral-based one and
  replaces its value).
* a path time (``scenario.path_times``: a named ``from`` and ``to``, as an interval standard's, and
  optionally the cohorts it covers) gives the time between its two points, of the window's patients
  (of its cohorts) who reached both, as a mean, median and 90th percentile
  (``path_time_median_minutes_<name>``), and the share of those who reached ``from`` and left the
  pathway who had reached ``to`` (``path_time_reached_<name>``): a time measured only over those who
  got there reads beside how many did. Its label is the path time's own (:mod:`icssim.report.labels`).

Only visits and patients of the observation window count (patients who arrived after the warm-up).
"""

from __future__ import annotations

import numpy as np

from icssim.kpi_base import standard_group
from icssim.kpis import Family, KpiInfo, Window, register
from icssim.path_times import PATH_TIME, interval_times, on_the_way, pid_index

STAGES = "Waits and times at each stage"
#: percentiles of the time from arrival to exit
PERCENTILES = (50, 90, 95)
#: the number of the window's patients still in the pathway at the horizon
OPEN_IN_PATHWAY = "time_in_system_open"


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
        return name.startswith(("stage_wait_", "stage_time_", "stage_open_", "time_in_system_"))

    def info(self, name: str) -> KpiInfo:
        if name == OPEN_IN_PATHWAY:
            return KpiInfo("Still in the pathway at the horizon (not in the times from arrival to leaving)",
                           "patients", "neutral", None, None, self.group)
        if name.startswith("stage_open_"):
            step = name[len("stage_open_"):]
            return KpiInfo(f"Still at {step} at the horizon (not in its times)", "patients", "neutral",
                           self.family, step, self.group)
        if name.startswith("time_in_system_"):
            what, unit, cohort = (name[len("time_in_system_"):].split("_", 2) + [""])[:3]
            # (a cohort's after a colon, as other cohorts' KPIs: reports put the cohort's label there)
            label = f"Time from arrival to leaving, {_what(what)}" + (f": {cohort}" if cohort else "")
            return KpiInfo(label, unit, "lower", "cohort" if cohort else None, cohort or None, self.group)
        kind, what, unit, step = (name[len("stage_"):].split("_", 3) + ["", "", ""])[:4]
        label = ("Wait for " if kind == "wait" else "Time at ") + f"{step}, {_what(what)}"
        return KpiInfo(label, unit, "lower", self.family, step, self.group)

    def compute(self, w: Window) -> dict[str, float]:
        rec = w.rec
        if not rec.stages or rec.visits is None:
            return {}
        factor, unit = _minutes(w)
        P = w.patients
        V, mine = rec.visits, _of_window(w, rec.visits)
        started = mine & ~np.isnan(V["t_start"]) & ~np.isnan(V["t_queue"])
        OV = rec.in_progress  # the visits still open at the horizon
        open_mine = _of_window(w, OV) if OV is not None else None
        out: dict[str, float] = {}
        for si in rec.stages:
            at = V["step"] == si
            wait = (V["t_start"] - V["t_queue"])[at & started]
            time = (V["t_end"] - V["t_enter"])[at & started] * factor  # completed visits only
            name = rec.steps[si]
            if OV is not None and open_mine is not None:
                here = open_mine & (OV["step"] == si)
                # a service in progress at the horizon has a complete wait; a wait still going on has none
                in_service = here & ~np.isnan(OV["t_start"]) & ~np.isnan(OV["t_queue"])
                wait = np.concatenate([wait, (OV["t_start"] - OV["t_queue"])[in_service]])
            if si in rec.stage_queues:
                for what in ("mean", "p90"):
                    out[f"stage_wait_{what}_{unit}_{name}"] = _stat(wait * factor, what)
            for what in ("mean", "p90"):
                out[f"stage_time_{what}_{unit}_{name}"] = _stat(time, what)
            if OV is not None and open_mine is not None:
                out[f"stage_open_{name}"] = float(np.count_nonzero(here))
        left = w.in_window & ~np.isnan(P["exit"])
        stay = (P["exit"] - P["arrival"]) * factor
        out[f"time_in_system_mean_{unit}"] = _stat(stay[left], "mean")
        for q in PERCENTILES:
            out[f"time_in_system_p{q}_{unit}"] = _stat(stay[left], f"p{q}")
        if len(rec.cohorts) > 1:
            for ci, cohort in enumerate(rec.cohorts):
                out[f"time_in_system_mean_{unit}_{cohort}"] = _stat(stay[left & (P["cohort"] == ci)], "mean")
        out[OPEN_IN_PATHWAY] = float(np.count_nonzero(w.in_window & np.isnan(P["exit"])))
        return out


def step_kpi_label(name: str, step: str) -> str:
    """A step's KPI ``name`` (``stage_wait_*``, ``stage_time_*``, ``stage_open_*``) in words, with the
    step called ``step`` (its label): ``Psychiatric assessment: wait to start, mean``,
    ``Waiting to be sober: time at the step, 90th percentile``, ``Waiting to be sober: still there at
    the horizon (not in its times)``. (The registry's labels name the step by its id, ``Wait for
    <step>, mean``; a step's label, such as "Waiting to be sober", reads only at the head.)"""
    if name.startswith("stage_open_"):
        return f"{step}: still there at the horizon (not in its times)"
    kind, what = (name[len("stage_"):].split("_", 3) + ["", ""])[:2]
    return f"{step}: " + ("wait to start" if kind == "wait" else "time at the step") + f", {_what(what)}"


def _of_window(w: Window, V: dict[str, np.ndarray]) -> np.ndarray:
    """Which rows of visit columns ``V`` are of patients of the observation window."""
    if not len(V["pid"]):
        return np.zeros(0, dtype=bool)
    return w.in_window[pid_index(w.patients)[V["pid"].astype(np.intp)]]


def _what(what: str) -> str:
    return "mean" if what == "mean" else f"{what[1:]}th percentile"


class IntervalStandards(Family):
    """Standards on an interval (``from``/``to``): shares within, under the names ``within_<name>``.

    Owns no name of its own (the standards family labels them); it only measures. A patient still
    on the way to ``to`` at the horizon who has already waited longer than the threshold since
    ``from`` is a breach (a person still in the department at the horizon after 4 hours has missed
    the 4-hour standard); one who has not yet waited that long is left out: the outcome is unknown.
    """

    prefix, family, group = "", "standard", "Waiting-time standards"

    def owns(self, name: str) -> bool:
        return False

    def compute(self, w: Window) -> dict[str, float]:
        rec = w.rec
        if not rec.intervals:
            return {}
        out: dict[str, float] = {}
        for name in rec.intervals:
            std = w.standards.get(name)
            if std is None:
                continue
            threshold, level, _measure, cohort = (*std, None)[:4]
            t0, t1 = interval_times(rec, name)
            late = (on_the_way(rec, name) & np.isfinite(t0) & ~np.isfinite(t1)
                    & ((rec.horizon - t0) * w.days > threshold + 1e-12))
            group = w.in_window & np.isfinite(t0) & (np.isfinite(t1) | late) & standard_group(rec, level, cohort)
            interval = (np.where(late, np.inf, t1)[group] - t0[group]) * w.days  # (t0 is finite in the group)
            out[f"within_{name}"] = float((interval <= threshold + 1e-12).mean()) if len(interval) else float("nan")
        return out


class PathTimes(Family):
    """Times between two points of the path (``scenario.path_times``): mean, median and 90th
    percentile, and the share of those who left who had reached its end."""

    prefix, family, group = "path_time_", "path_time", STAGES
    STATS = {"mean": "mean", "median": "median", "p90": "90th percentile"}

    def owns(self, name: str) -> bool:
        return name.startswith(self.prefix)

    def info(self, name: str) -> KpiInfo:
        from icssim.scenario.schema import DECLARED_PATH_TIMES

        rest = name[len(self.prefix):]
        if rest.startswith("reached_"):
            subject = rest[len("reached_"):]
            unit, better = "share", "neutral"
        else:
            what, unit, subject = (rest.split("_", 2) + ["", ""])[:3]
            better = "lower"
        label = path_time_label(name, DECLARED_PATH_TIMES.get(subject, f"Path time {subject.replace('_', ' ')}"))
        return KpiInfo(label, unit, better, self.family, subject, self.group)

    def compute(self, w: Window) -> dict[str, float]:
        rec = w.rec
        factor, unit = _minutes(w)
        out: dict[str, float] = {}
        for key, cohorts in rec.path_cohorts.items():
            name = key[len(PATH_TIME):]
            t0, t1 = interval_times(rec, key)
            mine = w.in_window & np.isfinite(t0) & standard_group(rec, None, cohorts or None)
            reached = mine & np.isfinite(t1)
            times = (t1[reached] - t0[reached]) * factor
            for what in self.STATS:
                out[f"{self.prefix}{what}_{unit}_{name}"] = _stat(times, "p50" if what == "median" else what)
            left = mine & ~np.isnan(w.patients["exit"])
            got_there = np.count_nonzero(left & np.isfinite(t1))
            out[f"{self.prefix}reached_{name}"] = got_there / np.count_nonzero(left) if left.any() else float("nan")
        return out


def path_time_label(name: str, label: str) -> str:
    """A path time's KPI ``name`` in words, with the path time called ``label`` (its own):
    ``Mental health attendances: arrival to psychiatric assessment, median``."""
    if name.startswith("path_time_reached_"):
        return f"{label}, share who reached its end before leaving"
    what = name[len("path_time_"):].split("_", 1)[0]
    return f"{label}, {PathTimes.STATS.get(what, what)}"


class UtilisationInFull(Family):
    """Utilisation counting the work started before the horizon in full: the busy time in the window
    plus the rest of each service still in progress at the horizon, to its scheduled end, over the
    same capacity and window as ``utilisation_<resource>`` (which is cut at the horizon). Reported
    with ``scenario.stage_waits``; a terminating day whose work all finishes before the horizon gets
    the same value both ways."""

    prefix, better, group = "utilisation_in_full_", "neutral", "Capacity"  # no family: labelled here

    def info(self, name: str) -> KpiInfo:
        res = name[len(self.prefix):]
        return KpiInfo(f"Utilisation of {res}, counting work started before the horizon in full", "share",
                       self.better, None, None, self.group)

    def compute(self, w: Window) -> dict[str, float]:
        rec = w.rec
        if not (rec.stages or rec.intervals):
            return {}
        return {f"{self.prefix}{r.name}": (r.busy_area + r.busy_beyond) / (r.capacity * rec.window)
                for r in rec.resources if r.capacity > 0 and r.queued_for}


STAGE_KPIS = (StageTimes(), IntervalStandards(), PathTimes())
for _kpi in STAGE_KPIS:
    register(_kpi)
# before the utilisation family, whose prefix would otherwise claim these names
register(UTILISATION_IN_FULL := UtilisationInFull(), before="utilisation_")
