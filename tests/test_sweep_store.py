"""The sweep's results store (``sweep/store.py``): its frame of every stored run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from icssim.sweep.store import Store


def _filled(folder) -> Store:
    """A store of 50 points x 3 replications whose runs do not all report the same KPIs: one
    reported by some points only, one dropped from the last points, NaN and null values, a text
    value, a KPI null in the first points only and a run without its wall time."""
    store = Store(folder)
    rng = np.random.default_rng(2)
    with store.db:
        store.db.execute("BEGIN")
        for point in range(50):
            for rep in range(3):
                kpis: dict = {f"k{i}": float(rng.random()) for i in range(5)}
                if point % 7 == 0:
                    kpis["rare"] = 1.0
                if point % 11 == 0:
                    kpis["k2"] = float("nan")
                if point >= 40:
                    kpis.pop("k0")
                kpis["none"] = None
                kpis["text"] = "a" if point < 20 else None
                if point < 5:
                    kpis["early"] = None
                store.db.execute("INSERT INTO runs (point, replication, seed, kpis, wall_seconds, worker) "
                                 "VALUES (?, ?, ?, ?, ?, ?)",
                                 (point, rep, point, json.dumps(kpis), None if point == 3 else 1.0, "w"))
    return store


def test_the_frame_read_in_chunks_is_the_frame_read_at_once(tmp_path):
    """Store.frame reads a few thousand runs at a time (memory); whatever the chunk, the frame is
    the one a single read of every run gives: columns, their order, dtypes and values."""
    store = _filled(tmp_path)
    whole = store.frame(chunk=10**9)
    assert whole.shape == (150, 14)
    assert whole["wall_seconds"].dtype == float and whole["wall_seconds"].isna().sum() == 3
    assert whole["k0"].isna().sum() == 30 and whole["rare"].notna().sum() == 24
    for chunk in (1, 7, 14, 40, 149, 150, 2000):
        pd.testing.assert_frame_equal(store.frame(chunk=chunk), whole)


def test_an_empty_store_has_an_empty_frame(tmp_path):
    assert Store(tmp_path).frame().empty
