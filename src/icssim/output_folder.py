"""The atomic, all-or-nothing results folder: written aside, published in one step.

Everything is written into a temporary sibling folder, unique to the writing process, that
is renamed into place only when complete, so an interrupted or failed run never leaves a
half-written result, and an earlier result is never overwritten unless asked (``force``).
Two processes writing the same folder at once both keep their results: the first to finish
publishes at ``out``, the other in ``out-2`` (``-3`` ...) and says so (:class:`OutputConflict`).
Every path made from a user's name passes :func:`inside`. Imports no pandas or numpy, so the
command line may import it at once.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from icssim.errors import IcssimError


class OutputError(IcssimError):
    """Results could not be written (disk full, no permission, name too long ...). The message
    says why and where, that nothing half-written was left, and where the results were kept
    if they could be kept at all."""


class OutputConflict(OutputError):
    """The output folder appeared (another process wrote it) while this one was writing; this
    process's results were kept in ``kept``, the folder the message names."""

    def __init__(self, message: str, kept: Path) -> None:
        super().__init__(message)
        self.kept = kept


#: The kinds of folder (``kind`` in metadata.json) that ``--force`` may replace.
REPLACEABLE_KINDS = ("run", "compare", "warmup")
#: What a temporary folder's name holds after ``.<name>``: the writer's process id follows.
TEMP_MARK = ".partial-"


# ----------------------------------------------------------------------------- paths
def inside(folder: Path | str, *parts: str) -> Path:
    """``folder / part / ...``, refused (IcssimError) unless each part is one plain path
    component (not empty, ``.``, ``..``, nor holding a slash) and the result, symbolic links
    resolved, lies strictly inside ``folder``."""
    base = Path(folder)
    for part in parts:
        text = str(part)
        if text in ("", ".", "..") or "/" in text or "\\" in text or "\0" in text:
            raise IcssimError(f"{text!r} cannot name a file or folder inside {base}: a name must be one "
                              "path component, not '.', '..' or anything holding '/' or '\\'")
    target = base.joinpath(*parts)
    root, resolved = base.resolve(), target.resolve()
    if resolved == root or root not in resolved.parents:
        raise IcssimError(f"{target} is not inside {base}: refusing to write there")
    return target


def check_holder(path: Path | str, what: str | None = None) -> None:
    """Refuse (IcssimError) a ``path`` that lies inside a file: ``afile.txt/x`` can never be made,
    and making it fails with the system's words ("File exists", "Not a directory") after the work
    is done. ``what`` names the thing to be written there (default: the results folder ``path``).
    Folders along the way that do not exist yet are fine: they are made when it is written."""
    path = Path(path)
    for holder in path.parents:
        if holder.is_dir():
            return
        if os.path.lexists(holder):
            kind = "a file" if holder.is_file() else "not a folder"
            raise IcssimError(f"{holder} is {kind}, so it cannot hold {what or f'the results folder {path}'}")


