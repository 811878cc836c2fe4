"""Stored run summaries, so a what-if re-uses runs it has made before instead of running them again.

A run's result depends only on the scenario's content, the files it reads (today's waiting list),
its seed, the number of replications and the code that simulates it. The key hashes exactly
those: the merged scenario (after ``extends`` and any edit, as the loader validated it), the
content of its waiting-list file if it names one, the seed, the replications, and the icssim
version with a hash of the package's source and data files (so a changed engine or life table
never answers from an old run).
An entry is the run's KPI summary (mean and 95% CI of every KPI), one JSON file in
``results/.cache/runs/`` written aside and renamed into place, so two runs writing one entry at
once leave one whole entry. Deleting the folder only costs re-running.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

#: Where the entries live, under the working directory's results/ (hidden from the results list).
FOLDER = (".cache", "runs")


#: The package's files a run's result can depend on: its code and its data (life tables).
CODE_FILES = ("*.py", "*.csv")


@lru_cache(maxsize=1)
def code_hash() -> str:
    """icssim's version and a hash of its Python sources and data files (engine, KPIs, health model,
    life tables ...), the app's own files apart."""
    import icssim

    root = Path(icssim.__file__).parent
    digest = hashlib.sha256(icssim.__version__.encode())
    paths = sorted({p for pattern in CODE_FILES for p in root.rglob(pattern)})
    for path in paths:
        if "app" not in path.relative_to(root).parts[:1]:
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def run_key(scenario, raw: dict, replications: int) -> str:
    """The key of ``replications`` runs of ``scenario``, whose merged content is ``raw``."""
    from icssim.scenario.initial_state import resolve_path

    waiting_list = resolve_path(scenario)
    inputs = None
    if waiting_list is not None:
        inputs = hashlib.sha256(waiting_list.read_bytes()).hexdigest() if waiting_list.is_file() else "missing"
    text = json.dumps({"scenario": _whole(raw), "seed": scenario.scenario.seed, "replications": replications,
                       "waiting_list": inputs, "code": code_hash()}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _whole(value: Any) -> Any:
    """``value`` with every whole number written as an int (``80.0`` as ``80``): a file's ``wte: 80.0``
    and a form's ``80`` are the same scenario, validated alike, and so the same run."""
    if isinstance(value, dict):
        return {k: _whole(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


class RunCache:
    """Run summaries under ``results/.cache/runs/``, by :func:`run_key`."""

    def __init__(self, results: Path) -> None:
        self.folder = results.joinpath(*FOLDER)

    def get(self, key: str) -> list[dict[str, Any]] | None:
        """The stored summary rows (kpi, mean, lower, upper) of the run ``key``, or None."""
        try:
            entry = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        rows = entry.get("summary") if isinstance(entry, dict) else None
        return rows if isinstance(rows, list) else None

    def put(self, key: str, rows: list[dict[str, Any]], about: dict[str, Any]) -> None:
        """Store the summary ``rows`` of the run ``key`` (``about`` says what was run, for a reader)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{key}.json"
        tmp = target.with_name(f".{key}.{os.getpid()}.{id(rows)}.partial")
        tmp.write_text(json.dumps({"about": about, "summary": rows}, default=float), encoding="utf-8")
        os.replace(tmp, target)


def summary_rows(result) -> list[dict[str, Any]]:
    """A :class:`~icssim.experiments.RunResult`'s KPI summary as plain rows."""
    return [{"kpi": str(kpi), "mean": float(row["mean"]), "lower": float(row["lower"]),
             "upper": float(row["upper"])} for kpi, row in result.summary().iterrows()]
