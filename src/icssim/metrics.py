"""Turn one replication's records into KPIs and tidy tables.

KPIs are measured over the observation window (after warm-up): waits and
proportions over patients *referred* in the window, counts and costs per year of
window, utilisation as time averages over the window. Waits are always reported in
days, whatever the scenario's time unit. The KPIs themselves are a registry in :mod:`icssim.kpis`;
``compute_kpis``, ``kpi_info`` and ``KpiInfo`` are re-exported here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from icssim.health import kpis as _health_kpis  # noqa: F401  (registers the health KPIs)
from icssim.kpis import DAYS_PER_YEAR, KpiInfo, compute_kpis, kpi_info
from icssim.model.plan import COST_CATEGORIES
from icssim.model.records import VISIT_OUTCOMES, RunRecords

__all__ = ["DAYS_PER_YEAR", "KpiInfo", "compute_kpis", "costs_frame", "kpi_info", "patients_frame",
           "timeseries_frame", "visits_frame"]


def patients_frame(rec: RunRecords) -> pd.DataFrame:
    """One row per patient, times in days, with names instead of codes."""
    df = pd.DataFrame(rec.patients)
    days = rec.hours_per_unit / 24
    for col in ("arrival", "referral", "assess_start", "treat_start", "first_intensive", "exit"):
        df[col] = df[col] * days
    df["cohort"] = pd.Categorical.from_codes(df["cohort"], categories=list(rec.cohorts))
    df["outcome"] = pd.Categorical.from_codes(df["outcome"], categories=list(rec.outcomes))
    for name, levels in rec.attribute_levels.items():
        for col in (f"attr_{name}", f"arrival_{name}", f"final_{name}"):
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


#: The outcome of a visit still in progress at the horizon, in the visits table.
IN_PROGRESS = "in_progress"


def visits_frame(rec: RunRecords) -> pd.DataFrame | None:
    """One row per step visit (queue entry, start, end, outcome), times in days.

    Visits still in progress at the horizon come last, censored: outcome ``in_progress``,
    ``in_progress`` true, ``t_end`` the horizon (the time reached, not an end) and ``t_start``
    empty for those still waiting."""
    if rec.visits is None:
        return None
    open_visits = rec.in_progress if rec.in_progress is not None else {k: v[:0] for k, v in rec.visits.items()}
    n_done = len(rec.visits["pid"])
    df = pd.DataFrame({k: np.concatenate([v, open_visits[k]]) for k, v in rec.visits.items()})
    days = rec.hours_per_unit / 24
    for col in ("t_enter", "t_queue", "t_start", "t_end"):
        df[col] = df[col] * days
    df["step"] = pd.Categorical.from_codes(df["step"], categories=list(rec.steps))
    codes = np.where(np.arange(len(df)) < n_done, df["outcome"].to_numpy(), len(VISIT_OUTCOMES))
    df["outcome"] = pd.Categorical.from_codes(codes, categories=[*VISIT_OUTCOMES, IN_PROGRESS])
    df["in_progress"] = np.arange(len(df)) >= n_done
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
