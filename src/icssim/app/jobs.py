"""Runs started from the app: each in a thread of its own, with progress and cancel, through the
same functions as the command line (:mod:`icssim.experiments`, :func:`icssim.results.write_run`,
:func:`~icssim.results.write_comparison`), so its results folder is the one ``icssim run``
or ``icssim compare`` would write.

Each run publishes into a folder of its own (the first free of ``results/<name>``,
``<name>-2`` ...; :mod:`icssim.output_folder` writes it aside and renames it into place), so two
people running the same scenario at once never write into one folder and never replace a result.
"""

from __future__ import annotations

import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from icssim.errors import IcssimError, ScenarioError
from icssim.output_folder import OutputConflict, free_name, inside

#: Most replications one request may ask for (a web form should not start a week-long run).
MAX_REPLICATIONS = 200


class Cancelled(Exception):
    """Raised from the progress callback when the user cancels: closes the executor's stream,
    which stops the workers (as Ctrl-C does on the command line)."""


@dataclass
class Job:
    """One run, comparison or what-if sweep started from the app."""

    id: str
    kind: str
    title: str
    total: int
    done: int = 0
    state: str = "running"   # running, done, failed, cancelled
    message: str = ""
    folder: str = ""         # the results folder, relative to results/
    started: float = field(default_factory=time.time)
    finished: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    data: dict[str, Any] = field(default_factory=dict)

    def tick(self, n: int = 1) -> None:
        if self.cancel.is_set():
            raise Cancelled()
        self.done += n

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def seconds(self) -> float:
        return (self.finished or time.time()) - self.started


