"""Plots over calendar dates, in the house style of :mod:`icssim.plots`: the waiting list's
trajectory with its CI band, and monthly performance against each waiting-time standard."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pandas as pd

from icssim import plots
from icssim.calendar_metrics import waiting_trajectory
from icssim.intervals import half_width
from icssim.kinds import KINDS
from icssim.plots import PALETTE, STANDARD_COLOUR, plt, style


def _date_axis(ax) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def waiting_list_plot(series: dict[str, pd.DataFrame], title: str,
                      ylabel: str = "Patients waiting (referred, treatment not started)",
                      events: list[tuple[pd.Timestamp, str]] | None = None) -> plt.Figure:
    """Mean waiting list over dates with a 95% CI band across replications (one column per replication).

    ``events`` (date, label) are drawn as thin vertical lines, e.g. the dates of a staffing plan."""
    fig, ax = plt.subplots(figsize=(8, 4.4))
    for i, (label, frame) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        x = frame.index
        values = frame.to_numpy(dtype=float)
        mean = values.mean(axis=1)
        ax.plot(x, mean, color=colour, label=f"{label}: mean")
        n = values.shape[1]
        if n > 1:
            half = half_width(values.std(axis=1, ddof=1), n)
            ax.fill_between(x, np.maximum(mean - half, 0.0), mean + half, color=colour, alpha=0.25, linewidth=0,
                            label=f"{label}: 95% CI ({n} replications)")
    for when, text in events or []:
        ax.axvline(when, color=STANDARD_COLOUR, linestyle=":", linewidth=0.9)
        if text:
            ax.text(when, 0.02, f" {text}", rotation=90, va="bottom", ha="right", fontsize=7,
                    color=STANDARD_COLOUR, transform=ax.get_xaxis_transform())
    ax.set_ylim(bottom=0)
    style(ax, title, "Date", ylabel)
    _date_axis(ax)
    # below the axes: inside them it hid the peaks of the curves it names
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    return fig


def monthly_performance(monthly: pd.DataFrame, standards: dict[str, tuple], targets: dict[str, float],
                        title: str, labels: dict[str, str] | None = None) -> plt.Figure:
    """Monthly share within each standard (mean and 95% CI) against the standard's target; a
    standard is named by its ``labels`` entry (the scenario's own label) where it has one."""
    labels = labels or {}
    fig, ax = plt.subplots(figsize=(9.5, 4.4))
    for i, name in enumerate(standards):
        rows = monthly[monthly["kpi"] == f"within_{name}"]
        if rows.empty:
            continue
        colour = PALETTE[i % len(PALETTE)]
        x = pd.to_datetime(rows["start"]).to_numpy()
        days, urgency, measure, *rest = standards[name]
        what = "treatment" if measure == "referral_to_treatment" else "assessment"
        who = " ".join(x for x in (rest[0] if rest else None, urgency) if x)
        label = labels.get(name) or f"{name}: {who + ' ' if who else ''}{what} within {days:g} days"
        ax.plot(x, rows["mean"], color=colour, marker="o", markersize=3, label=label)
        if rows["n"].max() > 1:
            ax.fill_between(x, rows["lower"].clip(0, 1), rows["upper"].clip(0, 1), color=colour, alpha=0.25,
                            linewidth=0,
                            label=f"{labels.get(name, name)}: 95% CI ({int(rows['n'].max())} replications)")
    shared = set(targets.values())
    for i, name in enumerate(standards):
        if name not in targets:
            continue
        if len(shared) == 1:  # one target for all: one reference line
            ax.axhline(targets[name], color=STANDARD_COLOUR, linestyle="--", linewidth=1,
                       label=f"target {targets[name]:.0%}")
            break
        ax.axhline(targets[name], color=PALETTE[i % len(PALETTE)], linestyle="--", linewidth=1,
                   label=f"{labels.get(name, name)}: target {targets[name]:.0%}")
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    style(ax, title, "Month", "Share of waits within the standard")
    _date_axis(ax)
    ax.legend(fontsize=8, bbox_to_anchor=(1.01, 1), loc="upper left")
    return fig


def plot_jobs(scenario, records, monthly: pd.DataFrame, standards, folder: Path) -> list[plots.PlotJob]:
    """What draws ``waiting_list_dates.png`` and (when the scenario has standards)
    ``monthly_performance.png``, for :func:`plots.drawing`: the waiting-list trajectories are
    computed where the plot is drawn, on a worker when there are several."""
    name = scenario.scenario.name
    jobs: list[plots.PlotJob] = [(partial(_waiting_list_dates, scenario, records),
                                  folder / "waiting_list_dates.png")]
    if standards:
        targets = {n: std.target for n, std in scenario.scenario.standards.items()}
        labels = {n: std.label for n, std in scenario.scenario.standards.items() if std.label}
        jobs.append((partial(monthly_performance, monthly, standards, targets,
                             f"{name}: monthly performance against the standards", labels),
                     folder / "monthly_performance.png"))
    return jobs


def _waiting_list_dates(scenario, records) -> plt.Figure:
    """The waiting lists (for treatment, when the pathway has one, and for assessment) over
    dates, with a line at each date of the capacity plan labelled with its notes."""
    name = scenario.scenario.name
    start = scenario.scenario.start_date
    has_treatment = any(KINDS[st.kind].treatment_list for st in scenario.pathway.steps.values())
    series = {}
    if has_treatment:
        series["waiting for treatment"] = waiting_trajectory(records, start, until="treat_start")
    series["waiting for assessment"] = waiting_trajectory(records, start, until="assess_start")
    by_date: dict[pd.Timestamp, list[str]] = {}
    for ch in scenario.capacity_plan:  # one line per date, labelled with the notes given
        when = pd.Timestamp(ch.date if ch.date is not None else start + pd.Timedelta(days=ch.at.to("days")))
        by_date.setdefault(when, [])
        if ch.note:
            by_date[when].append(ch.note)
    events = [(when, "; ".join(notes)) for when, notes in by_date.items()]
    return waiting_list_plot(series, f"{name}: waiting list from {start:%d %b %Y}",
                             "Patients waiting (referral clock running)", events)
