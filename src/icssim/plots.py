"""Plots with one house style: labelled axes with units, colour-blind-safe colours,
confidence bands wherever there are replications, standards drawn as reference lines.

Every function takes tidy data frames (never records or scenarios) and returns a
matplotlib ``Figure``; :func:`save` writes it as PNG.
"""

from __future__ import annotations

import multiprocessing
import sys
import textwrap
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from icssim.intervals import half_width

if TYPE_CHECKING:
    import matplotlib.pyplot as plt
else:
    class _Pyplot:
        """``matplotlib.pyplot``, imported (with the Agg backend) at its first use: commands that
        draw nothing never pay the half second of importing matplotlib, and ``icssim run`` imports
        it while its workers simulate (:func:`import_pyplot`, :mod:`icssim.preload`)."""

        def __getattr__(self, name: str) -> Any:
            return getattr(import_pyplot(), name)

    plt = _Pyplot()


def import_pyplot() -> Any:
    """``matplotlib.pyplot`` with the Agg backend (non-interactive: plots are only saved)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    return matplotlib.pyplot

#: Okabe-Ito palette (colour-blind safe), extended with Paul Tol's muted colours for more series.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
           "#882255", "#44AA99", "#332288", "#999933", "#AA4499", "#DDDDDD"]
STANDARD_COLOUR = "#444444"


def style(ax: plt.Axes, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=11, loc="left")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)   # grid lines behind bars and bands, not across them
    ax.spines[["top", "right"]].set_visible(False)


def save(fig: plt.Figure, path: Path) -> Path:
    """Write ``fig`` as a PNG (or, for a ``.svg`` path, as an SVG whose bytes depend only on the
    figure: text as paths, no date, a fixed id salt) and close it."""
    if path.suffix == ".svg":
        path.write_bytes(svg_bytes(fig))
        return path
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def svg_bytes(fig: plt.Figure) -> bytes:
    """``fig`` as SVG whose bytes depend only on the figure (text as paths, no date, a fixed id
    salt), and close it."""
    import io

    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "icssim", "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return buf.getvalue()


#: (what draws the figure, where to save it); a job whose function returns None wrote the file
#: itself (a run's large tables are written beside its plots, on the same workers).
PlotJob = tuple[Callable[[], "plt.Figure | None"], Path]


def save_all(jobs: list[PlotJob], workers: int = 1) -> list[Path]:
    """Draw and save every plot, on ``workers`` processes when there are several.

    Plots are independent and each takes 0.3-0.5 s to draw, so a run's or a sweep's plots are
    the slowest part of writing its outputs. The workers are forked: they inherit the jobs
    (closures over data that need not pickle, such as a sweep and its results store) rather
    than receive them. Where fork is unavailable the plots are drawn here, one by one; the
    files are the same either way.
    """
    with drawing(jobs, workers) as drawn:
        return drawn()


@contextmanager
def drawing(jobs: list[PlotJob], workers: int = 1) -> Iterator[Callable[[], list[Path]]]:
    """:func:`save_all` in the background: the plots are drawn on the workers while the block
    runs, and the function it yields waits for them and returns their paths. Leaving the block
    waits too, and raises a plot's error. On one worker (or without fork) the plots are drawn
    on entering the block."""
    workers = min(workers, len(jobs))
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        paths = [_save_job(job) for job in jobs]
        yield lambda: paths
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                             initializer=_set_jobs, initargs=(jobs,)) as pool:
        futures = [pool.submit(_save_job_number, i) for i in range(len(jobs))]

        def drawn() -> list[Path]:
            return [f.result() for f in futures]

        yield drawn
        drawn()


def _save_job(job: PlotJob) -> Path:
    draw, path = job
    try:
        figure = draw()
        return path if figure is None else save(figure, path)  # None: the job wrote its file
    finally:
        if "matplotlib.pyplot" in sys.modules:  # (a table's job needs no matplotlib)
            plt.close("all")


_JOBS: list[PlotJob] = []  # in a worker of save_all: the jobs, set once by the pool's initializer


def _set_jobs(jobs: list[PlotJob]) -> None:
    _JOBS[:] = jobs


def _save_job_number(i: int) -> Path:
    return _save_job(_JOBS[i])


def wait_ecdf(waits: dict[str, np.ndarray], standards: dict[str, float], title: str,
              xlabel: str = "Wait from referral to treatment start (days)") -> plt.Figure:
    """Empirical CDFs of waits (one line per series) with standards as vertical lines."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    upper = 0.0
    for i, (label, w) in enumerate(waits.items()):
        w = np.sort(w[~np.isnan(w)])
        if len(w) == 0:
            continue
        ax.step(w, np.arange(1, len(w) + 1) / len(w), where="post", color=PALETTE[i % len(PALETTE)],
                label=f"{label} (n={len(w):,})")
        upper = max(upper, float(np.percentile(w, 98)))
    by_days: dict[float, list[str]] = {}
    for name, days in standards.items():
        by_days.setdefault(days, []).append(name)
    right = max(upper, max(standards.values(), default=0) * 1.2, 1)
    for k, (days, names) in enumerate(sorted(by_days.items())):
        ax.axvline(days, color=STANDARD_COLOUR, linestyle="--", linewidth=1)
        # the standards' names at the foot of their line (left of it near the right edge): the curves rise,
        # so past a standard's line they are above its foot
        left = days > 0.6 * right
        # each further standard a step higher, so that close lines' names do not cover each other
        ax.text(days, 0.02 + 0.1 * (k % 3), "\n".join(_words(n) for n in names), va="bottom",
                ha="right" if left else "left",
                fontsize=7.5, color=STANDARD_COLOUR, zorder=6,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.9, "pad": 2})
    ax.set_xlim(0, right)
    ax.set_ylim(0, 1.01)
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    if standards:  # the curves are everyone's; a standard covers only the patients it names
        xlabel += "\nCurves: all patients. Dashed lines: standards, each for the patients it names"
    style(ax, title, xlabel, "Patients who had started (cumulative)")
    legend_below(ax)
    return fig


