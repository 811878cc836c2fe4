"""A finished sweep's plots, in the house style of :mod:`icssim.plots`: a line with CI band for one
varying parameter, heatmaps for two, a scatter for more, a tornado for one-at-a-time designs, and
cost against wait for every point with the non-dominated frontier marked (:mod:`icssim.sweep.frontier`;
not for a PSA, whose points are parameter draws rather than settings to choose between:
:func:`~icssim.sweep.frontier.draws_frontier`). Their axis labels, series and colours:
:mod:`icssim.sweep.plot_labels`."""

from __future__ import annotations

import json
import re
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from icssim.experiments import summarise
from icssim.metrics import kpi_info
from icssim.plots import PALETTE, STANDARD_COLOUR, plt, save_all, style
from icssim.sweep.frontier import cost_wait, draws_frontier, frontier_kpis
from icssim.sweep.plot_labels import (AXIS_CHARS, TITLE_CHARS, colour_of, kpi_axis, kpi_name, legend_below,
                                      param_axis, point_series, wrapped)
from icssim.sweep.tables import summary


def varying(run) -> list[str]:
    """Parameters that take more than one value across the points."""
    out = []
    for path in run.sweep.spec.parameters:
        values = {json.dumps(p.values.get(path), default=str) for p in run.points}
        if len(values) > 1:
            out.append(path)
    return out


def _target(run, kpi: str) -> float | None:
    """The target share of the standard a ``within_`` KPI measures (None for any other KPI)."""
    name = kpi_info(kpi).standard
    if name is None:
        return None
    for s in run.sweep.bases.values():
        std = s.scenario.standards.get(name)
        if std is not None:
            return std.target
    return None


def _numeric(values) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def write_plots(run, summ: pd.DataFrame, folder: Path, frame: pd.DataFrame | None = None,
                workers: int = 1) -> list[Path]:
    """Draw the sweep's plots into ``folder``, on ``workers`` processes (:func:`icssim.plots.save_all`)."""
    if summ.empty:
        return []
    jobs = plot_jobs(run, summ, run.frame() if frame is None else frame)
    return save_all([(partial(PLOTS[name], run, *args), folder / file) for name, args, file in jobs], workers)


SweepPlot = tuple[str, tuple, str]  # (plot function's name, its arguments after ``run``, file name)


def plot_jobs(run, summ: pd.DataFrame, frame: pd.DataFrame) -> list[SweepPlot]:
    """The plots this sweep's design calls for, each as a :data:`SweepPlot`."""
    spec = run.sweep.spec
    kpis = [k for k in spec.kpis if k in set(summ["kpi"])]
    vary = varying(run)
    jobs: list[SweepPlot] = []
    if spec.design == "oat":
        jobs += [("tornado", (frame, kpi), f"tornado_{_file(kpi)}.png") for kpi in kpis]
    elif spec.design == "grid" and len(vary) == 1:
        jobs += [("line", (summ, kpi, vary[0]), f"line_{_file(kpi)}.png") for kpi in kpis]
    elif spec.design == "grid" and len(vary) == 2:
        series = point_series(run)
        for label, idx in series[:4]:
            tag = "" if len(series) == 1 else f"_{_file(label)}"
            jobs += [("heatmap", (summ, kpi, vary, idx, label), f"heatmap_{_file(kpi)}{tag}.png") for kpi in kpis]
    elif vary and not spec.is_psa:   # Latin hypercube, or a grid over 3+ parameters
        # (a PSA draws its own plots, icssim.health.psa_outputs: its draws are a cloud here)
        jobs += [("scatter", (summ, kpi, vary[:6]), f"scatter_{_file(kpi)}.png") for kpi in kpis]
    elif not vary and run.sweep.areas:
        jobs += [("line", (summ, kpi, "population"), f"line_{_file(kpi)}.png") for kpi in kpis]
    pair = frontier_kpis(run, frame) if draws_frontier(run) else None
    if pair:
        jobs.append(("cost_wait", (summary(run, frame, list(pair)), *pair), "cost_vs_wait.png"))
    return jobs


