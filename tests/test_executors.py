"""icssim.executors: one Executor protocol for run, compare and sweep; the same results on any
executor (replication r is seeded by (seed, r) only), and a new executor is one class."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pandas as pd
import pytest

from helpers import SCENARIOS, precision_needing_more, shipped
from icssim import experiments, precision
from icssim.executors import Executor, LocalPoolExecutor, SerialExecutor, Stream, make_executor
from test_cli_run import _icssim, _short

T = TypeVar("T")
R = TypeVar("R")


class ThreadExecutor:
    """A new executor: threads of this process. Nothing else changes for run, compare or sweep."""

    name = "threads"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.pool = ThreadPoolExecutor(workers)

    def map_in_order(self, fn: Callable[[T], R], items: Iterable[T], ahead: int | None = None) -> Stream[R]:
        futures = [self.pool.submit(fn, item) for item in items]
        try:
            for fut in futures:
                yield fut.result()
        finally:
            for fut in futures:
                fut.cancel()

    map_unordered = map_in_order

    def stop(self) -> None:
        pass

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ThreadExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _scenario():
    return shipped("ed_fragmented", horizon="1 year", warmup="2 months")


def test_every_executor_is_an_executor():
    with SerialExecutor() as serial, LocalPoolExecutor(2) as pool, ThreadExecutor(2) as threads:
        for ex in (serial, pool, threads):
            assert isinstance(ex, Executor)
    assert isinstance(make_executor(1), SerialExecutor)
    with make_executor(4, tasks=2) as ex:
        assert isinstance(ex, LocalPoolExecutor) and ex.workers == 2


def test_a_new_executor_is_one_class_and_gives_the_same_results():
    s = _scenario()
    serial = experiments.run(s, replications=3, workers=1, keep_records=False)
    target = precision_needing_more(s, "wait_to_treatment_mean")
    with ThreadExecutor(2) as threads:
        threaded = experiments.run(s, replications=3, keep_records=False, executor=threads)
        precise = precision.run_to_precision(s, target, ["wait_to_treatment_mean"], start=3, cap=30,
                                               keep_records=False, executor=threads)
    serial_precise = precision.run_to_precision(s, target, ["wait_to_treatment_mean"], start=3, cap=30,
                                                  workers=1, keep_records=False)
    pd.testing.assert_frame_equal(serial.kpis, threaded.kpis)
    assert precise.precision == serial_precise.precision and 3 < precise.precision["replications"] < 30
    pd.testing.assert_frame_equal(precise.kpis, serial_precise.kpis)


def test_one_local_pool_serves_several_maps_in_submission_order():
    """A command makes its pool once: here two scenarios' replications on one pool, in order."""
    a, b = _scenario(), shipped("ed_integrated", horizon="1 year", warmup="2 months")
    with experiments.executor_for([a, b], workers=2) as pool:
        processes = None
        for s in (a, b, a):
            res = experiments.run(s, replications=3, keep_records=False, executor=pool)
            assert list(res.kpis.index) == [0, 1, 2]
            now = set((pool.pool._processes or {}).keys())
            assert processes is None or now == processes
            processes = now
        pd.testing.assert_frame_equal(res.kpis, experiments.run(a, 3, workers=1, keep_records=False).kpis)


def test_the_map_look_ahead_is_bounded():
    started: list[int] = []

    def note(x: int) -> int:
        started.append(x)
        return x

    with SerialExecutor() as serial:
        stream = serial.map_in_order(note, range(100), ahead=2)
        assert next(stream) == 0 and started == [0]
        stream.close()
    with LocalPoolExecutor(2) as pool:
        assert list(pool.map_in_order(abs, range(-5, 5), ahead=3)) == [abs(x) for x in range(-5, 5)]
        assert sorted(pool.map_unordered(abs, range(-5, 5), ahead=3)) == sorted(abs(x) for x in range(-5, 5))


def test_run_on_dask_local_gives_the_same_kpis_as_serial():
    pytest.importorskip("dask.distributed")
    s = _scenario()
    serial = experiments.run(s, replications=3, workers=1, keep_records=False)
    on_dask = experiments.run(s, replications=3, workers=2, keep_records=False, dask="local")
    pd.testing.assert_frame_equal(serial.kpis, on_dask.kpis)


