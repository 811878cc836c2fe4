"""Probabilistic sensitivity analysis: what parameter uncertainty does to the decision.

A PSA sweep (``design: psa``) runs every strategy (base scenario) on every drawn parameter set.
From the stored runs this module gives, per draw and strategy, the mean cost and QALYs per
help-seeker; the cost-effectiveness acceptability curve (the probability that each strategy has
the highest net benefit, by willingness to pay) and its frontier (the strategy with the highest
expected net benefit, and how likely it is to be best); the expected value of perfect information
(EVPI: what resolving all parameter uncertainty would be worth per person); and, with more than
one replication per draw, how much of the spread is parameters and how much simulation noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from icssim.health.economics import COST, QALYS, THRESHOLDS, icer

#: willingness-to-pay values for the curves, GBP per QALY
WTP_GRID = tuple(float(x) for x in range(0, 100_001, 2_500))


def draw_table(frame: pd.DataFrame, bases: dict[int, tuple[str, int]]) -> pd.DataFrame:
    """Mean cost and QALYs per help-seeker for each (draw, strategy); ``bases`` maps each sweep
    point to its (strategy, draw number). Columns: draw, strategy, cost, qalys, replications."""
    runs = _with_draws(frame, bases)
    grouped = runs.groupby(["draw", "strategy"], sort=True)
    table = grouped[[COST, QALYS]].mean().rename(columns={COST: "cost", QALYS: "qalys"})
    table["replications"] = grouped.size()
    return table.reset_index()


def net_benefit(table: pd.DataFrame, wtp: float) -> pd.DataFrame:
    """Net monetary benefit per person, wtp × QALYs − cost: draws as rows, strategies as columns."""
    nb = table.assign(nb=wtp * table["qalys"] - table["cost"])
    wide = nb.pivot(index="draw", columns="strategy", values="nb")
    return wide.dropna()


def acceptability(table: pd.DataFrame, wtp_grid: Sequence[float] = WTP_GRID) -> pd.DataFrame:
    """For each willingness to pay and strategy: the probability it has the highest net benefit,
    its expected net benefit, and whether it is on the frontier (highest expected net benefit)."""
    rows = []
    for wtp in wtp_grid:
        wide = net_benefit(table, wtp)
        best = wide.to_numpy().argmax(axis=1)
        means = wide.mean()
        for j, strategy in enumerate(wide.columns):
            rows.append({"wtp": wtp, "strategy": strategy, "probability_best": float((best == j).mean()),
                         "expected_net_benefit": float(means[strategy]),
                         "on_frontier": strategy == means.idxmax()})
    return pd.DataFrame(rows)


def evpi(table: pd.DataFrame, wtp_grid: Sequence[float] = WTP_GRID) -> pd.DataFrame:
    """Expected value of perfect information per person: E[max over strategies of NB] minus
    max over strategies of E[NB]. Zero when one strategy is best in every draw."""
    rows = []
    for wtp in wtp_grid:
        rows.append({"wtp": wtp, "evpi_per_person": _regret(net_benefit(table, wtp).to_numpy())})
    return pd.DataFrame(rows)


def _regret(nb: np.ndarray) -> float:
    """E[max over strategies of NB] − max over strategies of E[NB], as the mean over the draws of
    what choosing the best-on-average strategy loses against the best in that draw: the same
    number, but never below 0 and exactly 0 when that strategy is best in every draw (the
    difference of two large means leaves rounding noise of ±1e-12 where there is nothing)."""
    best = int(nb.mean(axis=0).argmax())
    return float((nb.max(axis=1) - nb[:, best]).mean())


def people_affected(people_per_year: float, years: int, rate: float) -> float:
    """How many people a decision that stands ``years`` concerns, each year's help-seekers discounted
    to today at ``rate`` (those of year t by (1 + rate)^-t, t = 0 … years − 1): what the per-person
    EVPI is multiplied by for the population EVPI (Claxton and Posnett 1996; Briggs, Claxton and
    Sculpher 2006, ch. 7)."""
    return people_per_year * sum((1.0 + rate) ** -t for t in range(years))


#: fewest draws per column of a regression basis for an EVPPI (see :func:`evppi`)
DRAWS_PER_COLUMN = 10


def _basis(x: np.ndarray) -> np.ndarray:
    """A cubic polynomial basis in each column of ``x`` (standardised), with pairwise products:
    flexible enough for a smooth net-benefit surface over one or two parameters."""
    z = (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    columns = [np.ones(len(z))] + [z[:, i] ** k for i in range(z.shape[1]) for k in (1, 2, 3)]
    columns += [z[:, i] * z[:, j] for i in range(z.shape[1]) for j in range(i + 1, z.shape[1])]
    return np.column_stack(columns)


def distinct_groups(groups: dict[str, list[str]], parameters: pd.DataFrame) -> dict[str, list[str]]:
    """``groups`` with each column that is an affine function of an earlier drawn column (a
    probability's complement, ``1 − p``) replaced by that column, and any group that then holds the
    same columns as an earlier one left out: the two carry the same information, so they have the
    same EVPPI, and a redundant column would only enlarge the regression's basis (and so the draws
    :func:`evppi` needs). ``parameters``: one row per draw, one column per parameter."""
    names = [c for c in parameters.columns if c != "draw"]
    values = parameters[names].to_numpy(dtype=float)
    first: dict[str, str] = {}
    for j, name in enumerate(names):
        first[name] = next((names[i] for i in range(j) if _affine(values[:, i], values[:, j])), name)
    out: dict[str, list[str]] = {}
    seen: set[frozenset[str]] = set()
    for label, columns in groups.items():
        kept = list(dict.fromkeys(first.get(c, c) for c in columns))
        if frozenset(kept) not in seen:
            seen.add(frozenset(kept))
            out[label] = kept
    return out


def _affine(x: np.ndarray, y: np.ndarray) -> bool:
    """Whether ``y`` is an affine function of ``x`` over the draws (both varying, correlated ±1)."""
    if x.std() == 0 or y.std() == 0:
        return False
    return bool(abs(np.corrcoef(x, y)[0, 1]) > 1 - 1e-9)


def draws_needed(columns: int) -> int:
    """The draws :func:`evppi` needs for a group of ``columns`` parameters: :data:`DRAWS_PER_COLUMN`
    for each column of its basis (:func:`_basis`: a constant, three powers of each parameter and
    their pairwise products)."""
    return (1 + 3 * columns + columns * (columns - 1) // 2) * DRAWS_PER_COLUMN


def groups_not_estimated(groups: dict[str, list[str]], draws: int) -> list[dict[str, Any]]:
    """The groups :func:`evppi` leaves out with ``draws`` draws, each with the draws it would need,
    so that a report can say what it did not estimate rather than omit it silently."""
    return [{"group": name, "draws_needed": draws_needed(len(columns))}
            for name, columns in groups.items() if draws_needed(len(columns)) > draws]


def evppi(table: pd.DataFrame, parameters: pd.DataFrame, groups: dict[str, list[str]], wtp: float) -> pd.DataFrame:
    """Expected value of partial perfect information per person for each group of parameters, by
    regression (Strong, Oakley and Brennan 2014): each strategy's net benefit is regressed on the
    group's drawn values; EVPPI = E[max over strategies of the fitted values] − max of their means.
    ``parameters`` has one row per draw (column ``draw`` and one column per parameter).

    A fit with few draws per basis column follows the noise, and its EVPPI grows with the number
    of columns whatever the parameters do (8 draws gave a pure-noise column £232 where the EVPI was
    £450): a group is left out unless there are :data:`DRAWS_PER_COLUMN` draws for each of its
    basis columns, and no EVPPI is reported above the EVPI, which bounds it."""
    nb = net_benefit(table, wtp)
    values = parameters.set_index("draw").loc[nb.index]
    bound = _regret(nb.to_numpy())
    rows = []
    for name, columns in groups.items():
        if draws_needed(len(columns)) > len(nb):
            continue
        basis = _basis(values[columns].to_numpy(dtype=float))
        fitted = np.column_stack([basis @ np.linalg.lstsq(basis, nb[s].to_numpy(), rcond=None)[0]
                                  for s in nb.columns])
        rows.append({"group": name, "wtp": wtp, "evppi_per_person": min(_regret(fitted), bound)})
    return pd.DataFrame(rows, columns=["group", "wtp", "evppi_per_person"])


def incremental(table: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Each draw's incremental cost and QALYs of every other strategy against ``baseline``."""
    wide = table.pivot(index="draw", columns="strategy", values=["cost", "qalys"]).dropna()
    out = []
    for strategy in wide["cost"].columns:
        if strategy != baseline:
            out.append(pd.DataFrame({"draw": wide.index, "strategy": strategy,
                                     "delta_cost": wide["cost"][strategy] - wide["cost"][baseline],
                                     "delta_qalys": wide["qalys"][strategy] - wide["qalys"][baseline]}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def mean_incremental(table: pd.DataFrame, baseline: str, thresholds: Sequence[float] = THRESHOLDS) -> list[dict]:
    """For each strategy against ``baseline``: the mean incremental cost and QALYs over the draws,
    the ICER as the ratio of those means (mean Δcost / mean ΔQALYs, the expected-value ICER; a
    mean of the draws' own ratios is not one, as ΔQALYs near 0 make ratios explode and change
    sign) and the expected net monetary benefit at each threshold."""
    points = incremental(table, baseline)
    out = []
    for strategy, g in (points.groupby("strategy", sort=False) if len(points) else []):
        cost, qalys = float(g["delta_cost"].mean()), float(g["delta_qalys"].mean())
        out.append({"strategy": str(strategy), "baseline": baseline, "draws": int(len(g)),
                    "delta_cost": cost, "delta_qalys": qalys, "icer": icer(cost, qalys),
                    "net_benefit": [{"wtp": float(wtp), "per_person": float(wtp * qalys - cost)}
                                    for wtp in thresholds]})
    return out


def variance_shares(frame: pd.DataFrame, bases: dict[int, tuple[str, int]], kpi: str = QALYS) -> pd.DataFrame:
    """Per strategy: the share of the variance of ``kpi`` across draws due to the parameters and the
    share due to simulation noise (one-way random-effects ANOVA over draws; needs ≥ 2 replications)."""
    runs = _with_draws(frame, bases)
    rows = []
    for strategy, g in runs.groupby("strategy"):
        split = _variance_split(g.groupby("draw")[kpi])
        if split is not None:
            rows.append({"strategy": strategy, "kpi": kpi, **split})
    return pd.DataFrame(rows)


def net_benefit_variance_shares(frame: pd.DataFrame, bases: dict[int, tuple[str, int]], baseline: str,
                                thresholds: Sequence[float] = THRESHOLDS) -> pd.DataFrame:
    """Per strategy against ``baseline`` and willingness to pay: the share of the variance across
    draws of the incremental net benefit per person due to the parameters, the rest simulation
    noise (as :func:`variance_shares`). It is the difference that decides, and the strategies'
    levels share much of their noise and of their parameters' effects (a utility moves both): each
    replication is paired with the baseline's of the same draw and number, which ran on the same
    random numbers, as the acceptability curve pairs them."""
    runs = _with_draws(frame, bases)
    wide = runs.pivot_table(index=["draw", "replication"], columns="strategy", values=[COST, QALYS])
    rows = []
    for strategy in (s for s in wide[QALYS].columns if s != baseline):
        for wtp in thresholds:
            nb = (wtp * (wide[QALYS][strategy] - wide[QALYS][baseline])
                  - (wide[COST][strategy] - wide[COST][baseline])).dropna()
            split = _variance_split(nb.groupby(level="draw"))
            if split is not None:
                rows.append({"strategy": f"{strategy} against {baseline}", "kpi": f"net_benefit_at_{wtp:.0f}",
                             **split})
    return pd.DataFrame(rows)


def _with_draws(frame: pd.DataFrame, bases: dict[int, tuple[str, int]]) -> pd.DataFrame:
    """The stored runs with each one's strategy and draw number."""
    return frame.assign(strategy=[bases[p][0] for p in frame["point"]], draw=[bases[p][1] for p in frame["point"]])


def _variance_split(per_draw) -> dict[str, float] | None:
    """One-way random-effects ANOVA of values grouped by draw: the variance between draws that the
    parameters explain, the variance within a draw (simulation noise) and the parameters' share;
    None with fewer than 2 draws or 2 replications in any draw."""
    n = per_draw.size()
    if len(n) < 2 or n.min() < 2:
        return None
    noise = float(per_draw.var(ddof=1).mean())
    between = float(per_draw.mean().var(ddof=1))
    parameters = max(between - noise / float(n.mean()), 0.0)
    total = parameters + noise
    return {"parameter_variance": parameters, "noise_variance": noise,
            "share_parameters": parameters / total if total else np.nan}


def headline(ceac: pd.DataFrame, value: pd.DataFrame, thresholds: Sequence[float] = THRESHOLDS) -> list[dict]:
    """At each threshold: the strategy with the highest expected net benefit, the probability each
    strategy is best, and the EVPI per person."""
    out = []
    for wtp in thresholds:
        here = ceac[ceac["wtp"] == wtp]
        if here.empty:
            continue
        out.append({"wtp": wtp, "best": str(here.loc[here["on_frontier"], "strategy"].iloc[0]),
                    "probability_best": {str(r.strategy): r.probability_best for r in here.itertuples()},
                    "evpi_per_person": float(value.loc[value["wtp"] == wtp, "evpi_per_person"].iloc[0]),
                    **({"evpi_population": float(value.loc[value["wtp"] == wtp, "evpi_population"].iloc[0])}
                       if "evpi_population" in value else {})})
    return out
