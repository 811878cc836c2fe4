"""The forest plot of a comparison: each measure's paired difference to the baseline with its 95%
confidence interval, shares in percentage points and the rest as a percent of the baseline's mean
(:func:`forest`). Drawn with the palette and style of :mod:`icssim.plots`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from icssim.plots import STANDARD_COLOUR, plt, scenario_colour, scenario_positions, style

if TYPE_CHECKING:
    import matplotlib.pyplot as plt  # noqa: F811  (the lazy pyplot of icssim.plots, typed)


#: Units of measures that cannot be negative: a fall of more than 100% of the baseline's mean is impossible.
NON_NEGATIVE_UNITS = frozenset({"days", "hours", "minutes", "weeks", "months", "years", "share", "per year",
                                "GBP", "GBP per year", "patients", "QALYs", "per 1,000 help-seekers", "relapses",
                                "lists"})


def forest(diffs: pd.DataFrame, title: str, order: Sequence[str] | None = None) -> plt.Figure:
    """Forest plot of paired differences (``label``, ``mean``, ``lower``, ``upper``: percent of the
    baseline's mean) against zero.

    With ``unit``, ``baseline_mean`` and ``diff_mean``, ``diff_lower``, ``diff_upper`` columns, the
    shares (unit ``share``) are drawn apart, in a panel of their own, as differences in percentage
    points (a share going from 5% to 56% is +51 points, not +1,030%). An interval is cut where its
    measure cannot go (below −100% of a mean that cannot be negative; a share outside 0–100%),
    its end marked by an arrowhead the legend explains.

    With a ``scenario`` column naming more than one scenario, each label is one row and each
    scenario one colour within it (a legend names them). A difference whose interval includes zero
    is drawn hollow: one KPI's answers for every scenario can be read together. A scenario's colour
    is that of its position in the comparison (``order``: the comparison's scenarios, its baseline
    first; :func:`scenario_colour`)."""
    diffs = diffs.reset_index(drop=True)
    scenarios = list(dict.fromkeys(diffs["scenario"])) if "scenario" in diffs else []
    colour = {name: scenario_colour(k) for name, k in scenario_positions(scenarios, order).items()}
    if not scenarios:   # one scenario, unnamed: the one after the baseline
        diffs = diffs.assign(scenario="")
        scenarios, colour = [""], {"": scenario_colour(1)}
    share = (diffs["unit"].eq("share") if {"unit", "diff_mean", "diff_lower", "diff_upper"} <= set(diffs)
             else pd.Series(False, index=diffs.index))
    panels = [(rows, points) for rows, points in ((diffs[~share], False), (diffs[share], True)) if len(rows)]
    if not panels:
        panels = [(diffs, False)]
    panels.sort(key=lambda panel: panel[0].index.min())   # the panel of the first measure (the featured) first
    sizes = [rows["label"].nunique() * (0.14 * len(scenarios) + 0.25) + 0.6 for rows, _ in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(7.5, sum(sizes) + 1.0), squeeze=False,
                             gridspec_kw={"height_ratios": sizes})
    cut = False
    for ax, (rows, points) in zip(axes[:, 0], panels):
        cut |= _forest_panel(ax, rows, scenarios, colour, points)
    ax = axes[0, 0]
    ax.set_title(title, fontsize=11, loc="left")
    several = len(scenarios) > 1
    last = axes[-1, 0]
    if several:
        for name in scenarios:
            last.plot([], [], "o-", color=colour[name], label=name)
        last.plot([], [], "o", color="#555555", markerfacecolor="white", label="hollow: the 95% CI includes zero")
        if cut:
            last.plot([], [], "<", color="#555555", label=CUT_NOTE)
    else:
        notes = ["Filled: the 95% CI excludes zero; hollow: it includes zero."] + ([CUT_NOTE.capitalize() + "."]
                                                                                   if cut else [])
        last.set_xlabel(last.get_xlabel() + "\n" + "\n".join(notes))
    fig.tight_layout()
    if several:   # under the last panel's axis label (0.55 inch below the axes)
        inches = last.get_position().height * fig.get_size_inches()[1]
        last.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.55 / inches), ncol=1, frameon=False)
    return fig


#: The legend's words for an interval's end cut where its measure cannot go.
CUT_NOTE = "arrowhead: interval cut where the measure cannot go (below zero; a share above 100%)"


def _forest_panel(ax: plt.Axes, rows: pd.DataFrame, scenarios: list[str], colour: dict[str, str],
                  points: bool) -> bool:
    """One panel of :func:`forest`: relative changes, or (``points``) shares' changes in percentage
    points. True when an interval was cut."""
    labels = list(dict.fromkeys(rows["label"]))
    y_of = {label: len(labels) - 1 - i for i, label in enumerate(labels)}
    step = 0.7 / len(scenarios)
    cut = False
    for k, name in enumerate(scenarios):
        for row in rows[rows["scenario"] == name].itertuples():
            yy = y_of[row.label] + (0.35 - step * (k + 0.5) if len(scenarios) > 1 else 0.0)
            mean, lower, upper = ((row.diff_mean * 100, row.diff_lower * 100, row.diff_upper * 100) if points
                                  else (row.mean, row.lower, row.upper))
            clear = lower > 0 or upper < 0
            low, high = _limits(row, points)
            shown_lower, shown_upper = max(lower, low), min(upper, high)
            ax.plot([shown_lower, shown_upper], [yy, yy], color=colour[name], linewidth=1.8)
            ax.plot([mean], [yy], "o", color=colour[name], markerfacecolor=colour[name] if clear else "white",
                    markersize=5 if len(scenarios) > 1 else 7)
            for end, was, marker in ((shown_lower, lower, "<"), (shown_upper, upper, ">")):
                if end != was:
                    ax.plot([end], [yy], marker, color=colour[name], markersize=7, markeredgecolor="white",
                            markeredgewidth=0.6, zorder=4)
                    cut = True
    ax.axvline(0, color=STANDARD_COLOUR, linewidth=1)
    for edge in range(len(labels) - 1):
        ax.axhline(edge + 0.5, color="#dddddd", linewidth=0.6)
    ax.set_yticks(list(y_of.values()), list(y_of), fontsize=8)
    ax.set_ylim(-0.5, len(labels) - 0.5)
    xlabel = ("Shares: difference to the baseline (percentage points, 95% CI)" if points
              else "Difference to the baseline (percent of baseline mean, 95% CI)")
    style(ax, "", xlabel, "")
    ax.grid(False, axis="y")
    return cut


def _limits(row: Any, points: bool) -> tuple[float, float]:
    """How far a difference can go: a share's stays within 0–100% (in points from the baseline's
    share), a relative difference of a measure that cannot be negative stays above −100%."""
    if points:
        base = getattr(row, "baseline_mean", float("nan"))
        if np.isfinite(base):
            return -100 * base, 100 * (1 - base)
        return -100.0, 100.0
    unit = getattr(row, "unit", None)
    if unit is None or unit in NON_NEGATIVE_UNITS:
        return -100.0, np.inf
    return -np.inf, np.inf


