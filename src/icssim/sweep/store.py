"""The results store: one SQLite file (WAL mode, :class:`icssim.sqlite_store.SqliteStore`) in
the sweep's output folder.

Each finished run is committed as it completes, one row per (point, replication)
with its KPIs as JSON, so Ctrl-C, ``kill -9`` or a lost worker leaves every finished
run on disk; the primary key makes a second copy of a run impossible. The store also
records the fingerprint (hashes of the sweep file and its scenarios) it was made
for, so a resumed sweep can refuse to mix results from a changed file.
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any

import pandas as pd

from icssim.sqlite_store import SqliteStore

STORE_NAME = "sweep.sqlite"
#: runs read into one frame at a time by Store.frame
FRAME_CHUNK = 2000


class Store(SqliteStore):
    """Open (creating if needed) the results store of a sweep output folder."""

    name = STORE_NAME
    what = "sweep results store"
    schema = """
CREATE TABLE IF NOT EXISTS points (point INTEGER PRIMARY KEY, key TEXT NOT NULL, info TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    point INTEGER NOT NULL,
    replication INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    kpis TEXT NOT NULL,
    wall_seconds REAL,
    worker TEXT,
    finished TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (point, replication)
);
"""

    def set_points(self, rows: list[tuple[int, str, dict]]) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT OR REPLACE INTO points (point, key, info) VALUES (?, ?, ?)",
                                [(i, k, json.dumps(info, default=str)) for i, k, info in rows])

    # -- runs -------------------------------------------------------------------------------
    def add(self, result: dict[str, Any]) -> bool:
        """Commit one finished run; False if it was already stored (never a duplicate)."""
        cur = self.db.execute(
            "INSERT OR IGNORE INTO runs (point, replication, seed, kpis, wall_seconds, worker) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (result["point"], result["replication"], result["seed"], json.dumps(result["kpis"]),
             result.get("wall_seconds"), result.get("worker")))
        return cur.rowcount == 1

    def done(self) -> set[tuple[int, int]]:
        return set(self.db.execute("SELECT point, replication FROM runs").fetchall())

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]

    def seconds_per_patient(self, expected: dict[int, float]) -> float | None:
        """Mean simulation seconds per expected patient over the stored runs (for estimates)."""
        rows = self.db.execute("SELECT point, wall_seconds FROM runs WHERE wall_seconds IS NOT NULL").fetchall()
        patients = sum(expected.get(p, 0.0) for p, _ in rows)
        seconds = sum(w for _, w in rows)
        return seconds / patients if patients > 0 else None

    def frame(self, chunk: int = FRAME_CHUNK) -> pd.DataFrame:
        """One row per stored run: point, replication, seed, wall_seconds, worker and every KPI.

        Read ``chunk`` runs at a time, each made a frame before the next is read: a dict per run
        for all of a national PSA's 16,800 runs of 300 KPIs peaked at 750 MB, where the frames
        themselves hold 40 MB (a KPI missing from a run is NaN, as in one frame of them all)."""
        cursor = self.db.execute(
            "SELECT point, replication, seed, wall_seconds, worker, kpis FROM runs ORDER BY point, replication")
        parts = []
        while rows := cursor.fetchmany(chunk):
            parts.append(pd.DataFrame([{"point": p, "replication": r, "seed": s, "wall_seconds": w, "worker": wk,
                                        **json.loads(k)} for p, r, s, w, wk, k in rows]))
        if len(parts) == 1:
            return parts[0]
        # (a column None throughout one chunk is of objects there: numbers again once joined)
        return pd.concat(parts, ignore_index=True).infer_objects() if parts else pd.DataFrame()


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
