"""One SQLite file (WAL mode) in a command's output folder, for results that must survive an
interruption: each row is committed as it is added, so Ctrl-C, ``kill -9`` or a lost worker leaves
every finished simulation on disk, and a table's primary key makes a second copy impossible.

Sweeps (:mod:`icssim.sweep.store`) and calibrations (:mod:`icssim.calibrate.store`) each subclass
:class:`SqliteStore` with their own tables; both keep a ``meta`` table of JSON values (the
fingerprint of the files the results were made for, when, by which command), which
:func:`read_meta` reads without opening the store for writing.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from icssim.errors import IcssimError

META_SCHEMA = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"


class SqliteStore:
    """Open (creating if needed) ``folder/<name>`` with the ``meta`` table and the subclass's ``schema``."""

    #: The file's name in the output folder.
    name: str = ""
    #: The subclass's tables (``CREATE TABLE IF NOT EXISTS ...``).
    schema: str = ""
    #: What the store holds, in the words of an error ("sweep results store").
    what: str = "results store"

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / self.name
        try:
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(META_SCHEMA + self.schema)
        except sqlite3.DatabaseError as exc:
            raise IcssimError(f"{self.path} is not a usable {self.what} ({exc}); "
                              "pass --restart to start again") from None

    def get_meta(self, key: str) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_meta(self, key: str, value: Any) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def close(self) -> None:
        try:
            self.db.close()
        except sqlite3.Error:  # pragma: no cover
            pass


def read_meta(path: Path, key: str) -> Any:
    """``key`` of the ``meta`` table of the store at ``path``, read only; None if it has none or is unreadable."""
    if not Path(path).exists():
        return None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return None
    return json.loads(row[0]) if row else None
