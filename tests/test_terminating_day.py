"""A terminating day (issue 25) against the transient solution of M/M/1, and an M/M/c with a flat
hourly profile against Erlang C.

The number in an M/M/1 system started empty is a birth-death chain; its distribution at time t is
p(t) = p(0) exp(Q t) (the Kolmogorov forward equations), computed here with scipy's ``expm`` on a
chain truncated far beyond any reachable state.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.linalg import expm

from icssim import experiments
from icssim.model import compile_plan, simulate
from icssim.scenario import scenario_from_dict

LAM, MU, T = 4.0, 5.0, 8.0  # per hour, per hour, hours


def _mm1_day(**info) -> dict:
    return {
        "scenario": {"name": "day", "time_unit": "hours", "horizon": f"{T} hours", "seed": 5,
                     "sample_every": "1 hour", **info},
        "cohorts": {"walk_in": {"rate": f"{LAM} per hour", "entry": "see"}},
        "services": {"ed": {"staff": {"doctor": {"wte": 1}}}},
        "pathway": {"steps": {
            "see": {"kind": "treatment", "service": "ed", "staff": ["doctor"],
                    "duration": {"dist": "exponential", "mean": f"{60 / MU} minutes"}, "next": "home"},
            "home": {"kind": "discharge"}}},
    }


def transient(t: float, n_max: int = 200) -> np.ndarray:
    """P(N(t) = n), n = 0..n_max, for M/M/1 started empty."""
    q = np.zeros((n_max + 1, n_max + 1))
    for n in range(n_max + 1):
        if n < n_max:
            q[n, n + 1] = LAM
        if n > 0:
            q[n, n - 1] = MU
        q[n, n] = -q[n].sum()
    p0 = np.zeros(n_max + 1)
    p0[0] = 1.0
    return p0 @ expm(q * t)


def test_terminating_mm1_day_matches_the_transient_solution():
    plan = compile_plan(scenario_from_dict(_mm1_day(arrivals_until=f"{T} hours")))
    reps = [simulate(plan, replication=i, record_visits=False) for i in range(600)]
    at_end = np.array([r.in_system_end for r in reps])
    at_2h = np.array([r.timeseries["in_system"][2] for r in reps]).astype(int)
    for t, sample in ((T, at_end), (2.0, at_2h)):
        p = transient(t)
        n = np.arange(len(p))
        mean = float(p @ n)
        sd = math.sqrt(float(p @ n ** 2) - mean ** 2)
        assert abs(sample.mean() - mean) < 4 * sd / math.sqrt(len(sample)), (t, sample.mean(), mean)
        # the whole distribution: bins 0, 1, ..., 5, and 6 or more
        observed = np.bincount(np.minimum(sample, 6), minlength=7)
        expected = np.append(p[:6], p[6:].sum()) * len(sample)
        assert stats.chisquare(observed, expected).pvalue > 0.001
    # the day is far from its steady state (M/M/1 at rho 0.8 has a mean of 4 in system), so a
    # steady-state formula would be wrong here: the check has power
    assert transient(2.0) @ np.arange(201) < 2.1
    assert abs(at_2h.mean() - 4.0) > 8 * at_2h.std() / math.sqrt(len(at_2h))


def test_the_day_finishes_its_work_after_the_door_closes():
    rec = simulate(compile_plan(scenario_from_dict(_mm1_day(horizon="30 hours", arrivals_until=f"{T} hours"))))
    assert rec.arrivals > 10 and rec.patients["arrival"].max() < T
    assert rec.in_system_end == 0 and not np.isnan(rec.patients["exit"]).any()


def test_mmc_with_a_flat_hourly_profile_matches_erlang_c():
    c, lam, mu = 3, 2.4, 1.0  # per hour: rho 0.8
    d = {
        "scenario": {"name": "mmc", "time_unit": "minutes", "horizon": "1500 days", "warmup": "10 days",
                     "seed": 9, "stage_waits": True,
                     "standards": {"half_hour": {"from": "arrival", "to": "see", "within": "30 minutes"}}},
        "cohorts": {"walk_in": {"rate": f"{lam} per hour", "entry": "see", "demand": {"hourly": [1.0] * 24}}},
        "services": {"ed": {"staff": {"doctor": {"wte": c}}}},
        "pathway": {"steps": {
            "see": {"kind": "treatment", "service": "ed", "staff": ["doctor"],
                    "duration": {"dist": "exponential", "mean": "1 hour"}, "next": "home"},
            "home": {"kind": "discharge"}}},
    }
    kpis = experiments.run_replication(scenario_from_dict(d), 0, keep_records=False).kpis
    a = lam / mu
    tail = a ** c / math.factorial(c) * c / (c - a)
    erlang_c = tail / (sum(a ** k / math.factorial(k) for k in range(c)) + tail)
    wq = erlang_c / (c * mu - lam) * 60  # minutes
    assert kpis["stage_wait_mean_minutes_see"] == pytest.approx(wq, rel=0.05)
    assert kpis["within_half_hour"] == pytest.approx(1 - erlang_c * math.exp(-(c * mu - lam) * 0.5), abs=0.01)
    assert kpis["time_in_system_mean_minutes"] == pytest.approx(wq + 60, rel=0.03)


def test_the_report_of_a_terminating_run_names_its_replications_as_days(tmp_path):
    """Replications of a day that closes are days: "3 simulated days", and no talk of a warm-up."""
    import re

    from icssim import results

    s = scenario_from_dict(_mm1_day(horizon="30 hours", arrivals_until="24 hours"))
    out = tmp_path / "day"
    results.write_run(experiments.run(s, replications=3, workers=1), out)
    words = " ".join(re.sub("<[^>]+>", " ", (out / "report.html").read_text()).split())
    assert "in 3 simulated days." in words  # the first finding
    assert "confidence interval across 3 simulated days, each independent" in words
    assert "Means across 3 simulated days" in words
    assert "Replications 3 simulated days Estimation mean across the simulated days" in words
    assert "A terminating run: each replication is one simulated day that starts empty" in words
    assert "warm-up" not in words.lower()
    assert "3 replications" not in words
