"""The cost-effectiveness plane: each replication's incremental QALYs and cost per help-seeker
against the baseline, the mean with its paired 95% intervals, and the willingness-to-pay lines."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np
import pandas as pd

from icssim.health.economics import none_compared, plane_notes
from icssim.plots import PALETTE, STANDARD_COLOUR, plt, scenario_colour, scenario_positions


def _arms(row: pd.Series, key: str) -> list[list[float]]:
    """Error-bar arms (below, above) of ``key`` from its interval columns."""
    return [[row[key] - row[f"{key}_lower"]], [row[f"{key}_upper"] - row[key]]]


def ce_plane(points: dict[str, pd.DataFrame], summary: pd.DataFrame, baseline: str,
             thresholds: Sequence[float], order: Sequence[str] | None = None) -> plt.Figure:
    """One cloud per scenario (one point per replication), its mean with intervals, and a dashed
    line per threshold (points below a line are cost-effective at that threshold).

    A scenario without a finite mean (in no replication did anyone ask for help in both it and the
    baseline, so there is no cost or QALY per help-seeker to compare) is left off the plane, and
    the plane says so, as it says how many replications a scenario it shows leaves out (``n`` of
    ``replications`` in ``summary``): a comparison must still be written when one of its
    scenarios has no help-seekers."""
    fig, ax = plt.subplots(figsize=(7.5, 6.0 + 0.4 * len(points)))
    by_name = summary.set_index("scenario")
    shown, missing = {}, []
    for name, p in points.items():
        finite = p[np.isfinite(p["delta_qalys"]) & np.isfinite(p["delta_cost"])]
        mean_ok = name in by_name.index and all(
            np.isfinite(float(by_name.loc[name, key])) for key in ("delta_qalys", "delta_cost"))
        if finite.empty or not mean_ok:
            missing.append(name)
        else:
            shown[name] = finite
    if not shown:   # a frame with lines through nothing would look like a result
        ax.axis("off")
        why = textwrap.fill("Nothing to plot: " + none_compared(missing, baseline), 60, break_on_hyphens=False)
        ax.text(0.5, 0.5, why, transform=ax.transAxes, ha="center", va="center", fontsize=10)
        ax.set_title(f"Cost-effectiveness plane against {baseline}", fontsize=11, loc="left")
        fig.tight_layout()
        return fig
    xs = np.concatenate([p["delta_qalys"].to_numpy(float) for p in shown.values()])
    span = max(float(np.abs(xs).max()) * 1.3, 1e-3)
    position = scenario_positions(list(points), order)
    for name in points:
        if name not in shown:
            continue
        colour = scenario_colour(position[name])
        p = shown[name]
        ax.scatter(p["delta_qalys"], p["delta_cost"], s=14, alpha=0.45, color=colour,
                   label=f"{name}: one point per replication")
        row = by_name.loc[name]
        ax.errorbar(row["delta_qalys"], row["delta_cost"],
                    xerr=_finite_arms(row, "delta_qalys"), yerr=_finite_arms(row, "delta_cost"),
                    fmt="D", color=colour, markersize=7, capsize=4, label=f"{name}: mean, 95% CI")
    _plane(ax, span, thresholds, f"Cost-effectiveness plane against {baseline}")
    notes = plane_notes(missing, [(name, by_name.loc[name].to_dict() | {"scenario": name, "baseline": baseline})
                                  for name in shown], baseline)
    if notes:
        note = "\n".join(textwrap.fill(n, 70, break_on_hyphens=False) for n in notes)
        ax.text(0.02, 0.02, note, transform=ax.transAxes, ha="left", va="bottom", fontsize=8,
                bbox={"facecolor": "white", "edgecolor": "#bbbbbb"})
    fig.tight_layout()
    return fig


def _finite_arms(row: pd.Series, key: str) -> list[list[float]] | None:
    """:func:`_arms`, or None (no whiskers) when an interval is not finite (two replications alike)."""
    arms = _arms(row, key)
    return arms if all(np.isfinite(a[0]) for a in arms) else None


def _plane(ax, span: float, thresholds: Sequence[float], title: str) -> None:
    """A cost-effectiveness plane's frame: a dashed line per willingness-to-pay threshold (points
    below it are cost-effective there), the axes through zero, labels with units, the legend."""
    grid = np.linspace(-span, span, 50)
    for threshold, dash in zip(thresholds, ("--", ":", "-.")):
        ax.plot(grid, threshold * grid, dash, color=STANDARD_COLOUR, linewidth=1, label=f"£{threshold:,.0f} per QALY")
    ax.axhline(0, color="#888888", linewidth=0.8)
    ax.axvline(0, color="#888888", linewidth=0.8)
    ax.set_xlim(-span, span)
    _axes(ax, title, "Incremental QALYs per help-seeker (discounted)",
          "Incremental cost per help-seeker (£, discounted)")
    ax.yaxis.set_major_formatter(lambda v, _: f"−£{-v:,.0f}" if v < 0 else f"£{v:,.0f}")
    # below the axes: inside, it covered clouds near the top left (the costlier arms of a comparison)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=1, frameon=False)


def psa_plane(points: pd.DataFrame, baseline: str, thresholds: Sequence[float]) -> plt.Figure:
    """One point per parameter draw: incremental QALYs and cost of each strategy against ``baseline``."""
    fig, ax = plt.subplots(figsize=(7.5, 6.0 + 0.4 * points["strategy"].nunique()))
    finite = points["delta_qalys"].abs().to_numpy(float)
    finite = finite[np.isfinite(finite)]
    span = max(float(finite.max()) * 1.3, 1e-3) if len(finite) else 1.0   # (NaN: no help-seekers in a draw)
    for i, (strategy, g) in enumerate(points.groupby("strategy", sort=False)):
        ax.scatter(g["delta_qalys"], g["delta_cost"], s=10, alpha=0.5, color=PALETTE[i % len(PALETTE)],
                   label=f"{strategy}: one point per parameter draw")
        ax.plot(g["delta_qalys"].mean(), g["delta_cost"].mean(), "D", color="black", markersize=7,
                label=f"{strategy}: mean over draws")
    _plane(ax, span, thresholds, f"Parameter uncertainty: cost-effectiveness plane against {baseline}")
    fig.tight_layout()
    return fig


def acceptability_curve(ceac: pd.DataFrame, thresholds: Sequence[float]) -> plt.Figure:
    """Probability that each strategy has the highest net benefit, by willingness to pay; the
    frontier (the strategy with the highest expected net benefit) drawn thick."""
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for i, (strategy, g) in enumerate(ceac.groupby("strategy", sort=False)):
        colour = PALETTE[i % len(PALETTE)]
        ax.plot(g["wtp"], g["probability_best"], color=colour, linewidth=1.2, label=strategy)
        front = g[g["on_frontier"]]
        ax.plot(front["wtp"], front["probability_best"], "o", color=colour, markersize=4,
                label=f"{strategy}: highest expected net benefit (frontier)")
    ax.set_ylim(-0.02, 1.02)
    named = _thresholds(ax, thresholds)
    _axes(ax, "Cost-effectiveness acceptability curve and frontier", "Willingness to pay (£ per QALY)" + named,
          "Probability of the highest net benefit")
    ax.xaxis.set_major_formatter(lambda v, _: f"£{v / 1000:,.0f}k")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    # below the axes: inside, it covered the curves where they cross
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)
    fig.tight_layout()
    return fig


def _thresholds(ax, thresholds: Sequence[float]) -> str:
    """A dashed line at each willingness-to-pay threshold; returns the words for the axis label
    that name them (labels on the lines collided: the thresholds are close)."""
    for threshold in thresholds:
        ax.axvline(threshold, color=STANDARD_COLOUR, linestyle="--", linewidth=0.8)
    if not thresholds:
        return ""
    names = [f"£{t:,.0f}" for t in thresholds]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"\ndashed: {listed} per QALY"


def evpi_curve(value: pd.DataFrame, thresholds: Sequence[float], population: dict | None = None) -> plt.Figure:
    """Expected value of perfect information per help-seeker, by willingness to pay; with
    ``population`` (:func:`icssim.health.psa_outputs.population`), the population's on the right
    axis (the same curve: the per-person EVPI times the people the decision affects)."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    ax.plot(value["wtp"], value["evpi_per_person"], color=PALETTE[0], linewidth=1.5)
    named = _thresholds(ax, thresholds)
    _axes(ax, "Expected value of perfect information", "Willingness to pay (£ per QALY)" + named,
          "EVPI per help-seeker (£)")
    ax.xaxis.set_major_formatter(lambda v, _: f"£{v / 1000:,.0f}k")
    top = float(value["evpi_per_person"].max())
    top = top * 1.08 if top > 0 else 1.0   # (nothing to learn: a flat line at £0, not a zoom on rounding)
    ax.set_ylim(0, top)
    ax.yaxis.set_major_formatter(lambda v, _: f"£{v:,.0f}" if top >= 10 else f"£{v:,.2f}")
    if population:
        people = population["people"]
        scale, unit = (1e6, "£ million") if top * people >= 1e6 else (1.0, "£")
        right = ax.secondary_yaxis("right", functions=(lambda v: np.multiply(v, people / scale),
                                                       lambda v: np.multiply(v, scale / people)))
        right.set_ylabel(f"Population EVPI ({unit})\n{population['people_per_year']:,.0f} help-seekers a year "
                         f"for {population['years']} years, discounted", fontsize=9)
        right.yaxis.set_major_formatter(lambda v, _: f"£{v:,.1f}m" if scale > 1 else f"£{v:,.0f}")
    fig.tight_layout()
    return fig


