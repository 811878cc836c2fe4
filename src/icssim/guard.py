"""The command line's last line of defence: signals, the machine's refusals and icssim's own bugs.

A user's mistake is an :class:`~icssim.errors.IcssimError` and is handled where it is found.
What is left reaches :func:`icssim.cli.main` here: SIGTERM is turned into the same path as
Ctrl-C (finished replications are kept, workers stop), a full disk or a refused permission is
one sentence, and an unexpected exception is one line naming the command and a file holding
its traceback, never a traceback on the screen.
"""

from __future__ import annotations

import argparse
import datetime as dt
import errno
import os
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

#: Where a user reports a bug (also printed with every internal error).
REPORT_TO = "the icssim issue tracker (attach the traceback file and, if you can, the scenario)"


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is: stop, keep what finished, write nothing half-done."""


#: a stop signal this soon after the command began to stop is the same stop arriving again
SAME_STOP_SECONDS = 1.0
#: when the command began to stop (:func:`mark_stopping`), or None
_stopping_since: list[float | None] = [None]


def mark_stopping() -> None:
    """The command is stopping (a Ctrl-C or SIGTERM was caught; what finished is being kept).

    For :data:`SAME_STOP_SECONDS` a further stop signal is taken as the same one arriving again
    and ignored: Ctrl-C from a terminal (or ``kill`` on the process group) reaches the workers
    too, and their report of it can reach this process before the signal itself is handled here
    (a signal that lands in an import is sent again 20 ms later: :func:`deferred_in_import`).
    Raised while the finished replications were being kept, that repeat lost them. A stop signal
    sent later than that stops the keeping at once, as a second Ctrl-C should."""
    _stopping_since[0] = time.monotonic()


def _repeats_the_stop() -> bool:
    since = _stopping_since[0]
    return since is not None and time.monotonic() - since < SAME_STOP_SECONDS


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM raises :class:`Terminated` in this process.

    Worker processes forked meanwhile inherit the handler; in them it restores the default
    action and re-sends the signal, so a worker told to stop stops at once.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    owner = os.getpid()

    def on_term(signum, frame):
        if os.getpid() != owner:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        if not _repeats_the_stop() and not deferred_in_import(signum, frame):
            raise Terminated()

    previous = signal.signal(signal.SIGTERM, on_term)
    previous_int = signal.getsignal(signal.SIGINT)
    if previous_int is signal.default_int_handler:
        signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        if previous_int is signal.default_int_handler:
            signal.signal(signal.SIGINT, previous_int)
        _stopping_since[0] = None


def on_interrupt(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C: KeyboardInterrupt, as Python's own handler raises it, except inside the import
    machinery (see :func:`deferred_in_import`) and when it repeats a stop under way
    (:func:`mark_stopping`)."""
    if not _repeats_the_stop() and not deferred_in_import(signum, frame):
        raise KeyboardInterrupt


def deferred_in_import(signum: int, frame: FrameType | None) -> bool:
    """If the signal arrived while this thread ran Python's import machinery (or a fork hook:
    :func:`_in_fork_hook`), send it again a moment later and say so. An exception raised in an
    import can leave an import lock held for ever (CPython 3.11): ``icssim run`` imports the
    writing's modules on a thread while it waits for its workers (:mod:`icssim.preload`), and a
    Ctrl-C that landed in an import of the main thread left that thread, and the run, waiting for
    ever."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib") or _in_fork_hook(frame):
            threading.Timer(0.02, os.kill, (os.getpid(), signum)).start()
            return True
        frame = frame.f_back
    return False


def _in_fork_hook(frame: FrameType) -> bool:
    """Whether ``frame`` runs one of :mod:`icssim.preload`'s hooks around a fork: Python ignores an
    exception raised there ("Exception ignored in: <function _freeze_for_fork>"), so a Ctrl-C that
    lands in one, as the plots' workers are forked, was lost and the run went on."""
    preload = sys.modules.get("icssim.preload")
    hooks = (getattr(preload, "_freeze_for_fork", None), getattr(preload, "_thaw_after_fork", None))
    return any(hook is not None and frame.f_code is hook.__code__ for hook in hooks)


#: OS errors that are the machine's answer, not icssim's bug, with what to do about each.
_ENVIRONMENT = {
    errno.ENOSPC: "the disk is full; free some space (or choose --out on another disk) and run again",
    errno.EDQUOT: "the disk quota is used up; free some space (or choose --out elsewhere) and run again",
    errno.EACCES: "permission denied; choose a folder you may write to (--out)",
    errno.EPERM: "operation not permitted; choose a folder you may write to (--out)",
    errno.EROFS: "the file system is read-only; choose --out on a writable disk",
    errno.ENAMETOOLONG: "a file name is too long for this file system; use a shorter name or --out",
    errno.EMFILE: "too many open files; raise the limit (ulimit -n) or use fewer --workers",
    errno.ENOMEM: "out of memory; use fewer replications or workers, or a shorter horizon",
}


def environment_problem(exc: OSError) -> str | None:
    """One sentence for an OS error the machine raised (disk full ...), or None if it is a bug."""
    advice = _ENVIRONMENT.get(exc.errno or -1)
    if advice is None:
        return None
    where = f" writing {exc.filename}" if exc.filename else ""
    return f"{exc.strerror or 'system error'}{where}: {advice}"


def internal_error(args: argparse.Namespace, exc: BaseException) -> int:
    """Save the traceback to a file and say, in one line, what failed and where to report it."""
    command = "icssim " + str(getattr(args, "command", "") or "")
    inputs = [str(p) for p in _inputs(args)]
    saved = save_traceback(exc, command, inputs)
    on = f" on {', '.join(inputs)}" if inputs else ""
    kept = f"traceback saved in {saved}" if saved else "the traceback could not be saved"
    print(f"icssim: internal error in '{command}'{on}: {type(exc).__name__}: {_one_line(exc)}. "
          f"This is a bug in icssim, not in your input; {kept}. Please report it to {REPORT_TO}.",
          file=sys.stderr)
    return 70


def save_traceback(exc: BaseException, command: str, inputs: list[str]) -> Path | None:
    """Write the traceback with the command and inputs to a new file in the temporary folder."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    text = (f"command: {command}\ninputs: {inputs}\nargv: {sys.argv!r}\npython: {sys.version}\n\n"
            + "".join(traceback.format_exception(exc)))
    try:
        fd, name = tempfile.mkstemp(prefix=f"icssim-crash-{stamp}-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as f:
            f.write(text)
        return Path(name)
    except OSError:
        return None


def _inputs(args: argparse.Namespace) -> list[Path]:
    files = getattr(args, "files", None) or []
    one = getattr(args, "file", None)
    return [*([one] if one is not None else []), *files]


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."
