"""From a replication's records to each person's course of illness.

The engine's records say when each person asked for help, started treatment, was first admitted
and left the pathway; :func:`timeline` turns them into years since asking for help, and
:func:`follow_records` follows each person's course (:mod:`icssim.health.course`): everyone's, or
the people a replication's KPIs measure.

People still in the pathway when the run ends keep their status until then and are counted as
having left at the run's end (an assumption the report states: the run cannot say what happens
next). Arrivals late in the run are followed for the full follow-up all the same.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from icssim.health.course import follow
from icssim.health.keys import person_keys
from icssim.health.outcomes import Outcomes, Timeline, scatter
from icssim.health.plan import DAYS_PER_YEAR, HealthPlan
from icssim.model.records import RunRecords


def arrival_numbers(cohort: np.ndarray, pid: np.ndarray) -> np.ndarray:
    """Each person's arrival number within their cohort (0, 1, 2 … in the order of ``pid``)."""
    n = len(pid)
    if n and pid.min() == 0 and pid.max() == n - 1:  # every pid 0 … n - 1 once (the engine's): no sort
        at = np.full(n, -1, dtype=np.int64)
        at[pid] = np.arange(n)
        if (at >= 0).all():
            by_pid = cohort[at]
            number = np.empty(n, dtype=np.int64)
            for c in np.unique(by_pid).tolist():
                mine = at[by_pid == c]
                number[mine] = np.arange(len(mine))
            return number
    order = np.lexsort((pid, cohort))
    number = np.empty(len(pid), dtype=np.int64)
    sorted_cohort = cohort[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_cohort)) + 1]
    counts = np.diff(np.r_[starts, len(order)])
    number[order] = np.arange(len(order)) - np.repeat(starts, counts)
    return number


def timeline(rec: RunRecords, plan: HealthPlan, who: np.ndarray | None = None) -> Timeline:
    """The pathway's part of each person's course, in years since they asked for help: everyone's,
    or only that of the people ``who`` (a mask over the records' people)."""
    P = rec.patients
    years = rec.hours_per_unit / 24 / DAYS_PER_YEAR
    cohort = np.asarray(P["cohort"])
    number = arrival_numbers(cohort, np.asarray(P["pid"]))  # (numbered among everyone)
    rows: Any = slice(None) if who is None else who

    def column(name: str) -> np.ndarray:
        return np.asarray(P[name])[rows]

    def attribute(name: str | None, default: float) -> np.ndarray:
        return np.full(len(arrival), default) if name is None else column(f"attr_{name}").astype(float)

    arrival, cohort, number = column("arrival"), cohort[rows], number[rows]
    leave = np.where(np.isnan(column("exit")), rec.horizon, column("exit"))
    keys = person_keys(rec.seed, rec.replication, list(rec.cohorts), cohort, number)
    age_name = plan.mortality.age_attribute if plan.mortality is not None else None
    dui_name = plan.dued.attribute if plan.dued is not None else None
    level = column(f"attr_{plan.by}") if plan.by is not None else None
    return Timeline(
        keys=keys,
        cohort=cohort.astype(np.int64),
        treat=(column("treat_start") - arrival) * years,
        leave=(leave - arrival) * years,
        admit=(column("first_intensive") - arrival) * years,
        age=attribute(age_name, 30.0),
        ill_before=attribute(dui_name, 0.0),
        group=plan.group_of(cohort, level),
    )


def follow_records(rec: RunRecords, plan: HealthPlan, who: np.ndarray | None = None) -> Outcomes:
    """Every recorded person's course of illness over the plan's follow-up, carrying on from the
    course the engine ran in the pathway (``rec.course``) when it ran one.

    ``who`` (a mask over the records' people) follows only those people; the others' rows are
    NaN (:func:`~icssim.health.outcomes.scatter`). Each course depends on the person's own random
    numbers only, so theirs are the same as when everyone is followed: a replication follows the
    people its KPIs measure, not those who asked for help in the warm-up."""
    tl, pids = timeline(rec, plan, who), np.asarray(rec.patients["pid"])
    followed = pids if who is None else pids[who]
    arrived = np.asarray(rec.patients["arrival"])
    arrived = arrived if who is None else arrived[who]
    if rec.course is not None and (arrived < rec.courses_from).any():
        raise ValueError("the engine kept the courses of the people the KPIs measure only (who asked for help "
                         "after the warm-up): set model.deterioration.LOG_ALL to follow everyone")
    engine = None if rec.course is None else _engine_courses(rec.course, followed)
    out = follow(plan, tl, engine)
    return out if who is None else scatter(out, np.flatnonzero(who), len(pids))


def _engine_courses(courses: dict[int, Any], followed: np.ndarray) -> list[Any]:
    """The course the engine ran (``courses``, by pid) of each person ``followed`` (pids), or None:
    found from the engine's few courses, not by looking up each person followed."""
    engine: list[Any] = [None] * len(followed)
    if courses and len(followed):
        pids = np.fromiter(courses, dtype=np.int64, count=len(courses))
        order = np.argsort(followed, kind="stable")
        ordered = followed[order]
        at = np.minimum(np.searchsorted(ordered, pids), len(followed) - 1)
        found = ordered[at] == pids
        people = list(courses.values())
        for i, k in zip(order[at[found]].tolist(), np.flatnonzero(found).tolist()):
            engine[i] = people[k]
    return engine
