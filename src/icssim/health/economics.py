"""Cost-effectiveness of each scenario against a baseline, on paired replications.

Per replication, the incremental cost and QALYs per help-seeker are paired differences (the same
people, on common random numbers); their means and Student-t intervals give the incremental
cost-effectiveness ratio (ICER = mean Δcost / mean ΔQALYs) and the net monetary benefit
(NMB = threshold × ΔQALYs − Δcost) at each willingness-to-pay threshold. These intervals reflect
simulation noise only: uncertainty in the inputs needs a probabilistic sensitivity analysis.

A replication in which no one asked for help in a scenario (or in the baseline) has no cost or QALYs
per help-seeker there: the differences are taken over the replications where both have them (as
``differences.csv`` takes every KPI's), and each row says how many that is (``n``) out of how many
were paired (``replications``); a row is "n/a" only when none remain.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from icssim.intervals import half_width, t_quantile

COST, QALYS = "cost_per_person", "qalys_per_person"
#: NICE's range for services and guidelines (ed-outcomes.md section 4.1), GBP per QALY
THRESHOLDS = (20_000.0, 30_000.0)


def icer(delta_cost: float, delta_qalys: float) -> float:
    """Incremental cost per QALY gained (or saved per QALY lost); NaN when the QALYs do not differ
    or one option dominates (more QALYs for no more money, or fewer for no less): a negative ratio
    would put the two dominance quadrants on one scale, where it cannot be ranked."""
    if not delta_qalys or (delta_qalys > 0) != (delta_cost > 0):
        return math.nan
    return delta_cost / delta_qalys


def net_monetary_benefit(delta_cost: np.ndarray | float, delta_qalys: np.ndarray | float,
                         threshold: float) -> np.ndarray | float:
    """What the QALYs gained are worth at ``threshold`` per QALY, minus what they cost."""
    return threshold * np.asarray(delta_qalys) - np.asarray(delta_cost)


def icer_interval(d_cost: np.ndarray, d_qalys: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Fieller's confidence interval for the ICER from paired differences (per replication); NaN
    when the QALY difference is not clearly away from zero (then the interval is unbounded)."""
    n = len(d_cost)
    if n < 2:
        return math.nan, math.nan
    t = float(t_quantile(level, n - 1))
    c, q = float(d_cost.mean()), float(d_qalys.mean())
    cov = np.cov(d_cost, d_qalys, ddof=1) / n
    vc, vq, vcq = float(cov[0, 0]), float(cov[1, 1]), float(cov[0, 1])
    a = q * q - t * t * vq
    if a <= 0:
        return math.nan, math.nan
    b = c * q - t * t * vcq
    root = b * b - a * (c * c - t * t * vc)
    if root < 0:
        return math.nan, math.nan
    return (b - math.sqrt(root)) / a, (b + math.sqrt(root)) / a


def verdict(delta_cost: float, delta_qalys: float, qalys_interval: tuple[float, float] | None = None,
            cost_interval: tuple[float, float] | None = None) -> str:
    """Where the point estimate lies on the cost-effectiveness plane, in words; when the QALY
    difference's interval holds 0, that there is no clear QALY difference (a quadrant, and so
    "dominant" or an ICER, would claim more than the runs show), with the cost difference's
    direction only if its own interval excludes 0; "n/a" when a difference is not a number (no one
    asked for help in one of the two, so there is no cost or QALY per help-seeker to compare)."""
    if not (math.isfinite(delta_cost) and math.isfinite(delta_qalys)):
        return "n/a"
    if qalys_interval is not None and qalys_interval[0] <= 0 <= qalys_interval[1]:
        if cost_interval is not None and not cost_interval[0] <= 0 <= cost_interval[1]:
            return f"no clear QALY difference, for {'less' if delta_cost < 0 else 'more'} money"
        return "no clear QALY difference"
    if delta_qalys >= 0 and delta_cost <= 0:
        return "dominant (more QALYs for less money)"
    if delta_qalys <= 0 and delta_cost >= 0:
        return "dominated (fewer QALYs for more money)"
    if delta_qalys > 0:
        return "more QALYs for more money"
    return "fewer QALYs for less money"


def _interval(x: np.ndarray, level: float) -> tuple[float, float, float]:
    if not len(x):
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    half = float(half_width(float(x.std(ddof=1)), len(x), level)) if len(x) > 1 else math.nan
    return mean, mean - half, mean + half


