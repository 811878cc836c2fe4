"""Executors: where the work of a command runs. In this process, a local process pool, or a
Dask cluster, behind one :class:`Executor` protocol used by ``run``, ``compare``, ``warmup``
and ``sweep`` (and whatever comes next: calibration, PSA).

A command makes one executor (:func:`make_executor`) and gives it all its work. Each piece of
work is ``fn(item)`` with ``fn`` a module-level function and ``item`` small: whatever is big
and the same for every item (a scenario) is installed on each worker once, when it starts,
by the executor's ``initializer``, not sent with every item. The result of ``fn(item)``
depends on nothing but ``item`` and that installed state, so it is the same whatever the
executor or the number of workers.

A new backend is one class with the members of :class:`Executor` (the Dask one is in
:mod:`icssim.dask_executor`; what backends share, in :mod:`icssim.executor_base`).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, runtime_checkable

from icssim.dask_executor import DaskExecutor
from icssim.errors import IcssimError
from icssim.executor_base import (
    ALL,
    END,
    RETRIES,
    Closing,
    Initializer,
    LostWorker,
    R,
    Stream,
    T,
    default_workers,
    in_order,
)

__all__ = ["RETRIES", "DaskExecutor", "Executor", "Initializer", "LocalPoolExecutor", "LostWorker", "SerialExecutor",
           "Stream", "default_workers", "make_executor"]


@runtime_checkable
class Executor(Protocol):
    """Runs ``fn(item)`` for many items on ``workers`` workers.

    ``ahead`` bounds how many items are started before the caller has taken the results of
    earlier ones (default: all of them), so a caller that may stop early wastes at most that
    many. Closing a map's iterator (or an exception in it: Ctrl-C, SIGTERM, an error) stops
    the work under way and cancels the items not yet started.
    """

    name: str       # written into the outputs' metadata ("in-process", "local", "dask")
    workers: int

    def map_in_order(self, fn: Callable[[T], R], items: Iterable[T], ahead: int | None = None) -> Stream[R]:
        """The results of ``fn(item)`` in the order of ``items``."""
        ...

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T], ahead: int | None = None) -> Stream[R]:
        """The results of ``fn(item)`` as each finishes, in any order."""
        ...

    def stop(self) -> None:
        """Abandon the work under way now (Ctrl-C, SIGTERM, the caller stopped early)."""
        ...

    def close(self) -> None:
        """Release the workers (waits for them to exit)."""
        ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...

def make_executor(workers: int | None = None, dask: str | None = None, initializer: Initializer | None = None,
                  initargs: tuple[Any, ...] = (), tasks: int | None = None) -> Executor:
    """The executor the command line asks for: a Dask cluster (``--dask ADDRESS`` or ``local``),
    else ``workers`` local processes (all cores by default, no more than ``tasks``), or this
    process alone for one. ``initializer(*initargs)`` installs each worker's state."""
    if workers is not None and workers < 1:
        raise IcssimError(f"--workers must be at least 1, found {workers}")
    if dask:
        return DaskExecutor(dask, workers, initializer=initializer, initargs=initargs)
    workers = workers or default_workers()
    if tasks is not None:
        workers = min(workers, tasks) or 1
    if workers == 1:
        return SerialExecutor(initializer, initargs)
    return LocalPoolExecutor(workers, initializer, initargs)

class SerialExecutor(Closing):
    """Everything in this process, one item after another (``--workers 1``)."""

    name = "in-process"
    workers = 1

    def __init__(self, initializer: Initializer | None = None, initargs: tuple[Any, ...] = ()) -> None:
        if initializer is not None:
            initializer(*initargs)

    def map_in_order(self, fn: Callable[[T], R], items: Iterable[T], ahead: int | None = None) -> Stream[R]:
        for item in items:
            yield fn(item)

    map_unordered = map_in_order

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