def test_compare_on_a_dask_scheduler_writes_what_a_local_pool_writes(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    base, variant = (_short(tmp_path, SCENARIOS / f"{name}.yaml") for name in ("ed_fragmented", "ed_integrated"))
    local = tmp_path / "local"
    assert _icssim("compare", base, variant, "-n", "2", "-w", "2", "--out", local, "-q").returncode == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        dask = tmp_path / "dask"
        proc = _icssim("compare", base, variant, "-n", "2", "--dask", cluster.scheduler_address, "--out", dask,
                       "-q")
        assert proc.returncode == 0, proc.stderr
    for name in ("summary.csv", "differences.csv"):
        assert (local / name).read_bytes() == (dask / name).read_bytes()


def test_missing_dask_extra_is_a_clear_message(tmp_path, monkeypatch):
    import sys

    from icssim.errors import IcssimError

    monkeypatch.setitem(sys.modules, "dask.distributed", None)     # as if dask were not installed
    with pytest.raises(IcssimError, match=r"pip install 'icssim\[dask\]'"):
        experiments.run(_scenario(), replications=2, dask="local")


def _stubborn(seconds: float) -> float:
    """An item that will not be abandoned: it swallows the interrupt a stopped pool sends, as a
    worker blocked writing a result into a pipe nobody reads would ignore it."""
    import time

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            time.sleep(0.05)
        except KeyboardInterrupt:
            pass
    return seconds


def test_close_after_stop_kills_a_worker_that_does_not_exit():
    """A stopped pool's close gives its workers STOP_GRACE seconds, then kills the rest, so a
    command told to stop never waits on a stuck worker (CI saw one hang at interpreter exit)."""
    import time

    from icssim import executors

    pool = LocalPoolExecutor(2)
    futures = [pool._submit(_stubborn, 60.0) for _ in range(2)]
    processes = executors._processes(pool.pool)
    assert len(processes) == 2
    while not all(fut.running() for fut in futures):
        time.sleep(0.05)
    time.sleep(0.3)   # both items under way in the workers
    pool.stop()       # SIGTERM, which _stubborn swallows
    start = time.monotonic()
    pool.close()
    assert time.monotonic() - start < executors.STOP_GRACE + 5
    # (the pool's own thread may reap a killed worker just before join does: then is_alive()
    # stays True for a moment, until that thread records the exit code)
    settled = time.monotonic() + 5
    while any(p.is_alive() for p in processes) and time.monotonic() < settled:
        time.sleep(0.05)
    assert not any(p.is_alive() for p in processes)


def test_close_without_stop_waits_for_the_work_and_leaves_no_worker():
    from icssim import executors

    pool = LocalPoolExecutor(2)
    assert sorted(pool.map_unordered(_stubborn, [0.2, 0.3])) == [0.2, 0.3]
    processes = executors._processes(pool.pool)
    pool.close()
    assert not any(p.is_alive() for p in processes)


def test_distributeds_ctrl_c_noise_is_dropped_and_nothing_else():
    """The NameError tornado logs from distributed's ``sync()`` cancel callback at Ctrl-C (a bug in
    distributed, not the user's) is dropped; any other error record, NameError or not, passes."""
    import functools
    import logging
    import sys

    from icssim.dask_executor import SyncCancelNoise

    def sync():
        def cancel():
            return unassigned  # noqa: F821 - the bug: a variable read before it is assigned

        return cancel

    def record(callback, error):
        try:
            raise error
        except BaseException:
            exc_info = sys.exc_info()
        return logging.LogRecord("tornado.application", logging.ERROR, __file__, 1,
                                 "Exception in callback %r", (callback,), exc_info)

    noise = SyncCancelNoise()
    cancel = functools.partial(sync())
    assert not noise.filter(record(cancel, NameError("cannot access free variable 'future'")))
    assert noise.filter(record(cancel, ValueError("a real error")))
    assert noise.filter(record(functools.partial(print), NameError("another callback's bug")))