def cost_effectiveness(kpis: dict[str, pd.DataFrame], baseline: str,
                       thresholds: Sequence[float] = THRESHOLDS, level: float = 0.95) -> pd.DataFrame:
    """One row per scenario other than ``baseline``: incremental cost and QALYs per help-seeker with
    paired intervals, the ICER, and the NMB at each threshold with its interval. ``kpis`` maps each
    scenario to its per-replication KPI table (replications as the index); empty without QALYs.

    Only the replications where both have a cost and QALYs per help-seeker count (someone asked for
    help in each): ``n`` of the ``replications`` paired, the intervals' Student-t on ``n - 1``
    degrees of freedom; every difference is NaN (and the verdict "n/a") when ``n`` is 0."""
    base = kpis[baseline]
    if QALYS not in base or COST not in base:
        return pd.DataFrame()
    rows = []
    for name, table in kpis.items():
        if name == baseline or QALYS not in table:
            continue
        both = base.index.intersection(table.index)
        d_cost = (table.loc[both, COST] - base.loc[both, COST]).to_numpy(float)
        d_qaly = (table.loc[both, QALYS] - base.loc[both, QALYS]).to_numpy(float)
        used = np.isfinite(d_cost) & np.isfinite(d_qaly)   # (NaN: no one asked for help in one of the two)
        d_cost, d_qaly = d_cost[used], d_qaly[used]
        cost, cost_lo, cost_hi = _interval(d_cost, level)
        qaly, qaly_lo, qaly_hi = _interval(d_qaly, level)
        row = {"scenario": name, "baseline": baseline, "n": int(used.sum()), "replications": len(both),
               "delta_cost": cost, "delta_cost_lower": cost_lo, "delta_cost_upper": cost_hi,
               "delta_qalys": qaly, "delta_qalys_lower": qaly_lo, "delta_qalys_upper": qaly_hi,
               "icer": icer(cost, qaly), "icer_lower": math.nan, "icer_upper": math.nan,
               "verdict": verdict(cost, qaly, (qaly_lo, qaly_hi), (cost_lo, cost_hi))}
        if row["icer"] == row["icer"]:  # (no interval for a ratio that dominance makes meaningless)
            row["icer_lower"], row["icer_upper"] = icer_interval(d_cost, d_qaly, level)
        for threshold in thresholds:
            nmb, lo, hi = _interval(np.asarray(net_monetary_benefit(d_cost, d_qaly, threshold)), level)
            key = f"nmb_{int(threshold)}"
            row |= {key: nmb, f"{key}_lower": lo, f"{key}_upper": hi}
        rows.append(row)
    return pd.DataFrame(rows)


def none_compared(names: Sequence[str], baseline: str) -> str:
    """Why scenarios have no cost-effectiveness against ``baseline``, in words: in no replication did
    people ask for help in both, so there is no cost or QALY per help-seeker to compare."""
    one = len(names) == 1
    return (f"{', '.join(names)} {'has' if one else 'have'} no cost or QALYs per help-seeker to set against "
            f"{baseline}'s: in no replication did anyone ask for help in both {'it' if one else 'each'} "
            f"and {baseline}.")


def replications_left_out(row: pd.Series | dict) -> str:
    """How many paired replications a row of :func:`cost_effectiveness` leaves out and why, in words
    ("" when it uses them all, or when the row, read from an older file, does not say)."""
    n, of = row.get("n"), row.get("replications")
    if n is None or of is None or not (math.isfinite(float(n)) and math.isfinite(float(of))) or n >= of:
        return ""
    left = int(of) - int(n)
    return (f"from {int(n)} of {int(of)} paired replications: in the other {'one' if left == 1 else left}, "
            f"no one asked for help in {row['scenario']} or in {row['baseline']}")


def plane_notes(missing: Sequence[str], shown: Iterable[tuple[str, Mapping[str, Any]]], baseline: str) -> list[str]:
    """What a cost-effectiveness plane against ``baseline`` leaves out, in words, for the plane and
    the report's caption alike: the scenarios it cannot place (``missing``), and for each it shows
    (its name as shown and its row of :func:`cost_effectiveness`) the replications it leaves out."""
    notes = [f"Not plotted: {none_compared(missing, baseline)}"] if missing else []
    return notes + [f"{name}: points and mean {left}." for name, row in shown if (left := replications_left_out(row))]


def paired_points(kpis: dict[str, pd.DataFrame], baseline: str) -> dict[str, pd.DataFrame]:
    """Each replication's (ΔQALYs, Δcost) per help-seeker against ``baseline``, by scenario."""
    base = kpis[baseline]
    out = {}
    for name, table in kpis.items():
        if name != baseline and QALYS in table and QALYS in base:
            both = base.index.intersection(table.index)
            out[name] = pd.DataFrame({"delta_qalys": table.loc[both, QALYS] - base.loc[both, QALYS],
                                      "delta_cost": table.loc[both, COST] - base.loc[both, COST]})
    return out