def result_kind(folder: Path) -> str | None:
    """``kind`` in the folder's metadata.json (run, compare, warmup, sweep), or None."""
    try:
        meta = json.loads((Path(folder) / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = None
    if isinstance(meta, dict) and isinstance(meta.get("kind"), str):
        return meta["kind"]
    try:   # a warm-up folder written before warm-ups had metadata.json
        names = {p.name for p in Path(folder).iterdir()}
    except OSError:
        return None
    return "warmup" if "warmup.csv" in names and names <= {"warmup.csv", "warmup.png"} else None


def check_replaceable(out: Path, force: bool) -> None:
    """Refuse unless ``out`` is absent, or ``force`` and ``out`` is an empty folder or a run,
    comparison or warm-up folder (never a sweep's, nor any other folder); never inside a file
    (:func:`check_holder`)."""
    check_holder(out)
    if not os.path.lexists(out):
        return
    if not force:
        raise IcssimError(f"{out} already exists: pass --force to replace it, or --out for a new folder")
    if out.is_symlink() or not out.is_dir():
        raise IcssimError(f"{out} exists and is not a folder: refusing to replace it; choose another --out")
    kind = result_kind(out)
    if kind in REPLACEABLE_KINDS:
        return
    try:
        empty = not any(out.iterdir())
    except OSError as exc:
        raise OutputError(f"cannot read {out}: {exc.strerror}") from None
    if not empty:
        what = (f"a {kind} folder" if kind else
                "not an icssim results folder (no metadata.json of a run, comparison or warm-up)")
        raise IcssimError(f"{out} is {what}: refusing to replace it with --force; choose another --out")


def prepare_output(out: Path, force: bool, check: bool = True) -> Path:
    """Check ``out`` may be written (:func:`check_replaceable`, unless not ``check``); return a
    new temporary folder beside it, unique to this process, to write into."""
    out = Path(out)
    if out.name in ("", ".", ".."):
        raise IcssimError(f"{out} does not name a results folder: give --out a folder name")
    if check:
        check_replaceable(out, force)   # (which checks the holder too)
    else:
        check_holder(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        while True:
            tmp = out.with_name(f".{out.name}{TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")
            try:
                tmp.mkdir()
                return tmp
            except FileExistsError:
                continue
    except OSError as exc:
        raise OutputError(f"could not write the results to {out}/: {_reason(exc)}") from None


def commit_output(tmp: Path, out: Path, force: bool = True, check: bool = True) -> Path:
    """Move the finished temporary folder into place, atomically; return where it went.

    With ``force`` an existing ``out`` is exchanged for the new one in one step where the
    system allows (Linux), so ``out`` is never missing. Without it, or when ``out`` has
    meanwhile become something ``force`` may not replace, the results are kept in
    ``out-2`` (``-3`` ...) and :class:`OutputConflict` names it.
    """
    old = None
    with _publishing(out.parent):
        try:
            if os.path.lexists(out):
                try:
                    if check or not force:
                        check_replaceable(out, force)
                except IcssimError as exc:
                    kept = _keep_aside(tmp, out)
                    if not force:
                        raise OutputConflict(
                            f"{out} was written by another process while this one was writing: it was left "
                            f"as it is, and this run's results were kept in {kept}/", kept) from None
                    raise OutputConflict(f"{exc}; this run's results were kept in {kept}/", kept) from None
                old = _replace(tmp, out)
            else:
                try:
                    os.rename(tmp, out)
                except OSError as exc:
                    if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
                        raise
                    kept = _keep_aside(tmp, out)
                    raise OutputConflict(f"{out} appeared while this run was writing (another process "
                                         f"wrote it); it was left as it is and this run's results were "
                                         f"kept in {kept}/", kept) from None
        except OSError as exc:
            raise OutputError(f"could not move the results into {out}/: {_reason(exc)}; they are "
                              f"in {tmp}/") from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return out


def _replace(tmp: Path, out: Path) -> Path:
    """Put ``tmp`` at ``out`` and return where the previous ``out`` went (to be deleted)."""
    if _exchange(tmp, out):
        return tmp
    old = out.with_name(f".{out.name}.old-{os.getpid()}-{secrets.token_hex(4)}")
    os.rename(out, old)
    os.rename(tmp, out)
    return old


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def free_name(target: Path) -> Path:
    """``target``, or the first of ``target-2``, ``target-3`` ... that does not exist yet (so an
    earlier result kept beside ``--out`` is never replaced)."""
    folder, n = target, 2
    while os.path.lexists(folder):
        folder, n = target.with_name(f"{target.name}-{n}"), n + 1
    return folder


def _keep_aside(tmp: Path, out: Path) -> Path:
    """Rename ``tmp`` to the first free ``out-2``, ``out-3`` ...; return it."""
    for i in range(2, 10_000):
        candidate = out.with_name(f"{out.name}-{i}")
        if os.path.lexists(candidate):
            continue
        try:
            os.rename(tmp, candidate)
            return candidate
        except OSError as exc:
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
                raise
    return tmp  # pragma: no cover


@contextlib.contextmanager
def _publishing(parent: Path):
    """Hold an exclusive lock on the folder ``parent`` (flock on the folder itself: no lock
    file is left behind) while results are moved into it, so two icssim processes publishing
    there take turns and see each other's folders."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    try:
        fd = os.open(parent, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # pragma: no cover - a file system without locks
            pass
        yield
    finally:
        os.close(fd)   # releases the lock


def _reason(exc: OSError) -> str:
    """An OSError as the user needs it: what went wrong, in words, and on which file."""
    words = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
             errno.EACCES: "permission denied", errno.EPERM: "permission denied",
             errno.EROFS: "the disk is read-only", errno.ENAMETOOLONG: "a file name is too long",
             errno.EMFILE: "too many open files"}
    text = words.get(exc.errno, exc.strerror or str(exc))
    if exc.filename:
        text += f" ({exc.strerror or exc}: {exc.filename})"
    return text


def write_output(out: Path, force: bool, write: Callable[[Path], None]) -> Path:
    """Run ``write(folder)`` into a fresh temporary folder and publish it at ``out``.

    Whatever goes wrong, nothing half-written is left: on an error of the system (disk
    full, permission ...) the temporary folder is removed, the results are written once
    more to the system's temporary folder if that is on another disk, and
    :class:`OutputError` says what happened and where the results are, if anywhere.
    """
    out = Path(out)
    tmp = prepare_output(out, force)
    try:
        write(tmp)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        kept = _write_elsewhere(out, write)
        where = (f"; the results were written to {kept}/ instead" if kept is not None else
                 "; the results could not be kept anywhere else either: free some space, or choose "
                 "--out on another disk, and run again")
        raise OutputError(f"could not write the results to {out}/: {_reason(exc)}; nothing was left "
                          f"half-written there{where}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return commit_output(tmp, out, force)


def _other_disk(out: Path) -> Path | None:
    """The system's temporary folder, if it is on another disk than ``out`` (else None)."""
    base = Path(tempfile.gettempdir())
    try:
        if os.stat(base).st_dev == os.stat(out.parent).st_dev:
            return None
    except OSError:
        return None
    return base


def _write_elsewhere(out: Path, write: Callable[[Path], None]) -> Path | None:
    base = _other_disk(out)
    if base is None:
        return None
    try:
        folder = Path(tempfile.mkdtemp(prefix="icssim-results-", dir=base))
    except OSError:
        return None
    try:
        write(folder)
        return folder
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        return None
