"""Run a sweep: resume from the store (:mod:`icssim.sweep.resume`), estimate and confirm, execute,
commit each run as it ends.

Order of work, so a refused or failed start leaves nothing half-written: load and
validate the sweep and every point; inspect (never change) an existing output
folder; connect the executor; start the runs, and take the first to finish as the pilot
that estimates the time; only then create (or replace, with ``restart``) the store and
keep the rest.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from icssim import __version__
from icssim.errors import IcssimError
from icssim.estimate import format_duration, go_on_or_refuse
from icssim.executor_base import default_workers
from icssim.executors import Executor
from icssim.output_folder import check_holder, inside, result_kind
from icssim.scenario.size_checks import engine_name, patients_per_second
from icssim.sweep.design import Point, design_points, validate_points
from icssim.sweep.executors import SweepExecutor, Task, make_executor
from icssim.sweep.resume import differences, fingerprint, read_done, read_fingerprint, stored_name
from icssim.sweep.spec import Sweep, load_sweep
from icssim.sweep.store import STORE_NAME, Store

DEFAULT_BUDGET_SECONDS = 15 * 60
OUTPUT_NAMES = ("runs.csv", "runs.parquet", "summary.csv", "summary.parquet", "points.csv", "metadata.json",
                "optimise.json", "optimise.csv", "plots", "sweep.yaml", "report.html")

Log = Callable[[str], None]


@dataclass
class SweepRun:
    """A sweep's definition, its points, and its results store."""

    sweep: Sweep
    points: list[Point]
    out: Path
    fingerprint: dict[str, Any]
    done: set[tuple[int, int]] = field(default_factory=set)
    store: Store | None = None
    executor_name: str = ""
    workers: int = 0
    wall_seconds: float = 0.0
    ran_now: int = 0

    @property
    def replications(self) -> int:
        return self.sweep.spec.sweep.replications

    def total(self) -> int:
        return len(self.points) * self.replications

    def frame(self) -> pd.DataFrame:
        return self.store.frame()


def run_seed(sweep: Sweep, point: Point) -> int:
    """The seed of every replication of ``point``.

    With common random numbers (the default) every point uses the sweep's seed, so
    replication r of every point sees the same arrivals and attributes and differences
    between points are not noise; in a PSA (``design: psa`` or ``sobol``) the points of one
    parameter draw share a seed derived from the drawn values (:func:`icssim.sweep.draws.draw_seed`),
    so the strategies are compared on common random numbers but each draw has its own noise.
    Otherwise each point's seed is derived from the sweep seed and the point's content hash.
    """
    seed = sweep.spec.sweep.seed
    if sweep.spec.sweep.common_random_numbers and sweep.spec.is_psa:
        from icssim.sweep.draws import draw_seed  # scipy: loaded only for a PSA

        return draw_seed(seed, point.values)
    if sweep.spec.sweep.common_random_numbers:
        return seed
    digest = int(hashlib.sha256(f"{seed}:{point.key}".encode()).hexdigest()[:8], 16)
    return int(np.random.SeedSequence([seed, digest]).generate_state(1)[0])


def prepare(path: str | Path, out: Path | None = None, restart: bool = False,
            size_check: Callable[[SweepRun], None] | None = None) -> SweepRun:
    """Load and validate the sweep; check (without changing) its output folder. ``size_check``
    (e.g. :class:`RoughSize`) sees the run before its points are validated, which takes minutes
    for a design of 100,000 points."""
    sweep = load_sweep(path)
    points = design_points(sweep)
    run = _with_folder(sweep, points, out, restart)
    if size_check is not None:
        size_check(run)
    validate_points(sweep, points)
    return run


