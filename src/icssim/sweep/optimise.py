"""Goal-seek: the cheapest point of a sweep that meets one or more standards, with its evidence.

A point meets a target such as ``within_routine_4_weeks >= 0.95`` only when the
confidence interval's bound on the unfavourable side clears it (the lower bound
for ``>=``, the upper bound for ``<=``); a point whose interval straddles the target
is *undecided*. Among the points that meet every target, the answer is the one with
the lowest mean of the KPI to minimise (or the lowest value of a parameter, such as
a staff WTE). With ``max_replications``, undecided points that would beat the
current answer get more replications until they are decided or reach the cap.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from icssim.errors import IcssimError
from icssim.units import format_number as _num

# The tables, the KPI registry and pandas load when an optimisation runs, not with this module:
# checking a sweep file's targets (icssim.kpi_check) needs only the parsers here.
if TYPE_CHECKING:
    import pandas as pd

TARGET_PATTERN = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(>=|<=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


@dataclass(frozen=True)
class Target:
    kpi: str
    op: str
    value: float

    def __str__(self) -> str:
        return f"{self.kpi} {self.op} {self.value:g}"

    @property
    def higher(self) -> bool:
        return self.op in (">=", ">")

    def status(self, lower: float, upper: float) -> str:
        """'meets', 'fails' or 'undecided' from a CI (lower, upper)."""
        if not (np.isfinite(lower) and np.isfinite(upper)):
            return "undecided"
        ge = (lambda a, b: a >= b) if self.op in (">=", "<=") else (lambda a, b: a > b)
        if self.higher:
            if ge(lower, self.value):
                return "meets"
            return "fails" if not ge(upper, self.value) else "undecided"
        if ge(self.value, upper):
            return "meets"
        return "fails" if not ge(self.value, lower) else "undecided"


def parse_target(text: str) -> Target:
    m = TARGET_PATTERN.match(text)
    if not m:
        raise IcssimError(f"--target {text!r}: expected 'KPI >= number' (or <=, >, <), "
                          "e.g. 'within_routine_4_weeks >= 0.95'")
    return Target(m.group(1), m.group(2), float(m.group(3)))


def parse_objective(text: str) -> list[tuple[float, str]]:
    """``cost_per_year`` or a sum such as ``cost_per_year + 60000*services.x.staff.y.wte``:
    (coefficient, KPI or parameter) terms."""
    terms = []
    for part in text.split("+"):
        part = part.strip()
        m = re.match(r"^(?:([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*\*\s*)?([A-Za-z0-9_./-]+)$", part)
        if not m:
            raise IcssimError(f"--minimise {text!r}: expected a KPI or parameter, or a sum of "
                              "'number*name' terms (e.g. 'cost_per_year + 60000*services.x.staff.y.wte')")
        terms.append((float(m.group(1)) if m.group(1) else 1.0, m.group(2)))
    return terms


def check_names(run, targets: list[Target], minimise: str, known_kpis: list[str]) -> None:
    params = list(run.sweep.spec.parameters)
    for t in targets:
        if t.kpi not in known_kpis:
            near = difflib.get_close_matches(t.kpi, known_kpis, n=1)
            raise IcssimError(f"--target: unknown KPI {t.kpi!r}" + (f"; did you mean {near[0]!r}?" if near else
                              f"; KPIs: {', '.join(known_kpis)}"))
    for _, name in parse_objective(minimise):
        if name not in known_kpis and name not in params:
            near = difflib.get_close_matches(name, known_kpis + params, n=1)
            raise IcssimError(f"--minimise: {name!r} is neither a KPI nor a swept parameter"
                              + (f"; did you mean {near[0]!r}?" if near else ""))
        if name in params and parameter_numbers(run, name) is None:
            bad = [p.values.get(name) for p in run.points if not _plain(p.values.get(name))]
            raise IcssimError(f"--minimise: the parameter {name!r} must be numeric (or numbers in one unit, "
                              f"such as '3 hours'), found {bad[0]!r}")


def _plain(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parameter_numbers(run, name: str) -> list[float] | None:
    """Each point's value of parameter ``name`` as a number: plain numbers, or numbers written in one
    and the same unit (``3 hours``, as a parameter with ``unit: hours`` sets them); None otherwise."""
    values = [p.values.get(name) for p in run.points]
    if all(_plain(v) for v in values):
        return [float(v) for v in values]
    found = [re.match(r"^\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s+(\S.*)$", v) if isinstance(v, str) else None
             for v in values]
    matched = [m for m in found if m is not None]
    if len(matched) < len(found) or len({m.group(2) for m in matched}) != 1:
        return None
    return [float(m.group(1)) for m in matched]


def assess(run, targets: list[Target], minimise: str, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per point: settings, objective, each target's mean/CI/status, overall status."""
    frame = run.frame() if frame is None else frame
    terms = parse_objective(minimise)
    kpis = list(dict.fromkeys([t.kpi for t in targets] + [n for _, n in terms if n in frame.columns]))
    from icssim.sweep.tables import point_frame, summary

    summ = summary(run, frame, kpis)
    table = point_frame(run)
    by = {k: summ[summ["kpi"] == k].set_index("point") for k in kpis}
    statuses = []
    for t in targets:
        s = by[t.kpi]
        table[f"{t.kpi}_mean"] = table["point"].map(s["mean"])
        table[f"{t.kpi}_lower"] = table["point"].map(s["lower"])
        table[f"{t.kpi}_upper"] = table["point"].map(s["upper"])
        col = f"status[{t}]"
        table[col] = [t.status(lo, hi) for lo, hi in zip(table[f"{t.kpi}_lower"], table[f"{t.kpi}_upper"])]
        statuses.append(col)
    table["n"] = table["point"].map(frame.groupby("point").size()).fillna(0).astype(int)
    objective = np.zeros(len(table))
    for coef, name in terms:
        if name in frame.columns:
            objective += coef * table["point"].map(by[name]["mean"]).to_numpy(dtype=float)
        else:
            objective += coef * np.array(parameter_numbers(run, name) or [])
    table["objective"] = objective
    if len(terms) == 1 and terms[0][1] in frame.columns:
        coef, name = terms[0]
        lo, hi = (table["point"].map(by[name][c]).to_numpy(dtype=float) * coef for c in ("lower", "upper"))
        table["objective_lower"], table["objective_upper"] = np.minimum(lo, hi), np.maximum(lo, hi)

    def overall(row) -> str:
        values = [row[c] for c in statuses]
        if all(v == "meets" for v in values):
            return "meets"
        if any(v == "fails" for v in values):
            return "fails"
        return "undecided"

    table["status"] = table.apply(overall, axis=1) if len(table) else []
    first = targets[0]
    margin = table[f"{first.kpi}_lower"] if first.higher else -table[f"{first.kpi}_upper"]
    table["_margin"] = margin
    table = table.sort_values(["objective", "_margin"], ascending=[True, False], kind="stable")
    return table.drop(columns="_margin").reset_index(drop=True)


