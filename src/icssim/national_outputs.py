"""The national outputs: the tables as CSV files and the ICSs ranked in plots (docs/national.md).

:func:`write_national` reads the sweep folders of a national run (or one ordinary area sweep
folder) and writes ``national.csv``, ``national_totals.csv``, the capacity each ICS got
(``capacity_rounding.csv``, ``joint_capacity.csv``) and ``plots/ranked_*.png``; for a national PSA,
``national_psa.csv``, ``national_psa_totals.csv`` and ``plots/psa_ranked_net_benefit.png``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from icssim.kpis import kpi_info
from icssim.national_scaling import capacity_rounding, joint_by_area, joint_capacity, rounding_by_area
from icssim.national_tables import (
    COLUMNS,
    COST_KPI,
    WAIT_KPI,
    WTP,
    is_psa,
    load_runs,
    national_table,
    national_totals,
    psa_table,
    psa_totals,
)


def ranked_plot(table: pd.DataFrame, column: str, title: str, xlabel: str, file: Path,
                ascending: bool = True) -> Path:
    """A dot per area with its CI, areas ranked by ``column`` (best at the top)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = table.dropna(subset=[column]).sort_values(column, ascending=not ascending, kind="stable")
    y = np.arange(len(t))
    fig, ax = plt.subplots(figsize=(9, 1.7 + 0.2 * len(t)))
    lower, upper = t.get(f"{column}_lower"), t.get(f"{column}_upper")
    if lower is not None and upper is not None:
        err = np.vstack([(t[column] - lower).to_numpy(), (upper - t[column]).to_numpy()])
        ax.errorbar(t[column], y, xerr=np.nan_to_num(err), fmt="o", color="#005EB8", ecolor="#768692",
                    capsize=2, markersize=4)
    else:
        ax.plot(t[column], y, "o", color="#005EB8")
    ax.set_yticks(y, [f"{i}. {a}" for i, a in zip(range(len(t), 0, -1), t["area"])], fontsize=7)
    if t[column].min() < 0 < t[column].max() or column.startswith("net_benefit"):
        ax.axvline(0, color="black", linewidth=0.8)
    ax.set_title("\n".join(textwrap.wrap(title, 80)), fontsize=10)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    file.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(file, dpi=110, bbox_inches="tight", pad_inches=0.1)   # the longest ICS names whole
    plt.close(fig)
    return file


def write_national(folder: Path, wait: str = WAIT_KPI, cost: str = COST_KPI, wtp: float = WTP,
                   level: float = 0.95) -> list[Path]:
    """Write national.csv, national_totals.csv and the ranked plots into ``folder``."""
    folder = Path(folder)
    runs = load_runs(folder, COLUMNS)
    if is_psa(runs):
        return _write_psa(folder, runs, cost, wtp)
    table = national_table(runs, wait, cost, wtp, level)
    totals = national_totals(runs, cost, wtp, level)
    bases = list(dict.fromkeys(runs["base"]))
    written = [folder / "national.csv", folder / "national_totals.csv"]
    if (folder / "specs").is_dir():
        rounding = capacity_rounding(folder / "specs")
        if not rounding.empty:
            rounding.to_csv(folder / "capacity_rounding.csv", index=False)
            written.append(folder / "capacity_rounding.csv")
            table = table.merge(rounding_by_area(rounding), on="area", how="left")
        joint = joint_capacity(folder / "specs")
        if not joint.empty:
            joint.to_csv(folder / "joint_capacity.csv", index=False)
            written.append(folder / "joint_capacity.csv")
            table = table.merge(joint_by_area(joint), on="area", how="left")
    table.to_csv(written[0], index=False)
    totals.to_csv(written[1], index=False)
    plots = folder / "plots"
    for b in bases:       # the first pathway's as ranked_wait.png, each other's as ranked_wait_<base>.png
        name = "ranked_wait.png" if b == bases[0] else f"ranked_wait_{b}.png"
        written.append(ranked_plot(table, f"{wait}_{b}", f"{kpi_info(wait).label} ({b}), with its 95% CI; "
                                   "shortest first", f"{kpi_info(wait).label} (days)", plots / name))
    written.append(ranked_plot(table, f"cost_per_head_{bases[0]}",
                               f"{kpi_info(cost).label} per resident ({bases[0]}), mean with its 95% CI; lowest first",
                               "£ per resident a year", plots / "ranked_cost_per_head.png"))
    if len(bases) > 1 and f"net_benefit_per_person_{bases[1]}" in table:
        written.append(ranked_plot(table, f"net_benefit_per_person_{bases[1]}",
                                   f"Net monetary benefit of {bases[1]} over {bases[0]} at £{wtp:,.0f}/QALY, "
                                   "per help-seeker (paired 95% CI); largest first",
                                   "£ per help-seeker", plots / "ranked_net_benefit.png", ascending=False))
    return written


def _write_psa(folder: Path, runs: pd.DataFrame, cost: str, wtp: float) -> list[Path]:
    """A national PSA's outputs: national_psa.csv, national_psa_totals.csv and the ranked plot."""
    table, totals = psa_table(runs, cost, wtp), psa_totals(runs, cost, wtp)
    written = [folder / "national_psa.csv", folder / "national_psa_totals.csv"]
    table.to_csv(written[0], index=False)
    totals.to_csv(written[1], index=False)
    bases = list(dict.fromkeys(runs["base"]))
    column = f"net_benefit_per_person_{bases[1]}" if len(bases) > 1 else ""
    if column in table:
        plot = table.rename(columns={f"{column}_p2_5": f"{column}_lower", f"{column}_p97_5": f"{column}_upper"})
        written.append(ranked_plot(plot, column, f"Net monetary benefit of {bases[1]} over {bases[0]} at "
                                   f"£{wtp:,.0f}/QALY, per help-seeker: mean and 95% range over "
                                   f"{int(table['draws'].max())} parameter draws; largest first",
                                   "£ per help-seeker", folder / "plots" / "psa_ranked_net_benefit.png",
                                   ascending=False))
    return written
