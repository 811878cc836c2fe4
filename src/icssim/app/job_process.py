"""What a job started from the app does in its own process (:mod:`icssim.app.jobs` starts it and
follows it from the server): run, compare, what-if or PSA through the command line's functions,
telling the server its progress through a pipe (:class:`Progress`) and hearing its cancel.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from icssim.errors import IcssimError, ScenarioError
from icssim.output_folder import OutputConflict, free_name, inside


class Cancelled(Exception):
    """Raised in a job's process when the user cancels: closes the executor's stream, which stops
    the workers (as Ctrl-C does on the command line)."""


class Progress:
    """What a job's process tells the server (progress, its step, its folder, its outcome), and the
    cancel it hears from it. If the server has gone (its pipe is closed), what it would have been
    told is kept here (:attr:`seen`), for the job's record."""

    def __init__(self, events, cancel) -> None:
        self.events = events
        self.gone = False
        self.seen: dict[str, Any] = {"done": 0}
        self.cancelled = threading.Event()
        self.cancel_message = "cancelled: nothing was written for this run"
        self._main = threading.main_thread().ident
        self._lock = threading.Lock()
        self._simulating = False
        threading.Thread(target=self._hear, args=(cancel,), name="icssim-app-cancel", daemon=True).start()

    def _hear(self, cancel) -> None:
        try:
            cancel.recv()
        except (EOFError, OSError):   # the server went away: stop as if cancelled
            pass
        self.cancelled.set()
        with self._lock:
            if self._simulating and hasattr(signal, "pthread_kill") and self._main is not None:
                signal.pthread_kill(self._main, signal.SIGINT)   # as Ctrl-C: interrupts a wait for workers

    @contextmanager
    def simulating(self) -> Iterator[None]:
        """The part of a job a cancel interrupts at once (as Ctrl-C, ``KeyboardInterrupt``): the
        simulation. Elsewhere a cancel acts at the next finished replication, and never while results
        are written (an interrupt there could leave a module half imported, or a folder half kept)."""
        if self.cancelled.is_set():
            raise Cancelled()
        with self._lock:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            self._simulating = True
        try:
            yield
        finally:
            with self._lock:
                self._simulating = False
                signal.signal(signal.SIGINT, signal.SIG_IGN)   # a signal still pending is dropped

    def tick(self, n: int = 1) -> None:
        if self.cancelled.is_set():
            raise Cancelled()
        self.seen["done"] += n
        self._send(("tick", n))

    def set(self, **values: Any) -> None:
        self.seen.update(values)
        self._send(("set", values))

    def data(self, **values: Any) -> None:
        self.seen.setdefault("data", {}).update(values)
        self._send(("data", values))

    def _send(self, message: tuple) -> None:
        if self.gone:
            return
        try:
            self.events.send(message)
        except OSError:   # the server has gone: the job stops (its cancel pipe has ended too)
            self.gone = True


#: Modules a job's worker processes need, loaded once by the job's own fork server where worker
#: processes cannot be forked from the job (see :func:`worker_start_method`).
WORKER_PRELOAD = ["icssim.experiments", "icssim.executors"]


def worker_start_method() -> str:
    """Set how the job's process starts its worker processes, and return it.

    A process started by a fork server inherits ``forkserver`` as its default start method, so
    icssim's executor (a ``ProcessPoolExecutor`` on the default context) would start a second fork
    server in every job, one that has loaded nothing, and each worker would import icssim, numpy,
    pandas and scipy again before its first replication (0.5 to 3 s of each worker's time per job,
    profiled with ``py-spy``), where ``icssim run`` on Linux forks workers that have them already.
    On Linux the job's workers are forked from the job's process, as the command line's are (the
    job's only other thread waits on a pipe and holds no lock). Elsewhere (macOS forks badly, Windows
    cannot) the method stays, and a fork server, if that is the method, loads icssim first.
    """
    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
        multiprocessing.set_start_method("fork", force=True)
    elif multiprocessing.get_start_method() == "forkserver":
        multiprocessing.set_forkserver_preload(WORKER_PRELOAD)
    return multiprocessing.get_start_method()