def _words(name: str) -> str:
    """A standard's or service's id in words: ``cyp_urgent_1_week`` → ``CYP urgent 1 week``."""
    from icssim.report.labels import id_words

    return id_words(name)


def legend_below(ax: plt.Axes, ncol: int = 2) -> None:
    """The legend under the axes, where it covers neither the data nor a standard's label."""
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=ncol, frameon=False)


def years_axis(ax: plt.Axes, last_day: float) -> bool:
    """Ticks in years on an axis in days, when it spans more than two years (the data stay in days, so
    lines drawn later in days still fall in place). True when the axis now reads in years."""
    if not last_day > 2 * 365.25:
        return False
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    ax.xaxis.set_major_locator(MultipleLocator(365.25 if last_day <= 12 * 365.25 else 2 * 365.25))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 365.25:.0f}" if v > -1 else ""))
    return True


def band_over_time(series: dict[str, pd.DataFrame], title: str, ylabel: str,
                   xlabel: str = "Time since start (days)", reference: float | None = None,
                   reference_label: str = "") -> plt.Figure:
    """Mean line with a 95% CI band across replications.

    Each frame has a ``time`` column (or index) and one column per replication.
    """
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    last = 0.0
    for i, (label, frame) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        x = frame.index.to_numpy()
        values = frame.to_numpy(dtype=float)
        mean = values.mean(axis=1)
        ax.plot(x, mean, color=colour, label=label)
        n = values.shape[1]
        last = max(last, float(np.nanmax(x))) if len(x) else last
        if n > 1:
            half = half_width(values.std(axis=1, ddof=1), n)
            low = mean - half
            if np.nanmin(values) >= 0:  # counts: the band stops at zero
                low = np.maximum(low, 0.0)
            ax.fill_between(x, low, mean + half, color=colour, alpha=0.25, linewidth=0)
    if "(days)" in xlabel and years_axis(ax, last):
        xlabel = xlabel.replace("(days)", "(years)")
    if reference is not None:
        ax.axhline(reference, color=STANDARD_COLOUR, linestyle="--", linewidth=1, label=reference_label)
    n = next(iter(series.values())).shape[1] if series else 0
    if n > 1:
        title += f"\n(lines: mean of {n} replications; shaded: 95% CI)"
    style(ax, title, xlabel, ylabel)
    ax.legend(fontsize=8, bbox_to_anchor=(1.01, 1), loc="upper left")
    return fig


def cost_bars(costs: pd.DataFrame, title: str) -> plt.Figure:
    """Stacked cost per year by service (rows: scenarios; columns: services) with CI whiskers.

    ``costs`` has columns ``scenario``, ``service``, ``mean``, ``half_width``.
    """
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    wide = costs.pivot(index="scenario", columns="service", values="mean").fillna(0.0) / 1e6
    order = list(dict.fromkeys(costs["scenario"]))
    wide = wide.loc[order]
    bottom = np.zeros(len(wide))
    for i, service in enumerate(wide.columns):
        ax.bar(wide.index, wide[service], bottom=bottom, color=PALETTE[i % len(PALETTE)], label=_words(service),
               width=0.6)
        bottom += wide[service].to_numpy()
    totals = costs.groupby("scenario", sort=False).agg(total=("total_mean", "first"),
                                                        half=("total_half_width", "first")).loc[order]
    if totals["half"].notna().any():
        ax.errorbar(range(len(order)), totals["total"] / 1e6, yerr=totals["half"].fillna(0) / 1e6,
                    fmt="none", ecolor="black", capsize=5, label="total: 95% CI")
    style(ax, title, "Scenario", "Cost (£ million a year)")
    ax.grid(False, axis="x")   # (scenarios are categories)
    ax.set_xticks(range(len(order)), [textwrap.fill(name, 18) for name in order])  # long names side by side
    ax.legend(fontsize=8, bbox_to_anchor=(1.01, 1), loc="upper left")
    return fig


def forest(diffs: pd.DataFrame, title: str) -> plt.Figure:
    """Forest plot of paired differences (``label``, ``mean``, ``lower``, ``upper``) against zero.

    With a ``scenario`` column naming more than one scenario, each label is one row and each
    scenario one colour within it (a legend names them), and a difference whose interval
    includes zero is drawn hollow: one KPI's answers for every scenario can be read together."""
    scenarios = list(dict.fromkeys(diffs["scenario"])) if "scenario" in diffs else []
    if len(scenarios) <= 1:
        return _forest_rows(diffs, title)
    labels = list(dict.fromkeys(diffs["label"]))
    height = 0.14 * len(labels) * len(scenarios) + 0.25 * len(labels) + 2.0
    fig, ax = plt.subplots(figsize=(7.5, height))
    y_of = {label: len(labels) - 1 - i for i, label in enumerate(labels)}
    step = 0.7 / len(scenarios)
    for k, name in enumerate(scenarios):
        colour = PALETTE[k % len(PALETTE)]
        rows = diffs[diffs["scenario"] == name]
        for row in rows.itertuples():
            yy = y_of[row.label] + 0.35 - step * (k + 0.5)
            clear = row.lower > 0 or row.upper < 0
            ax.plot([row.lower, row.upper], [yy, yy], color=colour, linewidth=1.8)
            ax.plot([row.mean], [yy], "o", color=colour, markerfacecolor=colour if clear else "white", markersize=5)
        ax.plot([], [], "o-", color=colour, label=name)
    ax.plot([], [], "o", color="#555555", markerfacecolor="white", label="hollow: the 95% CI includes zero")
    ax.axvline(0, color=STANDARD_COLOUR, linewidth=1)
    for edge in range(len(labels) - 1):
        ax.axhline(edge + 0.5, color="#dddddd", linewidth=0.6)
    ax.set_yticks(list(y_of.values()), list(y_of), fontsize=8)
    ax.set_ylim(-0.5, len(labels) - 0.5)
    style(ax, title, "Difference to the baseline (percent of baseline mean, 95% CI)", "")
    ax.grid(False, axis="y")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.6 / height), ncol=1, frameon=False)
    return fig


def _forest_rows(diffs: pd.DataFrame, title: str) -> plt.Figure:
    """One row per difference, in colour where its interval excludes zero, grey where it does not."""
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(diffs) + 1.5))
    y = np.arange(len(diffs))[::-1]
    for yy, row in zip(y, diffs.itertuples()):
        colour = PALETTE[0] if row.lower > 0 or row.upper < 0 else "#999999"
        ax.plot([row.lower, row.upper], [yy, yy], color=colour, linewidth=2)
        ax.plot([row.mean], [yy], "o", color=colour)
    ax.axvline(0, color=STANDARD_COLOUR, linewidth=1)
    ax.set_yticks(y)
    ax.set_yticklabels(diffs["label"], fontsize=8)
    style(ax, title, "Difference to the baseline (percent of baseline mean, 95% CI)", "")
    return fig


def running_means(series: dict[str, pd.DataFrame], suggested: dict[str, float], title: str) -> plt.Figure:
    """One panel per series: the across-replication mean over time, its cumulative running mean,
    and the suggested warm-up as a vertical line."""
    fig, axes = plt.subplots(len(series), 1, figsize=(7.5, 3.2 * len(series)), squeeze=False)
    for ax, (name, frame) in zip(axes[:, 0], series.items()):
        x = frame.index.to_numpy()
        mean = frame.mean(axis=1).to_numpy()
        ax.plot(x, mean, color=PALETTE[5], linewidth=0.8, label=f"mean of {frame.shape[1]} replications")
        ok = ~np.isnan(mean)
        running = np.full_like(mean, np.nan)
        running[ok] = np.cumsum(mean[ok]) / np.arange(1, ok.sum() + 1)
        ax.plot(x, running, color=PALETTE[0], linewidth=2, label="running mean")
        ax.axvline(suggested.get(name, 0.0), color=PALETTE[3], linestyle="--",
                   label=f"MSER-5 warm-up: {suggested.get(name, 0.0):.0f} days")
        unit = name.rsplit(" (", 1)[-1].rstrip(")") if name.endswith(")") else ""
        in_years = years_axis(ax, float(np.nanmax(x)) if len(x) else 0.0)
        style(ax, name, f"Time since start ({'years' if in_years else 'days'})", unit)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig
