"""What scaling each ICS's capacity by population gives it, against exact scaling.

An area sweep with ``areas.whole_servers`` (docs/national.md, "Capacity per head") gives every
scaled staff role the base's servers x population / the base's population, rounded to a whole
number (at least 1), and, where the role gives clinical hours, each server the hours that keep the
role's clinical hours exact (:func:`icssim.sweep.design.point_raw`). These tables show what that
gives each ICS, for the national run to report beside its results:

- :func:`capacity_rounding`: per base, area and staff role, the exact and the scaled WTE, the
  hours per server and the capacity against exact scaling;
- :func:`joint_capacity`: per base, area and step that needs several roles at once (a joint
  assessment), the capacity of that step against the base's scaled by population. The engine starts
  such a contact when a server of every role is free and holds them all for the longest of their
  calendar times, so the step's capacity is (the fewest servers of its roles) x (the fewest hours
  per server): rounding the roles apart can leave it well below capacity per head even when every
  role's hours are exact;
- :func:`rounding_by_area`: per area, the staff capacity as run against exact scaling.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROUNDING_COLUMNS = ["base", "area", "population", "path", "exact_wte", "exact_servers", "wte", "change_wte",
                    "clinical_hours_per_week", "capacity_change"]
JOINT_COLUMNS = ["base", "area", "population", "step", "service", "roles", "servers",
                 "hours_per_server", "joint_hours_per_week", "capacity_change"]


def _area_sweeps(specs: Path) -> Iterator[tuple[Any, str, Any, dict]]:
    """(sweep, base label, base scenario, base raw) of every area sweep file in ``specs``, for the
    bases it runs (one per file: :func:`icssim.national.split_sweep`)."""
    from icssim.scenario import provenance
    from icssim.sweep.spec import load_sweep

    for file in sorted(Path(specs).glob("*.yaml")):
        sweep = load_sweep(file)
        if sweep.areas is None or sweep.spec.areas is None:
            continue
        for label, scenario in sweep.running.items():
            yield sweep, label, scenario, provenance(scenario).raw


def capacity_rounding(specs: Path) -> pd.DataFrame:
    """Per base, area and scaled staff WTE path of the single-base sweep files in ``specs``: the
    WTE and the base's servers scaled exactly by population, the WTE (whole servers) and clinical
    hours per week per server the area's scenario gets, and the capacity as run against exact
    scaling (``capacity_change``: 0 where the hours make up for the rounding, else the change in
    servers against the base's servers scaled)."""
    from icssim.sweep.design import base_servers, hours_path, scaled_value
    from icssim.sweep.paths import MISSING, get_path

    rows = []
    for sweep, label, _, raw in _area_sweeps(specs):
        whole = sweep.spec.areas.whole_servers
        reference = raw["scenario"]["population"]
        for path in (p for p in sweep.spec.areas.scale if p.endswith(".wte")):
            base = get_path(raw, path)
            base_hours = get_path(raw, hours_path(path) or "")
            for area in sweep.areas:
                factor = area.population / reference
                exact = base * factor
                wte = float(scaled_value(path, base, factor, whole))
                hours = np.nan if base_hours is MISSING else (base_hours * exact / wte if whole else base_hours)
                if not np.isnan(hours):
                    capacity = 1.0
                else:
                    capacity = wte / (base_servers(base) * factor) if whole else wte / exact
                rows.append({"base": label, "area": area.name, "population": area.population, "path": path,
                             "exact_wte": round(exact, 3), "exact_servers": round(base_servers(base) * factor, 3),
                             "wte": wte, "change_wte": round(wte - exact, 3),
                             "clinical_hours_per_week": round(hours, 3), "capacity_change": capacity - 1.0})
    return pd.DataFrame(rows, columns=ROUNDING_COLUMNS)


def _joint_hours(services: dict, service: str, roles: list[str]) -> tuple[list[int], list[float], float]:
    """Servers and hours per server of each role (168 for a role always available), and the hours of
    joint contact a week the step can give: fewest servers x fewest hours per server."""
    from icssim.sweep.design import base_servers

    servers, hours = [], []
    for role in roles:
        staff = services[service]["staff"][role]
        n = base_servers(staff["wte"])
        weekly = staff.get("clinical_hours_per_week")
        servers.append(n)
        hours.append(168.0 if weekly is None or n == 0 else staff["wte"] * weekly / n)
    return servers, hours, float(min(servers) * min(hours))


def joint_capacity(specs: Path) -> pd.DataFrame:
    """Per base, area and step that needs several staff roles at once, in the single-base sweep
    files in ``specs``: each role's servers and hours per server in the area's scenario, the hours
    of joint contact a week the step can give, and that capacity against the base's scaled by
    population (``capacity_change``: 0 when capacity per head is kept)."""
    from icssim.sweep.design import Point, point_raw

    rows = []
    for sweep, label, scenario, raw in _area_sweeps(specs):
        steps = [(name, step.service, list(step.staff)) for name, step in scenario.pathway.steps.items()
                 if len(step.staff) > 1 and step.service]
        if not steps:
            continue
        reference = raw["scenario"]["population"]
        for area in sweep.areas:
            scaled = point_raw(sweep, raw, Point(0, label, {}, area.name, area.population))
            for name, service, roles in steps:
                _, _, base = _joint_hours(raw["services"], service, roles)
                servers, hours, joint = _joint_hours(scaled["services"], service, roles)
                expected = base * area.population / reference
                rows.append({"base": label, "area": area.name, "population": area.population, "step": name,
                             "service": service, "roles": "+".join(roles),
                             "servers": "+".join(str(n) for n in servers),
                             "hours_per_server": "+".join(f"{h:.2f}" for h in hours),
                             "joint_hours_per_week": round(joint, 3),
                             "capacity_change": joint / expected - 1.0 if expected else np.nan})
    return pd.DataFrame(rows, columns=JOINT_COLUMNS)


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


def joint_by_area(joint: pd.DataFrame) -> pd.DataFrame:
    """Per area: the largest shortfall (or excess) of any joint step's capacity against capacity per
    head, per base (``joint_capacity_change_<base>``)."""
    if joint.empty:
        return pd.DataFrame(columns=["area"])
    worst = joint.assign(size=joint["capacity_change"].abs()).sort_values("size", ascending=False)
    worst = worst.drop_duplicates(["area", "base"]).set_index(["area", "base"])["capacity_change"].unstack("base")
    worst.columns = [f"joint_capacity_change_{b}" for b in worst.columns]
    return worst.reset_index()