def _file(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def _x_values(run, path: str) -> dict[int, Any]:
    if path == "population":
        return {p.index: p.population for p in run.points}
    return _numbers_of_one_unit({p.index: p.values.get(path) for p in run.points})


_WITH_UNIT = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s+(\S.*)$")


def _numbers_of_one_unit(values: dict[int, Any]) -> dict[int, Any]:
    """Values written with one and the same unit (``0.028 per month``, as a PSA draws them) as
    numbers, so that the axis is numeric (the parameter's label gives the unit); others as given."""
    found = {k: _WITH_UNIT.match(v) if isinstance(v, str) else None for k, v in values.items()}
    units = {m.group(2) for m in found.values() if m is not None}
    if len(units) != 1 or any(m is None for m in found.values()):
        return values
    return {k: float(m.group(1)) for k, m in found.items() if m is not None}


def line(run, summ: pd.DataFrame, kpi: str, path: str):
    """KPI mean against one parameter, with its CI band; one line per base scenario / area."""
    xs = _x_values(run, path)
    ylabel, scale = kpi_axis(kpi, run)
    part = summ[summ["kpi"] == kpi].copy()
    part["x"] = part["point"].map(xs)
    numeric = _numeric(part["x"].dropna())
    fig, ax = plt.subplots(figsize=(7, 4.2))
    areas_only = path == "population"
    groups = [("all areas", list(part["point"]))] if areas_only else point_series(run)
    for i, (label, idx) in enumerate(groups):
        g = part[part["point"].isin(idx)]
        if numeric:
            g = g.sort_values("x")
            x = g["x"].to_numpy(dtype=float)
        else:
            x = np.arange(len(g))
            ax.set_xticks(x)
            ax.set_xticklabels([str(v) for v in g["x"]], rotation=30, ha="right", fontsize=8)
        colour = PALETTE[0] if areas_only else colour_of(run, label)
        ax.plot(x, g["mean"] * scale, "o-", color=colour, label=f"{label}: mean")
        if g["n"].max() > 1:
            lo, hi = _clipped(kpi, g["lower"], g["upper"])
            ax.fill_between(x, lo * scale, hi * scale, color=colour, alpha=0.25, linewidth=0,
                            label=f"{label}: {run.sweep.spec.sweep.level:.0%} CI ({int(g['n'].min())} replications)")
        if areas_only:
            for xx, yy, pid in zip(x, g["mean"] * scale, g["point"]):
                ax.annotate(run.points[pid].area, (xx, yy), textcoords="offset points", xytext=(4, 4), fontsize=8)
    target = _target(run, kpi)
    if target is not None:
        ax.axhline(target * scale, color=STANDARD_COLOUR, linestyle="--", linewidth=1,
                   label=f"standard: {_target_text(kpi, target)}")
    xlabel = "Population (people)" if areas_only else param_axis(run, path)
    style(ax, wrapped(f"{run.sweep.name}: {kpi_name(run, kpi)}", TITLE_CHARS), xlabel, wrapped(ylabel, AXIS_CHARS))
    legend_below(ax)
    return fig


def scatter(run, summ: pd.DataFrame, kpi: str, vary: list[str]):
    """KPI mean (with CI) at every point against each varying parameter, one panel each."""
    ylabel, scale = kpi_axis(kpi, run)
    part = summ[summ["kpi"] == kpi]
    cols = min(len(vary), 3)
    rows = -(-len(vary) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    target = _target(run, kpi)
    for i, (ax, path) in enumerate(zip(axes.flat, vary)):
        xs = part["point"].map(_x_values(run, path))
        if not _numeric(xs.dropna()):
            xs = xs.astype(str)
        ax.errorbar(xs, part["mean"] * scale, yerr=part["half_width"].fillna(0) * scale, fmt="o",
                    color=PALETTE[0], ecolor="#999999", markersize=3, linewidth=0.6,
                    label=f"point mean, {run.sweep.spec.sweep.level:.0%} CI")
        if target is not None:
            ax.axhline(target * scale, color=STANDARD_COLOUR, linestyle="--", linewidth=1,
                       label=f"standard: {_target_text(kpi, target)}")
        style(ax, "", param_axis(run, path), wrapped(ylabel, AXIS_CHARS * 3 // 4) if i % cols == 0 else "")
    for ax in list(axes.flat)[len(vary):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=2, frameon=False)
    fig.suptitle(wrapped(f"{run.sweep.name}: {kpi_name(run, kpi)} at each of {len(part)} points",
                         TITLE_CHARS * cols * 3 // 5), fontsize=11)
    fig.tight_layout(rect=(0, 0.06, 1, 0.94))
    return fig


def heatmap(run, summ: pd.DataFrame, kpi: str, vary: list[str], idx: list[int], label: str):
    """KPI mean over two parameters; cells marked where the CI clears a standard's target."""
    xs, ys = _x_values(run, vary[0]), _x_values(run, vary[1])
    part = summ[(summ["kpi"] == kpi) & summ["point"].isin(idx)].copy()
    part["x"], part["y"] = part["point"].map(xs), part["point"].map(ys)
    xv = sorted(set(part["x"]), key=_sort_key)
    yv = sorted(set(part["y"]), key=_sort_key)
    grid = np.full((len(yv), len(xv)), np.nan)
    ok = np.zeros_like(grid, dtype=bool)
    target = _target(run, kpi)
    ylabel, scale = kpi_axis(kpi, run)
    for row in part.itertuples():
        i, j = yv.index(row.y), xv.index(row.x)
        grid[i, j] = row.mean * scale
        if target is not None:
            ok[i, j] = row.lower >= target
    fig, ax = plt.subplots(figsize=(7, 4.8))
    better = kpi_info(kpi).better
    cmap = "viridis_r" if better == "lower" else "viridis"
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap=cmap)
    ax.set_xticks(range(len(xv)))
    ax.set_xticklabels([_fmt(v) for v in xv], fontsize=8)
    ax.set_yticks(range(len(yv)))
    ax.set_yticklabels([_fmt(v) for v in yv], fontsize=8)
    finite = grid[np.isfinite(grid)]
    mid = (finite.min() + finite.max()) / 2 if finite.size else 0
    for i in range(len(yv)):
        for j in range(len(xv)):
            if np.isfinite(grid[i, j]):
                value = f"{grid[i, j]:.0f}%" if kpi_info(kpi).unit == "share" else _fmt(grid[i, j])
                text = value + (" \u2713" if ok[i, j] else "")
                dark = (grid[i, j] > mid) == (cmap == "viridis_r")
                ax.text(j, i, text, ha="center", va="center", fontsize=7, color="white" if dark else "black")
    # the title names the measure: the colour bar gives only its unit
    fig.colorbar(im, ax=ax, label=ylabel[ylabel.rfind("(") + 1:-1] if ylabel.endswith(")") else ylabel)
    title = f"{kpi_name(run, kpi)}: mean" + (f" ({label})" if len(point_series(run)) > 1 else "")
    if target is not None:
        title += (f"\n\u2713 = lower end of the {run.sweep.spec.sweep.level:.0%} CI meets the standard "
                  f"({_target_text(kpi, target)})")
    style(ax, wrapped(title, TITLE_CHARS), param_axis(run, vary[0]), param_axis(run, vary[1]))
    ax.grid(False)
    return fig


def tornado(run, frame: pd.DataFrame, kpi: str):
    """Change in a KPI when each parameter moves to its low and high value (others at base).

    Changes are paired by replication (replication r of the low point minus replication r
    of the base point: the same random numbers when the sweep uses common random
    numbers), with a confidence interval of the mean change.
    """
    level = run.sweep.spec.sweep.level
    ylabel, scale = kpi_axis(kpi, run)
    values = frame.pivot(index="replication", columns="point", values=kpi)
    pts = [run.points[i] for i in point_series(run)[0][1]]
    base = next(p for p in pts if p.role == "base")

    def change(point) -> tuple[float, float]:
        d = (values[point.index] - values[base.index]).dropna().to_frame("d")
        s = summarise(d, level).loc["d"]
        return s["mean"] * scale, (s["half_width"] * scale if s["n"] > 1 else np.nan)

    rows = []
    for path in run.sweep.spec.parameters:
        lo = next((p for p in pts if p.varied == path and p.role == "low"), None)
        hi = next((p for p in pts if p.varied == path and p.role == "high"), None)
        if lo is None or hi is None:
            continue
        (low, low_hw), (high, high_hw) = change(lo), change(hi)
        rows.append({"path": path, "low": low, "high": high, "low_hw": low_hw, "high_hw": high_hw,
                     "label": f"{param_axis(run, path)}\n{_fmt(lo.values[path])} / {_fmt(base.values[path])} / "
                              f"{_fmt(hi.values[path])}"})
    df = pd.DataFrame(rows)
    df["swing"] = (df["high"] - df["low"]).abs()
    df = df.sort_values("swing")
    fig, ax = plt.subplots(figsize=(7.5, 0.6 * len(df) + 1.8))
    y = np.arange(len(df))
    ax.barh(y - 0.18, df["low"], height=0.36, color=PALETTE[0], label="parameter at its low value")
    ax.barh(y + 0.18, df["high"], height=0.36, color=PALETTE[1], label="parameter at its high value")
    if df[["low_hw", "high_hw"]].notna().any().any():
        ax.errorbar(df["low"], y - 0.18, xerr=df["low_hw"].fillna(0), fmt="none", ecolor="black", capsize=3,
                    linewidth=0.8, label=f"{level:.0%} CI of the change (paired by replication)")
        ax.errorbar(df["high"], y + 0.18, xerr=df["high_hw"].fillna(0), fmt="none", ecolor="black", capsize=3,
                    linewidth=0.8)
    ax.axvline(0, color=STANDARD_COLOUR, linewidth=1)
    ax.set_yticks(y)
    ax.set_yticklabels(df["label"], fontsize=7)
    base_value = values[base.index].mean() * scale
    style(ax, wrapped(f"{run.sweep.name}: what moves {kpi_name(run, kpi)}\n(base {_fmt(base_value)}; "
                      "labels: low / base / high)", TITLE_CHARS), wrapped(f"Change from base: {ylabel}", 80), "")
    legend_below(ax)
    return fig


#: the plot functions :func:`plot_jobs` names
PLOTS = {"tornado": tornado, "line": line, "heatmap": heatmap, "scatter": scatter, "cost_wait": cost_wait}


def _clipped(kpi: str, lower: pd.Series, upper: pd.Series) -> tuple[pd.Series, pd.Series]:
    """A CI band within the quantity's natural range: never below zero, shares at most 1."""
    if kpi_info(kpi).unit in ("share",):
        return lower.clip(0, 1), upper.clip(0, 1)
    if kpi_info(kpi).unit in ("days", "per year", "GBP", "GBP per year", "patients"):
        return lower.clip(lower=0), upper.clip(lower=0)
    return lower, upper


def _target_text(kpi: str, target: float) -> str:
    return f"{target:.0%}" if kpi_info(kpi).unit == "share" else f"{target:g}"


def _sort_key(v: Any):
    return (0, float(v), "") if isinstance(v, (int, float)) else (1, 0.0, str(v))


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if v != v:
            return "n/a"
        if v.is_integer() and abs(v) < 1e6:
            return str(int(v))
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        if abs(v) >= 10:
            return f"{v:.1f}"
        return f"{v:.3g}"
    return str(v)