def _with_folder(sweep: Sweep, points: list[Point], out: Path | None, restart: bool) -> SweepRun:
    """The run of ``points`` into ``out`` (checked, not changed), with the runs already stored there."""
    out = Path(out) if out is not None else inside(Path("results"), sweep.name)
    if out.name in ("", ".", ".."):
        raise IcssimError(f"{out} does not name a sweep's output folder: give --out a folder name")
    check_holder(out)
    run = SweepRun(sweep, points, out, fingerprint(sweep))
    store_path = out / STORE_NAME
    if out.exists() and not out.is_dir():
        raise IcssimError(f"{out} exists and is not a folder")
    kind = result_kind(out) if out.is_dir() else None
    if kind not in (None, "sweep"):
        raise IcssimError(f"{out} is a {kind} folder, not a sweep's: refusing to write a sweep into it"
                          f"{' or delete it with --restart' if restart else ''}; choose another --out")
    other = stored_name(out) if kind == "sweep" or store_path.exists() else None
    if other is not None and other != sweep.name:
        # another sweep's results, not this one's earlier ones: --restart would delete them
        raise IcssimError(f"{out} holds the results of a different sweep, {other!r}, not of {sweep.name!r}: "
                          "refusing to write into it or to delete it"
                          f"{' with --restart' if restart else ''}; choose another --out")
    if store_path.exists():
        old = read_fingerprint(store_path)
        if not restart:
            changed = differences(old, run.fingerprint)
            if changed:
                raise IcssimError(
                    f"{out} holds results of a different sweep: {changed} since it was started. "
                    f"Pass --restart to discard those results and start again, or --out for a new folder")
            run.done = read_done(store_path)
    elif out.exists() and any(out.iterdir()) and not restart:
        raise IcssimError(f"{out} already exists and is not a sweep output folder: choose another --out")
    elif out.exists() and any(out.iterdir()) and restart and kind != "sweep":
        raise IcssimError(f"{out} is not a sweep output folder (no {STORE_NAME}, no metadata.json of a sweep); "
                          "refusing to delete anything in it with --restart")
    return run


def sweep(path: str | Path, out: Path | None = None, workers: int | None = None, dask: str | None = None,
          restart: bool = False, quiet: bool = True, yes: bool = True) -> SweepRun:
    """Run (or resume) a sweep and write its outputs: the Python twin of ``icssim sweep``.

    Returns the :class:`SweepRun`; its results are in ``run.out`` (``summary.parquet`` ...).
    """
    from icssim.sweep.outputs import write_outputs

    run = prepare(path, out, restart)
    try:
        execute(run, workers, dask, restart, yes=yes, budget=None, quiet=quiet)
        write_outputs(run)
    finally:
        if run.store is not None:
            run.store.close()
    return run


def tasks_for(run: SweepRun, pairs: Iterable[tuple[int, int]]) -> Iterator[Task]:
    """The tasks of ``pairs``, each made (with its scenario data) only when the executor takes it."""
    by_index = {p.index: p for p in run.points}
    for i, r in pairs:
        p = by_index[i]
        yield Task(p.index, r, run_seed(run.sweep, p), p.key, p.raw)


def missing(run: SweepRun, replications: int | None = None) -> list[tuple[int, int]]:
    """(point, replication) pairs not yet in the store, replication-major so that early
    results cover every point."""
    reps = replications or run.replications
    return [(p.index, r) for r in range(reps) for p in run.points if (p.index, r) not in run.done]


