"""The Dask backend of :mod:`icssim.executors`: a Dask distributed cluster, at an address or started
on this machine. Dask is an optional dependency (``pip install 'icssim[dask]'``), imported only
when a Dask executor is made."""

from __future__ import annotations

import logging
import signal
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from icssim.errors import IcssimError
from icssim.executor_base import ALL, END, RETRIES, Closing, Initializer, R, Stream, T, default_workers, in_order, take


class DaskExecutor(Closing):
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
            _drop_sync_cancel_noise()
            with _workers_ignore_ctrl_c():
                # silence_logs: the workers' warnings of tasks cancelled when a run stops, and their
                # errors of a scheduler gone before them when it stops at Ctrl-C, are noise here; a
                # task's own error reaches icssim through its future
                self.cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1,
                                            processes=True, dashboard_address=None,
                                            silence_logs=logging.CRITICAL)
            self.client = Client(self.cluster)
        else:
            self.client = _connect(Client, address, timeout)
        self.workers = self._wait_for_workers(timeout)
        if initializer is not None:
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
        return in_order(lambda item: self._submit(fn, item), items, ahead, self.stop, self.client.cancel)

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T], ahead: int | None = None) -> Stream[R]:
        from dask.distributed import as_completed

        todo = iter(items)
        first = [self._submit(fn, item) for item in take(todo, ahead or ALL)]
        if not first:
            return
        queue = as_completed(first)
        try:
            for fut in queue:
                result = fut.result()
                fut.release()
                yield result
                nxt: Any = next(todo, END)
                if nxt is not END:
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


class SyncCancelNoise(logging.Filter):
    """Drops one record: distributed's ``sync()``, interrupted by Ctrl-C before its coroutine
    started, schedules a ``cancel`` callback that reads a variable not yet assigned; tornado logs
    the NameError with its traceback (distributed 2026.8.0, ``utils.sync``), while icssim stops
    cleanly and keeps what finished. Every other record passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (isinstance(error, NameError) and "sync.<locals>.cancel" in record.getMessage())


def _drop_sync_cancel_noise() -> None:
    """Install :class:`SyncCancelNoise` on tornado's callback logger, once per process."""
    logger = logging.getLogger("tornado.application")
    if not any(isinstance(f, SyncCancelNoise) for f in logger.filters):
        logger.addFilter(SyncCancelNoise())


@contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Start a local cluster's worker processes with SIGINT ignored (an ignored signal stays ignored
    in the processes started meanwhile): Ctrl-C reaches the whole process group, and each worker
    printed a KeyboardInterrupt traceback while icssim itself stopped cleanly, keeping what was
    finished. The cluster is closed by icssim, not by the workers' own interrupt."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)
