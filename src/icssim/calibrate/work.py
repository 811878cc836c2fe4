"""One simulation of a calibration, on any executor: the base scenario's data is installed on each
worker once (:func:`install`); an item carries only its parameter values and seed."""

from __future__ import annotations

import copy
import time
from typing import Any

from icssim.calibrate.measures import compute_measures
from icssim.errors import ScenarioError
from icssim.experiments import run_replication, standards_of
from icssim.kpis import Window
from icssim.scenario import scenario_from_dict
from icssim.sweep.paths import set_path

_BASE: dict[str, Any] = {}


def install(base_raw: dict[str, Any], visits: bool, follow_up: bool = True) -> None:
    """Executor initializer: keep the base scenario's data in this worker, and whether the targets
    need visit records and the course of illness after the run."""
    _BASE["raw"], _BASE["visits"], _BASE["follow_up"] = base_raw, visits, follow_up


def simulate(item: tuple[int, int, int, dict[str, Any]]) -> dict[str, Any]:
    """Simulate generation ``t``'s proposal ``i`` (values by key path) with ``seed``: its KPIs."""
    t, i, seed, values = item
    raw = copy.deepcopy(_BASE["raw"])
    for path, value in values.items():
        set_path(raw, path, value)
    try:
        scenario = scenario_from_dict(raw, name="calibration proposal")
    except ScenarioError as exc:
        return {"t": t, "i": i, "error": "; ".join(f"{p.path}: {p.message}" for p in exc.problems)}
    started = time.perf_counter()
    rep = run_replication(scenario, 0, seed, keep_records=True, record_visits=_BASE["visits"],
                          follow_up=_BASE["follow_up"])
    kpis = {k: v for k, v in rep.kpis.items() if k != "wall_seconds"}
    if rep.records is not None:
        kpis.update(compute_measures(Window(rep.records, standards_of(scenario))))
    return {"t": t, "i": i, "kpis": kpis, "wall_seconds": time.perf_counter() - started}
