"""A finished sweep's outputs: its tables (:mod:`~icssim.sweep.tables`), plots
(:mod:`~icssim.sweep.plots`), ``metadata.json`` and ``report.html``, written by
:func:`write_outputs`."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import sys
from typing import Any

import pandas as pd

from icssim import __version__
from icssim.errors import IcssimError
from icssim.executors import default_workers
from icssim.output_folder import commit_output, prepare_output
from icssim.report import build_report
from icssim.scenario import provenance
from icssim.sweep.plots import write_plots
from icssim.sweep.tables import atomic_text, check_kpis, points_table, summary, tmp_name, write_runs, write_table
from icssim.tables import RECORD_KEY, table_record


def write_outputs(run, command: str = "") -> dict[str, Any]:
    """Write tables, plots and metadata.json for the runs stored so far."""
    out = run.out
    frame = run.frame()
    unknown = check_kpis(run, frame)
    if unknown:
        raise IcssimError(f"{run.sweep.path}: kpis: not measured by the simulation: {', '.join(unknown)} "
                          f"(runs are saved; fix the name and use --restart, or remove it)")
    everything, frame = frame, designed(run, frame)
    summ = summary(run, frame)
    table = points_table(run, summ)
    write_runs(run, everything, out)
    write_table(summ, out, "summary")
    write_table(table, out, "points", parquet=False)
    shutil.copyfile(run.sweep.path, tmp_name(out / "sweep.yaml"))
    os.replace(tmp_name(out / "sweep.yaml"), out / "sweep.yaml")
    tmp = prepare_output(out / "plots", force=True, check=False)   # this process's own: two writers never share one
    try:
        plots = write_plots(run, summ, tmp, frame, workers=_plot_workers(run))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    commit_output(tmp, out / "plots", force=True, check=False)
    meta = metadata(run, frame, [f"plots/{p.name}" for p in plots], command, stored=len(everything))
    meta[RECORD_KEY] = table_record(out, {"summary": summ, "points": table})   # (what the report reads)
    atomic_text(out / "metadata.json", json.dumps(meta, indent=2, default=str))
    atomic_text(out / "report.html", build_report(out))
    return meta


def designed(run, frame: pd.DataFrame) -> pd.DataFrame:
    """The runs of the sweep's own design: replications 0 to ``replications`` − 1 of each point.
    ``icssim optimise --max-replications`` adds replications to undecided points; the sweep's
    tables and plots compare points on the replications they all have (common random numbers pair
    replication r of every point), so a point is not better or worse for having had more. The
    runs table keeps every run, and optimise.csv weighs the added ones."""
    return frame[frame["replication"] < run.sweep.spec.sweep.replications]


def _plot_workers(run) -> int:
    """As many plot processes as the sweep's local pool had, up to this machine's cores. One after
    a Dask sweep: its workers are elsewhere, and its client's threads may outlive it here, which
    makes forking unsafe."""
    if run.executor_name != "local":
        return 1
    return max(1, min(run.workers, default_workers()))


def _seeding(spec) -> str:
    """How the runs were seeded, in words (see :func:`icssim.sweep.runner.run_seed`)."""
    if not spec.sweep.common_random_numbers:
        return "each point's seed is derived from the sweep seed and the point's content hash"
    if spec.is_psa:
        return ("each parameter draw's seed is derived from the sweep seed and the drawn values; every "
                "strategy runs a draw's replication r with that seed and replication number r")
    return "replication r of every point runs with the sweep seed and replication number r"


def _draws_meta(sweep) -> dict[str, Any] | None:
    """The table of draws a PSA read: file, hash, columns, rows in it and rows used."""
    table = sweep.draws
    if table is None:
        return None
    rows = len(table.rows)
    return {"file": str(table.path), "sha256": table.sha256, "columns": table.columns, "rows": rows,
            "used": sweep.samples,
            "selection": ("every row, in order" if sweep.samples >= rows else
                          "rows chosen without replacement by a generator seeded with the sweep seed, in "
                          "the table's order")}


def _columns_meta(sweep) -> dict[str, dict[str, str]]:
    """Each column of a PSA's table of draws as metadata.json's ``parameters`` records it: where
    its values come from and, when ``draws.labels`` names it, its label, which the report's tables
    show as they show a parameter's; and, when ``draws.also`` gives it some, the key paths it sets
    ``also``, as a parameter's entry lists its own."""
    if sweep.draws is None:
        return {}
    labels = sweep.spec.draws.labels
    return {column: {"draws": f"column of {sweep.draws.path}, row by row",
                     **({"label": labels[column]} if column in labels else {}),
                     **({"also": sweep.tied(column)} if sweep.tied(column) else {})} for column in sweep.draws.columns}


