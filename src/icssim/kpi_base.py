"""What every KPI is built from: :class:`Kpi` (one KPI) and :class:`Family` (generated names, one per
standard, resource, service or cohort), :class:`KpiInfo` (how a KPI is shown) and :class:`Window`
(what the KPIs of one replication share, computed once). The KPIs themselves are in
:mod:`icssim.kpi_definitions`, the registry in :mod:`icssim.kpis`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from icssim.model.records import RunRecords

DAYS_PER_YEAR = 365.25

#: (threshold in days, urgency level or None, measure, cohort or None) of each standard.
Standards = dict[str, tuple]

#: The sections of a run report's KPI tables (a KPI's :attr:`Kpi.group`), in page order. A KPI
#: of another group gets a section of its own after these; a KPI without a group goes under "Other".
GROUPS = ("Waits from referral", "Waiting-time standards", "Access and outcomes", "Demand and flow",
          "Emergency and inpatient use", "Capacity", "Costs")


@dataclass(frozen=True)
class KpiInfo:
    """Label and unit of a KPI, which direction is better, and, for a generated KPI, its family
    (``"standard"``, ``"resource"``, ``"service"``, ``"cohort"``) and what it is about."""

    label: str
    unit: str
    better: str = "lower"  # "lower" | "higher" | "neutral"
    family: str | None = None
    subject: str | None = None
    group: str = ""  # the section of the report's KPI tables (:data:`GROUPS`); "" for "Other"
    #: a scenario without the KPI's subject has it at 0 (a service it lacks costs it nothing), so a
    #: comparison takes its difference rather than leaving it out
    zero_when_absent: bool = False

    def _of(self, family: str) -> str | None:
        """The subject if the KPI is of ``family``, else None: ``.standard``, ``.resource``, ``.service``
        and ``.cohort`` name the standard, resource, service or cohort of a generated KPI."""
        return self.subject if self.family == family else None

    @property
    def standard(self) -> str | None:
        return self._of("standard")

    @property
    def resource(self) -> str | None:
        return self._of("resource")

    @property
    def service(self) -> str | None:
        return self._of("service")

    @property
    def cohort(self) -> str | None:
        return self._of("cohort")


def window_people(rec: RunRecords) -> np.ndarray:
    """Whom a replication's KPIs measure: the people who arrived in the observation window (after
    the warm-up), and today's waiting list, with its true referral dates, when there is no warm-up."""
    P = rec.patients
    arrived = P["arrival"] >= rec.warmup
    return arrived | P["initial"] if "initial" in P and rec.warmup <= 0 else arrived


def standard_group(rec: RunRecords, level: str | None, cohort: str | tuple[str, ...] | None) -> np.ndarray:
    """Patients a standard applies to: of its urgency (at referral) and its cohort or cohorts, when
    given (a standard for an emergency department's attendances leaves out referrals from the
    hospital's wards)."""
    P = rec.patients
    group = np.ones(len(P["pid"]), dtype=bool)
    if level is not None:
        levels = rec.attribute_levels.get("urgency", ())
        group &= P["urgency0"] == (levels.index(level) if level in levels else -1)
    if cohort is not None:
        names = (cohort,) if isinstance(cohort, str) else tuple(cohort)
        group &= np.isin(P["cohort"], [rec.cohorts.index(c) for c in names if c in rec.cohorts])
    return group


def establishments(rec: RunRecords) -> dict[str, float]:
    """Each service whose staff have an establishment cost in the scenario (WTE x cost per hour x
    paid hours), with that cost a year: such a service is costed by it (:attr:`Window.costs_once`)."""
    out: dict[str, float] = {}
    for r in rec.resources:
        if r.cost_per_year > 0:
            out[r.service] = out.get(r.service, 0.0) + r.cost_per_year
    return out


