"""Runs started from the app: each in a process of its own, with progress and cancel, through the
same functions as the command line (:mod:`icssim.experiments`, :func:`icssim.results.write_run`,
:func:`~icssim.results.write_comparison`), so its results folder is the one ``icssim run``
or ``icssim compare`` would write.

A job's process (started with ``forkserver``, or ``spawn`` where there is none: never a fork of
the threaded server) drives icssim's executor and its worker processes (forked from the job's
process on Linux, as the command line's are: :func:`~icssim.app.job_process.worker_start_method`),
takes the finished replications back, and writes the tables, plots and report. The server's process only serves
pages: it starts the job, reads small messages from it through a pipe (progress, the current
step, the folder, the outcome) in a thread that mostly waits, and sends it the cancel. Profiled
with ``py-spy --gil`` while jobs ran in threads of the server, the interpreter lock was held
about 2.4 s by the executor's thread unpickling finished replications and 1.3 s by writing the
outputs, in stretches of up to 1.4 s during which no page could answer.

Cancel works as Ctrl-C does on the command line: while the job simulates, its main thread is
interrupted (``KeyboardInterrupt``; on systems without ``pthread_kill``, at the next finished
replication), which stops its workers. A cancelled run keeps its finished replications in
``results/<name>-interrupted/`` as ``icssim run`` does, a PSA keeps its finished runs in its
store, and the rest writes nothing. Once every replication is in, the results are written (a
cancel then comes too late).

The list of jobs outlives the server: each job's record (what it was, how far it went, how it
ended, its folder) is kept in ``results/.app/jobs/<id>.json``, written when it starts and when it
ends, and read again when the app starts (:meth:`Jobs.restore`). A job whose record still says
running when the app starts was stopped with the app (killed, or the machine went down): it is
listed as interrupted. If the server goes while a job runs, the job's process cancels itself (its
pipe from the server ends) and writes its own record's ending. Results folders the app wrote
before it kept records (``metadata.json`` naming ``# from icssim app``) are listed too.

Each run publishes into a folder of its own (the first free of ``results/<name>``,
``<name>-2`` ...; :mod:`icssim.output_folder` writes it aside and renames it into place), so two
people running the same scenario at once never write into one folder and never replace a result.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from icssim.app.job_process import compare_job, job_main, psa_job, run_job, whatif_job, write_record
from icssim.errors import IcssimError
from icssim.output_folder import free_name, inside

#: Most replications one request may ask for (a web form should not start a week-long run).
MAX_REPLICATIONS = 200
#: Seconds a cancelled job's process may take to stop its workers and clean up before it is killed.
KILL_AFTER = 60.0
#: Where job records are kept, inside the results folder (hidden: not a result).
RECORDS = Path(".app") / "jobs"
#: Most job records read when the app starts (the newest).
MAX_RECORDS = 200
#: What a record keeps of a job.
RECORD_FIELDS = ("id", "kind", "title", "total", "done", "state", "message", "folder", "started", "finished")
#: What a record keeps of a job's data (the page shows them).
RECORD_DATA = ("warnings", "answer")
#: Modules a job's process needs, imported once by the fork server so that each job starts quickly.
PRELOAD = ["icssim.app.jobs", "icssim.app.job_process", "icssim.experiments", "icssim.results"]


@dataclass
class Job:
    """One run, comparison, what-if sweep or PSA started from the app, as the server sees it."""

    id: str
    kind: str
    title: str
    total: int
    done: int = 0
    state: str = "running"   # running, done, failed, cancelled, interrupted (stopped with the app)
    message: str = ""
    folder: str = ""         # the results folder, relative to results/
    started: float = field(default_factory=time.time)
    finished: float | None = None
    pid: int | None = None   # the job's own process
    cancel: threading.Event = field(default_factory=threading.Event)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def seconds(self) -> float:
        return (self.finished or time.time()) - self.started

    def record(self) -> dict[str, Any]:
        """What is kept of this job across restarts of the app (:data:`RECORDS`)."""
        return {**{name: getattr(self, name) for name in RECORD_FIELDS},
                "data": {k: self.data[k] for k in RECORD_DATA if k in self.data}}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Job:
        job = cls(**{name: record[name] for name in RECORD_FIELDS})
        job.data.update(record.get("data") or {})
        return job

    def apply(self, message: tuple) -> None:
        """Take one message from the job's process (:class:`Progress` sends them)."""
        what, value = message
        if what == "tick":
            self.done += value
        elif what == "data":
            self.data.update(value)
        else:   # "set": the message and the folder (the final state is taken by the follower)
            for name in ("message", "folder"):
                if name in value:
                    setattr(self, name, str(value[name]))


