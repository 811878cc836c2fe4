"""Executors: where the work of a command runs. In this process, a local process pool, or a
Dask cluster, behind one :class:`Executor` protocol used by ``run``, ``compare``, ``warmup``
and ``sweep`` (and whatever comes next: calibration, PSA).

A command makes one executor (:func:`make_executor`) and gives it all its work. Each piece of
work is ``fn(item)`` with ``fn`` a module-level function and ``item`` small: whatever is big
and the same for every item (a scenario) is installed on each worker once, when it starts,
by the executor's ``initializer``, not sent with every item. The result of ``fn(item)``
depends on nothing but ``item`` and that installed state, so it is the same whatever the
executor or the number of workers.

A new backend is one class here with the members of :class:`Executor`.
"""

from __future__ import annotations

import logging
import os
import signal
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, TypeVar, runtime_checkable

from icssim.errors import IcssimError

T = TypeVar("T")
R = TypeVar("R")
Initializer = Callable[..., None]
Stream = Generator[R, None, None]   # results of a map; closing it stops the work under way

#: How many times an item whose worker process was lost (out of memory?) is run again.
RETRIES = 3


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


def default_workers() -> int:
    """All the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


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


class _Closing:
    """``with executor:`` closes it."""

    def __enter__(self: Any) -> Any:
        return self

    def __exit__(self: Any, *exc: object) -> None:
        self.close()


class SerialExecutor(_Closing):
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


class LocalPoolExecutor(_Closing):
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
        self.pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, initializer=_start_worker, initargs=self._init)

    def _submit(self, fn: Callable[[T], R], item: T) -> Future[R]:
        return self.pool.submit(_run_item, fn, item)

    def map_in_order(self, fn: Callable[[T], R], items: Iterable[T], ahead: int | None = None) -> Stream[R]:
        return _in_order(lambda item: self._submit(fn, item), items, ahead, self.stop, _cancel)

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T], ahead: int | None = None) -> Stream[R]:
        todo = iter(items)
        running: dict[Future[R], T] = {}
        retry: list[T] = []
        failures: dict[int, int] = {}
        try:
            while True:
                while len(running) < (ahead or _ALL):
                    item: Any = retry.pop() if retry else next(todo, _END)
                    if item is _END:
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
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = self._start()

    def stop(self) -> None:
        """Tell the workers to abandon the items they are running (SIGTERM, which
        :func:`_abandon_item` turns into an interrupt inside an item only), so that a command
        told to stop does not wait for them; :meth:`close` then cancels the queued ones.

        ``ProcessPoolExecutor`` has no public list of its workers before Python 3.14; its
        ``_processes`` map is read defensively.
        """
        for process in list((getattr(self.pool, "_processes", None) or {}).values()):
            try:
                process.terminate()
            except (OSError, ValueError, AttributeError):  # already gone
                pass

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class LostWorker(IcssimError):
    """An item lost its worker process more than :data:`RETRIES` times."""

    def __init__(self, item: Any, times: int) -> None:
        super().__init__(f"{item!r} lost its worker process {times} times (out of memory?)")
        self.item, self.times = item, times


_ALL = 1 << 62            # no bound on the look-ahead
_END = object()
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


def _take(it: Iterator[T], n: int) -> Iterator[T]:
    for _ in range(max(n, 0)):
        item: Any = next(it, _END)
        if item is _END:
            return
        yield item


def _in_order(submit: Callable[[Any], Any], items: Iterable[Any], ahead: int | None, stop: Callable[[], None],
              cancel: Callable[[list[Any]], object]) -> Stream[Any]:
    """Results of the futures ``submit(item)`` in the order of ``items``, at most ``ahead`` under way."""
    todo = iter(items)
    pending: deque[Any] = deque()
    try:
        while True:
            for item in _take(todo, (ahead or _ALL) - len(pending)):
                pending.append(submit(item))
            if not pending:
                return
            yield pending.popleft().result()
    except BaseException:  # Ctrl-C, SIGTERM, an error, or the caller stopped early: stop the workers now
        stop()
        raise
    finally:
        if pending:
            cancel(list(pending))


def _cancel(futures: list[Future[Any]]) -> None:
    for fut in futures:
        fut.cancel()


class DaskExecutor(_Closing):
    """A Dask distributed cluster: ``address`` of a scheduler, or ``"local"`` for a
    :class:`dask.distributed.LocalCluster` of ``workers`` processes on this machine. Each
    worker's state is installed by a worker plugin (also on workers that join later). Dask
    runs the items of a lost worker again on another, up to :data:`RETRIES` times."""

    name = "dask"

    def __init__(self, address: str, workers: int | None = None, timeout: float = 5.0, client: Any = None,
                 initializer: Initializer | None = None, initargs: tuple[Any, ...] = ()) -> None:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise IcssimError("--dask needs the optional Dask extra: pip install 'icssim[dask]'") from None
        self.cluster = None
        self.address = address
        self._own = client is None
        self._plugin: str | None = None
        if client is not None:
            self.client = client
        elif address == "local":
            self.cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1,
                                        processes=True, dashboard_address=None)
            self.client = Client(self.cluster)
        else:
            self.client = _connect(Client, address, timeout)
        self.workers = self._wait_for_workers(timeout)
        if initializer is not None:
            import uuid

            self._plugin = f"icssim-setup-{uuid.uuid4().hex}"
            self.client.register_plugin(_setup_plugin(initializer, initargs), name=self._plugin)

    def _wait_for_workers(self, timeout: float) -> int:
        nthreads = sum(self.client.nthreads().values())
        if nthreads == 0:
            try:
                self.client.wait_for_workers(1, timeout=timeout)
            except (TimeoutError, OSError):
                self.close()
                raise IcssimError(f"the Dask scheduler at {self.address!r} has no workers "
                                  f"(waited {timeout:g} s)") from None
            nthreads = sum(self.client.nthreads().values())
        return max(nthreads, 1)

    def _submit(self, fn: Callable[[T], R], item: T) -> Any:
        return self.client.submit(fn, item, pure=False, retries=RETRIES)

    def map_in_order(self, fn: Callable[[T], R], items: Iterable[T], ahead: int | None = None) -> Stream[R]:
        return _in_order(lambda item: self._submit(fn, item), items, ahead, self.stop, self.client.cancel)

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T], ahead: int | None = None) -> Stream[R]:
        from dask.distributed import as_completed

        todo = iter(items)
        first = [self._submit(fn, item) for item in _take(todo, ahead or _ALL)]
        if not first:
            return
        queue = as_completed(first)
        try:
            for fut in queue:
                result = fut.result()
                fut.release()
                yield result
                nxt: Any = next(todo, _END)
                if nxt is not _END:
                    queue.add(self._submit(fn, nxt))
        finally:
            left = list(queue.futures)
            if left:
                self.client.cancel(left)

    def stop(self) -> None:
        pass   # closing a map cancels its futures; the workers belong to the cluster

    def close(self) -> None:
        quiet = logging.getLogger("distributed")
        level = quiet.level
        quiet.setLevel(logging.ERROR)      # no "worker process still alive ... killing" noise at exit
        try:
            if self._plugin is not None and self.client.status == "running":
                try:
                    self.client.unregister_worker_plugin(self._plugin)
                except Exception:  # noqa: BLE001 - best effort: the cluster may be going away
                    pass
                self._plugin = None
            if self._own:
                self.client.close()
                if self.cluster is not None:
                    self.cluster.close()
        finally:
            quiet.setLevel(level)


def _connect(client: Callable[..., Any], address: str, timeout: float) -> Any:
    try:
        return client(address, timeout=f"{timeout}s")
    except (OSError, TimeoutError) as exc:
        raise IcssimError(f"cannot reach the Dask scheduler at {address!r} "
                          f"(tried for {timeout:g} s): {exc}") from None
    except ValueError as exc:
        raise IcssimError(f"--dask {address!r} is not a scheduler address such as "
                          f"tcp://host:8786, or 'local': {exc}") from None
    except Exception as exc:  # noqa: BLE001 - e.g. something else answered on that port
        raise IcssimError(f"cannot connect to a Dask scheduler at {address!r}: something answered "
                          f"but not as a Dask scheduler ({type(exc).__name__})") from None


def _setup_plugin(initializer: Initializer, initargs: tuple[Any, ...]) -> Any:
    """A Dask worker plugin that runs ``initializer(*initargs)`` on every worker, once."""
    from dask.distributed import WorkerPlugin

    class Setup(WorkerPlugin):
        def setup(self, worker: object) -> None:
            initializer(*initargs)

    return Setup()
