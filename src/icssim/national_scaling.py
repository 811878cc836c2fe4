"""What scaling each ICS's capacity by population gives it, against exact scaling.

An area sweep with ``areas.whole_servers`` (docs/national.md) rounds every scaled staff WTE to whole
servers and, where the role gives clinical hours, gives each server the hours that keep the role's
clinical hours exact (:func:`icssim.sweep.design.point_raw`). :func:`capacity_rounding` shows per
base, area and role what that gives each ICS, and :func:`rounding_by_area` per area.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def capacity_rounding(specs: Path) -> pd.DataFrame:
    """Per base, area and scaled staff WTE path of the single-base sweep files in ``specs``: the
    WTE scaled exactly by population, the WTE (whole servers) and clinical hours per week per
    server the area's scenario gets, and the capacity as run against exact scaling
    (``capacity_change``: 0 where the hours make up for the rounding, else the WTE's change)."""
    from icssim.scenario import provenance
    from icssim.sweep.design import MISSING, get_path, hours_path, scaled_value
    from icssim.sweep.spec import load_sweep

    rows = []
    for file in sorted(Path(specs).glob("*.yaml")):
        sweep = load_sweep(file)
        if sweep.areas is None or sweep.spec.areas is None:
            continue
        whole = sweep.spec.areas.whole_servers
        for label, scenario in sweep.bases.items():
            raw = provenance(scenario).raw
            reference = raw["scenario"]["population"]
            for path in (p for p in sweep.spec.areas.scale if p.endswith(".wte")):
                base_hours = get_path(raw, hours_path(path) or "")
                for area in sweep.areas:
                    exact = get_path(raw, path) * area.population / reference
                    wte = float(scaled_value(path, exact, whole))
                    hours = np.nan if base_hours is MISSING else (base_hours * exact / wte if whole else base_hours)
                    capacity = 1.0 if not np.isnan(hours) else wte / exact
                    rows.append({"base": label, "area": area.name, "population": area.population, "path": path,
                                 "exact_wte": round(exact, 3), "wte": wte, "change_wte": round(wte - exact, 3),
                                 "clinical_hours_per_week": round(hours, 3), "capacity_change": capacity - 1.0})
    return pd.DataFrame(rows, columns=["base", "area", "population", "path", "exact_wte", "wte", "change_wte",
                                       "clinical_hours_per_week", "capacity_change"])


def rounding_by_area(rounding: pd.DataFrame) -> pd.DataFrame:
    """Per area and base: the staff capacity as run against exact scaling, the roles weighted by
    their exact WTE (``wte_change_<base>``: +0.05 means 5% more staff time than capacity per head
    would give); 0 when every role's clinical hours make up for its rounding."""
    if rounding.empty:
        return pd.DataFrame(columns=["area"])
    r = rounding.assign(weighted=rounding["capacity_change"] * rounding["exact_wte"])
    sums = r.groupby(["area", "base"], sort=False)[["weighted", "exact_wte"]].sum()
    change = (sums["weighted"] / sums["exact_wte"]).unstack("base")
    change.columns = [f"wte_change_{b}" for b in change.columns]
    return change.reset_index()
