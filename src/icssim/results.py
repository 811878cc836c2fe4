"""Write a run's tables, plots and metadata to a results folder, all or nothing.

Everything is written into a temporary sibling folder, unique to the writing process, that
is renamed into place only when complete, so an interrupted or failed run never leaves a
half-written result, and an earlier result is never overwritten unless asked (``force``).
Two processes writing the same folder at once both keep their results: the first to finish
publishes at ``out``, the other in ``out-2`` (``-3`` ...) and says so (:class:`OutputConflict`).
Every path made from a user's name passes :func:`inside`, and every CSV cell of text goes
through :func:`neutralise` (spreadsheet formula injection).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import json
import os
import platform
import re
import secrets
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from icssim import __version__, plots
from icssim.errors import IcssimError
from icssim.experiments import RunResult, standards_of
from icssim.kpis import kpi_info, kpi_subjects
from icssim.metrics import costs_frame, patients_frame, timeseries_frame, visits_frame
from icssim.scenario import Scenario, provenance
from icssim.scenario.initial_state import resolve_path


class OutputError(IcssimError):
    """Results could not be written (disk full, no permission, name too long ...). The message
    says why and where, that nothing half-written was left, and where the results were kept
    if they could be kept at all."""


class OutputConflict(OutputError):
    """The output folder appeared (another process wrote it) while this one was writing; this
    process's results were kept in the folder the message names."""


#: The kinds of folder (``kind`` in metadata.json) that ``--force`` may replace.
REPLACEABLE_KINDS = ("run", "compare", "warmup")
#: What a temporary folder's name holds after ``.<name>``: the writer's process id follows.
TEMP_MARK = ".partial-"
#: Timings: measured, not simulated, so they go to metadata.json and never into a table.
TIMING_KPIS = ("wall_seconds",)


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
    comparison or warm-up folder (never a sweep's, nor any other folder)."""
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
        what = f"a {kind} folder" if kind else "not an icssim results folder (no metadata.json of a run, comparison or warm-up)"
        raise IcssimError(f"{out} is {what}: refusing to replace it with --force; choose another --out")


def prepare_output(out: Path, force: bool, check: bool = True) -> Path:
    """Check ``out`` may be written (:func:`check_replaceable`, unless not ``check``); return a
    new temporary folder beside it, unique to this process, to write into."""
    out = Path(out)
    if out.name in ("", ".", ".."):
        raise IcssimError(f"{out} does not name a results folder: give --out a folder name")
    if check:
        check_replaceable(out, force)
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
                            f"as it is, and this run's results were kept in {kept}/") from None
                    raise OutputConflict(f"{exc}; this run's results were kept in {kept}/") from None
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
                                         f"kept in {kept}/") from None
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


