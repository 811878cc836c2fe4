"""A sweep's folder read for its report and its terminal summary: the settings under their labels,
each point's estimates, the base scenario (for the standards' words), the optimise answer, the
points not in a steady state, and which setting moves a measure most."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from icssim.report.labels import kpi_label
from icssim.report.numbers import Estimate
from icssim.report.stored import read_object, read_table
from icssim.scenario.schema import Scenario
from icssim.sweep.spec import PSA_DESIGNS
from icssim.sweep.tables import RISING


class SweepData:
    """A sweep folder read for its report: settings' labels, the summary by point and KPI, the base
    scenario (for the standards' words), and the optimise answer if there is one."""

    def __init__(self, folder: Path, meta: dict) -> None:
        self.folder, self.meta = folder, meta
        params = meta.get("parameters")
        self.params: dict = params if isinstance(params, dict) else {}
        self.kpis = [str(k) for k in meta.get("kpis") or []]
        path = folder / "summary.csv"
        self.summary = read_table(path)
        self.summary = _complete(self.summary) if self.summary is not None else None
        self.points = read_table(folder / "points.csv", required=("point", "base"))
        self.scenario = _base_scenario(meta)
        self.answer = _read_json(folder / "optimise.json")
        path = folder / "optimise.csv"
        self.assessed = read_table(path) if self.answer else None
        self.level = float(meta.get("level") or 0.95)

    def param_label(self, path: str) -> str:
        """A setting's name in the tables and sentences: its ``label`` from the sweep file (a
        parameter's, or a table of draws' column's under ``draws.labels``), else its key path's last
        part (``wte``), unless that is ambiguous: another setting's ends alike (``services.a.beds``,
        ``services.b.beds``), or it is a PSA's drawn value, which is known by its key path. Each
        setting's label is a column of the points table, so two alike would overwrite each other."""
        p = self.params.get(path)
        if isinstance(p, dict) and p.get("label"):
            return str(p["label"])
        last = _last_part(path)
        alike = sum(_last_part(other) == last for other in self.params)
        return path if alike > 1 or self.meta.get("design") in PSA_DESIGNS else last

    def param_unit(self, path: str) -> str | None:
        """A setting's ``unit:`` from the sweep file (``per month``, ``GBP``), None without one (a
        table of draws' cells carry theirs: ``0.25 per month``)."""
        p = self.params.get(path)
        unit = p.get("unit") if isinstance(p, dict) else None
        return str(unit) if unit else None

    def label(self, kpi: str) -> str:
        return kpi_label(kpi, self.scenario, with_target=False)

    def settings(self, row) -> str:
        """``CYP ED therapists 30, CYP ED assessors 1.3`` (and the base and area when they vary)."""
        parts = [f"{self.param_label(p)} {point_value(row.get(p))}" for p in self.params if p in row]
        for extra in ("area", "base"):
            v = row.get(extra)
            if isinstance(v, str) and v and self.points is not None and self.points[extra].nunique() > 1:
                parts.insert(0, v)
        return ", ".join(parts)

    def estimate(self, point: int, kpi: str) -> Estimate | None:
        if self.summary is None:
            return None
        rows = self.summary[(self.summary["point"] == point) & (self.summary["kpi"] == kpi)]
        if rows.empty:
            return None
        r = rows.iloc[0]
        return Estimate(kpi, float(r["mean"]), float(r["lower"]), float(r["upper"]), int(r["n"]))


def unsteady_points(d: SweepData) -> pd.DataFrame:
    """The points (rows of points.csv) where a waiting list still clearly rose through the window in
    at least half of their replications (``waiting_lists_rising``, a mean of 0.5 or more)."""
    if d.summary is None or d.points is None:
        return pd.DataFrame()
    rising = d.summary[(d.summary["kpi"] == RISING) & (d.summary["mean"] >= 0.5)]
    return d.points[d.points["point"].isin(rising["point"])]


def unsteady_sentences(d: SweepData, psa: bool) -> list[str]:
    """In words, how many points (a PSA: draws of each strategy) are not in a steady state."""
    bad = unsteady_points(d)
    if bad.empty or d.points is None:
        return []
    if psa:
        counts = bad.groupby("base").size()
        draws = d.points.groupby("base").size()
        where = "; ".join(f"{base}: {int(n):,} of {int(draws[base]):,} draws" for base, n in counts.items())
    else:
        shown = [d.settings(row) for _, row in bad.head(5).iterrows()]
        where = (f"{len(bad):,} of {len(d.points):,} points ({'; '.join(shown)}"
                 + (f"; and {len(bad) - 5:,} more" if len(bad) > 5 else "") + ")")
    return [f"Not in a steady state: {where}. A waiting list still rose clearly through the observation "
            "window in at least half of their replications (waiting_lists_rising in points.csv), so their waits, costs "
            "and outcomes depend on how long the model runs."]


def main_effect(d: SweepData, part: pd.DataFrame) -> tuple[str, tuple, tuple] | None:
    best = None
    for path in d.params:
        if path not in part or part[path].nunique() < 2:
            continue
        means = part.groupby(path)["mean"].mean()
        try:
            means = means.sort_index()
        except TypeError:
            pass
        spread = float(means.max() - means.min())
        if best is None or spread > best[0]:
            best = (spread, path, (means.index[0], float(means.iloc[0])), (means.index[-1], float(means.iloc[-1])))
    return None if best is None else best[1:]


def _complete(summary: pd.DataFrame) -> pd.DataFrame | None:
    """summary.csv with the columns the report reads (an older or hand-made one may lack some)."""
    if "kpi" not in summary or "mean" not in summary:
        return None
    out = summary.copy()
    for col, default in (("lower", math.nan), ("upper", math.nan), ("n", 0)):
        if col not in out:
            out[col] = default
    if "point" not in out:
        out["point"] = out.groupby("kpi").cumcount()
    out["n"] = out["n"].fillna(0).astype(int)
    return out


def _last_part(path: str) -> str:
    """A key path's last part in words: ``services.cyp_ed.staff.therapist.wte`` → ``wte``."""
    return path.rsplit(".", 1)[-1].replace("_", " ") if "." in path else path


def point_value(v) -> str:
    if isinstance(v, float):
        return f"{v:g}" if math.isfinite(v) else ""
    return "" if v is None else str(v)


def _read_json(path: Path) -> dict | None:
    """A JSON object the sweep wrote (optimise.json, psa.json), or None without one (a damaged
    file is refused: :mod:`icssim.report.stored`)."""
    return read_object(path)


def _base_scenario(meta: dict) -> Scenario | None:
    """The first base scenario, read from its file (for the words of its standards and services); None
    when the file has moved or no longer reads."""
    scenarios = meta.get("scenarios")
    if not isinstance(scenarios, dict) or not scenarios:
        return None
    first = next(iter(scenarios.values()))
    files = first.get("files") if isinstance(first, dict) else None
    if not files:
        return None
    try:
        from icssim.scenario import load_scenario

        return load_scenario(files[-1])
    except Exception:
        return None