def refinement(targets: list[Target], minimise: str, cap: int, batch: int):
    """A ``more`` callback for :func:`icssim.sweep.runner.execute`: more replications for
    undecided points that could beat the current answer, up to ``cap`` each."""

    def more(run) -> list[tuple[int, int]]:
        table = assess(run, targets, minimise)
        meets = table[table["status"] == "meets"]
        best = meets["objective"].iloc[0] if len(meets) else math.inf
        todo = table[(table["status"] == "undecided") & (table["objective"] < best) & (table["n"] < cap)]
        pairs = []
        for row in todo.itertuples():
            n = int(row.n)
            pairs += [(int(row.point), r) for r in range(n, min(n + batch, cap))]
        return pairs

    return more


def report(run, targets: list[Target], minimise: str, table: pd.DataFrame) -> tuple[str, dict[str, Any]]:
    """The answer and its evidence, as text (in words: labels, percentages, CIs, and what to do about
    undecided points) and as a JSON-able dict."""
    level = run.sweep.spec.sweep.level
    meets = table[table["status"] == "meets"]
    lines = []
    goal = " and ".join(_target_words(run, t) for t in targets)
    counts = table["status"].value_counts().to_dict()
    evidence = (f"{counts.get('meets', 0)} of {len(table)} points meet the target(s) on the {level:.0%} CI bound; "
                f"{counts.get('undecided', 0)} undecided (CI straddles the target); {counts.get('fails', 0)} fail")
    answer: dict[str, Any] = {"targets": [str(t) for t in targets], "minimise": minimise, "level": level,
                              "found": bool(len(meets)), "evidence": evidence}
    what = _objective_words(run, minimise)
    if len(meets):
        best = meets.iloc[0]
        point = run.points[int(best["point"])]
        lines.append(f"Answer: the lowest {what} that meets {goal} (on the {level:.0%} CI bound) is at")
        lines.append(f"  point {point.index}: {_settings(run, point)}")
        lines.append(f"  {what}: {_objective_text(best, minimise)}")
        for t in targets:
            lines.append(f"  {_label(run, t.kpi)}: {_estimate(best, t.kpi)} from {int(best['n'])} replications")
        answer["point"] = {"index": point.index, **point.row(), "n": int(best["n"]),
                           "objective": float(best["objective"])}
        answer["point"].update({f"{t.kpi}_{s}": float(best[f"{t.kpi}_{s}"]) for t in targets
                                for s in ("mean", "lower", "upper")})
        cheaper = table[(table["objective"] < best["objective"])]
    else:
        lines.append(f"No point meets {goal} on the {level:.0%} CI bound.")
        cheaper = table
    lines.append(f"Evidence: {counts.get('meets', 0)} of {len(table)} points meet the target, "
                 f"{counts.get('fails', 0)} fall short, {counts.get('undecided', 0)} undecided "
                 f"(the interval straddles the target).")
    shown = cheaper.tail(3) if len(meets) else table.sort_values(
        f"{targets[0].kpi}_{'lower' if targets[0].higher else 'upper'}", ascending=not targets[0].higher).head(3)
    if len(shown):
        lines.append("  cheaper points, and why they do not count:" if len(meets) else "  closest points:")
        for row in shown.itertuples(index=False):
            row = row._asdict() if hasattr(row, "_asdict") else dict(zip(shown.columns, row))
            p = run.points[int(row["point"])]
            detail = "; ".join(f"{_label(run, t.kpi)} {_estimate(row, t.kpi)}{_bound_note(row, t)}"
                               for t in targets)
            lines.append(f"    point {p.index} ({_settings(run, p)}): {detail}, {int(row['n'])} replications: "
                         f"{_STATUS.get(str(row['status']), row['status'])}")
    undecided = table[table["status"] == "undecided"]
    if len(undecided):
        n = int(undecided["n"].max())
        lines.append(f"More replications would decide the undecided point(s): add --max-replications "
                     f"{max(2 * n, 10)} (only undecided points that could beat the answer get them).")
    answer["table"] = "optimise.csv"
    return "\n".join(lines), answer


