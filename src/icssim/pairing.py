"""How much common random numbers narrow a comparison's intervals, and what limits them.

:func:`crn_effect` measures it per KPI: the paired interval of a difference against the interval of
independent runs, with the floor a perfect correlation between the two scenarios would give.
:func:`person_pairing` looks one level down, at the people: each person's own QALYs and own costs
in the two scenarios. A comparison pairs the same people (their arrivals, attributes, course of
illness and named choices are drawn from streams keyed to them), so how closely a person's values
in the two scenarios agree is what pairing has to work with: were a replication's people
independent of one another, its paired interval could be no narrower than the spread of their
own differences gives. What keeps that spread wide is how differently the two pathways treat the
same person, and any draw (a length of stay, a missed appointment) not keyed to the person;
:func:`own_cost_spread` says which services that spread comes from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from icssim.experiments import Comparison, RunResult, executor_for, run, run_replication, standards_of
from icssim.health.kpis import own_bookings_by_service, pathway_discount
from icssim.intervals import t_quantile
from icssim.kpi_base import Window
from icssim.scenario import Scenario

if TYPE_CHECKING:
    import pandas as pd


def crn_effect(a: Scenario, b: Scenario, kpis: list[str], replications: int = 20, seed: int | None = None,
               workers: int | None = None) -> pd.DataFrame:
    """How much common random numbers narrow the CI of the difference b - a, and how much they could.

    Runs ``b`` a second time on independent seeds (seed + 1) and compares the paired CI
    half-width (CRN) with the two-sample (Welch) half-width of independent runs: ``ratio``. With
    ``correlation`` the correlation of the two scenarios' values over the paired replications,
    ``best_ratio`` is the ratio's floor, reached were that correlation 1: ``|sd_a - sd_b| /
    sqrt(sd_a² + sd_b²)`` of the two scenarios' standard deviations. Where one scenario's
    noise dwarfs the other's (a bed unit near full in one pathway only), no pairing of random
    numbers can narrow the interval much, and this says by how much at most.
    """
    import pandas as pd

    seed = a.scenario.seed if seed is None else seed
    with executor_for([a, b], workers, tasks=replications) as ex:
        ra = _reporting(run(a, replications, seed, keep_records=False, executor=ex), kpis)
        rb = _reporting(run(b, replications, seed, keep_records=False, executor=ex), kpis)
        rb_ind = run(b, replications, seed + 1, keep_records=False, executor=ex)
    paired = Comparison([ra, rb], []).differences().set_index("kpi")
    rows = []
    for kpi in kpis:
        x, y = ra.kpis[kpi].to_numpy(float), rb_ind.kpis[kpi].to_numpy(float)
        var_x, var_y = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
        se = np.sqrt(var_x + var_y)
        dof = (var_x + var_y) ** 2 / (var_x ** 2 / (len(x) - 1) + var_y ** 2 / (len(y) - 1)) if se > 0 else 1
        independent = float(t_quantile(0.95, dof) * se)
        crn = float(paired.loc[kpi, "diff_half_width"])
        rows.append({"kpi": kpi, "crn_half_width": crn, "independent_half_width": independent,
                     "ratio": crn / independent if independent else np.nan,
                     **pairing_limit(x, rb.kpis[kpi].to_numpy(float))})
    return pd.DataFrame(rows)


def _reporting(result: RunResult, kpis: list[str]) -> RunResult:
    """``result``, if it reports every KPI in ``kpis``; else a ValueError naming those it lacks
    (a service one pathway does not have reports no cost), before the next scenario is run."""
    missing = [kpi for kpi in kpis if kpi not in result.kpis.columns]
    if missing:
        raise ValueError(f"scenario '{result.scenario.scenario.name}' reports no KPI {', '.join(map(repr, missing))}: "
                         "crn_effect needs KPIs both scenarios report")
    return result


def pairing_limit(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """The correlation of two scenarios' values over paired replications, and the smallest ratio
    of paired to independent standard errors any correlation could give: ``|sd_a - sd_b| /
    sqrt(sd_a² + sd_b²)``, at correlation 1."""
    sd_a, sd_b = float(a.std(ddof=1)), float(b.std(ddof=1))
    both = float(np.hypot(sd_a, sd_b))
    correlation = float(np.corrcoef(a, b)[0, 1]) if sd_a > 0 and sd_b > 0 else float("nan")
    return {"correlation": correlation, "best_ratio": abs(sd_a - sd_b) / both if both > 0 else float("nan")}


#: the per-person measures :func:`person_pairing` pairs, in its table's order
PERSON_MEASURES = ("qalys", "own_cost")


def person_pairing(a: Scenario, b: Scenario, replications: int = 10, seed: int | None = None) -> pd.DataFrame:
    """Each person's own QALYs and own costs in scenarios ``a`` and ``b``, paired person by person.

    For each measure (``qalys``: discounted QALYs over the follow-up; ``own_cost``: what the person
    booked at the services costed by their activity, discounted as ``cost_per_person`` discounts
    it, plus their course's state and event costs; a share of a staff establishment is the same
    for everyone in a replication, so it pairs exactly and is left out), over the people who asked
    for help in the observation window:

    - ``person_correlation``: the correlation of a person's values in the two scenarios (mean over
      the replications);
    - ``person_ratio``: ``sqrt(var(b - a) / (var(a) + var(b)))`` over the people: the ratio of paired
      to independent standard errors that replications made of independent people would give;
    - ``replication_correlation`` and ``replication_ratio``: the same over the replications' means,
      what a comparison's interval sees;
    - ``people``: help-seekers per replication (mean).

    Where ``replication_ratio`` is near ``person_ratio``, the paired interval is as narrow as
    pairing people can make it: what is left is how differently the two pathways treat the same
    person. Both scenarios need a ``health:`` block and the same cohorts (the same people arrive in
    both). Replications run one after another in this process, keeping each one's records only
    until its people are measured.
    """
    import pandas as pd

    if replications < 3:
        raise ValueError("person_pairing needs at least 3 replications")
    seed = a.scenario.seed if seed is None else seed
    per_person: dict[str, list[tuple[float, float, float, float]]] = {m: [] for m in PERSON_MEASURES}
    means: dict[str, list[tuple[float, float]]] = {m: [] for m in PERSON_MEASURES}
    people = []
    for replication in range(replications):
        key_a, values_a, _ = _people(a, replication, seed)
        key_b, values_b, _ = _people(b, replication, seed)
        _same_people(a, b, key_a, key_b, replication)
        people.append(key_a.shape[1])
        for m in PERSON_MEASURES:
            x, y = values_a[m], values_b[m]
            per_person[m].append((_correlation(x, y), float(np.var(y - x, ddof=1)),
                                  float(np.var(x, ddof=1)), float(np.var(y, ddof=1))))
            means[m].append((float(x.mean()), float(y.mean())))
    rows = []
    for m in PERSON_MEASURES:
        corr, var_d, var_a, var_b = np.array(per_person[m]).T
        x, y = np.array(means[m]).T
        rows.append({"measure": m, "people": float(np.mean(people)),
                     "person_correlation": float(corr.mean()),
                     "person_ratio": _ratio(var_d.mean(), var_a.mean() + var_b.mean()),
                     "replication_correlation": _correlation(x, y),
                     "replication_ratio": _ratio(np.var(y - x, ddof=1), np.var(x, ddof=1) + np.var(y, ddof=1))})
    return pd.DataFrame(rows)


#: the name :func:`own_cost_spread` gives the course of illness's own costs (its states and events)
COURSE = "course of illness"


def own_cost_spread(a: Scenario, b: Scenario, replications: int = 5, seed: int | None = None) -> pd.DataFrame:
    """Where the spread of the person-by-person differences in own costs (``own_cost`` of
    :func:`person_pairing`) comes from, service by service (and the course of illness's own costs).

    One row per service either scenario costs by activity: ``share_of_spread``, its share of the
    variance of the people's cost differences b - a (the covariance of its difference with the
    total's, over that variance: the shares add up to 1, and one may be negative where a service's
    difference offsets the rest); each scenario's mean own cost there per help-seeker (0 where it
    has no such service); the share of help-seekers with any cost there in each; and the share with
    a cost there in both. Means over the replications, largest share first.
    """
    import pandas as pd

    if replications < 1:
        raise ValueError("own_cost_spread needs at least 1 replication")
    seed = a.scenario.seed if seed is None else seed
    rows: dict[str, list[list[float]]] = {}
    for replication in range(replications):
        key_a, _, parts_a = _people(a, replication, seed)
        key_b, _, parts_b = _people(b, replication, seed)
        _same_people(a, b, key_a, key_b, replication)
        zero = np.zeros(key_a.shape[1])
        names = list(dict.fromkeys([*parts_a, *parts_b]))
        diffs = {n: parts_b.get(n, zero) - parts_a.get(n, zero) for n in names}
        total = np.sum(list(diffs.values()), axis=0)
        spread = float(np.var(total))
        for n in names:
            x, y = parts_a.get(n, zero), parts_b.get(n, zero)
            share = float(np.mean((diffs[n] - diffs[n].mean()) * (total - total.mean())) / spread) if spread else np.nan
            rows.setdefault(n, []).append([share, float(x.mean()), float(y.mean()), float(np.mean(x > 0)),
                                           float(np.mean(y > 0)), float(np.mean((x > 0) & (y > 0)))])
    columns = ["share_of_spread", "mean_a", "mean_b", "with_any_a", "with_any_b", "with_any_both"]
    table = pd.DataFrame({n: np.mean(v, axis=0) for n, v in rows.items()}, index=columns).T
    return table.rename_axis("service").reset_index().sort_values("share_of_spread", ascending=False,
                                                                   ignore_index=True)


def _people(scenario: Scenario, replication: int,
            seed: int) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """One replication's window help-seekers as (cohort, arrival) rows in a fixed order; each one's
    measures in that order; and their own costs by service (with the course of illness's)."""
    rec = run_replication(scenario, replication, seed, keep_records=True, record_visits=False).records
    assert rec is not None  # kept: keep_records=True
    out = rec.health
    if out is None:
        raise ValueError(f"scenario '{scenario.scenario.name}' has no health: block: person_pairing pairs "
                         "each person's QALYs and costs")
    w = Window(rec, standards_of(scenario))
    cohort, arrival = rec.patients["cohort"][w.in_window], rec.patients["arrival"][w.in_window]
    order = np.lexsort((arrival, cohort))
    factor = pathway_discount(w, out.discount_costs)
    parts = {name: cost * factor for name, cost in own_bookings_by_service(w).items()}
    parts[COURSE] = out.state_costs[w.in_window]
    measures = {"qalys": out.qalys[w.in_window], "own_cost": np.sum(list(parts.values()), axis=0)}
    return (np.stack([cohort[order], arrival[order]]), {m: v[order] for m, v in measures.items()},
            {n: v[order] for n, v in parts.items()})


def _same_people(a: Scenario, b: Scenario, key_a: np.ndarray, key_b: np.ndarray, replication: int) -> None:
    if not np.array_equal(key_a, key_b):
        raise ValueError(f"scenarios '{a.scenario.name}' and '{b.scenario.name}' do not have the same "
                         f"help-seekers in replication {replication}: person_pairing needs the same cohorts")


def _correlation(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.corrcoef(x, y)[0, 1]) if x.std() > 0 and y.std() > 0 else float("nan")


def _ratio(paired: float, independent: float) -> float:
    return float(np.sqrt(paired / independent)) if independent > 0 else float("nan")