class LocalPoolExecutor(Closing):
    """A local process pool, made once and kept until :meth:`close`.

    Its workers take Ctrl-C and SIGTERM as an interrupt only while running an item
    (:func:`_abandon_item`), so a pool told to stop never has half a message in its result
    pipe; :meth:`stop` sends them SIGTERM. In :meth:`map_unordered` a lost worker process
    (out of memory?) is replaced and its items run again, up to :data:`RETRIES` times each.
    """

    name = "local"

    def __init__(self, workers: int, initializer: Initializer | None = None,
                 initargs: tuple[Any, ...] = ()) -> None:
        self.workers = workers
        self._init = (initializer, initargs)
        self._stopped = False
        self._retired: list[Any] = []     # the worker processes of pools replaced after a lost worker
        self.pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        """A new pool, its workers forked now rather than at the first item: once the executor is
        made, a thread the caller starts (:mod:`icssim.preload`) cannot run across their fork."""
        pool = ProcessPoolExecutor(max_workers=self.workers, initializer=_start_worker, initargs=self._init)
        pool.submit(int)  # with fork, the first item starts every worker
        return pool

    def _submit(self, fn: Callable[[T], R], item: T) -> Future[R]:
        return self.pool.submit(_run_item, fn, item)

    def map_in_order(self, fn: Callable[[T], R], items: Iterable[T], ahead: int | None = None) -> Stream[R]:
        return in_order(lambda item: self._submit(fn, item), items, ahead, self.stop, _cancel)

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T], ahead: int | None = None) -> Stream[R]:
        todo = iter(items)
        running: dict[Future[R], T] = {}
        retry: list[T] = []
        failures: dict[int, int] = {}
        try:
            while True:
                while len(running) < (ahead or ALL):
                    item: Any = retry.pop() if retry else next(todo, END)
                    if item is END:
                        break
                    try:
                        running[self._submit(fn, item)] = item
                    except BrokenProcessPool:
                        retry.append(item)
                        break
                if not running and not retry:
                    return
                finished = wait(running, return_when=FIRST_COMPLETED)[0] if running else set()
                lost = []
                for fut in finished:
                    item = running.pop(fut)
                    try:
                        result = fut.result()
                    except BrokenProcessPool:
                        lost.append(item)
                        continue
                    yield result
                if lost or (retry and not running):
                    self._replace_pool(lost, running, retry, failures)
        except BaseException:
            self.stop()
            raise
        finally:
            _cancel(list(running))

    def _replace_pool(self, lost: list[T], running: dict[Future[R], T], retry: list[T],
                      failures: dict[int, int]) -> None:
        """A worker died: every item still in the pool is lost with it; run them again on a new pool."""
        for item in lost:
            failures[id(item)] = failures.get(id(item), 0) + 1
            if failures[id(item)] > RETRIES:
                raise LostWorker(item, failures[id(item)])
        retry.extend(lost + list(running.values()))
        running.clear()
        self._retired.extend(_processes(self.pool))
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = self._start()

    def stop(self) -> None:
        """Tell the workers to abandon the items they are running (SIGTERM, which
        :func:`_abandon_item` turns into an interrupt inside an item only), so that a command
        told to stop does not wait for them; :meth:`close` then cancels the queued ones."""
        self._stopped = True
        for process in _processes(self.pool):
            try:
                process.terminate()
            except (OSError, ValueError, AttributeError):  # already gone
                pass

    def close(self) -> None:
        """Shut the pool down. After :meth:`stop`, give the workers :data:`STOP_GRACE` seconds
        to exit, then kill the rest: a worker may already hold the next queued item, or be
        blocked sending a result that the pool, shutting down, will never read."""
        if not self._stopped:
            self.pool.shutdown(wait=True, cancel_futures=True)
            _reap(self._retired, STOP_GRACE)
            return
        processes = _processes(self.pool) + self._retired
        self.pool.shutdown(wait=False, cancel_futures=True)
        _reap(processes, STOP_GRACE)


STOP_GRACE = 3.0    # seconds a stopped pool's workers get to exit before they are killed


def _processes(pool: ProcessPoolExecutor) -> list[Any]:
    """A pool's worker processes. ``ProcessPoolExecutor`` has no public list of them before
    Python 3.14; its ``_processes`` map is read defensively."""
    return list((getattr(pool, "_processes", None) or {}).values())


def _reap(processes: list[Any], grace: float) -> None:
    """Wait up to ``grace`` seconds in all for ``processes`` to exit; kill those still running."""
    deadline = time.monotonic() + grace
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            process.kill()
            process.join()


_IN_ITEM = [False]        # in a worker of a LocalPoolExecutor: whether it is running an item now


def _start_worker(initializer: Initializer | None, initargs: tuple[Any, ...]) -> None:
    """A local worker's start: install its state, and take Ctrl-C and SIGTERM as :func:`_abandon_item`."""
    if initializer is not None:
        initializer(*initargs)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _abandon_item)


def _abandon_item(signum: int, frame: object) -> None:
    """In a worker told to stop: abandon the item being run. Between items, and while a finished
    one is being sent to the parent, do nothing: killed then, a worker would leave half a
    message in the result pipe, and the pool would wait for the rest forever."""
    if _IN_ITEM[0]:
        raise KeyboardInterrupt


def _run_item(fn: Callable[[T], R], item: T) -> R:
    _IN_ITEM[0] = True
    try:
        return fn(item)
    finally:
        _IN_ITEM[0] = False

def _cancel(futures: list[Future[Any]]) -> None:
    for fut in futures:
        fut.cancel()
