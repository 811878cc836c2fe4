"""Write a run's, a comparison's and a warm-up's tables, plots and metadata to a results folder.

Each is written all or nothing through :func:`icssim.output_folder.write_output`; every table
through :mod:`icssim.tables`; a run's plots are chosen and drawn by :mod:`icssim.run_plots`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
import shutil
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import pandas as pd

from icssim import __version__, plots, plots_forest
from icssim.budget import shown_names
from icssim.errors import IcssimError
from icssim.experiments import RunResult, standards_of
from icssim.health.economics import THRESHOLDS, cost_effectiveness, paired_points
from icssim.health.plots import ce_plane
from icssim.kpis import kpi_info
from icssim.metrics import costs_frame, patients_frame, timeseries_frame, visits_frame
from icssim.output_folder import inside, write_output
from icssim.report.labels import kpi_label, kpi_label_among
from icssim.run_plots import cost_by_service, run_plot_jobs
from icssim.scenario import Scenario, provenance
from icssim.scenario.initial_state import resolve_path
from icssim.tables import record_tables, write_csv, write_table

#: Timings: measured, not simulated, so they go to metadata.json and never into a table.
TIMING_KPIS = ("wall_seconds",)


def kpi_table(summary: pd.DataFrame, scenario: Scenario | None = None) -> pd.DataFrame:
    """KPI summary with labels and units, ready to print or write: each label in ``scenario``'s
    words (:func:`~icssim.report.labels.kpi_label`: a standard's, a cohort's, a service's own label;
    without the standard's target, which has a column of its own in reports)."""
    df = summary.copy()
    df.insert(0, "unit", [kpi_info(k).unit for k in df.index])
    df.insert(0, "label", [kpi_label(k, scenario, False) for k in df.index])
    df.index.name = "kpi"
    return df.reset_index()


def metadata(result: RunResult, wall_seconds: float, command: str) -> dict:
    """Everything needed to reproduce and audit a run."""
    prov = provenance(result.scenario)
    events = sum(r.kpis.get("events", 0) for r in result.replications)
    timings = replication_seconds(result)
    sim_seconds = sum(timings)
    return {
        "kind": "run",
        "icssim_version": __version__,
        "scenario": result.scenario.scenario.name,
        "scenario_files": prov.files,
        "scenario_sha256": prov.sha256,
        "seed": result.seed,
        "replications": len(result.replications),
        "time_unit": result.scenario.scenario.time_unit,
        "horizon": str(result.scenario.scenario.horizon),
        "warmup": str(result.scenario.scenario.warmup),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "wall_seconds": round(wall_seconds, 3),
        "simulation_seconds": round(sim_seconds, 3),
        "events_simulated": int(events),
        "events_per_second": round(events / sim_seconds) if sim_seconds else None,
        "replication_wall_seconds": [round(t, 3) for t in timings],
        "command": command,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": _versions(),
        "precision": result.precision or None,
    }


def replication_seconds(result: RunResult) -> list[float]:
    """Each replication's simulation time (seconds), in replication order."""
    return [float(getattr(r, "wall_seconds", None) or r.kpis.get("wall_seconds", 0.0) or 0.0)
            for r in result.replications]


def without_timings(df: pd.DataFrame) -> pd.DataFrame:
    """A KPI table without the timings (:data:`TIMING_KPIS`), whether KPIs are its columns,
    its index or its ``kpi`` column: timings differ between runs of the same seed, and a
    result's tables must be the same to the byte."""
    if "kpi" in df.columns:
        return df[~df["kpi"].isin(TIMING_KPIS)].reset_index(drop=True)
    df = df.drop(columns=[k for k in TIMING_KPIS if k in df.columns])
    return df.drop(index=[k for k in TIMING_KPIS if k in df.index])


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("simpy", "numpy", "scipy", "pandas", "matplotlib", "pydantic"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:  # pragma: no cover
            pass
    return out


def write_run(result: RunResult, out: Path, force: bool = False, wall_seconds: float = 0.0,
              command: str = "", workers: int = 1) -> Path:
    """Write every table, plot and the metadata of ``result`` under ``out`` (the plots on
    ``workers`` processes), all or nothing (:func:`~icssim.output_folder.write_output`:
    :class:`~icssim.output_folder.OutputError` says why and where the results are if they could
    not be written, :class:`~icssim.output_folder.OutputConflict` if another process wrote
    ``out`` meanwhile)."""
    return write_output(out, force, partial(_write_run_files, result, wall_seconds=wall_seconds,
                                            command=command, workers=workers))


def _write_run_files(result: RunResult, folder: Path, wall_seconds: float, command: str,
                     workers: int = 1, colours: dict[str, tuple[str, str]] | None = None) -> None:
    """Write a run's files into ``folder``. The small ones first (the KPI tables, scenario.json,
    metadata.json: what the pathway diagram and the report read); then the large tables, the
    plots and the diagram are written on ``workers`` forked processes while this one writes the
    parameters and the report, which uses the tables from memory rather than reading them back;
    last, metadata.json records every table's rows and size (:func:`~icssim.tables.record_tables`).
    ``colours``: each service's colour in the cost plot (a comparison's, the same in each of its runs)."""
    recs = result.records
    small = {"kpis": kpi_table(without_timings(result.summary()), result.scenario),
             "kpis_by_replication": without_timings(result.kpis).reset_index()}
    for name, df in small.items():
        write_table(df, folder, name, parquet=False)
    inputs = write_scenario(result.scenario, folder)
    meta = metadata(result, wall_seconds, command)
    if inputs:
        meta["input_files"] = inputs
    (folder / "metadata.json").write_text(json.dumps(meta, indent=2, default=str))
    jobs: list[plots.PlotJob] = []
    tables: dict[str, pd.DataFrame] = {}
    if recs:
        from icssim.report.run import DIAGRAM

        tables = run_tables(result)
        (folder / "plots").mkdir()
        dated_plots: list[plots.PlotJob] = []
        start = result.scenario.scenario.start_date
        if start is not None:  # monthly/quarterly KPI tables; the dated plots join the run's others
            from icssim import calendar_plots
            from icssim.calendar_metrics import write_calendar_tables

            small |= write_calendar_tables(result, folder)
            dated_plots = calendar_plots.plot_jobs(result.scenario, recs, small["monthly"],
                                                   standards_of(result.scenario), folder / "plots")
        # the slowest first (the diagram, the patient table, the plots), so the workers finish together
        patients, *other_tables = table_jobs(tables, folder, csv_visits=len(recs) == 1)
        jobs = [(partial(_pathway_figure, folder, tables), folder / "plots" / DIAGRAM), patients,
                *run_plot_jobs(result, folder / "plots", dated_plots, tables["patients"], colours),
                *other_tables]
    from icssim import report

    with plots.drawing(jobs, workers) as written:
        report.write_parameters(result.scenario, folder)
        report.write_report(folder, plots_ready=written, tables=tables)
    record_tables(folder, {**small, **tables, "parameters": None})


def run_tables(result: RunResult) -> dict[str, pd.DataFrame]:
    """The run's large tables by name (``patients``, ``visits`` when visits were recorded,
    ``timeseries``, ``costs``), all replications, with calendar dates when the scenario has a
    start date: what :func:`table_jobs` writes."""
    from icssim.calendar_metrics import with_dates

    recs = result.records
    start = result.scenario.scenario.start_date
    tables = {"patients": with_dates(pd.concat([patients_frame(r) for r in recs], ignore_index=True), start,
                                     {"referral": "referral_date"})}
    visits = [visits_frame(r) for r in recs]
    if all(v is not None for v in visits):
        for r, v in zip(recs, visits):
            v.insert(0, "replication", r.replication)
        tables["visits"] = pd.concat(visits, ignore_index=True)
    ts = pd.concat([timeseries_frame(r).assign(replication=r.replication) for r in recs], ignore_index=True)
    tables["timeseries"] = with_dates(ts, start, {"time": "date"})
    costs = pd.concat([costs_frame(r).assign(replication=r.replication) for r in recs], ignore_index=True)
    tables["costs"] = with_dates(costs, start, {"time": "date"})
    return tables


def table_jobs(tables: dict[str, pd.DataFrame], folder: Path, csv_visits: bool) -> list[plots.PlotJob]:
    """Jobs writing each of ``tables`` as CSV and Parquet, for :func:`plots.drawing`; the visits
    table, one row per step visit and the largest, as CSV only if ``csv_visits`` (a single run)."""
    return [(partial(_write_table_job, tables, name, folder, name != "visits" or csv_visits),
             folder / f"{name}.parquet") for name in tables]


def _write_table_job(tables: dict[str, pd.DataFrame], name: str, folder: Path, csv: bool) -> None:
    write_table(tables[name], folder, name, csv=csv)


def _pathway_figure(folder: Path, tables: dict[str, pd.DataFrame] | None = None):
    """The run report's pathway diagram, drawn from the folder's files and the run's tables (on
    a plot worker)."""
    from icssim.report.pieces import RunData
    from icssim.report.run import pathway_figure

    return pathway_figure(RunData.load(folder, tables=tables))[0]


def write_scenario(scenario: Scenario, folder: Path) -> dict[str, str]:
    """Write ``scenario.json`` (the scenario's data as read) and copy the waiting-list file it
    names, if any, to ``inputs/`` beside it, so that the folder reads back on its own
    (``icssim report``) wherever it is moved. Returns the SHA-256 of each copied file by its
    path in the folder: with the scenario's own, what makes the run reproducible."""
    source = resolve_path(scenario)
    raw = provenance(scenario).raw
    inputs = {}
    if source is not None:
        target = f"inputs/{source.name}"
        (folder / "inputs").mkdir(exist_ok=True)
        shutil.copyfile(source, inside(folder, "inputs", source.name))
        raw = {**raw, "initial_state": {**raw["initial_state"], "file": target}}
        inputs[target] = hashlib.sha256((folder / target).read_bytes()).hexdigest()
    (folder / "scenario.json").write_text(json.dumps(raw, indent=2, default=str))
    return inputs


#: KPIs shown in comparison plots and summaries (when present), in this order.
HEADLINE_KPIS = (
    "wait_to_assessment_median", "wait_to_treatment_median", "wait_to_treatment_p90",
    "uptake_after_referral", "share_intensive_12m", "rejected_referrals_per_year",
    "duplicated_assessments_per_year", "ae_attendances_per_year", "emergency_admissions_per_year",
    "specialist_bed_days_per_year", "share_dropped_out", "cost_per_year", "staff_cost_per_year",
    "qalys_per_person", "deaths_per_1000", "in_remission_2y", "cost_per_person",
)


def write_comparison(comparison, out: Path, force: bool = False, wall_seconds: float = 0.0,
                     command: str = "", workers: int = 1) -> Path:
    """Write each scenario's run folder plus the paired comparison tables and plots (the plots
    on ``workers`` processes, while the reports are built)."""
    from icssim import report

    names = [res.scenario.scenario.name for res in comparison.results]
    check_folder_names(Path(out), names, COMPARISON_FILES)

    # each service one colour in every cost plot of the comparison, its runs' too
    colours = plots.service_colours(svc for res in comparison.results for svc in res.scenario.services)

    def write(tmp: Path) -> None:
        for res in comparison.results:
            _write_run_files(res, _mkdir(inside(tmp, res.scenario.scenario.name)), 0.0, command, workers, colours)
        economics = comparison_economics(comparison)
        by_name = {res.scenario.scenario.name: res.scenario for res in comparison.results}
        small = {"summary": _labelled(without_timings(comparison.summary()), by_name),
                 "differences": _labelled(without_timings(comparison.differences()), by_name),
                 **({"cost_effectiveness": economics} if not economics.empty else {})}
        for name, df in small.items():
            write_table(df, tmp, name, parquet=False)
        jobs = _comparison_plot_jobs(comparison, _mkdir(tmp / "plots"), colours)
        if not economics.empty:
            jobs.append(_ce_plane_job(comparison, economics, tmp / "plots"))
        with plots.drawing(jobs, workers) as plots_drawn:
            meta = metadata(comparison.results[0], wall_seconds, command)
            meta |= {"kind": "compare", "scenarios": comparison.names, "warnings": comparison.warnings,
                     "precision": comparison.precision,
                     "scenario_sha256": {r.scenario.scenario.name: provenance(r.scenario).sha256
                                         for r in comparison.results},
                     "replication_wall_seconds": {r.scenario.scenario.name: replication_seconds(r)
                                                  for r in comparison.results}}
            (tmp / "metadata.json").write_text(json.dumps(meta, indent=2, default=str))
            report.write_report(tmp, plots_ready=plots_drawn)
        record_tables(tmp, small)

    return write_output(out, force, write)


#: What a comparison folder holds besides one folder per scenario: no scenario may be named so.
COMPARISON_FILES = ("plots", "summary.csv", "differences.csv", "cost_effectiveness.csv", "metadata.json",
                    "report.html")


def _kpis_by_name(comparison) -> dict[str, pd.DataFrame]:
    return {res.scenario.scenario.name: res.kpis for res in comparison.results}


def comparison_economics(comparison) -> pd.DataFrame:
    """Cost-effectiveness of each scenario against the first (empty without a health: block)."""
    return cost_effectiveness(_kpis_by_name(comparison), comparison.names[0], THRESHOLDS)


def check_folder_names(out: Path, names: Sequence[str], reserved: Sequence[str] = ()) -> None:
    """Refuse names that cannot each be their own folder inside ``out``: not a single plain
    path component (:func:`inside`), a name of the folder's own files, or two names the same
    (ignoring case, as Windows and macOS do)."""
    seen: dict[str, str] = {}
    taken = {r.lower() for r in reserved}
    for name in names:
        inside(out, name)
        if name.lower() in taken:
            raise IcssimError(f"a scenario named {name!r} cannot have its own folder in {out}: that name is "
                              f"taken by the comparison's own files ({', '.join(reserved)}); rename the scenario")
        if name.lower() in seen:
            raise IcssimError(f"two scenarios are named {seen[name.lower()]!r} and {name!r}: each needs a "
                              "different name (ignoring case) to have its own results folder")
        seen[name.lower()] = name


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _labelled(df: pd.DataFrame, scenarios: dict[str, Scenario] | None = None) -> pd.DataFrame:
    """A comparison's table with labels and units: each row's label as its scenario reads it (a
    difference's as the comparison's views name it, in the words of its baseline and scenario that
    :func:`~icssim.report.labels.words_of` chooses; :func:`~icssim.report.labels.kpi_label`, without
    a standard's target), given ``scenarios`` by name."""
    df = df.copy()
    scenarios = scenarios or {}
    scen = df["scenario"] if "scenario" in df else [None] * len(df)
    whose = ([[scenarios.get(str(b)), scenarios.get(str(n))] for b, n in zip(df["baseline"], scen)]
             if "baseline" in df else [[scenarios.get(str(n))] for n in scen])
    df.insert(1, "unit", [kpi_info(k).unit for k in df["kpi"]])
    df.insert(1, "label", [kpi_label_among(k, pair, False) for k, pair in zip(df["kpi"], whose)])
    return df


def _ce_plane_job(comparison, economics: pd.DataFrame, folder: Path) -> plots.PlotJob:
    """What draws a comparison's cost-effectiveness plane into ``folder``."""
    shown, baseline = shown_names(comparison.names), comparison.names[0]
    points = {shown[name]: p for name, p in paired_points(_kpis_by_name(comparison), baseline).items()}
    return (partial(ce_plane, points, economics.assign(scenario=economics["scenario"].map(shown)), baseline,
                    THRESHOLDS, list(shown.values())), folder / "ce_plane.png")


def _comparison_plot_jobs(comparison, folder: Path,
                          colours: dict[str, tuple[str, str]] | None = None) -> list[plots.PlotJob]:
    """What draws each of a comparison's own plots into ``folder``; ``colours``: each service's
    colour in the cost plot (:func:`plots.service_colours`)."""
    from icssim.plots_waits import comparison_waits
    from icssim.report.labels import in_sentence, kpi_label_among, wait_words
    from icssim.report.run_text import featured_or

    first = comparison.results[0].scenario
    known = [r.scenario for r in comparison.results]   # (the baseline first)
    headline = featured_or(first, HEADLINE_KPIS)  # the scenario's own featured measures first
    diffs = comparison.differences()
    diffs = diffs[diffs["kpi"].isin(headline) & diffs["pct_mean"].notna()].copy()
    diffs["order"] = diffs["kpi"].map({k: i for i, k in enumerate(headline)})
    diffs["scenario_order"] = diffs["scenario"].map({name: i for i, name in enumerate(comparison.names)})
    diffs = diffs.sort_values(["scenario_order", "order"])
    shown = shown_names(comparison.names)
    diffs["label"] = [kpi_label_among(k, known, False) for k in diffs["kpi"]]   # (one name a measure: every row's)
    diffs["unit"] = [kpi_info(k).unit for k in diffs["kpi"]]   # shares are drawn in percentage points
    diffs["scenario"] = diffs["scenario"].map(shown)
    diffs = diffs.rename(columns={"pct_mean": "mean", "pct_lower": "lower", "pct_upper": "upper"})
    title = f"Change against {comparison.names[0]} (paired, common random numbers)"
    order = [shown[name] for name in comparison.names]   # each scenario's colour: its place in the comparison
    waits = comparison_waits(comparison, shown)
    start, _, treatment = wait_words(first)   # the generic wait in the baseline's words (report.waits)
    wait_to = f"{in_sentence(start)} to"
    costs = pd.concat([cost_by_service(r, shown[r.scenario.scenario.name]) for r in comparison.results],
                      ignore_index=True)
    columns = ["label", "scenario", "mean", "lower", "upper", "unit", "baseline_mean", "diff_mean", "diff_lower",
               "diff_upper"]
    return [
        (partial(plots_forest.forest, diffs[columns], title, order), folder / "forest.png"),
        *([(partial(waits.figure, f"Wait from {wait_to} {treatment}, by scenario",
                    f"Wait from {wait_to} {treatment} (days)", order[0]),
            folder / "wait_ecdf.png")] if waits.any() else []),
        (partial(plots.cost_bars, costs, "Cost per year by service, by scenario\n"
                 "(staffed teams at their establishment, other care at unit costs)", colours),
         folder / "costs.png"),
    ]


def write_warmup(diagnostic, name: str, out: Path, force: bool = False, result: RunResult | None = None,
                 wall_seconds: float = 0.0, command: str = "") -> Path:
    """Write the warm-up plot, the suggested lengths and each series' and waiting list's trend after
    them, and (given the ``result`` they come from) metadata.json: the seed, scenario and version
    that reproduce them, as every result folder records."""
    def write(tmp: Path) -> None:
        if result is not None:
            meta = metadata(result, wall_seconds, command) | {
                "kind": "warmup", "suggested_warmup_days": round(float(diagnostic.overall_days), 1)}
            (tmp / "metadata.json").write_text(json.dumps(meta, indent=2, default=str))
        fig = plots.running_means(diagnostic.series, diagnostic.suggested_days,
                                  f"{name}: warm-up diagnostic (MSER-5)")
        plots.save(fig, tmp / "warmup.png")
        rows = [{"series": name, "suggested_warmup_days": diagnostic.suggested_days.get(name),
                 "trend_per_year": t.per_year, "trend_low": t.low, "trend_high": t.high, "settles": t.settles}
                for name, t in diagnostic.trends.items()]
        write_csv(table := pd.DataFrame(rows), tmp / "warmup.csv")
        record_tables(tmp, {"warmup": table})   # (with metadata.json, i.e. given the result)

    return write_output(out, force, write)