def job_main(work: Callable[..., None], args: tuple, events, cancel, record: str | None = None) -> None:
    """A job's process: run ``work``, then tell the server how it ended; if the server has gone,
    write the ending into the job's ``record`` (:mod:`icssim.app.jobs`) instead. Ctrl-C reaches it (as
    it reaches the server) only while it simulates (:meth:`Progress.simulating`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    progress = Progress(events, cancel)
    progress.data(workers_start_method=worker_start_method())
    try:
        work(progress, *args)
        end = {"state": "done"}
    except (Cancelled, KeyboardInterrupt):   # the button, or Ctrl-C reaching this process
        end = {"state": "cancelled", "message": progress.cancel_message}
    except OutputConflict as exc:   # published beside a folder that appeared meanwhile
        end = {"state": "done", "message": str(exc), "folder": exc.kept.name}
    except ScenarioError as exc:
        end = {"state": "failed", "message": "\n".join(str(p) for p in exc.problems)}
    except IcssimError as exc:
        end = {"state": "failed", "message": str(exc)}
    except Exception as exc:  # a bug: say so, keep the server running
        progress.data(traceback=traceback.format_exc())
        end = {"state": "failed", "message": f"a bug in icssim ({type(exc).__name__}: {exc})"}
    progress.set(**end)
    if progress.gone and record:
        _end_record(Path(record), progress.seen)
    events.close()


def write_record(path: Path, record: dict[str, Any]) -> None:
    """Write a job's record (:mod:`icssim.app.jobs`) as JSON, aside and then renamed into place, so
    that a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _end_record(path: Path, seen: dict[str, Any]) -> None:
    """Write how a job ended into its record, the server having gone while it ran."""
    try:
        job = json.loads(path.read_text(encoding="utf-8"))
        job.update({k: seen[k] for k in ("state", "message", "folder") if k in seen})
        job["done"] = int(job.get("done") or 0) + seen["done"]   # the record has what was done before it started
        job["message"] = f"{job.get('message', '')} (the app stopped while this ran)".strip()
        job["finished"] = time.time()
        write_record(path, job)
    except (OSError, ValueError, AttributeError):   # no record to end: the app lists it as interrupted
        pass


def run_job(progress: Progress, scenario, replications: int, source: str, workers: int | None,
            results_dir: Path) -> None:
    """``icssim run``: the replications, then ``results/<name>/``; cancelled, the finished
    replications go to ``results/<name>-interrupted/`` as the command line keeps them."""
    from icssim import experiments, results

    started = time.perf_counter()
    command = f"icssim run {source} -n {replications}  # from icssim app"
    finished: list = []
    try:
        with progress.simulating():
            result = experiments.run(scenario, replications, workers=workers, progress=progress.tick,
                                     done=finished)
    except (Cancelled, KeyboardInterrupt):
        if finished:
            _keep_finished(progress, scenario, finished, results_dir, command, time.perf_counter() - started)
        raise
    _remember(result, scenario, replications, results_dir)
    progress.set(message="writing the results and the report")
    out = free_name(inside(results_dir, scenario.scenario.name))
    progress.set(folder=out.name)
    results.write_run(result, out, False, time.perf_counter() - started, command,
                      workers=workers or experiments.default_workers())
    progress.set(message=f"wrote results/{out.name}/ in {time.perf_counter() - started:.1f} s")


def _remember(result, scenario, replications: int, results_dir: Path) -> None:
    """Keep a finished run's KPI summary in the run cache (:mod:`icssim.app.cache`), keyed as a
    what-if keys its points, so that a what-if through the scenario's own value takes this run
    instead of running it again. A cache that cannot be written only costs that re-run."""
    from icssim.app.cache import RunCache, run_key, summary_rows
    from icssim.scenario import provenance

    try:
        RunCache(results_dir).put(run_key(scenario, provenance(scenario).raw, replications), summary_rows(result),
                                  {"scenario": scenario.scenario.name, "values": {}, "replications": replications})
    except OSError:
        pass


def _keep_finished(progress: Progress, scenario, finished: list, results_dir: Path, command: str,
                   wall: float) -> None:
    """The finished replications of a cancelled run, written as ``icssim run`` keeps them when
    interrupted: ``results/<name>-interrupted/`` (the first free name; keep.py)."""
    from icssim.keep import keep_run

    out = keep_run(scenario, scenario.scenario.seed, finished,
                   inside(results_dir, scenario.scenario.name + "-interrupted"), wall, command + "  # interrupted")
    if out is None:
        return
    progress.cancel_message = (f"cancelled: kept {len(finished)} finished replication(s) in results/{out.name}/ "
                               "(as the command line does)")
    progress.set(folder=out.name)


def _keep_finished_pairs(progress: Progress, scenarios: list, finished: list, folder: str, results_dir: Path,
                         command: str, wall: float) -> None:
    """The replications of a cancelled comparison that finished for every scenario (at least two),
    written as ``icssim compare`` keeps them when interrupted: ``results/<folder>-interrupted/``."""
    from icssim.keep import keep_comparison

    out, pairs = keep_comparison(scenarios, scenarios[0].scenario.seed, finished,
                                 inside(results_dir, folder + "-interrupted"), wall, command + "  # interrupted")
    if out is None:
        return
    progress.cancel_message = (f"cancelled: kept {pairs} finished replication(s) of each scenario in "
                               f"results/{out.name}/ (as the command line does)")
    progress.set(folder=out.name)


