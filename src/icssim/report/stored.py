"""Reading a results folder's own files back, for its report: the one place that does it.

A results folder is read long after it was written, and may have been damaged meanwhile: a sync
conflict, a copy cut short, a file emptied. Such a file is the user's to fix (by running the
command again), not a bug in icssim, so it is refused here with one message naming it (exit
status 2) rather than reaching the user as a parser's exception (exit 70). A file that is simply
absent is ``None``: each report says what it lacks. A file cut at a line break still parses, as a
shorter table: one that metadata.json records (:func:`icssim.tables.record_tables`: its rows and
size) is checked against the record (:func:`check_recorded`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from icssim.errors import IcssimError


class DamagedFile(IcssimError):
    """A file of a results folder that is there but cannot be read as what icssim wrote."""


def damaged(path: Path, why: str) -> DamagedFile:
    """The error for ``path``, which cannot be read because of ``why`` (a few words)."""
    return DamagedFile(f"{path} cannot be read ({why}): the folder is damaged; run the command again")


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or None when there is no such file; :class:`DamagedFile` when it
    is not JSON (empty, cut short, not UTF-8 text)."""
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise damaged(path, "not UTF-8 text") from None
    except ValueError:
        raise damaged(path, "empty" if _empty(path) else "not JSON") from None


def read_object(path: Path) -> dict | None:
    """:func:`read_json` of a file icssim writes as one JSON object (metadata.json, psa.json)."""
    data = read_json(path)
    if data is not None and not isinstance(data, dict):
        raise damaged(path, "not a JSON object")
    return data


def read_table(path: Path, required: Iterable[str] = (), rows: bool = False, **kwargs: Any) -> pd.DataFrame | None:
    """The CSV table in ``path`` as icssim wrote it (:func:`icssim.tables.read_csv`), or None when
    there is no such file; :class:`DamagedFile` when it is not a CSV table (empty, cut short inside
    a quoted cell, not UTF-8), lacks one of the ``required`` columns, or (``rows``: a table icssim
    never writes empty) has no rows."""
    from icssim.tables import read_csv

    if not path.is_file():
        return None
    try:
        table = read_csv(path, **kwargs)
    except UnicodeDecodeError:
        raise damaged(path, "not UTF-8 text") from None
    except pd.errors.EmptyDataError:
        raise damaged(path, "empty" if _empty(path) else "no table in it") from None
    except (pd.errors.ParserError, ValueError):
        raise damaged(path, "not a complete CSV table") from None
    missing = [repr(c) for c in required if c not in table.columns]
    if missing:
        listed = missing[0] if len(missing) == 1 else ", ".join(missing[:-1]) + " and " + missing[-1]
        raise damaged(path, f"no column{'s' if len(missing) > 1 else ''} {listed}")
    if rows and table.empty:
        raise damaged(path, "a header without rows")
    check_recorded(path, table)
    return table


def check_recorded(path: Path, table: pd.DataFrame | None = None) -> None:
    """Refuse (:class:`DamagedFile`) a file of a results folder that is not as it was written, by
    what the folder's metadata.json records of it (:func:`icssim.tables.record_tables`): another
    number of rows (``table``: the file as read), or another size. A file the record does not name
    (a folder written before records were kept, a file written without one) passes unchecked."""
    from icssim.tables import RECORD_KEY

    meta = read_object(path.parent / "metadata.json")
    record = meta.get(RECORD_KEY) if meta is not None else None
    entry = record.get(path.name) if isinstance(record, dict) else None
    if not isinstance(entry, dict):
        return
    rows, size = entry.get("rows"), entry.get("bytes")
    if table is not None and _count(rows) and len(table) != rows:
        raise damaged(path, f"{len(table):,} row{'s' if len(table) != 1 else ''} where icssim wrote {rows:,}, "
                            "as metadata.json records")
    found = path.stat().st_size
    if _count(size) and found != size:
        raise damaged(path, f"{found:,} bytes where icssim wrote {size:,}, as metadata.json records")


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _empty(path: Path) -> bool:
    try:
        return not path.read_bytes().strip()
    except OSError:
        return False