def context() -> multiprocessing.context.BaseContext:
    """The start method for jobs: ``forkserver`` (modules loaded once, no fork of the threaded
    server), else ``spawn``."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


class Jobs:
    """The app's runs, kept in memory while the server runs; each runs in a process of its own."""

    def __init__(self, results: Path, workers: int | None = None) -> None:
        self.results = results
        self.workers = workers
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    @property
    def records(self) -> Path:
        return self.results / RECORDS

    def save(self, job: Job) -> None:
        """Keep ``job``'s record (written aside and renamed, so a reader never sees half of it); a
        record that cannot be written costs only its listing after a restart."""
        try:
            write_record(self.records / f"{job.id}.json", job.record())
        except OSError:
            pass

    def restore(self) -> int:
        """List again the jobs of earlier sessions (their records, newest first, at most
        :data:`MAX_RECORDS`), and the results folders the app wrote before it kept records; a job
        still running by its record was stopped with the app and is shown as interrupted. Return how
        many were listed."""
        found: list[Job] = []
        files = sorted(self.records.glob("*.json"), key=_mtime, reverse=True)[:MAX_RECORDS] \
            if self.records.is_dir() else []
        for file in files:
            try:
                job = Job.from_record(json.loads(file.read_text(encoding="utf-8")))
            except (OSError, ValueError, KeyError, TypeError):   # not a record of this app: leave it
                continue
            if job.state == "running" and job.id not in self._jobs:
                job.state = "interrupted"
                job.message = ("interrupted: the app stopped while this ran"
                               + (f"; its finished part is in results/{job.folder}/" if job.folder else ""))
                job.finished = job.finished or _mtime(file)
                self.save(job)
            found.append(job)
        folders = {j.folder for j in found if j.folder}
        found += [j for j in _jobs_from_folders(self.results) if j.folder not in folders]
        with self._lock:
            for job in found:
                self._jobs.setdefault(job.id, job)
        return len(found)

    @staticmethod
    def warm() -> None:
        """Start the fork server (and its imports of icssim) now, so that the first job starts as
        quickly as the next (else it waits 1.5 to 3 s for them)."""
        if context().get_start_method() == "forkserver":
            from multiprocessing import forkserver

            forkserver.ensure_running()

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def all(self) -> list[Job]:
        return sorted(self._jobs.values(), key=lambda j: -j.started)

    def stop_all(self, timeout: float = 30.0) -> int:
        """Cancel the runs still going and wait (up to ``timeout`` s) for their processes to stop their
        workers and remove their temporary folders (then kill what is left); return how many were
        cancelled."""
        running = [j for j in self._jobs.values() if j.state == "running"]
        for job in running:
            job.cancel.set()
        deadline = time.time() + timeout
        for job in running:
            job.data["watcher"].join(max(0.0, deadline - time.time()))
        for job in running:
            process = job.data["process"]
            if process.is_alive():
                process.kill()
                job.data["watcher"].join(5)
        return len(running)

    def _start(self, kind: str, title: str, total: int, work: Callable[..., None], args: tuple, done: int = 0,
               **data: Any) -> Job:
        """Start ``work(progress, *args)`` (a function of this module) in a process of its own, and a
        thread of the server that follows it."""
        job = Job(uuid.uuid4().hex[:12], kind, title, total, done=done, data=dict(data))
        ctx = context()
        events, events_end = ctx.Pipe(duplex=False)     # job -> server
        cancel_end, cancel = ctx.Pipe(duplex=False)     # server -> job
        record = str(self.records / f"{job.id}.json")
        process = ctx.Process(target=job_main, args=(work, args, events_end, cancel_end, record),
                              name=f"icssim-app-{job.id}")
        job.data["process"] = process
        with self._lock:
            self._jobs[job.id] = job
        self.save(job)
        watcher = threading.Thread(target=_follow, args=(job, process, events, events_end, cancel, cancel_end,
                                                         self.save),
                                   name=f"icssim-app-{job.id}", daemon=True)
        job.data["watcher"] = watcher
        watcher.start()
        return job

    def _out(self, name: str) -> Path:
        """A results folder of this run's own: ``results/<name>``, or the first free ``<name>-2`` ..."""
        return free_name(inside(self.results, name))

    def run(self, scenario, replications: int, source: str) -> Job:
        """Run ``scenario`` as ``icssim run`` does and write ``results/<name>``; its plausibility
        warnings (values no English ICS could have) are shown on the job's page, as the CLI prints them.
        A misspelt ``report.featured`` measure is refused first, as the CLI refuses it."""
        from icssim.kpi_check import featured_problems, refuse
        from icssim.scenario.plausibility import warnings

        _check_replications(replications, 1)
        refuse(featured_problems(scenario))
        name = scenario.scenario.name
        return self._start("run", f"Run {name} ({replications} replications)", replications, run_job,
                           (scenario, replications, source, self.workers, self.results),
                           warnings=[f"Warning: {w.path}: {w.message}" for w in warnings(scenario)])

    def compare(self, scenarios: list, replications: int, sources: list[str], equal_budget: bool = False) -> Job:
        """Compare ``scenarios`` as ``icssim compare`` does (common random numbers, the first the baseline);
        with ``equal_budget``, as ``icssim compare --equal-budget`` does (:mod:`icssim.budget`)."""
        from icssim.comparability import comparability
        from icssim.kpi_check import featured_problems, refuse

        _check_replications(replications, 2)
        refuse([p for s in scenarios for p in featured_problems(s)])   # (as icssim compare does)
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
        warnings = comparability(scenarios)   # refuses what cannot be compared, before starting
        flag = " --equal-budget" if equal_budget else ""
        command = f"icssim compare {' '.join(sources)}{flag} -n {replications}  # from icssim app"
        what = " at equal budgets" if equal_budget else ""
        return self._start("compare", f"Compare {' vs '.join(names)}{what} ({replications} replications)",
                           replications * len(scenarios), compare_job,
                           (scenarios, replications, folder, command, self.workers, self.results),
                           warnings=warnings)

    def whatif(self, name: str, keys: list[str], points: list, replications: int, measure: str | None = None,
               words: dict[str, str] | None = None) -> Job:
        """Run one scenario at each of ``points`` (:class:`~icssim.app.whatif.Point`: the values of the
        numbers ``keys`` and the validated scenario with them) and write ``results/whatif-...``, its
        plot drawing ``measure`` (by default the first the scenario features) and the cost. A point
        run before with the same content, seed and replications is taken from the cache
        (:mod:`icssim.app.cache`), not run again. ``words``: each number's name on the scenario's
        page, for the plot's axes."""
        _check_replications(replications, 2)
        values = " x ".join(", ".join(dict.fromkeys(p.values[i] for p in points)) for i in range(len(keys)))
        return self._start("whatif", f"What if {' x '.join(keys)} in {name} were {values}",
                           replications * len(points), whatif_job,
                           (name, keys, points, replications, self.workers, self.results, measure, words))

    def psa(self, sweep_file: Path, source: str) -> Job:
        """Run (or resume) the PSA ``sweep_file`` as ``icssim psa`` does, into ``results/<its name>/``:
        the sweep's tables and plots, then the CE plane, acceptability curve and EVPI. Finished runs
        are kept as they end (the sweep's store), so a cancelled PSA resumes where it stopped."""
        from icssim.sweep import runner

        out = inside(self.results, _sweep_name(sweep_file))
        run = runner.prepare(sweep_file, out)   # checked here, so a refusal is shown on the form
        if run.sweep.spec.design != "psa":
            raise IcssimError(f"{source}: not a PSA ('design: {run.sweep.spec.design}')")
        busy = [j for j in self._jobs.values() if j.state == "running" and j.data.get("out") == str(run.out)]
        if busy:
            raise IcssimError(f"this PSA is already running (results/{run.out.name}/): wait for it or cancel it")
        strategies = len(run.sweep.bases)
        draws = len(run.points) // max(strategies, 1)
        return self._start("psa", f"PSA {run.sweep.name} ({draws} draws x {strategies} strategies x "
                                  f"{run.replications} replication(s))", run.total(), psa_job,
                           (sweep_file, out, f"icssim psa {source}  # from icssim app", self.workers),
                           done=len(run.done), out=str(run.out))


# ---------------------------------------------------------------- the server's side of a job


def _follow(job: Job, process, events, events_end, cancel, cancel_end, save: Callable[[Job], None]) -> None:
    """Start the job's process, apply its messages to ``job`` until it ends, pass on a cancel (and
    kill the process if it has not stopped ``KILL_AFTER`` s later), then ``save`` its record."""
    try:
        process.start()
    except Exception as exc:   # no process could be started: say so, keep the server running
        job.state, job.message, job.finished = "failed", f"the run's process could not start ({exc})", time.time()
        save(job)
        return
    job.pid = process.pid
    events_end.close()   # the job holds the other ends: end of file when it exits
    cancel_end.close()
    asked, end = None, None
    while True:
        if job.cancel.is_set() and asked is None:
            asked = time.time()
            try:
                cancel.send("cancel")
            except OSError:
                pass
        if asked is not None and time.time() - asked > KILL_AFTER and process.is_alive():
            process.kill()
        if events.poll(0.2):
            try:
                end = _take(job, events.recv()) or end
            except (EOFError, OSError):
                break
        elif not process.is_alive():   # killed while its workers still hold the pipe: take what is left
            while _ready(events):
                try:
                    end = _take(job, events.recv()) or end
                except (EOFError, OSError):
                    break
            break
    process.join()   # the job is over when its process is, not when it says so
    events.close()
    cancel.close()
    job.finished = time.time()
    if end is None:   # ended without saying how: killed, or it crashed
        if job.cancel.is_set():
            job.message, end = "cancelled: the run's process was stopped", "cancelled"
        else:
            job.message = f"the run's process stopped unexpectedly (exit code {process.exitcode})"
            end = "failed"
    job.state = end
    save(job)