def _axes(ax, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=11, loc="left")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.spines[["top", "right"]].set_visible(False)


def sobol_bars(table: pd.DataFrame) -> plt.Figure:
    """First-order and total Sobol indices of the incremental net benefit, one panel per strategy
    and threshold, parameters sorted by total index; whiskers are bootstrap 95% intervals."""
    panels = list(table.groupby(["strategy", "wtp"], sort=False))
    n_params = table["parameter"].nunique()
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 1.2 + 0.42 * n_params), squeeze=False,
                             sharey=False)
    for ax, ((strategy, wtp), g) in zip(axes[0], panels):
        g = g.sort_values("total")
        y = np.arange(len(g))
        ax.barh(y + 0.2, g["total"], height=0.38, xerr=g["total_ci"], color=PALETTE[0], capsize=2,
                label="total (alone and through interactions)")
        ax.barh(y - 0.2, g["first_order"], height=0.38, xerr=g["first_order_ci"], color=PALETTE[1], capsize=2,
                label="first order (alone)")
        ax.set_yticks(y, g["parameter"], fontsize=8)
        ax.axvline(0, color="#888888", linewidth=0.8)
        low = min(float((g["first_order"] - g["first_order_ci"]).min()), float((g["total"] - g["total_ci"]).min()))
        high = max(float((g["first_order"] + g["first_order_ci"]).max()), float((g["total"] + g["total_ci"]).max()))
        ax.set_xlim(min(-0.05, low - 0.02), max(1.0, high + 0.02))
        _axes(ax, f"{strategy}: incremental net benefit at £{wtp:,.0f} per QALY",
              "Sobol index (share of the variance of the incremental net benefit)", "")
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig
