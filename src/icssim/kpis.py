"""KPIs as a registry: each KPI (or family of generated KPIs) is one class in one place.

A :class:`Kpi` has a name, a label, a unit, which direction is better, and a :meth:`Kpi.compute`
that measures it from a :class:`Window` — what several KPIs share in one replication (who is in the
observation window, who was referred, who was treated, its length in years), computed once.
A *family* (:class:`Family`) owns generated names, one per standard, resource, service or cohort.

:func:`compute_kpis` runs the registry in order, so the order of :data:`REGISTRY` is the order of
the KPI columns in every output. A scenario or a domain adds its own KPI with :func:`register`::

    class SeenWithinAWeek(Kpi):
        name, label, unit, better = "share_seen_within_a_week", "Seen within a week", "share", "higher"

        def value(self, w: Window) -> float:
            wait = w.wait("assess_start", w.referred)
            return float((wait <= 7).mean()) if len(wait) else float("nan")

    register(SeenWithinAWeek())
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from icssim.model.records import RunRecords

DAYS_PER_YEAR = 365.25

#: (threshold in days, urgency level or None, measure, cohort or None) of each standard.
Standards = dict[str, tuple]


@dataclass(frozen=True)
class KpiInfo:
    """Label and unit of a KPI, which direction is better, and, for a generated KPI, its family
    (``"standard"``, ``"resource"``, ``"service"``, ``"cohort"``) and what it is about."""

    label: str
    unit: str
    better: str = "lower"  # "lower" | "higher" | "neutral"
    family: str | None = None
    subject: str | None = None

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
        #: ... and today's waiting list, with its true referral dates, when there is no warm-up
        self.in_window = self.arrived | P["initial"] if "initial" in P and rec.warmup <= 0 else self.arrived
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


class Kpi:
    """One KPI. Subclasses set the class attributes and :meth:`value` (one number) or
    :meth:`compute` (several, for a family)."""

    name: str = ""
    label: str = ""
    unit: str = ""
    better: str = "lower"  # "lower" | "higher" | "neutral"

    def owns(self, name: str) -> bool:
        return name == self.name

    def info(self, name: str) -> KpiInfo:
        return KpiInfo(self.label, self.unit, self.better)

    def compute(self, w: Window) -> dict[str, float]:
        return {self.name: self.value(w)}

    def value(self, w: Window) -> float:
        raise NotImplementedError


class Family(Kpi):
    """KPIs generated from the scenario, named ``<prefix><subject>``."""

    prefix: str = ""
    family: str = ""

    def owns(self, name: str) -> bool:
        return name.startswith(self.prefix)

    def info(self, name: str) -> KpiInfo:
        subject = name[len(self.prefix):]
        return KpiInfo(self.label.format(subject), self.unit, self.better, self.family, subject)


def _share(mask: np.ndarray) -> float:
    return float(mask.mean()) if len(mask) else np.nan


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if len(x) else np.nan


# --- fixed KPIs, in output order -------------------------------------------------------------


class Referrals(Kpi):
    name, label, unit, better = "referrals_per_year", "Referrals", "per year", "neutral"

    def value(self, w: Window) -> float:
        return w.arrived.sum() / w.years


class WaitSummary(Kpi):
    """Mean, median, 90th and 95th percentile of the wait from referral to ``what``."""

    STATS = {"mean": "mean", "median": "median", "p90": "90th percentile", "p95": "95th percentile"}

    def __init__(self, what: str, col: str) -> None:
        self.what, self.col = what, col
        self.names = {f"wait_to_{what}_{s}": words for s, words in self.STATS.items()}

    def owns(self, name: str) -> bool:
        return name in self.names

    def info(self, name: str) -> KpiInfo:
        return KpiInfo(f"Referral to {self.what}, {self.names[name]}", "days")

    def compute(self, w: Window) -> dict[str, float]:
        wait = w.wait(self.col, w.referred)
        if len(wait) == 0:
            return dict.fromkeys(self.names, np.nan)
        q = np.percentile(wait, [50, 90, 95])
        return dict(zip(self.names, (float(wait.mean()), float(q[0]), float(q[1]), float(q[2]))))


class CohortMedianWaits(Family):
    """Median waits to assessment and to treatment per cohort, when there is more than one."""

    family = "cohort"
    WAITS = (("assessment", "assess_start"), ("treatment", "treat_start"))

    def owns(self, name: str) -> bool:
        return any(name.startswith(f"wait_to_{what}_median_") for what, _ in self.WAITS)

    def info(self, name: str) -> KpiInfo:
        for what, _ in self.WAITS:
            prefix = f"wait_to_{what}_median_"
            if name.startswith(prefix):
                cohort = name[len(prefix):]
                return KpiInfo(f"Referral to {what}, median: {cohort}", "days", "lower", self.family, cohort)
        raise KeyError(name)

    def compute(self, w: Window) -> dict[str, float]:
        out: dict[str, float] = {}
        if len(w.rec.cohorts) > 1:
            for ci, cohort in enumerate(w.rec.cohorts):
                mine = w.referred & (w.patients["cohort"] == ci)
                for what, col in self.WAITS:
                    wait = w.wait(col, mine)
                    out[f"wait_to_{what}_median_{cohort}"] = float(np.median(wait)) if len(wait) else np.nan
        return out


class ShareTreated(Kpi):
    name, label, unit, better = "share_treated", "Help-seekers who started treatment", "share", "higher"

    def value(self, w: Window) -> float:
        return _share(w.treated[w.in_window])


class Uptake(Kpi):
    name, unit, better = "uptake_after_referral", "share", "higher"
    label = "Referred patients who started treatment (uptake)"

    def value(self, w: Window) -> float:
        return _share(w.treated[w.referred])


class ShareIntensive12m(Kpi):
    name, unit = "share_intensive_12m", "share"
    label = "Admitted or in day care within 12 months of asking for help"

    def value(self, w: Window) -> float:
        P, rec = w.patients, w.rec
        observable = w.in_window & (P["arrival"] <= rec.horizon - DAYS_PER_YEAR / w.days)
        to_intensive = (P["first_intensive"] - P["arrival"])[observable] * w.days
        return _share(to_intensive <= DAYS_PER_YEAR)


class UntreatedTime(Kpi):
    name, label, unit = "untreated_time_mean", "Help-seeking to treatment start, mean", "days"

    def value(self, w: Window) -> float:
        P = w.patients
        return _mean((P["treat_start"] - P["arrival"])[w.in_window & w.treated] * w.days)


class PerYear(Kpi):
    """A patient counter (column ``col`` of the records) summed over the window, per year."""

    unit = "per year"

    def __init__(self, name: str, col: str, label: str) -> None:
        self.name, self.col, self.label = name, col, label

    def value(self, w: Window) -> float:
        return w.per_year(self.col)


class ShareEverRejected(Kpi):
    name, label, unit = "share_ever_rejected", "Patients with a rejected referral", "share"

    def value(self, w: Window) -> float:
        return _share(w.patients["rejections"][w.in_window] > 0)


class ShareDroppedOut(Kpi):
    name, label, unit = "share_dropped_out", "Dropped out or discharged after missed appointments", "share"

    def value(self, w: Window) -> float:
        codes = [w.rec.outcomes.index(o) for o in ("dropped_out", "discharged_missed")]
        return _share(np.isin(w.patients["outcome"], codes)[w.in_window])


class StillWaiting(Kpi):
    name, label, unit = "still_waiting_at_end", "Referred in window, still waiting for treatment at end", "patients"

    def value(self, w: Window) -> float:
        return float((w.referred & ~w.treated & np.isnan(w.patients["exit"])).sum())


class WithinStandard(Family):
    """Share of patients referred in the window (of the standard's urgency and cohort, if given)
    who started within the standard's threshold, among those who started (NHS clock-stop)."""

    prefix, family, label, unit, better = "within_", "standard", "Within standard: {}", "share", "higher"

    def compute(self, w: Window) -> dict[str, float]:
        return {f"within_{name}": self.within(w, *std) for name, std in w.standards.items()}

    @staticmethod
    def within(w: Window, threshold: float, level: str | None, measure: str, cohort: str | None = None) -> float:
        P, rec = w.patients, w.rec
        col = "treat_start" if measure == "referral_to_treatment" else "assess_start"
        group = w.referred & ~np.isnan(P[col])
        if level is not None:
            levels = rec.attribute_levels.get("urgency", ())
            group &= P["urgency0"] == (levels.index(level) if level in levels else -1)
        if cohort is not None:
            group &= P["cohort"] == (rec.cohorts.index(cohort) if cohort in rec.cohorts else -1)
        wait = (P[col] - P["referral"])[group] * w.days
        return _share(wait <= threshold) if len(wait) else np.nan


class Utilisation(Family):
    prefix, family, label, unit, better = "utilisation_", "resource", "Utilisation of {}", "share", "neutral"

    def compute(self, w: Window) -> dict[str, float]:
        return {f"utilisation_{r.name}": r.busy_area / (r.capacity * w.rec.window)
                for r in w.rec.resources if r.capacity > 0 and r.queued_for}


class Cost(Kpi):
    name, label, unit = "cost_per_year", "Total cost", "GBP per year"

    def value(self, w: Window) -> float:
        return float(w.costs.sum() / w.years)


class StaffCost(Kpi):
    name, unit = "staff_cost_per_year", "GBP per year"
    label = "Staff establishment cost (WTE x hourly cost x paid hours)"

    def value(self, w: Window) -> float:
        return float(sum(r.cost_per_year for r in w.rec.resources))


class CostPerReferral(Kpi):
    name, label, unit = "cost_per_referral", "Cost per referral", "GBP"

    def value(self, w: Window) -> float:
        referrals = w.in_window.sum()
        return float(w.costs.sum() / referrals) if referrals else np.nan


class ServiceCost(Family):
    prefix, family, label, unit = "cost_per_year_", "service", "Cost per year: {}", "GBP per year"

    def compute(self, w: Window) -> dict[str, float]:
        return {f"cost_per_year_{name}": float(w.costs[:, i, :].sum() / w.years)
                for i, name in enumerate(w.rec.services)}


class MeanInSystem(Kpi):
    name, label, unit, better = "mean_in_system", "Mean number in the pathway (L)", "patients", "neutral"

    def value(self, w: Window) -> float:
        return w.rec.in_system_area / w.rec.window


#: Every KPI, in output order.
REGISTRY: list[Kpi] = [
    Referrals(),
    WaitSummary("assessment", "assess_start"),
    WaitSummary("treatment", "treat_start"),
    CohortMedianWaits(),
    ShareTreated(),
    Uptake(),
    ShareIntensive12m(),
    UntreatedTime(),
    PerYear("rejected_referrals_per_year", "rejections", "Referrals rejected (bounced)"),
    ShareEverRejected(),
    PerYear("rereferrals_per_year", "rereferrals", "Re-referrals after rejection"),
    PerYear("duplicated_assessments_per_year", "n_duplicated_assessments",
            "Duplicated assessments (assessed again before treatment)"),
    PerYear("ae_attendances_per_year", "n_ae", "A&E attendances"),
    PerYear("emergency_admissions_per_year", "n_emergency_admissions", "Emergency (acute) admissions"),
    PerYear("inpatient_admissions_per_year", "n_inpatient_admissions", "Specialist inpatient admissions"),
    PerYear("specialist_bed_days_per_year", "bed_days", "Specialist bed-days"),
    ShareDroppedOut(),
    StillWaiting(),
    WithinStandard(),
    Utilisation(),
    Cost(),
    StaffCost(),
    CostPerReferral(),
    ServiceCost(),
    MeanInSystem(),
]


def register(kpi: Kpi, before: str | None = None) -> Kpi:
    """Add ``kpi`` to the registry, at the end or before the KPI that owns the name ``before``."""
    if kpi.name and any(k.owns(kpi.name) for k in REGISTRY):
        raise ValueError(f"a KPI named {kpi.name!r} is already registered")
    at = next((i for i, k in enumerate(REGISTRY) if k.owns(before)), None) if before else None
    REGISTRY.insert(len(REGISTRY) if at is None else at, kpi)
    return kpi


def unregister(kpi: Kpi) -> None:
    """Remove ``kpi`` (the same object :func:`register` was given) from the registry."""
    REGISTRY.remove(kpi)


def kpi_of(name: str) -> Kpi | None:
    """The registered KPI that owns ``name``: an exact name first, then a family's prefix."""
    exact = next((k for k in REGISTRY if not isinstance(k, Family) and k.owns(name)), None)
    return exact or next((k for k in REGISTRY if isinstance(k, Family) and k.owns(name)), None)


def kpi_info(name: str) -> KpiInfo:
    """Label and unit of any KPI name, including the generated ones (the name itself if unknown)."""
    kpi = kpi_of(name)
    return kpi.info(name) if kpi is not None else KpiInfo(name, "")


def kpi_subjects(names: Iterable[Any], family: str) -> dict[Any, str]:
    """The KPI names among ``names`` of ``family`` (``"standard"``, ``"resource"``, ``"service"``,
    ``"cohort"``), in their order, each mapped to what it is about: ``{"within_urgent": "urgent"}``."""
    out = {}
    for name in names:
        info = kpi_info(str(name))
        if info.family == family and info.subject is not None:
            out[name] = info.subject
    return out


def compute_kpis(rec: RunRecords, standards: Standards | None = None) -> dict[str, float]:
    """All KPIs of one replication, in registry order.

    ``standards`` maps a standard's name to (threshold in days, urgency level or None, measure,
    cohort or None), as :func:`icssim.experiments.standards_of` gives them.
    """
    w = Window(rec, standards)
    k: dict[str, float] = {}
    for kpi in REGISTRY:
        k.update(kpi.compute(w))
    return k
