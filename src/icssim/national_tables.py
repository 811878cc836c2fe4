"""The national tables: per ICS and for England, from the runs of a national sweep.

- :func:`national_table`: per ICS, each pathway's wait and cost per head with CIs, the paired
  difference of the other pathways to the first, and the net monetary benefit of changing per
  help-seeker (``wtp`` x ΔQALYs − Δcost per person) with its paired CI; ranks by net benefit and wait;
- :func:`national_totals`: England's totals (help-seekers and cost a year, cost per head, the net
  benefit a year of changing) with CIs from per-replication sums over the ICSs;
- :func:`psa_table` and :func:`psa_totals`: the same over the parameter draws of a national PSA.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from icssim.errors import IcssimError
from icssim.intervals import half_width

WAIT_KPI = "wait_to_treatment_mean"
COST_KPI = "cost_per_year"
WTP = 20000.0


#: The columns of the runs the national tables read (the runs also hold each point's settings).
COLUMNS = ("point", "base", "area", "population", "role", "replication", "kpi", "value")


def load_runs(folder: Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The tidy runs of a sweep folder, or of every sweep folder directly under it (one per base):
    every column, or only ``columns`` (those of them the runs have: 8 of the national ED PSA's 46)."""
    folder = Path(folder)
    files = [folder / "runs.parquet"] if (folder / "runs.parquet").is_file() else sorted(folder.glob("*/runs.parquet"))
    if not files:
        raise IcssimError(f"{folder}: no runs.parquet here or in its sub-folders: is it a finished sweep?")
    runs = pd.concat([pd.read_parquet(f, columns=_present(f, columns)) for f in files], ignore_index=True)
    if "area" not in runs or runs["area"].isna().all():
        raise IcssimError(f"{folder}: these sweeps have no areas (docs/sweeps.md, Areas)")
    return runs


def _present(file: Path, columns: Sequence[str] | None) -> list[str] | None:
    if columns is None:
        return None
    import pyarrow.parquet as pq

    names = set(pq.read_schema(file).names)
    return [c for c in columns if c in names]


def _wide(runs: pd.DataFrame) -> pd.DataFrame:
    """(base, area, population, replication) x KPI."""
    return runs.pivot_table(index=["base", "area", "population", "replication"], columns="kpi",
                            values="value", aggfunc="first").reset_index()


def _ci(x: np.ndarray, level: float) -> tuple[float, float, float]:
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return (np.nan, np.nan, np.nan)
    mean = float(x.mean())
    if len(x) < 2:
        return (mean, np.nan, np.nan)
    h = float(half_width(float(x.std(ddof=1)), len(x), level))
    return (mean, mean - h, mean + h)


def _put(row: dict[str, Any], name: str, x: np.ndarray, level: float) -> None:
    row[name], row[f"{name}_lower"], row[f"{name}_upper"] = _ci(x, level)


