"""Import in the background what a command needs later, while its worker processes simulate.

``icssim run`` waits for its replications on worker processes; this process is idle meanwhile.
What writing the outputs needs afterwards (pandas, pyarrow, scipy.special, matplotlib with its
Agg backend, the report's modules: about a second of CPU time) would otherwise be imported
after the simulation, on the path the user waits for, and matplotlib once in each forked plot
worker rather than once here. :func:`start` imports it on a thread while the workers run.

A process must not fork while one of its threads is importing: the child would inherit a
module lock held by a thread that does not exist in it, and hang on importing that module.
So every fork of this process (a plot worker, a replacement for a lost simulation worker)
first waits for the thread to finish (:func:`os.register_at_fork`); start it only once the
workers it is meant to overlap have been forked.

Every fork also happens with the objects of this process frozen (:func:`gc.freeze`, undone in
the parent at once): a child's cyclic garbage collector then never walks what it inherited
(every module imported, the scenario, the run's records), which took 0.2-0.37 s of each
simulation worker's first replication and of each plot worker's work (benchmarks/README.md).
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from importlib import import_module

Task = str | Callable[[], object]  # a module to import, or a function that imports something

_THREADS: list[threading.Thread] = []


def start(tasks: Iterable[Task]) -> threading.Thread:
    """Run ``tasks`` (module names to import, or functions) in order on a background thread."""
    thread = threading.Thread(target=_run, args=(tuple(tasks),), name="icssim-preload", daemon=True)
    _THREADS.append(thread)
    thread.start()
    return thread


def wait() -> None:
    """Wait until every thread :func:`start` began has finished."""
    current = threading.current_thread()
    for thread in list(_THREADS):
        if thread is not current:
            thread.join()
            _THREADS.remove(thread)


def _run(tasks: tuple[Task, ...]) -> None:
    # importing makes objects that live on, and the cyclic collector would walk all of them again
    # and again (about a sixth of the imports' CPU time) to free nothing: paused while the thread runs
    paused = gc.isenabled()
    gc.disable()
    try:
        for task in tasks:
            try:
                if isinstance(task, str):
                    import_module(task)
                else:
                    task()
            except Exception:  # imported again where it is used, which raises the error there
                pass
    finally:
        if paused:
            gc.enable()


_THAWS: list[bool] = [False]  # whether the fork under way froze this process's objects (to undo)


def _freeze_for_fork() -> None:
    _THAWS[0] = gc.get_freeze_count() == 0  # objects frozen already (by :func:`frozen`) stay so
    gc.freeze()


def _thaw_after_fork() -> None:
    if _THAWS[0]:
        gc.unfreeze()


@contextmanager
def frozen() -> Iterator[None]:
    """Freeze this process's objects (:func:`gc.freeze`) for the block, then thaw them: for work
    that follows the imports, whose later garbage collections need not walk every object the
    imports made. Forks inside the block keep them frozen."""
    if gc.get_freeze_count():  # already frozen (nested): leave it to the outer block
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


# (``before`` hooks run last registered first: the thread has finished when the objects are frozen)
os.register_at_fork(before=_freeze_for_fork, after_in_parent=_thaw_after_fork)
os.register_at_fork(before=wait)
