"""A sweep's runs on an :class:`icssim.executors.Executor` (in this process, a local pool, Dask).

:class:`SweepExecutor` takes :class:`Task` objects and yields each finished run's result as
soon as it completes (in any order), so the caller can commit it at once. A task carries
everything a worker needs (the point's scenario data, replication number and seed), so the
result depends on nothing but the task: the same whatever the executor or the number of
workers.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from icssim import executors
from icssim.errors import IcssimError
from icssim.experiments import run_replication
from icssim.scenario import scenario_from_dict
from icssim.sweep.store import worker_id


@dataclass(frozen=True)
class Task:
    """One (point, replication) to simulate."""

    point: int
    replication: int
    seed: int
    key: str                 # content hash of the point's scenario data
    raw: dict[str, Any]      # the point's scenario data (validated again in the worker)


_SCENARIOS: OrderedDict[str, Any] = OrderedDict()


def run_task(task: Task) -> dict[str, Any]:
    """Simulate one task (in whatever process or thread runs it) and return its KPIs."""
    scenario = _SCENARIOS.get(task.key)
    if scenario is None:
        scenario = scenario_from_dict(task.raw, name=f"sweep point {task.point}")
        _SCENARIOS[task.key] = scenario
        while len(_SCENARIOS) > 32:
            _SCENARIOS.popitem(last=False)
    started = time.perf_counter()
    rep = run_replication(scenario, task.replication, task.seed, keep_records=False, record_visits=False)
    kpis = {k: v for k, v in rep.kpis.items() if k != "wall_seconds"}
    return {"point": task.point, "replication": task.replication, "seed": task.seed, "kpis": kpis,
            "wall_seconds": time.perf_counter() - started, "worker": worker_id()}


class SweepExecutor:
    """Runs a sweep's tasks on an executor, each result as it finishes, at most two per worker
    ahead of the caller."""

    def __init__(self, executor: executors.Executor) -> None:
        self.executor = executor
        self.name, self.workers = executor.name, executor.workers

    def run(self, tasks: Iterable[Task]) -> Iterator[dict[str, Any]]:
        try:
            yield from self.executor.map_unordered(run_task, tasks, ahead=2 * self.workers)
        except executors.LostWorker as lost:
            task = lost.item
            raise IcssimError(f"point {task.point}, replication {task.replication} lost its worker process "
                              f"{lost.times} times (out of memory?); finished runs are saved") from None

    def close(self) -> None:
        self.executor.close()


def make_executor(workers: int | None = None, dask: str | None = None) -> SweepExecutor:
    """The executor the command line asks for (all local cores by default)."""
    return SweepExecutor(executors.make_executor(workers, dask))