def national_table(runs: pd.DataFrame, wait: str = WAIT_KPI, cost: str = COST_KPI, wtp: float = WTP,
                   level: float = 0.95) -> pd.DataFrame:
    """Per area: each base's wait and cost per head (mean, CI); against the first base, paired
    differences and the net monetary benefit per help-seeker; ranks."""
    wide = _wide(runs)
    for kpi in (wait, cost):
        if kpi not in wide:
            raise IcssimError(f"KPI {kpi!r} is not in these runs; measured: {', '.join(sorted(runs['kpi'].unique()))}")
    wide["cost_per_head"] = wide[cost] / wide["population"]
    bases = list(dict.fromkeys(runs["base"]))
    first = bases[0]
    has_qalys = {"qalys_per_person", "cost_per_person"} <= set(wide.columns)
    rows = []
    for (area, population), group in wide.groupby(["area", "population"], sort=False):
        by = {b: g.set_index("replication").sort_index() for b, g in group.groupby("base")}
        row: dict[str, Any] = {"area": area, "population": int(population)}
        for b in bases:
            if b in by:
                _put(row, f"{wait}_{b}", by[b][wait].to_numpy(), level)
                _put(row, f"cost_per_head_{b}", by[b]["cost_per_head"].to_numpy(), level)
        for b in bases[1:]:
            if b not in by or first not in by:
                continue
            reps = by[first].index.intersection(by[b].index)
            one, other = by[first].loc[reps], by[b].loc[reps]
            _put(row, f"{wait}_change_{b}", (other[wait] - one[wait]).to_numpy(), level)
            _put(row, f"cost_per_head_change_{b}", (other["cost_per_head"] - one["cost_per_head"]).to_numpy(), level)
            if has_qalys:
                nmb = wtp * (other["qalys_per_person"] - one["qalys_per_person"]) \
                    - (other["cost_per_person"] - one["cost_per_person"])
                _put(row, f"net_benefit_per_person_{b}", nmb.to_numpy(), level)
        rows.append(row)
    table = pd.DataFrame(rows)
    table.insert(2, f"rank_{wait}_{first}", table[f"{wait}_{first}"].rank(method="min").astype("Int64"))
    if len(bases) > 1 and f"net_benefit_per_person_{bases[1]}" in table:
        col = f"net_benefit_per_person_{bases[1]}"
        table.insert(2, "rank_net_benefit", table[col].rank(ascending=False, method="min").astype("Int64"))
        table = table.sort_values(col, ascending=False, kind="stable")
    else:
        table = table.sort_values(f"{wait}_{first}", kind="stable")
    return table.reset_index(drop=True)


def national_totals(runs: pd.DataFrame, cost: str = COST_KPI, wtp: float = WTP, level: float = 0.95) -> pd.DataFrame:
    """England's totals per base, and changes against the first base, from per-replication sums over
    the areas (replication r of every area is one draw of the national total)."""
    wide = _wide(runs)
    bases = list(dict.fromkeys(runs["base"]))
    population = float(wide.drop_duplicates("area")["population"].sum())
    rows = []
    sums = {}
    for b in bases:
        g = wide[wide["base"] == b]
        s = g.groupby("replication")[[k for k in ("referrals_per_year", cost) if k in g]].sum()
        sums[b] = s
        row: dict[str, Any] = {"base": b, "areas": int(g["area"].nunique()), "population": int(population)}
        if "referrals_per_year" in s:
            _put(row, "referrals_per_year", s["referrals_per_year"].to_numpy(), level)
        _put(row, cost, s[cost].to_numpy(), level)
        _put(row, "cost_per_head", (s[cost] / population).to_numpy(), level)
        if b != bases[0]:
            reps = sums[bases[0]].index.intersection(s.index)
            _put(row, f"{cost}_change", (s.loc[reps, cost] - sums[bases[0]].loc[reps, cost]).to_numpy(), level)
            if {"qalys_per_person", "cost_per_person", "referrals_per_year"} <= set(wide.columns):
                a = wide[wide["base"] == bases[0]].set_index(["area", "replication"]).sort_index()
                v = g.set_index(["area", "replication"]).sort_index()
                idx = a.index.intersection(v.index)
                per_person = (wtp * (v.loc[idx, "qalys_per_person"] - a.loc[idx, "qalys_per_person"])
                              - (v.loc[idx, "cost_per_person"] - a.loc[idx, "cost_per_person"]))
                nmb = per_person * a.loc[idx, "referrals_per_year"]
                _put(row, "net_benefit_per_year", nmb.groupby(level="replication").sum().to_numpy(), level)
        rows.append(row)
    return pd.DataFrame(rows)


# -- a national PSA ------------------------------------------------------------------------------------

def is_psa(runs: pd.DataFrame) -> bool:
    """Whether these runs are a probabilistic sensitivity analysis (``design: psa``)."""
    return "role" in runs and bool((runs["role"] == "psa").any())


def _draws(runs: pd.DataFrame) -> pd.DataFrame:
    """(base, area, draw, replication) x KPI for a PSA: ``draw`` numbers each area's points in
    the order the sweep drew them, so draw *k* is the same parameter set in every area and base
    (each base's sweep draws from the same seed)."""
    wide = runs.pivot_table(index=["base", "area", "population", "point", "replication"], columns="kpi",
                            values="value", aggfunc="first").reset_index()
    wide["draw"] = wide.groupby(["base", "area"])["point"].rank(method="dense").astype(int) - 1
    return wide.groupby(["base", "area", "population", "draw"], sort=False).mean(numeric_only=True).reset_index()