def compare_job(progress: Progress, scenarios: list, replications: int, folder: str, command: str,
             workers: int | None, results_dir: Path) -> None:
    """``icssim compare``: the runs on common random numbers, then ``results/compare-.../``;
    cancelled, the replications finished for every scenario go to ``results/compare-...-interrupted/``
    as the command line keeps them."""
    from icssim import experiments, results

    started = time.perf_counter()
    finished: list = []
    try:
        with progress.simulating():
            comparison = experiments.compare(scenarios, replications, workers=workers, progress=progress.tick,
                                             done=finished)
    except (Cancelled, KeyboardInterrupt):
        _keep_finished_pairs(progress, scenarios, finished, folder, results_dir, command,
                             time.perf_counter() - started)
        raise
    progress.set(message="writing the results and the report")
    out = free_name(inside(results_dir, folder))
    progress.set(folder=out.name)
    results.write_comparison(comparison, out, False, time.perf_counter() - started, command,
                             workers=workers or experiments.default_workers())
    progress.set(message=f"wrote results/{out.name}/ in {time.perf_counter() - started:.1f} s")


def whatif_job(progress: Progress, name: str, keys: list[str], points: list, replications: int,
            workers: int | None, results_dir: Path, measure: str | None = None,
            words: dict[str, str] | None = None) -> None:
    """A what-if: each point from the cache or run, then ``results/whatif-.../``."""
    import pandas as pd

    from icssim import experiments
    from icssim.app.cache import RunCache, run_key, summary_rows
    from icssim.app.whatif import folder_name, write_whatif

    cache = RunCache(results_dir)
    keys_of = {p.values: run_key(p.scenario, p.raw, replications) for p in points}
    summaries: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for values, key in keys_of.items():
        stored = cache.get(key)
        if stored is not None:
            summaries[values] = stored
    todo = [p for p in points if p.values not in summaries]
    cached = len(points) - len(todo)
    progress.tick(cached * replications)
    if todo:
        with experiments.executor_for([p.scenario for p in todo], workers) as ex:
            for n, point in enumerate(todo):
                progress.set(message=", ".join(f"{k} = {v}" for k, v in zip(keys, point.values)))
                progress.cancel_message = (f"cancelled: no folder was written; the {n} combination(s) finished "
                                           "are kept in the cache, so the same what-if runs only the rest")
                with progress.simulating():
                    res = experiments.run(point.scenario, replications, progress=progress.tick, executor=ex)
                summaries[point.values] = summary_rows(res)
                cache.put(keys_of[point.values], summaries[point.values],
                          {"scenario": name, "values": dict(zip(keys, point.values)), "replications": replications})
    ran = {p.values for p in todo}
    rows = [{**dict(zip(keys, p.values)), **row, "cached": p.values not in ran}
            for p in points for row in summaries[p.values]]
    progress.set(message="writing the results")
    out = free_name(inside(results_dir, folder_name(name, keys)))
    progress.set(folder=out.name)
    write_whatif(pd.DataFrame(rows), keys, name, replications, out, cached, points[0].scenario, measure, words)
    progress.set(message=(f"wrote results/{out.name}/; {cached} of {len(points)} runs came from the cache"
                          if cached else f"wrote results/{out.name}/"))


def psa_job(progress: Progress, sweep_file: Path, out: Path, command: str, workers: int | None) -> None:
    """``icssim psa``: the sweep's runs (each kept in its store as it ends), then its outputs."""
    from icssim.app.psa import Ticking
    from icssim.health.psa_outputs import answer_text, write_psa
    from icssim.sweep import outputs, runner
    from icssim.sweep.executors import make_executor

    run = runner.prepare(sweep_file, out)
    executor = Ticking(make_executor(workers), progress.tick)
    try:
        with progress.simulating():
            runner.execute(run, executor=executor, yes=True, budget=None, quiet=True, command=command)
        progress.set(folder=run.out.name, message="writing the tables, the CE plane and the acceptability curve")
        outputs.write_outputs(run, command)
        progress.data(answer=answer_text(write_psa(run)))
    except (Cancelled, KeyboardInterrupt):
        if run.store is not None:   # the store's count: the interrupt may fall between storing a run and counting it
            run.done = run.store.done()
        if run.done:
            progress.set(folder=run.out.name)
        progress.cancel_message = (f"cancelled: {len(run.done)} finished run(s) kept in results/{run.out.name}/; "
                                   "start the same PSA again to run only the rest")
        raise
    finally:
        executor.close()
        if run.store is not None:
            run.store.close()
    progress.set(message=f"wrote results/{run.out.name}/ ({run.ran_now} run(s) now, {len(run.done)} in all)")