#: metadata.json's earlier names of the :func:`timing` fields (still written, for what reads them)
OLD_TIMING_NAMES = {"runs_now": "runs_this_invocation", "seconds_now": "wall_seconds_this_invocation",
                    "runs_a_minute": "runs_per_minute_this_invocation"}


def timing(run) -> dict[str, Any]:
    """The runs this command made and how fast, named as the terminal says them ("2 run(s) now ...
    in 1.7 s, 70 runs a minute"), and under their earlier names too (:data:`OLD_TIMING_NAMES`)."""
    now = {"runs_now": run.ran_now, "seconds_now": round(run.wall_seconds, 3),
           "runs_a_minute": (round(run.ran_now / run.wall_seconds * 60, 1)
                             if run.wall_seconds > 0 and run.ran_now else None)}
    return {**now, **{old: now[new] for new, old in OLD_TIMING_NAMES.items()}}


def metadata(run, frame: pd.DataFrame, plots: list[str], command: str, stored: int | None = None) -> dict[str, Any]:
    """metadata.json of a sweep whose design's runs are ``frame``, of ``stored`` runs in its store
    (more when optimise added replications; as many when not given)."""
    stored = len(frame) if stored is None else stored
    spec = run.sweep.spec
    expected = len(run.points) * spec.sweep.replications
    sim = float(frame["wall_seconds"].sum()) if "wall_seconds" in frame else 0.0
    return {
        "kind": "sweep",
        "icssim_version": __version__,
        "name": spec.sweep.name,
        "description": spec.sweep.description,
        "sweep_file": str(run.sweep.path),
        "sweep_sha256": run.sweep.sha256,
        "scenarios": {label: {"files": provenance(s).files, "sha256": provenance(s).sha256}
                      for label, s in run.sweep.bases.items()},
        "areas": [a.model_dump() for a in run.sweep.areas] if run.sweep.areas else None,
        "design": spec.design,
        "parameters": {**{path: p.model_dump(exclude_defaults=True) for path, p in spec.parameters.items()},
                       **_columns_meta(run.sweep)},
        "draws": _draws_meta(run.sweep),
        "points": len(run.points),
        "replications": spec.sweep.replications,
        "runs_expected": expected,
        "runs_stored": int(stored),
        "runs_beyond_the_design": int(stored - len(frame)),
        "complete": bool(len(frame) >= expected),
        "seed": spec.sweep.seed,
        "common_random_numbers": spec.sweep.common_random_numbers,
        "seeding": _seeding(spec),
        "level": spec.sweep.level,
        "kpis": spec.kpis,
        "executor": run.executor_name,
        "workers": run.workers,
        # this command's runs, in the terminal's words: "<runs_now> run(s) now on <workers> <executor>
        # worker(s) in <seconds_now> s, <runs_a_minute> runs a minute"
        **timing(run),
        "simulation_seconds_total": round(sim, 3),
        "tables": {"runs": ["runs.csv", "runs.parquet"], "summary": ["summary.csv", "summary.parquet"],
                   "points": ["points.csv"]},
        "plots": plots,
        "store": "sweep.sqlite",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": command,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }
