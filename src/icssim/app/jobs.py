"""Runs started from the app: each in a thread of its own, with progress and cancel, through the
same functions as the command line (:mod:`icssim.experiments`, :func:`icssim.results.write_run`,
:func:`~icssim.results.write_comparison`), so its results folder is the one ``icssim run``
or ``icssim compare`` would write.

Each run publishes into a folder of its own (the first free of ``results/<name>``,
``<name>-2`` ...; :mod:`icssim.output_folder` writes it aside and renames it into place), so two
people running the same scenario at once never write into one folder and never replace a result.
"""

from __future__ import annotations

import json
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

    def _start(self, kind: str, title: str, total: int, work: Callable[[Job], None]) -> Job:
        job = Job(uuid.uuid4().hex[:12], kind, title, total)
        with self._lock:
            self._jobs[job.id] = job

        def target() -> None:
            try:
                work(job)
                job.state = "done"
            except (Cancelled, KeyboardInterrupt):   # the button, or Ctrl-C reaching the workers
                job.state, job.message = "cancelled", "cancelled: nothing was written for this run"
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
        if len(set(names)) != len(names):
            raise IcssimError(f"pick two different scenarios to compare (found {', '.join(names)})")
        folder = "compare-" + "-vs-".join(names)
        if equal_budget:
            from icssim.budget import equal_budget_set

            if len(scenarios) != 2:
                raise IcssimError(f"an equal-budget comparison takes exactly two scenarios, found {len(scenarios)}")
            scenarios = equal_budget_set(*scenarios)
            folder += "-equal-budget"

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
        return self._start("compare", f"Compare {' vs '.join(names)}{what} ({replications} replications)",
                           replications * len(scenarios), work)

    def whatif(self, name: str, key: str, points: list[tuple[Any, Any]], replications: int) -> Job:
        """Run one scenario at each of ``points`` (value, validated scenario) of the parameter ``key``,
        and keep the KPIs of each in ``results/whatif-<name>-<key>/`` (``whatif.csv`` and a plot)."""
        from icssim import experiments

        _check_replications(replications, 2)

        def work(job: Job) -> None:
            import pandas as pd

            rows = []
            with experiments.executor_for([s for _, s in points], self.workers) as ex:
                for value, scenario in points:
                    job.message = f"{key} = {value}"
                    res = experiments.run(scenario, replications, progress=job.tick, executor=ex)
                    summary = res.summary()
                    for kpi, row in summary.iterrows():
                        rows.append({"value": value, "kpi": kpi, "mean": row["mean"], "lower": row["lower"],
                                     "upper": row["upper"]})
            table = pd.DataFrame(rows)
            job.data["table"] = table
            job.message = "writing the results"
            out = self._out(f"whatif-{name}-{key.replace('.', '_')}"[:120])
            job.folder = out.name
            write_whatif(table, key, name, replications, out)
            job.message = f"wrote results/{out.name}/"

        return self._start("whatif", f"What if {key} in {name} were {', '.join(str(v) for v, _ in points)}",
                           replications * len(points), work)


def _check_replications(n: int, least: int) -> None:
    if not least <= n <= MAX_REPLICATIONS:
        raise IcssimError(f"replications must be a whole number from {least} to {MAX_REPLICATIONS}, found {n}")


#: The KPIs a what-if plot draws against the parameter, if the scenario has them.
WHATIF_KPIS = ("wait_to_treatment_mean", "cost_per_year")


def write_whatif(table, key: str, name: str, replications: int, out: Path) -> Path:
    """``whatif.csv`` (value, KPI, mean and 95% CI) and ``whatif.png`` (the headline KPIs against the value),
    published atomically like every icssim results folder."""

    from icssim import plots
    from icssim.metrics import kpi_info
    from icssim.output_folder import write_output
    from icssim.tables import write_table

    def write(tmp: Path) -> None:
        write_table(table, tmp, "whatif", parquet=False)
        fig = whatif_figure(table, key, name, kpi_info)
        plots.save(fig, tmp / "whatif.png")
        (tmp / "metadata.json").write_text(json.dumps({"kind": "whatif", "scenario": name, "parameter": key,
                                                        "replications": replications,
                                                        "date": time.strftime("%Y-%m-%dT%H:%M:%S")}, indent=2))

    return write_output(out, False, write)


def whatif_figure(table, key: str, name: str, kpi_info):
    import matplotlib.pyplot as plt

    kpis = [k for k in WHATIF_KPIS if k in set(table["kpi"])]
    fig, axes = plt.subplots(1, max(1, len(kpis)), figsize=(5.2 * max(1, len(kpis)), 3.6), squeeze=False)
    for ax, kpi in zip(axes[0], kpis):
        rows = table[table["kpi"] == kpi]
        x = [_as_number(v) for v in rows["value"]]
        info = kpi_info(kpi)
        scale, unit = (1e6, f"{info.unit}, millions") if rows["upper"].abs().max() >= 1e6 else (1.0, info.unit)
        ax.plot(x, rows["mean"] / scale, marker="o", color="#005EB8")
        ax.fill_between(x, rows["lower"] / scale, rows["upper"] / scale, color="#005EB8", alpha=0.15,
                        label="95% CI")
        ax.set_title(f"{info.label} (95% CI shaded)", fontsize=10, loc="left")
        ax.set_xlabel(key, fontsize=9)
        ax.set_ylabel(unit, fontsize=9)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{name}: what if {key} changed", fontsize=11, x=0.01, ha="left")
    fig.tight_layout()
    return fig


def _as_number(value: Any) -> float:
    """A swept value on the plot's axis: a number, or the number at the front of a span (``2 weeks``)."""
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).split()[0])
    except (ValueError, IndexError):
        return float("nan")