_STATUS = {"meets": "meets the target", "fails": "falls short", "undecided": "undecided"}


def _label(run, kpi: str) -> str:
    from icssim.report.labels import kpi_label

    return kpi_label(kpi, _base(run), with_target=False)


def _base(run):
    bases = getattr(run.sweep, "bases", None) or {}
    return next(iter(bases.values()), None)


def _estimate(row, kpi: str) -> str:
    from icssim.report.numbers import Estimate

    e = Estimate(kpi, float(row[f"{kpi}_mean"]), float(row[f"{kpi}_lower"]), float(row[f"{kpi}_upper"]),
                 int(row["n"]))
    return e.text()


def _bound_note(row, t: Target) -> str:
    """The deciding bound with more digits when, rounded as the estimate is written, it looks equal
    to the target (``95% (95% CI 95% to 96%)`` for a lower bound of 94.67% against 95%)."""
    from icssim.metrics import kpi_info
    from icssim.report.numbers import fmt

    unit = kpi_info(t.kpi).unit
    side = "lower" if t.higher else "upper"
    bound = float(row[f"{t.kpi}_{side}"])
    if not np.isfinite(bound) or fmt(bound, unit, False) != fmt(t.value, unit, False):
        return ""
    shown = f"{bound:.2%}" if unit == "share" else f"{bound:.4g}"
    target = f"{t.value:.2%}" if unit == "share" else f"{t.value:.4g}"
    return f" (its {side} bound {shown}, the target {target})"


