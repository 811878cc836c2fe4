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
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
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
    for task in tasks:
        try:
            if isinstance(task, str):
                import_module(task)
            else:
                task()
        except Exception:  # imported again where it is used, which raises the error there
            pass


os.register_at_fork(before=wait)
