"""The calibration's store: one SQLite file (WAL) in the output folder, one row per finished
simulation (generation, proposal number, parameter values, KPIs), committed as it finishes, so an
interrupted calibration resumes by replaying its generations from the stored simulations."""

from __future__ import annotations

import json
from pathlib import Path

from icssim.sqlite_store import SqliteStore, read_meta

STORE_NAME = "calibration.sqlite"


class Store(SqliteStore):
    """The simulations of a calibration output folder."""

    name = STORE_NAME
    what = "calibration store"
    schema = """
CREATE TABLE IF NOT EXISTS sims (
    generation INTEGER NOT NULL,
    proposal INTEGER NOT NULL,
    theta TEXT NOT NULL,
    kpis TEXT NOT NULL,
    wall_seconds REAL,
    PRIMARY KEY (generation, proposal)
);
"""

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


def read_fingerprint(folder: Path) -> str | None:
    """The fingerprint of the calibration the folder's store was made for (None: no store)."""
    return read_meta(Path(folder) / STORE_NAME, "fingerprint")