def execute(run: SweepRun, workers: int | None = None, dask: str | None = None, restart: bool = False,
            yes: bool = False, budget: float | None = DEFAULT_BUDGET_SECONDS, quiet: bool = False,
            log: Log | None = None, command: str = "", executor=None,
            more: Callable[[SweepRun], list[tuple[int, int]]] | None = None,
            check: Callable[[list[str]], None] | None = None) -> SweepRun:
    """Run every missing (point, replication) of ``run`` and keep each result as it finishes.

    ``more`` (used by the optimiser) is asked for further pairs to run once the design
    is complete, until it returns none. ``check`` is given the KPI names of the first
    run (before anything is written) to refuse unknown names early.
    """
    log = log or (lambda msg: None if quiet else print(msg, file=sys.stderr))
    todo = missing(run)
    own = executor is None
    if own:
        executor = make_executor(workers, dask)
    elif isinstance(executor, Executor):   # a command's own executor, shared with its other work
        executor = SweepExecutor(executor)
    run.executor_name, run.workers = executor.name, executor.workers
    started = time.perf_counter()
    results = None
    try:
        pilot = spp = None
        if todo:
            if run.done and not restart:
                spp = _stored_seconds_per_patient(run)
            if spp is None:
                # the pilot is the first run to finish on the executor, which meanwhile runs the
                # next ones on its other workers: estimating the time leaves no worker idle
                results = executor.run(tasks_for(run, todo))
                pilot = next(results)
                spp = pilot["wall_seconds"] / max(run.points[pilot["point"]].expected_patients, 1.0)
        _check_names(run, list(pilot["kpis"]) if pilot is not None else _stored_kpi_names(run), check)
        if todo:
            _confirm(run, todo, spp, executor, budget, yes, log)
        store = _open_store(run, restart, command)
        if pilot is not None and store.add(pilot):
            run.ran_now += 1
        run.done = store.done()
        if results is not None:   # the pilot's fellow runs, already under way
            _collect(run, results, len(todo) - 1, quiet)
        else:
            _run_pairs(run, missing(run), executor, quiet)
        while more is not None:
            extra = [pair for pair in more(run) if pair not in run.done]
            if not extra:
                break
            _run_pairs(run, extra, executor, quiet)
    finally:
        run.wall_seconds = time.perf_counter() - started
        if results is not None:
            results.close()   # after a refusal or an error: submit nothing more
        if own:
            executor.close()
    return run


def _check_names(run: SweepRun, names: list[str] | None, check: Callable[[list[str]], None] | None) -> None:
    """Refuse unknown KPI names in the sweep file (and ``check`` them) before anything is written."""
    if names:
        check_kpi_names(run, names)
        if check is not None:
            check(names)


def _open_store(run: SweepRun, restart: bool, command: str) -> Store:
    """Make the output folder (emptied first with ``restart``), open its store and write its metadata."""
    if restart and run.out.exists():
        _clear(run.out)
        run.done = set()
    run.out.mkdir(parents=True, exist_ok=True)
    run.store = Store(run.out)
    _write_meta(run, command)
    return run.store


def _run_pairs(run: SweepRun, pairs: list[tuple[int, int]], executor, quiet: bool) -> None:
    if pairs:
        _collect(run, executor.run(tasks_for(run, pairs)), len(pairs), quiet)


def _collect(run: SweepRun, results: Iterator[dict[str, Any]], count: int, quiet: bool) -> None:
    """Store each of ``count`` results as it arrives, with a progress bar over the whole sweep."""
    total = len(run.done) + count
    with tqdm(total=total, initial=len(run.done), unit="run", desc=run.sweep.name, disable=quiet,
              file=sys.stderr, dynamic_ncols=True, smoothing=0.1) as bar:
        for result in results:
            if run.store.add(result):
                run.ran_now += 1
            run.done.add((result["point"], result["replication"]))
            bar.update(1)


