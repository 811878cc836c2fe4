"""icssim.preload: imports on a background thread while a run's workers simulate, and forks that
wait for it."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from icssim import preload

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_fork_waits_for_the_thread_to_finish():
    """A process forked while the thread works gets its finished state, never half of it: the
    child sees the slow task done (a fork in the middle of an import could hang the child)."""
    done: list[str] = []

    def slow() -> None:
        time.sleep(0.3)
        done.append("slow")

    started = time.perf_counter()
    preload.start([slow])
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if the task had finished before the fork
        os._exit(0 if done == ["slow"] else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert time.perf_counter() - started >= 0.3


def test_a_failing_task_leaves_the_others_to_run():
    done: list[str] = []

    def broken() -> None:
        raise RuntimeError("not installed")

    preload.start(["icssim.no_such_module", broken, lambda: done.append("ran")])
    preload.wait()
    assert done == ["ran"]


def test_the_run_imports_every_module_it_names():
    """The run's list is imported for real: a misspelt name would be skipped without a word."""
    from icssim.cli import OUTPUT_IMPORTS

    for task in OUTPUT_IMPORTS:
        if isinstance(task, str):
            importlib.import_module(task)
        else:
            task()
    assert "matplotlib.pyplot" in sys.modules


def test_what_the_simulation_workers_inherit_holds_no_output_library():
    """Up to the fork of its workers, ``icssim run`` imports neither pandas, scipy nor matplotlib
    (about a second together): the workers need none of them, and the thread imports them while
    the workers simulate."""
    code = ("import sys\nfrom icssim import cli, experiments\nfrom icssim.scenario import load_scenario\n"
            "load_scenario('scenarios/ed_integrated.yaml')\n"
            "print(' '.join(m for m in ('pandas', 'scipy', 'matplotlib', 'pyarrow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_inherits_its_objects_frozen_and_the_parent_is_thawed():
    """A forked child's collector never walks what it inherited; the parent is as it was."""
    import gc

    assert gc.get_freeze_count() == 0
    pid = os.fork()
    if pid == 0:
        os._exit(0 if gc.get_freeze_count() > 0 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert gc.get_freeze_count() == 0


def test_frozen_freezes_for_the_block_only():
    import gc

    assert gc.get_freeze_count() == 0
    with preload.frozen():
        assert gc.get_freeze_count() > 0
        with preload.frozen():  # nested: the outer block thaws
            pass
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
