"""The calibration's store: one SQLite file (WAL) in the output folder, one row per finished
simulation (generation, proposal number, parameter values, KPIs), committed as it finishes, so an
interrupted calibration resumes by replaying its generations from the stored simulations."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from icssim.errors import IcssimError

STORE_NAME = "calibration.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sims (
    generation INTEGER NOT NULL,
    proposal INTEGER NOT NULL,
    theta TEXT NOT NULL,
    kpis TEXT NOT NULL,
    wall_seconds REAL,
    PRIMARY KEY (generation, proposal)
);
"""


class Store:
    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / STORE_NAME
        try:
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise IcssimError(f"{self.path} is not a usable calibration store ({exc}); "
                              "pass --restart to start again") from None

    def get_meta(self, key: str) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_meta(self, key: str, value: Any) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def add(self, t: int, i: int, theta: list[float], kpis: dict[str, float], wall: float | None) -> None:
        self.db.execute("INSERT OR IGNORE INTO sims VALUES (?, ?, ?, ?, ?)",
                        (t, i, json.dumps(theta), json.dumps(kpis), wall))

    def generation(self, t: int) -> dict[int, tuple[list[float], dict[str, float], float | None]]:
        rows = self.db.execute("SELECT proposal, theta, kpis, wall_seconds FROM sims WHERE generation = ?",
                               (t,)).fetchall()
        return {i: (json.loads(th), json.loads(k), w) for i, th, k, w in rows}

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM sims").fetchone()[0]

    def mean_seconds(self) -> float | None:
        row = self.db.execute("SELECT AVG(wall_seconds) FROM sims WHERE wall_seconds IS NOT NULL").fetchone()
        return row[0]

    def close(self) -> None:
        try:
            self.db.close()
        except sqlite3.Error:  # pragma: no cover
            pass


def read_fingerprint(folder: Path) -> str | None:
    path = Path(folder) / STORE_NAME
    if not path.exists():
        return None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return None
    return json.loads(row[0]) if row else None
