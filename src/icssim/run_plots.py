"""A single-scenario run's standard plots: which ones a run's folder gets (its waits, its waiting
lists and its cost per year by service, then a dated scenario's calendar plots), as jobs for
:func:`icssim.plots.drawing`, and the data its waiting-list and cost plots draw.

Apart from :mod:`icssim.results`, which writes the folder (its tables, metadata and report) and
hands these jobs to the plot workers, because choosing and drawing a run's plots is a concern of
its own; a comparison's cost plot uses :func:`cost_by_service` too."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from icssim import plots
from icssim.experiments import RunResult
from icssim.kpis import kpi_subjects
from icssim.metrics import patients_frame, timeseries_frame
from icssim.report.labels import service_label, step_names


def run_plot_jobs(result: RunResult, folder: Path, more: Sequence[plots.PlotJob] = (),
                  patients: pd.DataFrame | None = None,
                  colours: dict[str, tuple[str, str]] | None = None) -> list[plots.PlotJob]:
    """What draws each standard plot of a single-scenario run into ``folder``, then ``more`` (a
    dated scenario's), for :func:`plots.drawing` or :func:`plots.save_all`; ``patients`` is the
    run's patient table if it was made already (:func:`icssim.results.run_tables`); ``colours``:
    each service's colour in the cost plot (else by its place in the scenario's services)."""
    from icssim.plots_waits import run_waits

    recs = result.records
    name = result.scenario.scenario.name
    pats = pd.concat([patients_frame(r) for r in recs], ignore_index=True) if patients is None else patients
    waits = run_waits(result, pats)
    colours = colours or plots.service_colours(result.scenario.services)
    return [
        *([(partial(waits.figure, f"{name}: waits (after the warm-up)", f"Wait from {waits.clock} (days)"),
            folder / "wait_ecdf.png")] if waits.any() else []),
        (partial(_waiting_list_plot, result), folder / "waiting_list.png"),
        (lambda: plots.cost_bars(cost_by_service(result), f"{name}: cost per year by service", colours),
         folder / "costs.png"),
        *more,
    ]


def _waiting_list_plot(result: RunResult):
    recs = result.records
    frames = [timeseries_frame(r).set_index("time") for r in recs]
    cols = [c for c in frames[0].columns if c.startswith("waiting_")]
    total = pd.concat([f[cols].sum(axis=1).rename(i) for i, f in enumerate(frames)], axis=1)
    steps = [c for c in cols if frames[0][c].max() > 0]
    top = sorted(steps, key=lambda c: -np.mean([f[c].mean() for f in frames]))[:4]
    series = {"all steps": total}
    for c in top:
        series[c.removeprefix("waiting_")] = pd.concat([f[c].rename(i) for i, f in enumerate(frames)], axis=1)
    warm = recs[0].warmup * recs[0].hours_per_unit / 24
    fig = plots.band_over_time(series, f"{result.scenario.scenario.name}: waiting lists",
                               "Patients waiting (hand-off or queue)",
                               names=step_names(result.scenario, list(series)[1:]))
    if warm > 0:
        fig.axes[0].axvspan(0, warm, color="#eeeeee", zorder=0, label="warm-up (excluded)")
        fig.axes[0].legend(fontsize=8, bbox_to_anchor=(1.01, 1), loc="upper left")
    return fig


def cost_by_service(result: RunResult, label: str | None = None) -> pd.DataFrame:
    """Mean and CI half-width of cost per year per service (long format)."""
    summary = result.summary()
    label = label or result.scenario.scenario.name
    rows = []
    service_kpis = {svc: k for k, svc in kpi_subjects(summary.index, "service").items()}
    for svc in result.scenario.services:
        key = service_kpis.get(svc)
        if key is not None and summary.loc[key, "mean"] > 0:
            rows.append({"scenario": label, "service": service_label(result.scenario, svc), "service_id": svc,
                         "mean": summary.loc[key, "mean"], "half_width": summary.loc[key, "half_width"]})
    total = summary.loc["cost_per_year"]
    df = pd.DataFrame(rows or [{"scenario": label, "service": "none", "service_id": "none", "mean": 0.0,
                                "half_width": np.nan}])
    df["total_mean"], df["total_half_width"] = total["mean"], total["half_width"]
    return df
