"""Replications until the answer is precise enough: the confidence-interval method of Hoad,
Robinson and Davies (2010), for one scenario's KPIs (:func:`run_to_precision`, ``icssim run
--precision``) and for the paired differences of a comparison (:func:`compare_to_precision`,
``icssim compare --precision``).

Run a few replications, then one more at a time until every chosen KPI's 95% CI half-width is
within the target share of its mean (of the mean difference, for a comparison), or a cap is hit.
The rule is checked in replication order whatever the number of workers (they run ahead, and
what they ran past the stopping point is dropped), so the same seed stops at the same
replication on 1 worker or on 8.
"""

from __future__ import annotations

import math
from contextlib import closing
from typing import TYPE_CHECKING, Any

import numpy as np

from icssim.comparability import comparability
from icssim.errors import IcssimError
from icssim.executors import Executor
from icssim.experiments import (Comparison, Progress, Replication, RunResult, comparison_in_order,
                                finished_comparison, on_executor, replications_in_order, summarise)
from icssim.intervals import half_width
from icssim.scenario import Scenario

if TYPE_CHECKING:
    import pandas as pd


def run_to_precision(scenario: Scenario, precision: float, kpis: list[str], seed: int | None = None,
                     workers: int | None = None, start: int = 5, cap: int = 200,
                     keep_records: bool = True, progress: Progress | None = None,
                     done: list[Replication] | None = None, executor: Executor | None = None,
                     dask: str | None = None) -> RunResult:
    """Add replications until every KPI's CI half-width is within ``precision`` x |mean|.

    Runs ``start`` replications, then one more at a time until the relative half-width of each
    chosen KPI is at most ``precision``, or ``cap`` replications have run. Finished replications
    also go to ``done``. They run on ``executor``, else on one made for ``workers`` local processes
    or the Dask cluster ``dask``.
    """
    if not precision > 0:
        raise IcssimError(f"--precision must be greater than 0, found {precision}")
    if cap < 1:
        raise IcssimError(f"--max-replications must be at least 1, found {cap}")
    seed = scenario.scenario.seed if seed is None else seed
    done = [] if done is None else done
    first = len(done)
    with on_executor(executor, [scenario], workers, dask, cap) as ex, \
            closing(replications_in_order(ex, scenario, list(range(cap)), seed, keep_records,
                                          ahead=2 * ex.workers)) as stream:
        for rep in stream:
            done.append(rep)
            if progress:
                progress(1)
            reps = done[first:]
            rel = relative_half_widths(reps, kpis)  # from the first: a mistyped KPI stops the run at once
            if len(reps) >= min(start, cap):
                refuse_unreachable(reps, kpis)
                if (rel <= precision).all():
                    break
    result = RunResult(scenario, seed, reps)
    result.precision = _outcome(precision, kpis, len(reps), rel)
    return result


def compare_to_precision(scenarios: list[Scenario], precision: float, kpis: list[str], seed: int | None = None,
                         workers: int | None = None, start: int = 5, cap: int = 100, keep_records: bool = True,
                         progress: Progress | None = None, executor: Executor | None = None,
                         dask: str | None = None, done: list[Replication] | None = None,
                         judged: list[int] | None = None) -> Comparison:
    """:func:`icssim.experiments.compare`, adding replications of every scenario until each of
    ``kpis``' paired difference to the first scenario is known to within ``precision`` of itself:
    its 95% CI half-width at most ``precision`` x |mean difference|, or until ``cap`` replications.

    ``judged`` lists the scenarios (by index) whose differences count, by default all but the
    first: ``compare --equal-budget`` judges the variant, not the two runs at each other's budget
    that explain it. A difference near 0 never reaches a relative precision: the cap stops it, and
    the comparison's ``precision`` says the target was not reached. Finished replications also go
    to ``done``, in :func:`icssim.experiments.compare`'s order.
    """
    if len(scenarios) < 2:
        raise IcssimError("compare needs at least two scenarios")
    if not precision > 0:
        raise IcssimError(f"--precision must be greater than 0, found {precision}")
    if cap < 2:
        raise IcssimError(f"--max-replications must be at least 2 to give a confidence interval, found {cap}")
    warnings = comparability(scenarios)
    seed = scenarios[0].scenario.seed if seed is None else seed
    judged = list(range(1, len(scenarios))) if judged is None else judged
    names = [s.scenario.name for s in scenarios]
    done = [] if done is None else done
    first, k = len(done), len(scenarios)
    with on_executor(executor, scenarios, workers, dask, cap * k) as ex, \
            closing(comparison_in_order(ex, scenarios, range(cap), seed, keep_records, ahead=2 * ex.workers)) as stream:
        for rep in stream:
            done.append(rep)
            if progress:
                progress(1)
            mine = done[first:]
            if len(mine) % k:
                continue  # (a replication not yet run for every scenario)
            rel = difference_half_widths(mine, names, judged, kpis)  # from the first: a mistyped KPI stops at once
            if len(mine) // k >= max(start, 2):
                for j in [0, *judged]:
                    refuse_unreachable(mine[j::k], kpis)
                if (rel <= precision).all():
                    break
    comparison = finished_comparison(scenarios, seed, done[first:], warnings)
    assert comparison is not None  # (at least two replications of every scenario)
    comparison.precision = _outcome(precision, kpis, len(done[first:]) // k, rel) | {
        "judged": [names[j] for j in judged]}
    return comparison