def check_kpi_names(run: SweepRun, names: list[str]) -> None:
    """Refuse KPIs in the sweep file that the simulation does not measure."""
    unknown = []
    for k in run.sweep.spec.kpis:
        if k not in names:
            near = difflib.get_close_matches(k, names, n=1)
            unknown.append(f"{k!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
    if unknown:
        raise IcssimError(f"{run.sweep.path}: kpis: not measured by the simulation: {', '.join(unknown)}; "
                          f"KPIs measured: {', '.join(names)}")


def _stored_kpi_names(run: SweepRun) -> list[str] | None:
    if run.done and (run.out / STORE_NAME).exists():
        store = Store(run.out)
        try:
            row = store.db.execute("SELECT kpis FROM runs LIMIT 1").fetchone()
        finally:
            store.close()
        if row:
            return list(json.loads(row[0]))
    return None


def _stored_seconds_per_patient(run: SweepRun) -> float | None:
    expected = {p.index: p.expected_patients for p in run.points}
    store = Store(run.out)
    try:
        return store.seconds_per_patient(expected)
    finally:
        store.close()


def _confirm(run: SweepRun, todo: list[tuple[int, int]], spp: float, executor, budget: float | None,
             yes: bool, log: Log) -> None:
    seconds = _patients(run, todo) * spp / max(executor.workers, 1)
    where = f"{executor.workers} {executor.name} worker{'s' if executor.workers != 1 else ''}"
    message = f"{_to_do(run, todo)} on {where}: about {format_duration(seconds)}"
    log(message)
    if budget is None or seconds <= budget or yes:
        return
    _over_budget(message, seconds, budget, logged=True)


def _patients(run: SweepRun, todo: list[tuple[int, int]]) -> float:
    by_index = {p.index: p for p in run.points}
    return sum(by_index[i].expected_patients for i, _ in todo)


def _to_do(run: SweepRun, todo: list[tuple[int, int]]) -> str:
    return (f"{len(todo):,} run(s) to do ({len(run.points):,} points x {run.replications} replications, "
            f"{len(run.done):,} already stored)")


def _over_budget(message: str, seconds: float, budget: float, logged: bool) -> None:
    """Ask (at a terminal) or refuse: the estimate is over the budget. ``logged``: ``message`` was printed."""
    over = f"the estimate ({format_duration(seconds)}) is more than the time budget ({format_duration(budget)})"
    go_on_or_refuse(f"{over if logged else message + '; ' + over}. Run it?", f"{message}; {over}. Pass --yes to "
                    "run it anyway, --budget to allow more time, or make the design smaller (nothing was written)")


class RoughSize:
    """A first look at a sweep's size, before its points are validated (:func:`prepare`): validating
    takes a few milliseconds a point, so a PSA of 100,000 draws would keep the user waiting minutes
    only to hear, after a pilot run, that it is too big. The estimate here is rough (each point's
    base scenario's expected patients at :func:`patients_per_second` a worker), so it refuses (or
    asks) only a design more than :attr:`MARGIN` times over the budget; nearer it, the pilot run's
    estimate decides (:func:`execute`). ``confirmed`` says whether to run without asking again."""

    #: how far over the budget the rough estimate must be to refuse before validating
    MARGIN = 3.0

    def __init__(self, workers: int | None, dask: str | None, budget: float | None, yes: bool) -> None:
        self.workers = None if dask else (workers or default_workers())  # a Dask cluster's size is not known yet
        self.budget, self.confirmed = budget, yes

    def __call__(self, run: SweepRun) -> None:
        if self.confirmed or self.budget is None or self.workers is None:
            return
        todo = missing(run)
        rate = patients_per_second(lean=True)
        seconds = _patients(run, todo) / rate / min(self.workers, max(len(todo), 1))
        if seconds <= self.MARGIN * self.budget:
            return
        where = f"{self.workers} worker{'s' if self.workers != 1 else ''}"
        _over_budget(f"{_to_do(run, todo)} on {where}: about {format_duration(seconds)} (a first estimate, at "
                     f"{rate:,} patients a second a worker, the {engine_name()} engine's rate)",
                     seconds, self.budget, logged=False)
        self.confirmed = True


def _clear(out: Path) -> None:
    for name in (STORE_NAME, f"{STORE_NAME}-wal", f"{STORE_NAME}-shm", *OUTPUT_NAMES):
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def _write_meta(run: SweepRun, command: str) -> None:
    store = run.store
    assert store is not None   # (opened by _open_store)
    if store.get_meta("fingerprint") is None:
        store.set_meta("fingerprint", run.fingerprint)
        store.set_meta("created", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        store.set_meta("icssim_version", __version__)
        store.set_meta("command", command)
    if store.get_meta("name") is None:   # (a store from before stores kept it: its sweep's, as resumed)
        store.set_meta("name", run.sweep.name)
    store.set_points([(p.index, p.key, p.row()) for p in run.points])
