"""Waits and times at every stage, and standards on any interval (issue 25), against queueing theory.

Two M/M/1 queues in tandem (triage, then a doctor) are a Jackson network: the wait at each is the
M/M/1 wait, and the time from arrival to exit is the sum of two independent exponentials with
rates mu_i - lambda (hypoexponential), whose distribution gives the 4-hour standard exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from icssim import experiments
from icssim.errors import ScenarioError
from icssim.kpis import kpi_info
from icssim.scenario import scenario_from_dict

LAM, MU1, MU2 = 1 / 15, 1 / 10, 1 / 12  # per minute


def _tandem(**info) -> dict:
    return {
        "scenario": {"name": "tandem", "time_unit": "minutes", "horizon": "250 days", "warmup": "5 days",
                     "seed": 7, **info},
        "cohorts": {"walk_in": {"rate": "4 per hour", "entry": "triage"}},
        "services": {"ed": {"staff": {"nurse": {"wte": 1}, "doctor": {"wte": 1}}}},
        "pathway": {"steps": {
            "triage": {"kind": "assessment", "service": "ed", "staff": ["nurse"],
                       "duration": {"dist": "exponential", "mean": "10 minutes"}, "next": "see"},
            "see": {"kind": "treatment", "service": "ed", "staff": ["doctor"],
                    "duration": {"dist": "exponential", "mean": "12 minutes"}, "next": "home"},
            "home": {"kind": "discharge"}}},
    }


@pytest.fixture(scope="module")
def kpis() -> dict[str, float]:
    s = scenario_from_dict(_tandem(stage_waits=True, standards={
        "four_hours": {"from": "arrival", "to": "exit", "within": "4 hours"},
        "doctor_within_1_hour": {"from": "triage.end", "to": "see.start", "within": "1 hour"},
        "rtt": {"within": "1 hour"},  # an ordinary standard, unchanged
    }))
    # visits are kept for the stage KPIs even when the records are not; the mean of 8
    # replications (about 190,000 patients) puts the standard error of each mean wait near 2%
    reps = [experiments.run_replication(s, i, keep_records=False).kpis for i in range(8)]
    return {k: float(np.mean([r[k] for r in reps])) for k in reps[0]}


def test_waits_at_each_stage_match_mm1(kpis):
    for step, mu in (("triage", MU1), ("see", MU2)):
        rho = LAM / mu
        assert kpis[f"stage_wait_mean_minutes_{step}"] == pytest.approx(rho / (mu - LAM), rel=0.06)
        assert kpis[f"stage_time_mean_minutes_{step}"] == pytest.approx(1 / (mu - LAM), rel=0.06)
        # the M/M/1 wait's 90th percentile: P(Wq > t) = rho e^{-(mu - lam) t}
        p90 = math.log(rho / 0.1) / (mu - LAM)
        assert kpis[f"stage_wait_p90_minutes_{step}"] == pytest.approx(p90, rel=0.06)


def test_time_in_system_and_interval_standards_match_the_jackson_network(kpis):
    a, b = MU1 - LAM, MU2 - LAM
    assert kpis["time_in_system_mean_minutes"] == pytest.approx(1 / a + 1 / b, rel=0.06)

    def over(t: float) -> float:  # P(T > t) for the hypoexponential sojourn
        return (b * math.exp(-a * t) - a * math.exp(-b * t)) / (b - a)

    assert kpis["within_four_hours"] == pytest.approx(1 - over(240), abs=0.01)
    assert over(kpis["time_in_system_p90_minutes"]) == pytest.approx(0.10, abs=0.012)
    # from triage's end to the doctor's start is the wait at the doctor (no hand-off)
    assert kpis["within_doctor_within_1_hour"] == pytest.approx(1 - LAM / MU2 * math.exp(-(MU2 - LAM) * 60), abs=0.02)
    assert 0 <= kpis["within_rtt"] <= 1


def test_stage_kpis_are_labelled_and_grouped(kpis):
    info = kpi_info("stage_wait_mean_minutes_see")
    assert (info.label, info.unit, info.subject) == ("Wait for see, mean", "minutes", "see")
    assert kpi_info("time_in_system_p95_minutes").label == "Time from arrival to leaving, 95th percentile"
    assert kpi_info("within_four_hours").standard == "four_hours"


def test_scenarios_that_do_not_ask_get_none():
    rep = experiments.run_replication(scenario_from_dict(_tandem(horizon="5 days", warmup=0)), 0)
    assert not [k for k in rep.kpis if k.startswith(("stage_", "time_in_system_"))]


@pytest.mark.parametrize("std, words", [
    ({"from": "arrival", "to": "nowhere", "within": "1 hour"}, "step 'nowhere' is not defined"),
    ({"from": "exit", "to": "see", "within": "1 hour"}, "cannot start at exit"),
    ({"from": "see", "to": "arrival", "within": "1 hour"}, "cannot end at arrival"),
    ({"from": "see", "within": "1 hour"}, "both 'from' and 'to'"),
    ({"from": "arrival", "to": "exit", "measure": "referral_to_assessment", "within": "1 hour"}, "not both"),
    ({"from": "see.middle", "to": "exit", "within": "1 hour"}, "from"),
])
def test_bad_intervals_are_refused(std, words):
    with pytest.raises(ScenarioError, match=words):
        scenario_from_dict(_tandem(standards={"bad": std}))


def test_a_standard_may_cover_several_cohorts():
    """An ED's attendance standards leave out the hospital's ward referrals: 'cohort' lists the
    cohorts a standard covers. Two walk-in cohorts queue; ward referrals skip straight to the
    doctor and would all pass."""
    raw = _tandem(horizon="20 days", warmup="1 day", standards={
        "all": {"from": "arrival", "to": "exit", "within": "30 minutes"},
        "attendances": {"from": "arrival", "to": "exit", "within": "30 minutes", "cohort": ["walk_in", "ambulance"]},
        "walk_in_only": {"from": "arrival", "to": "exit", "within": "30 minutes", "cohort": "walk_in"}})
    raw["cohorts"] = {"walk_in": {"rate": "2 per hour", "entry": "triage"},
                      "ambulance": {"rate": "2 per hour", "entry": "triage"},
                      "ward": {"rate": "20 per hour", "entry": "home"}}
    rep = experiments.run_replication(scenario_from_dict(raw), 0)
    P, rec = rep.records.patients, rep.records
    stay = (P["exit"] - P["arrival"])[P["arrival"] >= rec.warmup]
    cohort = P["cohort"][P["arrival"] >= rec.warmup]
    ed = np.isin(cohort, [rec.cohorts.index("walk_in"), rec.cohorts.index("ambulance")])
    assert rep.kpis["within_attendances"] == pytest.approx(float((stay[ed] <= 30).mean()), abs=1e-3)
    assert rep.kpis["within_all"] > rep.kpis["within_attendances"] + 0.2   # the ward referrals all pass
    walk = cohort == rec.cohorts.index("walk_in")
    assert rep.kpis["within_walk_in_only"] == pytest.approx(float((stay[walk] <= 30).mean()), abs=1e-3)


def test_an_unknown_cohort_in_a_list_is_named():
    with pytest.raises(ScenarioError, match=r"cohort.*'walkin'.*walk_in"):
        scenario_from_dict(_tandem(standards={"s": {"within": "1 hour", "cohort": ["walk_in", "walkin"]}}))
