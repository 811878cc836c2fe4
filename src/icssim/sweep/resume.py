"""What lets a sweep resume where it stopped: the fingerprint of everything that decides its runs
(stored with them, compared on every start), and what an existing output folder's store holds, read
without changing it: the name of its sweep, its fingerprint and which (point, replication) runs are
done.

Apart from :mod:`icssim.sweep.runner` (which checks the folder, estimates and runs) because it is
bookkeeping of its own: what counts as the same sweep, and what a folder already holds."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from icssim.scenario import provenance
from icssim.sqlite_store import read_meta
from icssim.sweep.spec import Sweep
from icssim.sweep.store import STORE_NAME
from icssim.sweep.value_units import named_unit


#: The parts of a sweep file that decide which runs are made (the rest, such as ``kpis``,
#: ``frontier`` and ``optimise``, only changes how results are summarised).
RUN_KEYS = ("base", "design", "samples", "parameters", "areas")


def runs_sha256(sweep: Sweep) -> str:
    """Hash of what in the sweep file determines the runs."""
    spec = sweep.spec
    data = spec.model_dump(mode="json", include=set(RUN_KEYS))
    for p in data.get("parameters", {}).values():
        p.pop("label", None)
        if not named_unit(p.get("unit") or ""):  # a time or rate unit decides the values; any other only labels
            p.pop("unit", None)
        if not p.get("also"):  # only when given, so that sweeps without ties keep their hash
            p.pop("also", None)
    data["sweep"] = {"seed": spec.sweep.seed, "replications": spec.sweep.replications,
                     "common_random_numbers": spec.sweep.common_random_numbers}
    if spec.is_psa:  # a PSA stored when every draw ran on the sweep's seed is not resumed
        data["seeding"] = "one seed per draw"
    if spec.run_only is not None:  # only when given, as below
        data["run_only"] = sorted(spec.run_only)
    if spec.draws is not None:  # only when given, so that sweeps without a table keep their hash
        data["draws"] = spec.draws.model_dump(mode="json", exclude={"labels", "also"})  # (labels name, not run)
        also = {column: paths for column, paths in spec.draws.also.items() if paths}
        if also:  # only when given, so that tables without ties keep their hash
            data["draws"]["also"] = also
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def fingerprint(sweep: Sweep) -> dict[str, Any]:
    """Hashes of everything that decides the runs: the sweep's run-defining keys, every base
    scenario (merged, after ``extends``), the areas table and the table of draws."""
    out = {"sweep_file": runs_sha256(sweep),
           "scenarios": {label: provenance(s).sha256 for label, s in sweep.bases.items()},
           "areas_table": sweep.areas_sha256}
    if sweep.draws is not None:
        out["draws_table"] = sweep.draws.sha256
    return out


def stored_name(out: Path) -> str | None:
    """The name of the sweep whose runs the folder ``out`` holds: its store's, or (a store written
    before stores kept it) its metadata.json's; None if neither says."""
    name = read_meta(out / STORE_NAME, "name")
    if isinstance(name, str):
        return name
    try:
        meta = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = meta.get("name") if isinstance(meta, dict) and meta.get("kind") == "sweep" else None
    return name if isinstance(name, str) else None


def read_fingerprint(store_path: Path) -> dict[str, Any] | None:
    """The fingerprint (:func:`fingerprint`) the store at ``store_path`` was started with, or None."""
    return read_meta(store_path, "fingerprint")


def read_done(store_path: Path) -> set[tuple[int, int]]:
    """The (point, replication) runs the store at ``store_path`` holds (none if it cannot be read)."""
    try:
        db = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True)
        try:
            return set(db.execute("SELECT point, replication FROM runs").fetchall())
        finally:
            db.close()
    except sqlite3.Error:
        return set()


def differences(old: dict | None, new: dict) -> str:
    """What has changed between a store's fingerprint ``old`` and the sweep's ``new``, in words
    (empty if nothing has: the store's runs can be resumed)."""
    if old is None:
        return "its store has no fingerprint (it is damaged or from another tool)"
    changes = []
    if old.get("sweep_file") != new["sweep_file"]:
        changes.append("the sweep file has changed (its base, design, parameters, areas, seed or replications)")
    for label in sorted(set(old.get("scenarios", {})) | set(new["scenarios"])):
        if old.get("scenarios", {}).get(label) != new["scenarios"].get(label):
            changes.append(f"base scenario {label!r} has changed")
    if old.get("areas_table") != new["areas_table"]:
        changes.append("the areas table has changed")
    if old.get("draws_table") != new.get("draws_table"):
        changes.append("the table of draws has changed")
    return "; ".join(changes)