class Window:
    """What several KPIs of one replication share, computed once: masks over patients (arrays of
    :attr:`RunRecords.patients`) and the window's length."""

    def __init__(self, rec: RunRecords, standards: Standards | None = None) -> None:
        self.rec = rec
        self.standards: Standards = standards or {}
        P = self.patients = rec.patients
        self.days = rec.hours_per_unit / 24
        self.years = rec.window * self.days / DAYS_PER_YEAR
        #: arrived in the window (after the warm-up)
        self.arrived = P["arrival"] >= rec.warmup
        self.in_window = window_people(rec)
        self.referral = P["referral"]
        self.referred = self.in_window & ~np.isnan(self.referral)
        self.treated = ~np.isnan(P["treat_start"])

    def wait(self, col: str, mask: np.ndarray) -> np.ndarray:
        """Waits in days from referral to ``col`` of the patients in ``mask`` who got there."""
        wait = (self.patients[col] - self.referral)[mask] * self.days
        return wait[~np.isnan(wait)]

    def per_year(self, col: str) -> float:
        """A patient counter summed over the window, per year."""
        return self.patients[col][self.in_window].sum() / self.years

    @cached_property
    def costs(self) -> np.ndarray:
        """Cost buckets after the warm-up (bucket, service, category), the first one pro rata."""
        rec = self.rec
        position = rec.warmup / rec.sample_every
        first = int(position)
        window = rec.costs[first:].copy()
        if len(window):
            window[0] *= 1.0 - (position - first)
        return window

    @cached_property
    def costs_once(self) -> np.ndarray:
        """The window's cost [time bucket, service], each service counted once
        (:func:`each_service_once`)."""
        rec = self.rec
        return each_service_once(rec, self.costs.sum(axis=2), int(rec.warmup / rec.sample_every), rec.warmup)


def bucket_spans(rec: RunRecords, first: int, n: int, start: float) -> tuple[np.ndarray, np.ndarray]:
    """(start, end), in the run's time unit, of the cost buckets ``first`` … ``first + n - 1``, the
    first cut at ``start`` (the warm-up's end) and the last at the horizon."""
    buckets = np.arange(first, first + n)
    return (np.maximum(buckets * rec.sample_every, start),
            np.minimum((buckets + 1) * rec.sample_every, rec.horizon))


def each_service_once(rec: RunRecords, costs: np.ndarray, first: int, start: float) -> np.ndarray:
    """``costs`` [time bucket, service] (buckets ``first``, ``first`` + 1 … of the run, counted from
    ``start``) with each service counted once: a service with a staff establishment
    (:func:`establishments`) at that establishment, paid evenly over time whatever its staff do;
    any other at the unit costs of its activity. A contact's unit cost (e.g. the National Cost
    Collection's) prices the same staff time as the establishment, so adding both would count the
    team twice."""
    costs = costs.copy()
    days = rec.hours_per_unit / 24
    starts, ends = bucket_spans(rec, first, len(costs), start)
    years = np.maximum(ends - starts, 0.0) * days / DAYS_PER_YEAR  # each bucket's length
    staffed = establishments(rec)
    for i, name in enumerate(rec.services):
        if name in staffed:
            costs[:, i] = staffed[name] * years
    return costs


class Kpi:
    """One KPI. Subclasses set the class attributes and :meth:`value` (one number) or
    :meth:`compute` (several, for a family)."""

    name: str = ""
    label: str = ""
    unit: str = ""
    better: str = "lower"  # "lower" | "higher" | "neutral"
    group: str = ""  # the section of the report's KPI tables it is shown in (:data:`GROUPS`)
    needs_outcomes: bool = False  # measured on the course of illness after the run (records.health)

    def owns(self, name: str) -> bool:
        return name == self.name

    def info(self, name: str) -> KpiInfo:
        return KpiInfo(self.label, self.unit, self.better, group=self.group)

    def compute(self, w: Window) -> dict[str, float]:
        return {self.name: self.value(w)}

    def value(self, w: Window) -> float:
        raise NotImplementedError


class Family(Kpi):
    """KPIs generated from the scenario, named ``<prefix><subject>``."""

    prefix: str = ""
    family: str = ""
    zero_when_absent: bool = False   # (KpiInfo.zero_when_absent)

    def owns(self, name: str) -> bool:
        return name.startswith(self.prefix)

    def info(self, name: str) -> KpiInfo:
        subject = name[len(self.prefix):]
        return KpiInfo(self.label.format(subject), self.unit, self.better, self.family, subject, self.group,
                       self.zero_when_absent)


def share(mask: np.ndarray) -> float:
    return float(mask.mean()) if len(mask) else np.nan


def mean(x: np.ndarray) -> float:
    return float(x.mean()) if len(x) else np.nan
