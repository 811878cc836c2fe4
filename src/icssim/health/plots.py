"""The cost-effectiveness plane: each replication's incremental QALYs and cost per help-seeker
against the baseline, the mean with its paired 95% intervals, and the willingness-to-pay lines."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from icssim.plots import PALETTE, STANDARD_COLOUR, plt


def _arms(row: pd.Series, key: str) -> list[list[float]]:
    """Error-bar arms (below, above) of ``key`` from its interval columns."""
    return [[row[key] - row[f"{key}_lower"]], [row[f"{key}_upper"] - row[key]]]


def ce_plane(points: dict[str, pd.DataFrame], summary: pd.DataFrame, baseline: str,
             thresholds: Sequence[float]) -> plt.Figure:
    """One cloud per scenario (one point per replication), its mean with intervals, and a dashed
    line per threshold (points below a line are cost-effective at that threshold)."""
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    xs = np.concatenate([p["delta_qalys"].to_numpy() for p in points.values()] or [np.zeros(1)])
    span = max(float(np.abs(xs).max()) * 1.3, 1e-3)
    for i, (name, p) in enumerate(points.items()):
        colour = PALETTE[i % len(PALETTE)]
        ax.scatter(p["delta_qalys"], p["delta_cost"], s=14, alpha=0.45, color=colour,
                   label=f"{name}: one point per replication")
        row = summary.set_index("scenario").loc[name]
        ax.errorbar(row["delta_qalys"], row["delta_cost"],
                    xerr=_arms(row, "delta_qalys"), yerr=_arms(row, "delta_cost"),
                    fmt="D", color=colour, markersize=7, capsize=4, label=f"{name}: mean, 95% CI")
    grid = np.linspace(-span, span, 50)
    for threshold, dash in zip(thresholds, ("--", ":", "-.")):
        ax.plot(grid, threshold * grid, dash, color=STANDARD_COLOUR, linewidth=1,
                label=f"£{threshold:,.0f} per QALY")
    ax.axhline(0, color="#888888", linewidth=0.8)
    ax.axvline(0, color="#888888", linewidth=0.8)
    ax.set_xlim(-span, span)
    ax.set_title(f"Cost-effectiveness plane against {baseline}", fontsize=11, loc="left")
    ax.set_xlabel("Incremental QALYs per help-seeker (discounted)")
    ax.set_ylabel("Incremental cost per help-seeker (£, discounted)")
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    ax.yaxis.set_major_formatter(lambda v, _: f"£{v:,.0f}")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig
