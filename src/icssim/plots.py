"""Plots with one house style: labelled axes with units, colour-blind-safe colours,
confidence bands wherever there are replications, standards drawn as reference lines.

Every function takes tidy data frames (never records or scenarios) and returns a
matplotlib ``Figure``; :func:`save` writes it as PNG.
"""

from __future__ import annotations

import multiprocessing
import re
import signal
import sys
import textwrap
from collections.abc import Callable, Iterable, Iterator, Sequence
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
#: Colours of services' costs: the palette without black (a total's whisker is black).
SERVICE_PALETTE = [c for c in PALETTE if c != "#000000"]
SERVICE_HATCHES = ("", "//", "..", "xx")


def scenario_colour(position: int) -> str:
    """The colour of a comparison's scenario in every plot of the comparison, by its position in it
    (0: the baseline, 1: the first scenario compared with it, ...): a plot that leaves the baseline
    out (the forest plot, the cost-effectiveness plane) still gives each scenario this colour."""
    return PALETTE[position % len(PALETTE)]


def scenario_positions(names: Sequence[str], order: Sequence[str] | None) -> dict[str, int]:
    """Each of ``names``' position in the comparison: in ``order`` (all its scenarios, the baseline
    first) where given, else as the scenarios after a baseline that ``names`` leave out."""
    order = list(order or [])
    return {name: order.index(name) if name in order else k + 1 for k, name in enumerate(names)}


def service_colours(services: Iterable[str]) -> dict[str, tuple[str, str]]:
    """(colour, hatch) of each service's cost, by its position among ``services`` (a scenario's
    services, or the services of a comparison's scenarios in their order, the baseline's first):
    the same in a run's plot and in its comparison's, given the same list; past the palette, hatched."""
    out: dict[str, tuple[str, str]] = {}
    for service in services:
        if service not in out:
            i = len(out)
            out[service] = (SERVICE_PALETTE[i % len(SERVICE_PALETTE)],
                            SERVICE_HATCHES[(i // len(SERVICE_PALETTE)) % len(SERVICE_HATCHES)])
    return out


def wrap_name(name: str, width: int = 18) -> str:
    """``name`` on lines of at most ``width`` characters, broken at spaces or after underscores,
    never inside a word: ``urgent_mh_fragmented`` → ``urgent_mh_`` / ``fragmented`` (a word
    longer than ``width`` keeps a line of its own)."""
    pieces = [m for m in re.findall(r"[^ _]*[ _]*", name) if m]   # each word with what follows it
    lines: list[str] = []
    line = ""
    for piece in pieces:
        if line and len((line + piece).rstrip()) > width:
            lines.append(line.rstrip())
            line = ""
        line += piece
    if line.strip():
        lines.append(line.rstrip())
    return "\n".join(lines)


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

        try:
            yield drawn
            drawn()
        except BaseException:  # Ctrl-C or an error here: the plots not begun are not drawn
            pool.shutdown(wait=True, cancel_futures=True)
            raise


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
    """(A worker's initializer.) The jobs, and Ctrl-C left to the process that forked the worker: a
    terminal sends it to every process of the command, and a worker stopped by it broke the pool,
    which the command then took for a bug in icssim (exit 70) instead of an interrupt."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _JOBS[:] = jobs


def _save_job_number(i: int) -> Path:
    return _save_job(_JOBS[i])


def _words(name: str) -> str:
    """A standard's or service's id in words: ``cyp_urgent_1_week`` → ``CYP urgent 1 week``."""
    from icssim.report.labels import id_words

    return id_words(name)


def legend_under_label(ax: plt.Axes, notes: Sequence[str] = (), ncol: int = 1) -> None:
    """``notes`` (lines of small print: what the plot leaves out, how to read it) under the axes' x
    label, then the legend under them, however long each is."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]  # (Agg's: these figures are drawn on it)
    fig.canvas.draw()
    box = ax.xaxis.get_tightbbox(renderer)
    y = ax.transAxes.inverted().transform((0, box.y0))[1] if box is not None else -0.16
    if notes:
        text = ax.text(0.0, y - 0.01, "\n".join(textwrap.fill(n, 105, break_on_hyphens=False) for n in notes),
                       transform=ax.transAxes, ha="left", va="top", fontsize=7.5, color="#333333")
        y = ax.transAxes.inverted().transform((0, text.get_window_extent(renderer).y0))[1]
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, y - 0.01), ncol=ncol, frameon=False)


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


def sampling_note(x: np.ndarray, in_days: bool = True) -> str:
    """What a line of counts over time leaves out, for its title: the counts are snapshots
    taken every so often (``scenario.sample_every``; by default a 400th of the horizon, at least a
    week), so a peak that comes and goes between two of them is not drawn ("" for fewer than three
    points or a time axis not in days)."""
    if not in_days or len(x) < 3:
        return ""
    steps = np.diff(np.asarray(x, dtype=float))
    step = float(np.median(steps))
    if not step > 0:
        return ""
    if step < 1:
        hours = step * 24
        every = f"{hours:.3g} hours" if abs(hours - 1) > 1e-9 else "hour"
    else:
        every = f"{step:.3g} days" if abs(step - 1) > 1e-9 else "day"
    return f"\n(counted every {every}: a peak between two counts is not shown)"


def band_over_time(series: dict[str, pd.DataFrame], title: str, ylabel: str,
                   xlabel: str = "Time since start (days)", reference: float | None = None,
                   reference_label: str = "", names: dict[str, str] | None = None) -> plt.Figure:
    """Mean line with a 95% CI band across replications.

    Each frame has a ``time`` column (or index) and one column per replication. ``names``: the
    legend entry of each series in people's words (a step's label for its id, as
    :func:`icssim.report.labels.step_names` gives them); a series not in it keeps its key. The
    axis label says how often the counts were taken (:func:`sampling_note`).
    """
    names = names or {}
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    last = 0.0
    for i, (label, frame) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        x = frame.index.to_numpy()
        values = frame.to_numpy(dtype=float)
        mean = values.mean(axis=1)
        ax.plot(x, mean, color=colour, label=names.get(label, label))
        n = values.shape[1]
        last = max(last, float(np.nanmax(x))) if len(x) else last
        if n > 1:
            half = half_width(values.std(axis=1, ddof=1), n)
            low = mean - half
            if np.nanmin(values) >= 0:  # counts: the band stops at zero
                low = np.maximum(low, 0.0)
            ax.fill_between(x, low, mean + half, color=colour, alpha=0.25, linewidth=0)
    every = sampling_note(next(iter(series.values())).index.to_numpy() if series else np.array([]),
                          "(days)" in xlabel)
    if "(days)" in xlabel and years_axis(ax, last):
        xlabel = xlabel.replace("(days)", "(years)")
    if reference is not None:
        ax.axhline(reference, color=STANDARD_COLOUR, linestyle="--", linewidth=1, label=reference_label)
    n = next(iter(series.values())).shape[1] if series else 0
    if n > 1:
        title += f"\n(lines: mean of {n} replications; shaded: 95% CI)"
    style(ax, title + every, xlabel, ylabel)
    ax.legend(fontsize=8, bbox_to_anchor=(1.01, 1), loc="upper left")
    return fig


def cost_bars(costs: pd.DataFrame, title: str, colours: dict[str, tuple[str, str]] | None = None) -> plt.Figure:
    """Stacked cost per year by service (rows: scenarios; columns: services) with CI whiskers.

    ``costs`` has columns ``scenario``, ``service`` (its label), ``mean``, ``half_width``,
    ``total_mean``, ``total_half_width`` and, optionally, ``service_id``: a service is one layer
    and one legend entry by its id, named by each label the scenarios give it. ``colours``
    (:func:`service_colours`, by id, or by label without ids) keeps each service's colour and place
    in the stack the same in every cost plot of a run and its comparison; without it, services
    take their colours in the order they first appear in ``costs``."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    key = "service_id" if "service_id" in costs else "service"
    order = list(dict.fromkeys(costs["scenario"]))
    services = list(dict.fromkeys(costs[key]))
    colours = service_colours([*(colours or {}), *services]) | dict(colours or {})
    rank = {s: i for i, s in enumerate(colours)}
    services.sort(key=rank.__getitem__)   # stacked in the scenario's (the comparison's) order of services
    wide = (costs.pivot_table(index="scenario", columns=key, values="mean", aggfunc="sum")
            .reindex(index=order, columns=services).fillna(0.0) / 1e6)
    bottom = np.zeros(len(wide))
    handles: list[Any] = []  # (the bars, then the whisker of the total)
    for service in services:
        if not wide[service].any():
            continue   # nothing to draw (a service that only holds the course of illness's contacts): no legend entry
        colour, hatch = colours[service]
        handles.append(ax.bar(range(len(order)), wide[service], bottom=bottom, color=colour, hatch=hatch or None,
                              edgecolor="white" if hatch else None, linewidth=0, width=0.6,
                              label=_service_name(costs[costs[key] == service])))
        bottom += wide[service].to_numpy()
    totals = costs.groupby("scenario", sort=False).agg(total=("total_mean", "first"),
                                                        half=("total_half_width", "first")).loc[order]
    handles.reverse()   # the legend reads top to bottom, as the stack does
    if totals["half"].notna().any():
        handles.append(ax.errorbar(range(len(order)), totals["total"] / 1e6, yerr=totals["half"].fillna(0) / 1e6,
                                   fmt="none", ecolor="black", capsize=5, label="total: 95% CI"))
    style(ax, title, "Scenario", "Cost (£ million a year)")
    ax.grid(False, axis="x")   # (scenarios are categories)
    ax.set_xticks(range(len(order)), [wrap_name(name) for name in order])  # long names side by side
    ax.legend(handles=handles, fontsize=8, bbox_to_anchor=(1.01, 1), loc="upper left")
    return fig


def _service_name(rows: pd.DataFrame) -> str:
    """One service's legend entry: its label, or, where the scenarios label it differently (a team
    replaced by another in the same place), each label with the scenarios that give it."""
    labels: dict[str, list[str]] = {}
    for row in rows.itertuples():
        labels.setdefault(_words(str(row.service)), []).append(str(row.scenario))
    if len(labels) == 1:
        return textwrap.fill(next(iter(labels)), 48)
    return "\n".join(textwrap.fill(f"{label} (in {', '.join(names)})", 48, subsequent_indent="  ")
                     for label, names in labels.items())


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
