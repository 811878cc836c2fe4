"""Turn one replication's records into KPIs and tidy tables.

KPIs are measured over the observation window (after warm-up): waits and
proportions over patients *referred* in the window, counts and costs per year of
window, utilisation as time averages over the window. Waits are always reported in
days, whatever the scenario's time unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from icssim.model.plan import COST_CATEGORIES
from icssim.model.records import VISIT_OUTCOMES, RunRecords

DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class KpiInfo:
    """Label and unit of a KPI, and which direction is better."""

    label: str
    unit: str
    better: str = "lower"  # "lower" | "higher" | "neutral"


#: Fixed KPIs; per-standard, per-resource and per-service KPIs are added with :func:`kpi_info`.
KPIS: dict[str, KpiInfo] = {
    "referrals_per_year": KpiInfo("Referrals", "per year", "neutral"),
    "wait_to_assessment_mean": KpiInfo("Referral to assessment, mean", "days"),
    "wait_to_assessment_median": KpiInfo("Referral to assessment, median", "days"),
    "wait_to_assessment_p90": KpiInfo("Referral to assessment, 90th percentile", "days"),
    "wait_to_assessment_p95": KpiInfo("Referral to assessment, 95th percentile", "days"),
    "wait_to_treatment_mean": KpiInfo("Referral to treatment, mean", "days"),
    "wait_to_treatment_median": KpiInfo("Referral to treatment, median", "days"),
    "wait_to_treatment_p90": KpiInfo("Referral to treatment, 90th percentile", "days"),
    "wait_to_treatment_p95": KpiInfo("Referral to treatment, 95th percentile", "days"),
    "share_treated": KpiInfo("Help-seekers who started treatment", "share", "higher"),
    "uptake_after_referral": KpiInfo("Referred patients who started treatment (uptake)", "share", "higher"),
    "share_intensive_12m": KpiInfo("Admitted or in day care within 12 months of asking for help", "share"),
    "untreated_time_mean": KpiInfo("Help-seeking to treatment start, mean", "days"),
    "rejected_referrals_per_year": KpiInfo("Referrals rejected (bounced)", "per year"),
    "share_ever_rejected": KpiInfo("Patients with a rejected referral", "share"),
    "rereferrals_per_year": KpiInfo("Re-referrals after rejection", "per year"),
    "duplicated_assessments_per_year": KpiInfo("Duplicated assessments (assessed again before treatment)", "per year"),
    "ae_attendances_per_year": KpiInfo("A&E attendances", "per year"),
    "emergency_admissions_per_year": KpiInfo("Emergency (acute) admissions", "per year"),
    "inpatient_admissions_per_year": KpiInfo("Specialist inpatient admissions", "per year"),
    "specialist_bed_days_per_year": KpiInfo("Specialist bed-days", "per year"),
    "share_dropped_out": KpiInfo("Dropped out or discharged after missed appointments", "share"),
    "still_waiting_at_end": KpiInfo("Referred in window, still waiting for treatment at end", "patients"),
    "cost_per_year": KpiInfo("Total cost", "GBP per year"),
    "cost_per_referral": KpiInfo("Cost per referral", "GBP"),
    "staff_cost_per_year": KpiInfo("Staff establishment cost (WTE x hourly cost x paid hours)", "GBP per year"),
    "mean_in_system": KpiInfo("Mean number in the pathway (L)", "patients", "neutral"),
}


def kpi_info(name: str) -> KpiInfo:
    """Label and unit of any KPI name, including the generated ones."""
    if name in KPIS:
        return KPIS[name]
    for what in ("assessment", "treatment"):
        prefix = f"wait_to_{what}_median_"
        if name.startswith(prefix):
            return KpiInfo(f"Referral to {what}, median: {name[len(prefix):]}", "days")
    if name.startswith("within_"):
        return KpiInfo(f"Within standard: {name[7:]}", "share", "higher")
    if name.startswith("utilisation_"):
        return KpiInfo(f"Utilisation of {name[12:]}", "share", "neutral")
    if name.startswith("cost_per_year_"):
        return KpiInfo(f"Cost per year: {name[14:]}", "GBP per year")
    return KpiInfo(name, "")


def patients_frame(rec: RunRecords) -> pd.DataFrame:
    """One row per patient, times in days, with names instead of codes."""
    df = pd.DataFrame(rec.patients)
    days = rec.hours_per_unit / 24
    for col in ("arrival", "referral", "assess_start", "treat_start", "first_intensive", "exit"):
        df[col] = df[col] * days
    df["cohort"] = pd.Categorical.from_codes(df["cohort"], categories=list(rec.cohorts))
    df["outcome"] = pd.Categorical.from_codes(df["outcome"], categories=list(rec.outcomes))
    for name, levels in rec.attribute_levels.items():
        for col in (f"attr_{name}", f"final_{name}"):
            if col in df:
                codes = df[col].fillna(-1).astype(int)
                df[col] = pd.Categorical.from_codes(codes, categories=list(levels))
    if "urgency" in rec.attribute_levels:
        codes = df["urgency0"].fillna(-1).astype(int)
        df["urgency0"] = pd.Categorical.from_codes(codes, categories=list(rec.attribute_levels["urgency"]))
    cost_cols = [c for c in df if c.startswith("cost_")]
    df["cost_total"] = df[cost_cols].sum(axis=1) if cost_cols else 0.0
    df["wait_to_assessment"] = df["assess_start"] - df["referral"]
    df["wait_to_treatment"] = df["treat_start"] - df["referral"]
    df.insert(0, "replication", rec.replication)
    return df


def visits_frame(rec: RunRecords) -> pd.DataFrame | None:
    """One row per step visit (queue entry, start, end, outcome), times in days."""
    if rec.visits is None:
        return None
    df = pd.DataFrame(rec.visits)
    days = rec.hours_per_unit / 24
    for col in ("t_enter", "t_queue", "t_start", "t_end"):
        df[col] = df[col] * days
    df["step"] = pd.Categorical.from_codes(df["step"], categories=list(rec.steps))
    df["outcome"] = pd.Categorical.from_codes(df["outcome"], categories=list(VISIT_OUTCOMES))
    return df


def timeseries_frame(rec: RunRecords) -> pd.DataFrame:
    """Waiting lists, queues, caseloads and beds in use at each sampling time (time in days)."""
    df = pd.DataFrame(rec.timeseries)
    df["time"] = df["time"] * rec.hours_per_unit / 24
    return df


def costs_frame(rec: RunRecords) -> pd.DataFrame:
    """Cost per time bucket, service and category (long format)."""
    nb, ns, nc = rec.costs.shape
    width_days = rec.sample_every * rec.hours_per_unit / 24
    idx = pd.MultiIndex.from_product(
        [np.arange(nb) * width_days, list(rec.services) or ["none"], list(COST_CATEGORIES)],
        names=["time", "service", "category"],
    )
    return pd.DataFrame({"cost": rec.costs.reshape(-1)}, index=idx).reset_index()


def compute_kpis(rec: RunRecords, standards: dict[str, tuple] | None = None) -> dict[str, float]:
    """All KPIs of one replication.

    ``standards`` maps a standard's name to (threshold in days, urgency level or None, measure,
    cohort or None), as :func:`icssim.experiments.standards_of` gives them.
    """
    P = rec.patients
    days = rec.hours_per_unit / 24
    years = rec.window * days / DAYS_PER_YEAR
    in_window = P["arrival"] >= rec.warmup
    k: dict[str, float] = {"referrals_per_year": in_window.sum() / years}
    if "initial" in P and rec.warmup <= 0:  # today's waiting list counts, with its true referral dates
        in_window = in_window | P["initial"]
    referral = P["referral"]
    referred = in_window & ~np.isnan(referral)
    for what, col in (("assessment", "assess_start"), ("treatment", "treat_start")):
        wait = (P[col] - referral)[referred] * days
        wait = wait[~np.isnan(wait)]
        k.update(_wait_stats(f"wait_to_{what}", wait))
    if len(rec.cohorts) > 1:
        for ci, cohort in enumerate(rec.cohorts):
            mine = referred & (P["cohort"] == ci)
            for what, col in (("assessment", "assess_start"), ("treatment", "treat_start")):
                wait = (P[col] - referral)[mine] * days
                wait = wait[~np.isnan(wait)]
                k[f"wait_to_{what}_median_{cohort}"] = float(np.median(wait)) if len(wait) else np.nan
    treated = ~np.isnan(P["treat_start"])
    k["share_treated"] = _share(treated[in_window])
    k["uptake_after_referral"] = _share(treated[referred])
    observable = in_window & (P["arrival"] <= rec.horizon - DAYS_PER_YEAR / days)
    to_intensive = (P["first_intensive"] - P["arrival"])[observable] * days
    k["share_intensive_12m"] = _share(to_intensive <= DAYS_PER_YEAR)
    k["untreated_time_mean"] = _mean((P["treat_start"] - P["arrival"])[in_window & treated] * days)
    rej = P["rejections"][in_window]
    k["rejected_referrals_per_year"] = rej.sum() / years
    k["share_ever_rejected"] = _share(rej > 0)
    k["rereferrals_per_year"] = P["rereferrals"][in_window].sum() / years
    k["duplicated_assessments_per_year"] = P["n_duplicated_assessments"][in_window].sum() / years
    k["ae_attendances_per_year"] = P["n_ae"][in_window].sum() / years
    k["emergency_admissions_per_year"] = P["n_emergency_admissions"][in_window].sum() / years
    k["inpatient_admissions_per_year"] = P["n_inpatient_admissions"][in_window].sum() / years
    k["specialist_bed_days_per_year"] = P["bed_days"][in_window].sum() / years
    dropped = np.isin(P["outcome"], [rec.outcomes.index(o) for o in ("dropped_out", "discharged_missed")])
    k["share_dropped_out"] = _share(dropped[in_window])
    k["still_waiting_at_end"] = float((referred & ~treated & np.isnan(P["exit"])).sum())
    for name, (threshold, level, measure, cohort) in (standards or {}).items():
        k[f"within_{name}"] = _within(rec, referred, threshold, level, measure, cohort)
    k.update(_utilisation(rec))
    k.update(_costs(rec, years, in_window.sum()))
    k["mean_in_system"] = rec.in_system_area / rec.window
    return k


def _wait_stats(prefix: str, wait: np.ndarray) -> dict[str, float]:
    if len(wait) == 0:
        return {f"{prefix}_{s}": np.nan for s in ("mean", "median", "p90", "p95")}
    q = np.percentile(wait, [50, 90, 95])
    return {f"{prefix}_mean": float(wait.mean()), f"{prefix}_median": float(q[0]),
            f"{prefix}_p90": float(q[1]), f"{prefix}_p95": float(q[2])}


def _within(rec: RunRecords, referred: np.ndarray, threshold: float, level: str | None, measure: str,
            cohort: str | None = None) -> float:
    """Share of patients referred in the window (of the urgency and cohort, if given) who started
    within ``threshold`` days, among those who started (the NHS clock-stop convention)."""
    P = rec.patients
    days = rec.hours_per_unit / 24
    col = "treat_start" if measure == "referral_to_treatment" else "assess_start"
    group = referred & ~np.isnan(P[col])
    if level is not None:
        levels = rec.attribute_levels.get("urgency", ())
        group &= P["urgency0"] == (levels.index(level) if level in levels else -1)
    if cohort is not None:
        group &= P["cohort"] == (rec.cohorts.index(cohort) if cohort in rec.cohorts else -1)
    wait = (P[col] - P["referral"])[group] * days
    return _share(wait <= threshold) if len(wait) else np.nan


def _utilisation(rec: RunRecords) -> dict[str, float]:
    out = {}
    for r in rec.resources:
        if r.capacity > 0 and r.queued_for:
            out[f"utilisation_{r.name}"] = r.busy_area / (r.capacity * rec.window)
    return out


def _costs(rec: RunRecords, years: float, referrals: int) -> dict[str, float]:
    # whole buckets after the warm-up, plus the post-warm-up share of the bucket it ends in
    position = rec.warmup / rec.sample_every
    first = int(position)
    window = rec.costs[first:].copy()
    if len(window):
        window[0] *= 1.0 - (position - first)
    out = {"cost_per_year": float(window.sum() / years),
           "staff_cost_per_year": float(sum(r.cost_per_year for r in rec.resources)),
           "cost_per_referral": float(window.sum() / referrals) if referrals else np.nan}
    for i, name in enumerate(rec.services):
        out[f"cost_per_year_{name}"] = float(window[:, i, :].sum() / years)
    return out


def _share(mask: np.ndarray) -> float:
    return float(mask.mean()) if len(mask) else np.nan


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if len(x) else np.nan