def _target_words(run, t: Target) -> str:
    from icssim.metrics import kpi_info
    from icssim.report.numbers import fmt

    words = {">=": "at least", ">": "more than", "<=": "at most", "<": "less than"}[t.op]
    return f"{_label(run, t.kpi)} {words} {fmt(t.value, kpi_info(t.kpi).unit)}"


def _objective_words(run, minimise: str) -> str:
    from icssim.report.labels import short

    params = run.sweep.spec.parameters
    if minimise in params:
        p = params[minimise]
        return p.label if getattr(p, "label", None) else minimise
    if len(parse_objective(minimise)) > 1:
        return minimise
    return short(_label(run, minimise)).lower()


def _settings(run, point) -> str:
    """``CYP ED therapists 30, CYP ED assessors 1.3``: the sweep file's labels, else the key paths."""
    params = run.sweep.spec.parameters
    parts = []
    for path, value in point.values.items():
        p = params.get(path)
        name = p.label if p is not None and getattr(p, "label", None) else path
        parts.append(f"{name} {value:g}" if isinstance(value, float) else f"{name} {value}")
    extra = [x for x in (getattr(point, "base", None) if len(getattr(run.sweep, "bases", {}) or {}) > 1 else None,
                         getattr(point, "area", None)) if x]
    return ", ".join([*map(str, extra), *parts]) or point.describe()


def write(run, table: pd.DataFrame, answer: dict[str, Any]) -> None:
    """Write ``optimise.csv`` (through the CSV writer that neutralises formulas) and
    ``optimise.json``, each through a temporary file of this process renamed into place."""
    from icssim.tables import write_csv

    tag = f"{os.getpid()}"
    tmp = run.out / f".optimise.csv.{tag}.tmp"
    write_csv(table, tmp)
    os.replace(tmp, run.out / "optimise.csv")
    tmp = run.out / f".optimise.json.{tag}.tmp"
    tmp.write_text(json.dumps(answer, indent=2, default=_json))
    os.replace(tmp, run.out / "optimise.json")
    if (run.out / "metadata.json").is_file():  # the sweep's report leads with this answer: build it again
        from icssim.report import build_report

        tmp = run.out / f".report.html.{tag}.tmp"
        tmp.write_text(build_report(run.out), encoding="utf-8")
        os.replace(tmp, run.out / "report.html")


def _json(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return str(v)


def _objective_text(row, minimise: str = "") -> str:
    """The objective in its unit (a KPI's), with its CI when it has one that is not a single value."""
    from icssim.metrics import kpi_info
    from icssim.report.numbers import fmt

    unit = kpi_info(minimise).unit if minimise and "objective_lower" in row.index else ""
    lo, hi = (row.get("objective_lower"), row.get("objective_upper")) if "objective_lower" in row.index else (0, 0)
    value = fmt(float(row["objective"]), unit) if unit else _num(row["objective"])
    if "objective_lower" in row.index and lo != hi:
        like = float(row["objective"])   # (the bounds in the unit the value is written in)
        return f"{value} (95% CI {fmt(float(lo), unit, False, like)} to {fmt(float(hi), unit, False, like)})"
    return value