def _spread(row: dict[str, Any], name: str, x: np.ndarray) -> None:
    """Mean and the 2.5th and 97.5th percentiles over the parameter draws."""
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    row[name] = float(x.mean()) if len(x) else np.nan
    row[f"{name}_p2_5"], row[f"{name}_p97_5"] = (np.percentile(x, [2.5, 97.5]) if len(x) else (np.nan, np.nan))


def psa_table(runs: pd.DataFrame, cost: str = COST_KPI, wtp: float = WTP) -> pd.DataFrame:
    """Per area, over the PSA's parameter draws (replications averaged within a draw): each base's
    cost per resident and the second base's net monetary benefit per help-seeker, each as a mean
    with its 95% range over the draws, and the probability that the second base is cost-effective
    at ``wtp`` (the share of draws with a positive net benefit)."""
    wide = _draws(runs)
    wide["cost_per_head"] = wide[cost] / wide["population"]
    bases = list(dict.fromkeys(runs["base"]))
    rows = []
    for (area, population), group in wide.groupby(["area", "population"], sort=False):
        by = {b: g.set_index("draw").sort_index() for b, g in group.groupby("base")}
        row: dict[str, Any] = {"area": area, "population": int(population), "draws": int(group["draw"].nunique())}
        for b in bases:
            if b in by:
                _spread(row, f"cost_per_head_{b}", by[b]["cost_per_head"].to_numpy())
        if len(bases) > 1 and all(b in by for b in bases[:2]):
            one, other = by[bases[0]], by[bases[1]]
            draws = one.index.intersection(other.index)
            nmb = (wtp * (other.loc[draws, "qalys_per_person"] - one.loc[draws, "qalys_per_person"])
                   - (other.loc[draws, "cost_per_person"] - one.loc[draws, "cost_per_person"])).to_numpy()
            _spread(row, f"net_benefit_per_person_{bases[1]}", nmb)
            row[f"p_cost_effective_{bases[1]}"] = float((nmb > 0).mean()) if len(nmb) else np.nan
        rows.append(row)
    table = pd.DataFrame(rows)
    if len(bases) > 1 and f"net_benefit_per_person_{bases[1]}" in table:
        table = table.sort_values(f"net_benefit_per_person_{bases[1]}", ascending=False, kind="stable")
    return table.reset_index(drop=True)


def psa_totals(runs: pd.DataFrame, cost: str = COST_KPI, wtp: float = WTP) -> pd.DataFrame:
    """England over the PSA's draws: per draw, the sum over the areas of each base's cost a year
    and of the second base's net benefit a year (per help-seeker x help-seekers); their means, 95%
    ranges over the draws, and the probability that changing is cost-effective nationally."""
    wide = _draws(runs)
    bases = list(dict.fromkeys(runs["base"]))
    row: dict[str, Any] = {"areas": int(wide["area"].nunique()), "draws": int(wide["draw"].nunique()),
                           "population": int(wide.drop_duplicates("area")["population"].sum())}
    sums = {b: wide[wide["base"] == b].groupby("draw")[cost].sum() for b in bases}
    for b in bases:
        _spread(row, f"{cost}_{b}", sums[b].to_numpy())
    if len(bases) > 1:
        a = wide[wide["base"] == bases[0]].set_index(["area", "draw"]).sort_index()
        v = wide[wide["base"] == bases[1]].set_index(["area", "draw"]).sort_index()
        idx = a.index.intersection(v.index)
        per_person = (wtp * (v.loc[idx, "qalys_per_person"] - a.loc[idx, "qalys_per_person"])
                      - (v.loc[idx, "cost_per_person"] - a.loc[idx, "cost_per_person"]))
        nmb = (per_person * a.loc[idx, "referrals_per_year"]).groupby(level="draw").sum().to_numpy()
        _spread(row, f"net_benefit_per_year_{bases[1]}", nmb)
        row[f"p_cost_effective_{bases[1]}"] = float((nmb > 0).mean()) if len(nmb) else np.nan
    return pd.DataFrame([row])