def _take(job: Job, message: tuple) -> str | None:
    """Apply a message from the job's process to ``job``, all but its final state, which is returned
    (None if the message has none)."""
    what, value = message
    state = value.pop("state", None) if what == "set" else None
    job.apply((what, value))
    return state


def _ready(events) -> bool:
    try:
        return events.poll(0)
    except (EOFError, OSError):
        return False


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


#: What each kind of results folder is called in the list of jobs.
_TITLES = {"run": "Run", "compare": "Compare", "whatif": "What if", "sweep": "PSA"}


def _jobs_from_folders(results: Path) -> list[Job]:
    """The results folders the app wrote (their ``metadata.json`` names ``# from icssim app``, as the
    app writes it), as finished jobs; a run's ``-interrupted`` folder as a cancelled one."""
    found = []
    for folder in results.iterdir() if results.is_dir() else []:
        meta_file = folder / "metadata.json"
        if folder.name.startswith(".") or folder.is_symlink() or not meta_file.is_file():
            continue
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
            command = str(meta.get("command", ""))
        except (OSError, ValueError, AttributeError):
            continue
        if "# from icssim app" not in command and meta.get("kind") != "whatif":
            continue
        kind = str(meta.get("kind", "run"))
        names = meta.get("scenarios") or [meta.get("scenario", folder.name)]
        names = [str(n) for n in names] if isinstance(names, (list, dict)) else [str(names)]
        what = f"PSA {folder.name}" if kind == "sweep" else f"{_TITLES.get(kind, kind)} {' vs '.join(names)}"
        interrupted = command.endswith("# interrupted")
        finished = _mtime(meta_file)
        try:
            finished = dt.datetime.fromisoformat(str(meta["date"])).timestamp()
        except (KeyError, ValueError):
            pass
        wall = meta.get("wall_seconds")
        reps = meta.get("replications")
        total = reps * len(names) if isinstance(reps, int) and kind in ("run", "compare") else 0
        job = Job("f" + hashlib.sha1(folder.name.encode()).hexdigest()[:11], kind, what, total, done=total,
                  state="cancelled" if interrupted else "done", folder=folder.name, finished=finished,
                  started=finished - (wall if isinstance(wall, (int, float)) else 0.0),
                  message=(f"cancelled: its finished replications are in results/{folder.name}/" if interrupted
                           else f"wrote results/{folder.name}/ (listed from its folder)"))
        found.append(job)
    return found


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
