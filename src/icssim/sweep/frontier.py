"""A sweep's cost against wait: every point's cost and wait (means with CIs) with the
non-dominated frontier marked, the points labelled without covering each other; which KPIs it
plots and whether the sweep gets it at all (not a PSA, whose points are parameter draws rather than
settings to choose between: :func:`draws_frontier`).

Apart from :mod:`icssim.sweep.plots` (the plots a sweep's design calls for, one per KPI) because
it is a plot of its own kind: one for the whole sweep, over two KPIs at once, with its own frontier
and label placement."""

from __future__ import annotations

import numpy as np
import pandas as pd

from icssim.plots import PALETTE, plt, style
from icssim.sweep.plot_labels import colour_of, kpi_axis, legend_below, point_series


def frontier_kpis(run, frame: pd.DataFrame) -> tuple[str, str] | None:
    """The (cost, wait) KPIs of the frontier plot; a wait that was never measured (all n/a, e.g. no
    treatment step) falls back to the wait to assessment. None (no plot) where no point costs
    anything (no unit or staff costs in the base scenarios: every point at £0, nothing to trade)."""
    f = run.sweep.spec.frontier
    wait = f.wait
    if wait in frame and not frame[wait].notna().any() and "wait_to_assessment_mean" in frame:
        wait = "wait_to_assessment_mean"
    if (f.cost in frame and wait in frame and (frame[f.cost].fillna(0) != 0).any()
            and frame[wait].notna().any()):
        return f.cost, wait
    return None


def draws_frontier(run) -> bool:
    """Whether the sweep gets the cost-against-wait plot with its non-dominated frontier: only when
    its points are settings to choose between (a grid, a Latin hypercube, areas), more than one. A
    PSA's points (``design: psa`` or ``sobol``) are parameter draws of each strategy: no one chooses
    a draw, so which draws no other beats on both cost and wait means nothing (its own plane and
    acceptability curve compare the strategies, :mod:`icssim.health.psa_outputs`)."""
    return not run.sweep.spec.is_psa and len(run.points) > 1


def frontier(costs: np.ndarray, waits: np.ndarray) -> np.ndarray:
    """Mask of the non-dominated points when both cost and wait are to be minimised."""
    n = len(costs)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        if not (np.isfinite(costs[i]) and np.isfinite(waits[i])):
            keep[i] = False
            continue
        dominated = ((costs <= costs[i]) & (waits <= waits[i]) & ((costs < costs[i]) | (waits < waits[i])))
        keep[i] = not dominated.any()
    return keep


def cost_wait(run, summ: pd.DataFrame, cost: str, wait: str):
    """Every point's cost against its wait (means with CIs), the non-dominated frontier marked."""
    c = summ[summ["kpi"] == cost].set_index("point")
    w = summ[summ["kpi"] == wait].set_index("point")
    idx = c.index.intersection(w.index)
    c, w = c.loc[idx], w.loc[idx]
    xlabel, xs = kpi_axis(wait, run)
    ylabel, ys = kpi_axis(cost, run)
    x, y = w["mean"].to_numpy() * xs, c["mean"].to_numpy() * ys
    best = frontier(y, x)
    fig, ax = plt.subplots(figsize=(7, 4.6))
    xerr = w["half_width"].fillna(0).to_numpy() * xs
    yerr = c["half_width"].fillna(0).to_numpy() * ys
    series = point_series(run)
    ids = np.asarray(idx)
    for i, (label, members) in enumerate(series):
        m = np.isin(ids, members)
        colour = "#999999" if len(series) == 1 else colour_of(run, label)
        name = "each point" if len(series) == 1 else label
        ax.errorbar(x[m], y[m], xerr=xerr[m], yerr=yerr[m], fmt="o", color=colour, ecolor=colour, alpha=0.8,
                    markersize=4, linewidth=0.6, label=f"{name}: mean, {run.sweep.spec.sweep.level:.0%} CI")
    order = np.argsort(x[best])
    ax.plot(x[best][order], y[best][order], "o-", color=PALETTE[3], markersize=7, markerfacecolor="none",
            label="non-dominated frontier (no point is both cheaper and quicker)")
    style(ax, f"{run.sweep.name}: cost against wait ({len(idx)} points)", xlabel, ylabel)
    legend_below(ax, 1)
    every = len(idx) <= MAX_LABELLED
    shown = np.ones(len(idx), dtype=bool) if every else best
    label_points(ax, x[shown], y[shown], [str(pid) for pid in ids[shown]])
    ax.set_title(ax.get_title(loc="left") + ("\n(each labelled with its point number, as in points.csv)" if every else
                                   "\n(the frontier's points labelled with their numbers, as in points.csv)"),
                 fontsize=11, loc="left")
    return fig


#: The most points :func:`cost_wait` labels all; with more, it labels the frontier's.
MAX_LABELLED = 40


#: Where a point's label may go (offsets in points from the point), tried in this order.
_LABEL_PLACES = ((4, 3), (4, -9), (-4, 3), (-4, -9), (6, -3), (-6, -3), (0, 6), (0, -12))


def label_points(ax, xs: np.ndarray, ys: np.ndarray, labels: list[str]) -> None:
    """Label each point, the labels kept off each other and off the other points: points drawn at
    the same place (within 3 pixels) share one label (``3, 6``), and each label takes the first
    place around its point (:data:`_LABEL_PLACES`) where it covers no other label or point, or the
    first place if none is free."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    at = ax.transData.transform(np.column_stack([xs, ys])) if len(xs) else np.zeros((0, 2))
    groups: list[tuple[int, list[str]]] = []
    for i, label in enumerate(labels):
        if not np.all(np.isfinite(at[i])):
            continue
        near = next((g for g in groups if np.hypot(*(at[g[0]] - at[i])) < 3), None)
        if near is None:
            groups.append((i, [label]))
        else:
            near[1].append(label)
    pad = 3.0
    taken = [(px - pad, py - pad, px + pad, py + pad) for px, py in at if np.isfinite(px) and np.isfinite(py)]
    for i, names in groups:
        text = ", ".join(names)
        chosen = None
        for dx, dy in _LABEL_PLACES:
            note = ax.annotate(text, (xs[i], ys[i]), textcoords="offset points", xytext=(dx, dy), fontsize=7,
                               ha="left" if dx >= 0 else "right", va="bottom" if dy >= 0 else "top")
            box = note.get_window_extent(renderer)
            mine = (box.x0, box.y0, box.x1, box.y1)
            own = (at[i][0] - pad, at[i][1] - pad, at[i][0] + pad, at[i][1] + pad)
            if not any(_overlap(mine, other) for other in taken if other != own):
                chosen = mine
                break
            note.remove()
        if chosen is None:   # nowhere free: the first place
            dx, dy = _LABEL_PLACES[0]
            note = ax.annotate(text, (xs[i], ys[i]), textcoords="offset points", xytext=(dx, dy), fontsize=7,
                               ha="left", va="bottom")
            box = note.get_window_extent(renderer)
            chosen = (box.x0, box.y0, box.x1, box.y1)
        taken.append(chosen)


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