def write_table(df: pd.DataFrame, folder: Path, name: str, parquet: bool = True, csv: bool = True) -> None:
    """Write ``df`` as CSV and/or Parquet."""
    if csv:
        write_csv(df, folder / f"{name}.csv")
    if parquet:
        df.to_parquet(folder / f"{name}.parquet", index=False)


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` as CSV (no index) as ``DataFrame.to_csv`` would, but with Arrow's C++ writer.

    The patient table of a 10-replication run (65,000 rows, 36 columns) takes 0.3 s this way
    against 2.7 s through pandas. A reader gets the same table: NaN and NaT as empty fields,
    whole-day timestamps as dates, booleans as True/False, and no quotes unless some text holds
    a comma, quote or line break (then every text field is quoted, which CSV readers undo).
    One difference remains: a whole-number float is written ``3``, not ``3.0``. A frame Arrow
    cannot convert (columns of mixed Python objects) is written by pandas. Every text cell
    and column name a spreadsheet would take for a formula is neutralised (:func:`neutralise`);
    numbers are left as they are. Every CSV icssim writes goes through here.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    df = df.rename(columns=lambda c: neutralise_cell(c) if isinstance(c, str) else c)
    try:
        table = pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        _neutralised_frame(df).to_csv(path, index=False)
        return
    for i, field in enumerate(table.schema):
        column = table.column(i)
        if pa.types.is_timestamp(field.type) and _whole_days(column):
            table = table.set_column(i, field.name, pc.cast(column, pa.date32()))
        elif pa.types.is_boolean(field.type):
            table = table.set_column(i, field.name, pc.if_else(column, "True", "False"))
        elif _is_text(field.type) or (pa.types.is_dictionary(field.type) and _is_text(field.type.value_type)):
            table = table.set_column(i, field.name, neutralise(column))
    if not _plain_text(table):
        pa_csv.write_csv(table, path, pa_csv.WriteOptions(quoting_style="needed"))
        return
    with open(path, "wb") as f:  # Arrow quotes a header whatever the quoting style
        f.write((",".join(table.column_names) + "\n").encode("utf-8"))
        pa_csv.write_csv(table, f, pa_csv.WriteOptions(include_header=False, quoting_style="none"))


#: Text a spreadsheet would read as a formula (OWASP, "CSV injection"): starting with = + - @,
#: tab or carriage return, after any quotes (so that neutralising can be undone exactly).
_FORMULA = r"^'*[=+\-@\t\r]"
#: ... except a plain number written as text ("-0.5", "+3", "1e-4"), which cannot be a formula.
_NUMBER = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_NEUTRALISED = r"^'+[=+\-@\t\r]"


def neutralise_cell(text: str) -> str:
    """``text`` with a ``'`` in front if a spreadsheet would run it as a formula."""
    if re.match(_FORMULA, text) and not re.match(_NUMBER, text):
        return "'" + text
    return text


def neutralise(column):
    """An Arrow text column (plain or dictionary) with :func:`neutralise_cell` applied to
    each value, vectorised; unchanged (the same object) when no value needs it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(column.type):
        chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        if not any(pc.any(pc.match_substring_regex(c.dictionary, _FORMULA)).as_py() for c in chunks):
            return column
        column = pc.cast(column, column.type.value_type)
    risky = pc.match_substring_regex(column, _FORMULA)
    if not pc.any(risky).as_py():
        return column
    risky = pc.and_kleene(risky, pc.invert(pc.match_substring_regex(column, _NUMBER)))
    quote, empty = pa.scalar("'", column.type), pa.scalar("", column.type)
    return pc.if_else(risky, pc.binary_join_element_wise(quote, column, empty), column)


def _neutralised_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text value neutralised (for the pandas writer)."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            out[col] = s.cat.rename_categories(lambda v: neutralise_cell(v) if isinstance(v, str) else v)
        elif s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            out[col] = s.map(lambda v: neutralise_cell(v) if isinstance(v, str) else v)
    return out


def restore_text(df: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`neutralise` on a CSV read back (text columns and column names)."""
    def undo(v):
        return v[1:] if isinstance(v, str) and re.match(_NEUTRALISED, v) else v

    df = df.rename(columns=undo)
    for col in df.columns:
        text = df[col]
        if text.dtype == object or pd.api.types.is_string_dtype(text.dtype):
            if text.map(lambda v: isinstance(v, str) and v.startswith("'")).any():
                df[col] = text.map(undo)
    return df


def read_csv(path: Path, **kwargs) -> pd.DataFrame:
    """``pandas.read_csv`` of a CSV icssim wrote, its text as it was before :func:`neutralise`."""
    return restore_text(pd.read_csv(path, **kwargs))


def _is_text(t) -> bool:
    import pyarrow as pa

    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _plain_text(table) -> bool:
    """Whether no column name or text value needs CSV quoting (no comma, quote or line break)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    special = r'[,"\r\n]'
    if any(re.search(special, name) for name in table.column_names):
        return False
    for field, column in zip(table.schema, table.columns):
        if pa.types.is_dictionary(field.type):
            column = pa.chunked_array([chunk.dictionary for chunk in column.chunks], field.type.value_type)
        text = column.type
        if pa.types.is_string(text) or pa.types.is_large_string(text) or pa.types.is_string_view(text):
            if pc.any(pc.match_substring_regex(column, special)).as_py():
                return False
    return True


def _whole_days(column) -> bool:
    """Whether every timestamp in an Arrow column falls at midnight (pandas then writes dates)."""
    import pyarrow.compute as pc

    valid = column.drop_null()
    return len(valid) == 0 or pc.all(pc.equal(pc.floor_temporal(valid, unit="day"), valid)).as_py()


def kpi_table(summary: pd.DataFrame) -> pd.DataFrame:
    """KPI summary with labels and units, ready to print or write."""
    df = summary.copy()
    df.insert(0, "unit", [kpi_info(k).unit for k in df.index])
    df.insert(0, "label", [kpi_info(k).label for k in df.index])
    df.index.name = "kpi"
    return df.reset_index()


def metadata(result: RunResult, wall_seconds: float, command: str) -> dict:
    """Everything needed to reproduce and audit a run."""
    prov = provenance(result.scenario)
    events = sum(r.kpis.get("events", 0) for r in result.replications)
    timings = replication_seconds(result)
    sim_seconds = sum(timings)
    return {
        "kind": "run",
        "icssim_version": __version__,
        "scenario": result.scenario.scenario.name,
        "scenario_files": prov.files,
        "scenario_sha256": prov.sha256,
        "seed": result.seed,
        "replications": len(result.replications),
        "time_unit": result.scenario.scenario.time_unit,
        "horizon": str(result.scenario.scenario.horizon),
        "warmup": str(result.scenario.scenario.warmup),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "wall_seconds": round(wall_seconds, 3),
        "simulation_seconds": round(sim_seconds, 3),
        "events_simulated": int(events),
        "events_per_second": round(events / sim_seconds) if sim_seconds else None,
        "replication_wall_seconds": [round(t, 3) for t in timings],
        "command": command,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": _versions(),
        "precision": result.precision or None,
    }


def replication_seconds(result: RunResult) -> list[float]:
    """Each replication's simulation time (seconds), in replication order."""
    return [float(getattr(r, "wall_seconds", None) or r.kpis.get("wall_seconds", 0.0) or 0.0)
            for r in result.replications]


def without_timings(df: pd.DataFrame) -> pd.DataFrame:
    """A KPI table without the timings (:data:`TIMING_KPIS`), whether KPIs are its columns,
    its index or its ``kpi`` column: timings differ between runs of the same seed, and a
    result's tables must be the same to the byte."""
    if "kpi" in df.columns:
        return df[~df["kpi"].isin(TIMING_KPIS)].reset_index(drop=True)
    df = df.drop(columns=[k for k in TIMING_KPIS if k in df.columns])
    return df.drop(index=[k for k in TIMING_KPIS if k in df.index])


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("simpy", "numpy", "scipy", "pandas", "matplotlib", "pydantic"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:  # pragma: no cover
            pass
    return out


def write_run(result: RunResult, out: Path, force: bool = False, wall_seconds: float = 0.0,
              command: str = "", workers: int = 1) -> Path:
    """Write every table, plot and the metadata of ``result`` under ``out`` (the plots on
    ``workers`` processes), all or nothing (:func:`write_output`: :class:`OutputError` says
    why and where the results are if they could not be written, :class:`OutputConflict` if
    another process wrote ``out`` meanwhile)."""
    return write_output(out, force, partial(_write_run_files, result, wall_seconds=wall_seconds,
                                            command=command, workers=workers))


def _write_run_files(result: RunResult, folder: Path, wall_seconds: float, command: str,
                     workers: int = 1) -> None:
    recs = result.records
    jobs: list[plots.PlotJob] = []
    write_table(kpi_table(without_timings(result.summary())), folder, "kpis", parquet=False)
    write_table(without_timings(result.kpis).reset_index(), folder, "kpis_by_replication", parquet=False)
    start = result.scenario.scenario.start_date  # with a start date, tables also carry calendar dates
    if recs:
        from icssim.calendar_metrics import with_dates

        write_table(with_dates(pd.concat([patients_frame(r) for r in recs], ignore_index=True), start,
                               {"referral": "referral_date"}), folder, "patients")
        visits = [visits_frame(r) for r in recs]
        if all(v is not None for v in visits):
            for r, v in zip(recs, visits):
                v.insert(0, "replication", r.replication)
            # one row per step visit is the largest table: CSV only for single runs, Parquet always
            write_table(pd.concat(visits, ignore_index=True), folder, "visits", csv=len(recs) == 1)
        ts = pd.concat([timeseries_frame(r).assign(replication=r.replication) for r in recs],
                       ignore_index=True)
        write_table(with_dates(ts, start, {"time": "date"}), folder, "timeseries")
        costs = pd.concat([costs_frame(r).assign(replication=r.replication) for r in recs],
                          ignore_index=True)
        write_table(with_dates(costs, start, {"time": "date"}), folder, "costs")
        (folder / "plots").mkdir()
        dated_plots: list[plots.PlotJob] = []
        if start is not None:  # monthly/quarterly KPI tables; the dated plots join the run's others
            from icssim import calendar_plots
            from icssim.calendar_metrics import write_calendar_tables

            monthly = write_calendar_tables(result, folder)["monthly"]
            dated_plots = calendar_plots.plot_jobs(result.scenario, recs, monthly, standards_of(result.scenario),
                                                   folder / "plots")
        jobs = run_plot_jobs(result, folder / "plots", dated_plots)
    from icssim import report

    # the plots are drawn on the workers while this process writes the rest and the report,
    # which waits for them only where it embeds them
    with plots.drawing(jobs, workers) as plots_drawn:
        inputs = write_scenario(result.scenario, folder)
        meta = metadata(result, wall_seconds, command)
        if inputs:
            meta["input_files"] = inputs
        (folder / "metadata.json").write_text(json.dumps(meta, indent=2, default=str))
        report.write_parameters(result.scenario, folder)
        report.write_report(folder, plots_ready=plots_drawn)


def write_scenario(scenario: Scenario, folder: Path) -> dict[str, str]:
    """Write ``scenario.json`` (the scenario's data as read) and copy the waiting-list file it
    names, if any, to ``inputs/`` beside it, so that the folder reads back on its own
    (``icssim report``) wherever it is moved. Returns the SHA-256 of each copied file by its
    path in the folder: with the scenario's own, what makes the run reproducible."""
    source = resolve_path(scenario)
    raw = provenance(scenario).raw
    inputs = {}
    if source is not None:
        target = f"inputs/{source.name}"
        (folder / "inputs").mkdir(exist_ok=True)
        shutil.copyfile(source, inside(folder, "inputs", source.name))
        raw = {**raw, "initial_state": {**raw["initial_state"], "file": target}}
        inputs[target] = hashlib.sha256((folder / target).read_bytes()).hexdigest()
    (folder / "scenario.json").write_text(json.dumps(raw, indent=2, default=str))
    return inputs


def run_plot_jobs(result: RunResult, folder: Path, more: Sequence[plots.PlotJob] = ()) -> list[plots.PlotJob]:
    """What draws each standard plot of a single-scenario run into ``folder``, then ``more`` (a
    dated scenario's), for :func:`plots.drawing` or :func:`plots.save_all`."""
    recs = result.records
    name = result.scenario.scenario.name
    pats = pd.concat([patients_frame(r) for r in recs], ignore_index=True)
    window = pats[pats["arrival"] >= recs[0].warmup * recs[0].hours_per_unit / 24]
    stds = {n: d for n, (d, *_rest) in standards_of(result.scenario).items()}
    waits = {"referral to assessment": window["wait_to_assessment"].to_numpy(),
             "referral to treatment": window["wait_to_treatment"].to_numpy()}
    return [
        (partial(plots.wait_ecdf, waits, stds, f"{name}: waits from referral (after warm-up)",
                 "Wait from referral (days)"), folder / "wait_ecdf.png"),
        (partial(_waiting_list_plot, result), folder / "waiting_list.png"),
        (lambda: plots.cost_bars(cost_by_service(result), f"{name}: cost per year by service"), folder / "costs.png"),
        *more,
    ]


def _waiting_list_plot(result: RunResult):
    recs = result.records
    frames = [timeseries_frame(r).set_index("time") for r in recs]
    cols = [c for c in frames[0].columns if c.startswith("waiting_")]
    total = pd.concat([f[cols].sum(axis=1).rename(i) for i, f in enumerate(frames)], axis=1)
    steps = [c for c in cols if frames[0][c].max() > 0]
    top = sorted(steps, key=lambda c: -np.mean([f[c].mean() for f in frames]))[:4]
    series = {"all services": total}
    for c in top:
        series[c.removeprefix("waiting_")] = pd.concat([f[c].rename(i) for i, f in enumerate(frames)], axis=1)
    warm = recs[0].warmup * recs[0].hours_per_unit / 24
    fig = plots.band_over_time(series, f"{result.scenario.scenario.name}: waiting lists",
                               "Patients waiting (hand-off or queue)")
    if warm > 0:
        fig.axes[0].axvspan(0, warm, color="#eeeeee", zorder=0, label="warm-up (excluded)")
        fig.axes[0].legend(fontsize=8, bbox_to_anchor=(1.01, 1), loc="upper left")
    return fig


def cost_by_service(result: RunResult, label: str | None = None) -> pd.DataFrame:
    """Mean and CI half-width of cost per year per service (long format)."""
    summary = result.summary()
    label = label or result.scenario.scenario.name
    rows = []
    service_kpis = {svc: k for k, svc in kpi_subjects(summary.index, "service").items()}
    for svc in result.scenario.services:
        key = service_kpis.get(svc)
        if key is not None and summary.loc[key, "mean"] > 0:
            rows.append({"scenario": label, "service": svc, "mean": summary.loc[key, "mean"],
                         "half_width": summary.loc[key, "half_width"]})
    total = summary.loc["cost_per_year"]
    df = pd.DataFrame(rows or [{"scenario": label, "service": "none", "mean": 0.0, "half_width": np.nan}])
    df["total_mean"], df["total_half_width"] = total["mean"], total["half_width"]
    return df


#: KPIs shown in comparison plots and summaries (when present), in this order.
HEADLINE_KPIS = (
    "wait_to_assessment_median", "wait_to_treatment_median", "wait_to_treatment_p90",
    "uptake_after_referral", "share_intensive_12m", "rejected_referrals_per_year",
    "duplicated_assessments_per_year", "ae_attendances_per_year", "emergency_admissions_per_year",
    "specialist_bed_days_per_year", "share_dropped_out", "cost_per_year", "staff_cost_per_year",
)


def write_comparison(comparison, out: Path, force: bool = False, wall_seconds: float = 0.0,
                     command: str = "", workers: int = 1) -> Path:
    """Write each scenario's run folder plus the paired comparison tables and plots (the plots
    on ``workers`` processes, while the reports are built)."""
    from icssim import report

    names = [res.scenario.scenario.name for res in comparison.results]
    check_folder_names(Path(out), names, COMPARISON_FILES)

    def write(tmp: Path) -> None:
        for res in comparison.results:
            _write_run_files(res, _mkdir(inside(tmp, res.scenario.scenario.name)), 0.0, command, workers)
        write_table(_labelled(without_timings(comparison.summary())), tmp, "summary", parquet=False)
        write_table(_labelled(without_timings(comparison.differences())), tmp, "differences", parquet=False)
        with plots.drawing(_comparison_plot_jobs(comparison, _mkdir(tmp / "plots")), workers) as plots_drawn:
            meta = metadata(comparison.results[0], wall_seconds, command)
            meta |= {"kind": "compare", "scenarios": comparison.names, "warnings": comparison.warnings,
                     "scenario_sha256": {r.scenario.scenario.name: provenance(r.scenario).sha256
                                         for r in comparison.results},
                     "replication_wall_seconds": {r.scenario.scenario.name: replication_seconds(r)
                                                  for r in comparison.results}}
            (tmp / "metadata.json").write_text(json.dumps(meta, indent=2, default=str))
            report.write_report(tmp, plots_ready=plots_drawn)

    return write_output(out, force, write)


#: What a comparison folder holds besides one folder per scenario: no scenario may be named so.
COMPARISON_FILES = ("plots", "summary.csv", "differences.csv", "metadata.json", "report.html")


def check_folder_names(out: Path, names: Sequence[str], reserved: Sequence[str] = ()) -> None:
    """Refuse names that cannot each be their own folder inside ``out``: not a single plain
    path component (:func:`inside`), a name of the folder's own files, or two names the same
    (ignoring case, as Windows and macOS do)."""
    seen: dict[str, str] = {}
    taken = {r.lower() for r in reserved}
    for name in names:
        inside(out, name)
        if name.lower() in taken:
            raise IcssimError(f"a scenario named {name!r} cannot have its own folder in {out}: that name is "
                              f"taken by the comparison's own files ({', '.join(reserved)}); rename the scenario")
        if name.lower() in seen:
            raise IcssimError(f"two scenarios are named {seen[name.lower()]!r} and {name!r}: each needs a "
                              "different name (ignoring case) to have its own results folder")
        seen[name.lower()] = name


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _labelled(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df.insert(1, "unit", [kpi_info(k).unit for k in df["kpi"]])
    df.insert(1, "label", [kpi_info(k).label for k in df["kpi"]])
    return df


def _comparison_plot_jobs(comparison, folder: Path) -> list[plots.PlotJob]:
    """What draws each of a comparison's own plots into ``folder``."""
    diffs = comparison.differences()
    diffs = diffs[diffs["kpi"].isin(HEADLINE_KPIS) & diffs["pct_mean"].notna()].copy()
    diffs["order"] = diffs["kpi"].map({k: i for i, k in enumerate(HEADLINE_KPIS)})
    diffs = diffs.sort_values(["scenario", "order"])
    multi = diffs["scenario"].nunique() > 1
    diffs["label"] = [f"{kpi_info(k).label}" + (f" [{s}]" if multi else "")
                      for k, s in zip(diffs["kpi"], diffs["scenario"])]
    diffs = diffs.rename(columns={"pct_mean": "mean", "pct_lower": "lower", "pct_upper": "upper"})
    title = f"Change against {comparison.names[0]} (paired, common random numbers)"
    waits, stds = {}, {}
    for res in comparison.results:
        recs = res.records
        pats = pd.concat([patients_frame(r) for r in recs], ignore_index=True)
        warm = recs[0].warmup * recs[0].hours_per_unit / 24
        waits[res.scenario.scenario.name] = pats.loc[pats["arrival"] >= warm, "wait_to_treatment"].to_numpy()
        stds |= {n: d for n, (d, *_r) in standards_of(res.scenario).items()}
    costs = pd.concat([cost_by_service(r) for r in comparison.results], ignore_index=True)
    return [
        (partial(plots.forest, diffs[["label", "mean", "lower", "upper"]], title), folder / "forest.png"),
        (partial(plots.wait_ecdf, waits, stds, "Wait from referral to treatment, by scenario"),
         folder / "wait_ecdf.png"),
        (partial(plots.cost_bars, costs, "Cost per year by service (activity-based), by scenario"),
         folder / "costs.png"),
    ]


def write_warmup(diagnostic, name: str, out: Path, force: bool = False) -> Path:
    """Write the warm-up plot and the suggested lengths."""
    def write(tmp: Path) -> None:
        fig = plots.running_means(diagnostic.series, diagnostic.suggested_days,
                                  f"{name}: warm-up diagnostic (MSER-5)")
        plots.save(fig, tmp / "warmup.png")
        write_csv(pd.DataFrame({"series": list(diagnostic.suggested_days),
                                "suggested_warmup_days": list(diagnostic.suggested_days.values())}),
                  tmp / "warmup.csv")

    return write_output(out, force, write)