class Jobs:
    """The app's runs, kept in memory while the server runs."""

    def __init__(self, results: Path, workers: int | None = None) -> None:
        self.results = results
        self.workers = workers
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def all(self) -> list[Job]:
        return sorted(self._jobs.values(), key=lambda j: -j.started)

    def stop_all(self, timeout: float = 30.0) -> int:
        """Cancel the runs still going and wait (up to ``timeout`` s) for their workers to stop and their
        temporary folders to be removed; return how many were cancelled."""
        running = [j for j in self._jobs.values() if j.state == "running"]
        for job in running:
            job.cancel.set()
        deadline = time.time() + timeout
        for job in running:
            thread = job.data.get("thread")
            if thread is not None:
                thread.join(max(0.0, deadline - time.time()))
        return len(running)

    def _start(self, kind: str, title: str, total: int, work: Callable[[Job], None], done: int = 0,
               **data: Any) -> Job:
        job = Job(uuid.uuid4().hex[:12], kind, title, total, done=done, data=dict(data))
        with self._lock:
            self._jobs[job.id] = job

        def target() -> None:
            try:
                work(job)
                job.state = "done"
            except (Cancelled, KeyboardInterrupt):   # the button, or Ctrl-C reaching the workers
                job.state = "cancelled"
                job.message = job.data.get("cancel_message", "cancelled: nothing was written for this run")
            except OutputConflict as exc:   # published beside a folder that appeared meanwhile
                job.state, job.message = "done", str(exc)
                folder = str(exc).rsplit(" in ", 1)[-1].rstrip("/").rstrip("/ ")
                job.folder = Path(folder).name
            except ScenarioError as exc:
                job.state, job.message = "failed", "\n".join(str(p) for p in exc.problems)
            except IcssimError as exc:
                job.state, job.message = "failed", str(exc)
            except Exception as exc:  # a bug: say so, keep the server running
                job.state = "failed"
                job.message = f"a bug in icssim ({type(exc).__name__}: {exc})"
                job.data["traceback"] = traceback.format_exc()
            finally:
                job.finished = time.time()

        thread = threading.Thread(target=target, name=f"icssim-app-{job.id}", daemon=True)
        job.data["thread"] = thread
        thread.start()
        return job

    def _out(self, name: str) -> Path:
        """A results folder of this run's own: ``results/<name>``, or the first free ``<name>-2`` ..."""
        return free_name(inside(self.results, name))

    def run(self, scenario, replications: int, source: str) -> Job:
        """Run ``scenario`` as ``icssim run`` does and write ``results/<name>``."""
        from icssim import experiments, results

        _check_replications(replications, 1)
        name = scenario.scenario.name

        def work(job: Job) -> None:
            started = time.perf_counter()
            result = experiments.run(scenario, replications, workers=self.workers, progress=job.tick)
            job.message = "writing the results and the report"
            out = self._out(name)
            job.folder = out.name
            results.write_run(result, out, False, time.perf_counter() - started,
                              f"icssim run {source} -n {replications}  # from icssim app",
                              workers=self.workers or experiments.default_workers())
            job.message = f"wrote results/{out.name}/ in {time.perf_counter() - started:.1f} s"

        return self._start("run", f"Run {name} ({replications} replications)", replications, work)

    def compare(self, scenarios: list, replications: int, sources: list[str], equal_budget: bool = False) -> Job:
        """Compare ``scenarios`` as ``icssim compare`` does (common random numbers, the first the baseline);
        with ``equal_budget``, as ``icssim compare --equal-budget`` does (:mod:`icssim.budget`)."""
        from icssim import experiments, results

        _check_replications(replications, 2)
        names = [s.scenario.name for s in scenarios]
        if len(set(names)) != len(names) or len(names) < 2:
            raise IcssimError(f"pick two or more different scenarios to compare (found {', '.join(names)})")
        folder = "compare-" + "-vs-".join(names)
        if equal_budget:
            from icssim.budget import equal_budget_set

            if len(scenarios) != 2:
                raise IcssimError(f"an equal-budget comparison takes exactly two scenarios, found {len(scenarios)}")
            scenarios = equal_budget_set(*scenarios)
            folder += "-equal-budget"
        warnings = experiments.comparability(scenarios)   # refuses what cannot be compared, before starting

        def work(job: Job) -> None:
            started = time.perf_counter()
            comparison = experiments.compare(scenarios, replications, workers=self.workers, progress=job.tick)
            job.message = "writing the results and the report"
            out = self._out(folder)
            job.folder = out.name
            flag = " --equal-budget" if equal_budget else ""
            results.write_comparison(comparison, out, False, time.perf_counter() - started,
                                     f"icssim compare {' '.join(sources)}{flag} -n {replications}  # from icssim app",
                                     workers=self.workers or experiments.default_workers())
            job.message = f"wrote results/{out.name}/ in {time.perf_counter() - started:.1f} s"

        what = " at equal budgets" if equal_budget else ""
        job = self._start("compare", f"Compare {' vs '.join(names)}{what} ({replications} replications)",
                          replications * len(scenarios), work)
        job.data["warnings"] = warnings
        return job

    def whatif(self, name: str, keys: list[str], points: list, replications: int) -> Job:
        """Run one scenario at each of ``points`` (:class:`~icssim.app.whatif.Point`: the values of the
        numbers ``keys`` and the validated scenario with them) and write ``results/whatif-...``. A point
        run before with the same content, seed and replications is taken from the cache
        (:mod:`icssim.app.cache`), not run again."""
        from icssim import experiments
        from icssim.app.cache import RunCache, run_key, summary_rows
        from icssim.app.whatif import folder_name, write_whatif

        _check_replications(replications, 2)
        cache = RunCache(self.results)

        def work(job: Job) -> None:
            import pandas as pd

            keys_of = {p.values: run_key(p.scenario, p.raw, replications) for p in points}
            summaries: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for values, key in keys_of.items():
                stored = cache.get(key)
                if stored is not None:
                    summaries[values] = stored
            todo = [p for p in points if p.values not in summaries]
            cached = len(points) - len(todo)
            job.tick(cached * replications)
            if todo:
                with experiments.executor_for([p.scenario for p in todo], self.workers) as ex:
                    for point in todo:
                        job.message = ", ".join(f"{k} = {v}" for k, v in zip(keys, point.values))
                        res = experiments.run(point.scenario, replications, progress=job.tick, executor=ex)
                        summaries[point.values] = summary_rows(res)
                        cache.put(keys_of[point.values], summaries[point.values],
                                  {"scenario": name, "values": dict(zip(keys, point.values)),
                                   "replications": replications})
            ran = {p.values for p in todo}
            rows = [{**dict(zip(keys, p.values)), **row, "cached": p.values not in ran}
                    for p in points for row in summaries[p.values]]
            table = pd.DataFrame(rows)
            job.data["table"] = table
            job.message = "writing the results"
            out = self._out(folder_name(name, keys))
            job.folder = out.name
            write_whatif(table, keys, name, replications, out, cached)
            job.message = (f"wrote results/{out.name}/; {cached} of {len(points)} runs came from the cache"
                           if cached else f"wrote results/{out.name}/")

        values = " x ".join(", ".join(dict.fromkeys(p.values[i] for p in points)) for i in range(len(keys)))
        return self._start("whatif", f"What if {' x '.join(keys)} in {name} were {values}",
                           replications * len(points), work)


    def psa(self, sweep_file: Path, source: str) -> Job:
        """Run (or resume) the PSA ``sweep_file`` as ``icssim psa`` does, into ``results/<its name>/``:
        the sweep's tables and plots, then the CE plane, acceptability curve and EVPI. Finished runs
        are kept as they end (the sweep's store), so a cancelled PSA resumes where it stopped."""
        from icssim.app.psa import Ticking
        from icssim.health.psa_outputs import answer_text, write_psa
        from icssim.sweep import outputs, runner
        from icssim.sweep.executors import make_executor

        run = runner.prepare(sweep_file, inside(self.results, _sweep_name(sweep_file)))
        if run.sweep.spec.design != "psa":
            raise IcssimError(f"{source}: not a PSA ('design: {run.sweep.spec.design}')")
        busy = [j for j in self._jobs.values() if j.state == "running" and j.data.get("out") == str(run.out)]
        if busy:
            raise IcssimError(f"this PSA is already running (results/{run.out.name}/): wait for it or cancel it")
        command = f"icssim psa {source}  # from icssim app"

        def work(job: Job) -> None:
            job.folder = run.out.name
            executor = Ticking(make_executor(self.workers), job.tick)
            try:
                runner.execute(run, executor=executor, yes=True, budget=None, quiet=True, command=command)
                job.message = "writing the tables, the CE plane and the acceptability curve"
                outputs.write_outputs(run, command)
                job.data["answer"] = answer_text(write_psa(run))
            except Cancelled:
                kept = len(run.done)
                job.data["cancel_message"] = (f"cancelled: {kept} finished run(s) kept in results/{run.out.name}/; "
                                              "start the same PSA again to run only the rest")
                raise
            finally:
                executor.close()
                if run.store is not None:
                    run.store.close()
            job.message = f"wrote results/{run.out.name}/ ({run.ran_now} run(s) now, {len(run.done)} in all)"

        strategies = len(run.sweep.bases)
        draws = len(run.points) // max(strategies, 1)
        job = self._start("psa", f"PSA {run.sweep.name} ({draws} draws x {strategies} strategies x "
                                 f"{run.replications} replication(s))", run.total(), work,
                          done=len(run.done), out=str(run.out))
        return job


def _sweep_name(path: Path) -> str:
    """``sweep.name`` of a sweep file (its results folder's name), read before the whole file is
    validated (a name that is no plain folder name is refused by ``inside``)."""
    from ruamel.yaml import YAML

    doc = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    name = doc.get("sweep", {}).get("name") if isinstance(doc, dict) and isinstance(doc.get("sweep"), dict) else None
    if not isinstance(name, str) or not name:
        raise IcssimError(f"{path.name}: sweep.name is missing")
    return name


def _check_replications(n: int, least: int) -> None:
    if not least <= n <= MAX_REPLICATIONS:
        raise IcssimError(f"replications must be a whole number from {least} to {MAX_REPLICATIONS}, found {n}")
