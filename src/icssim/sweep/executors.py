"""Executors: where the runs happen. In this process, a local process pool, or a Dask cluster.

Every executor takes :class:`Task` objects and yields each finished run's result as
soon as it completes (in any order), so the caller can commit it at once. A task
carries everything a worker needs (the point's scenario data, replication number and
seed), so the result depends on nothing but the task: the same whatever the
executor or the number of workers.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from icssim.errors import IcssimError

RETRIES = 3


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
    from icssim.experiments import run_replication
    from icssim.scenario import scenario_from_dict
    from icssim.sweep.store import worker_id

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


class InProcess:
    """Run tasks one after another in this process (``--workers 1``)."""

    name = "in-process"
    workers = 1

    def run(self, tasks: Iterable[Task]) -> Iterator[dict[str, Any]]:
        for task in tasks:
            yield run_task(task)

    def close(self) -> None:
        pass


class LocalPool:
    """A local process pool; a lost worker process is replaced and its tasks run again."""

    name = "local"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None

    def _start(self) -> ProcessPoolExecutor:
        self.pool = ProcessPoolExecutor(max_workers=self.workers)
        return self.pool

    def run(self, tasks: Iterable[Task]) -> Iterator[dict[str, Any]]:
        todo = iter(tasks)
        window = 2 * self.workers
        pool = self._start()
        running: dict[Future, Task] = {}
        retry: list[Task] = []
        failures: dict[tuple[int, int], int] = {}
        while True:
            while len(running) < window:
                task = retry.pop() if retry else next(todo, None)
                if task is None:
                    break
                try:
                    running[pool.submit(run_task, task)] = task
                except BrokenProcessPool:
                    retry.append(task)
                    break
            if not running and not retry:
                pool.shutdown(wait=True)
                self.pool = None
                return
            if running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
            else:
                finished = set()
            broken = False
            for fut in finished:
                task = running.pop(fut)
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    broken = True
                    key = (task.point, task.replication)
                    failures[key] = failures.get(key, 0) + 1
                    if failures[key] > RETRIES:
                        raise IcssimError(
                            f"point {task.point}, replication {task.replication} lost its worker process "
                            f"{failures[key]} times (out of memory?); finished runs are saved") from None
                    retry.append(task)
                    continue
                yield result
            if broken or (retry and not running):
                # a worker died: every task still in the pool is lost with it; start a new pool
                retry.extend(running.values())
                running.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                pool = self._start()

    def close(self) -> None:
        if self.pool is not None:
            processes = list((getattr(self.pool, "_processes", None) or {}).values())
            self.pool.shutdown(wait=False, cancel_futures=True)
            for proc in processes:
                if proc.is_alive():
                    proc.terminate()
            self.pool = None


class DaskExecutor:
    """Tasks on a Dask distributed cluster: ``address`` of a scheduler, or ``"local"`` for a
    :class:`dask.distributed.LocalCluster` on this machine. Dask re-runs the tasks of a lost
    worker on another worker."""

    name = "dask"

    def __init__(self, address: str, workers: int | None = None, timeout: float = 5.0, client=None) -> None:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise IcssimError("--dask needs the optional Dask extra: pip install 'icssim[dask]'") from None
        self.cluster = None
        self.address = address
        if client is not None:
            self.client = client
            self._own = False
        else:
            self._own = True
            if address == "local":
                from icssim.experiments import default_workers

                self.cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1,
                                            processes=True, dashboard_address=None)
                self.client = Client(self.cluster)
            else:
                try:
                    self.client = Client(address, timeout=f"{timeout}s")
                except (OSError, TimeoutError) as exc:
                    raise IcssimError(f"cannot reach the Dask scheduler at {address!r} "
                                      f"(tried for {timeout:g} s): {exc}") from None
                except ValueError as exc:
                    raise IcssimError(f"--dask {address!r} is not a scheduler address such as "
                                      f"tcp://host:8786, or 'local': {exc}") from None
                except Exception as exc:  # noqa: BLE001 - e.g. something else answered on that port
                    raise IcssimError(f"cannot connect to a Dask scheduler at {address!r}: something answered "
                                      f"but not as a Dask scheduler ({type(exc).__name__})") from None
        nthreads = sum(self.client.nthreads().values())
        if nthreads == 0:
            try:
                self.client.wait_for_workers(1, timeout=timeout)
            except (TimeoutError, OSError):
                self.close()
                raise IcssimError(f"the Dask scheduler at {address!r} has no workers "
                                  f"(waited {timeout:g} s)") from None
            nthreads = sum(self.client.nthreads().values())
        self.workers = max(nthreads, 1)

    def run(self, tasks: Iterable[Task]) -> Iterator[dict[str, Any]]:
        from dask.distributed import as_completed

        todo = iter(tasks)
        window = 2 * self.workers

        def submit(task: Task):
            return self.client.submit(run_task, task, pure=False, retries=RETRIES,
                                      key=f"icssim-sweep-{task.point}-{task.replication}-{task.key}-{task.seed}")

        first = [submit(t) for t in _take(todo, window)]
        if not first:
            return
        queue = as_completed(first)
        for fut in queue:
            result = fut.result()
            fut.release()
            yield result
            nxt = next(todo, None)
            if nxt is not None:
                queue.add(submit(nxt))

    def close(self) -> None:
        if self._own:
            import logging

            quiet = logging.getLogger("distributed")
            level = quiet.level
            quiet.setLevel(logging.ERROR)      # no "worker process still alive ... killing" noise at exit
            try:
                self.client.close()
                if self.cluster is not None:
                    self.cluster.close()
            finally:
                quiet.setLevel(level)


def _take(it: Iterator[Task], n: int) -> list[Task]:
    out = []
    for _ in range(n):
        t = next(it, None)
        if t is None:
            break
        out.append(t)
    return out


def make_executor(workers: int | None = None, dask: str | None = None):
    """The executor the command line asks for (all local cores by default)."""
    from icssim.experiments import default_workers

    if workers is not None and workers < 1:
        raise IcssimError(f"--workers must be at least 1, found {workers}")
    if dask:
        return DaskExecutor(dask, workers)
    workers = workers or default_workers()
    return InProcess() if workers == 1 else LocalPool(workers)