def _outcome(precision: float, kpis: list[str], replications: int, rel: pd.Series) -> dict[str, Any]:
    """What a run or comparison to a precision records (its ``precision``; the report shows it)."""
    return {"target": precision, "kpis": kpis, "replications": replications,
            "reached": bool((rel <= precision).all()),
            "relative_half_width": {k: float(v) for k, v in rel.items()}}


def relative_half_widths(replications: list[Any], kpis: list[str], level: float = 0.95) -> pd.Series:
    """Each KPI's CI half-width over its |mean| (infinite where undefined), for ``--precision``;
    unknown KPIs are an error."""
    import pandas as pd

    table = summarise(pd.DataFrame([r.kpis for r in replications]), level)
    missing = [k for k in kpis if k not in table.index]
    if missing:
        raise IcssimError(f"unknown KPI(s) for --precision: {', '.join(missing)}; "
                          f"known: {', '.join(table.index)}")
    return (table.loc[kpis, "half_width"] / table.loc[kpis, "mean"].abs()).fillna(np.inf)


def difference_half_widths(done: list[Replication], names: list[str], judged: list[int], kpis: list[str],
                           level: float = 0.95) -> pd.Series:
    """Each paired difference's CI half-width over its |mean| (infinite where undefined), for the
    replications ``done`` of the scenarios ``names`` in :func:`icssim.experiments.compare`'s order
    (replication 0 of each, then 1, ...); indexed ``"<kpi>: <scenario> - <baseline>"``. A KPI a
    scenario does not give is an error."""
    import pandas as pd

    k, out = len(names), {}
    for j in judged:
        for kpi in kpis:
            missing = [names[i] for i in (0, j) if kpi not in done[i].kpis]
            if missing:
                raise IcssimError(f"unknown KPI for --precision: {kpi} (scenario '{missing[0]}' does not give it)")
            d = np.array([done[i + j].kpis[kpi] - done[i].kpis[kpi] for i in range(0, len(done), k)], dtype=float)
            d = d[np.isfinite(d)]
            mean = float(d.mean()) if len(d) else math.nan
            half = half_width(float(d.std(ddof=1)), len(d), level) if len(d) > 1 else math.inf
            out[f"{kpi}: {names[j]} - {names[0]}"] = half / abs(mean) if mean and math.isfinite(mean) else math.inf
    return pd.Series(out, dtype=float)


def refuse_unreachable(replications: list[Any], kpis: list[str]) -> None:
    """Stop a run to a precision no replication can bring nearer: a KPI with no value in any of the
    first replications (no one reached what it measures, for a reason the pathway alone does not
    show: :func:`icssim.kpi_check.no_value_reason`) would otherwise run to the cap for nothing."""
    empty = [k for k in kpis if all(not math.isfinite(r.kpis.get(k, math.nan)) for r in replications)]
    if empty:
        raise IcssimError(f"{', '.join(empty)} had no value in any of the first {len(replications)} replications "
                          "(no one reached what it measures), so --precision could never be reached: choose "
                          "the measure with --kpi")
