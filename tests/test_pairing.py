"""Common random numbers, measured: per KPI (crn_effect) and person by person (person_pairing)."""

import numpy as np
import pytest

from icssim.pairing import COURSE, crn_effect, own_cost_spread, pairing_limit, person_pairing

from helpers import shipped


def test_crn_effect_of_a_scenario_against_itself_is_total():
    """The same scenario twice on common random numbers: the paired interval is 0 wide, the two
    runs correlate perfectly and nothing could do better; on independent seeds it is not 0."""
    a = shipped("ed_fragmented", horizon="1 year", warmup="2 months")
    b = shipped("ed_fragmented", horizon="1 year", warmup="2 months", **{"scenario.name": "copy"})
    row = crn_effect(a, b, ["cost_per_year"], replications=3, workers=1).iloc[0]
    assert row["crn_half_width"] == 0 and row["independent_half_width"] > 0 and row["ratio"] == 0
    assert row["correlation"] == pytest.approx(1) and row["best_ratio"] == pytest.approx(0, abs=1e-12)


def test_crn_effect_names_a_kpi_one_scenario_does_not_report():
    """The integrated pathway has no adult day care, so it reports no cost there: a clear error
    naming the scenario and the KPI, not pandas's KeyError after every run."""
    a = shipped("ed_fragmented", horizon="6 months", warmup="1 month")
    b = shipped("ed_integrated", horizon="6 months", warmup="1 month")
    with pytest.raises(ValueError, match=r"scenario 'ed_integrated' reports no KPI 'cost_per_year_adult_day_care'"):
        crn_effect(a, b, ["cost_per_year", "cost_per_year_adult_day_care"], replications=2, workers=1)


def test_pairing_limit_is_the_floor_of_the_paired_standard_error():
    """best_ratio = |sd_a - sd_b| / sqrt(sd_a² + sd_b²) is reached at correlation 1 and never
    beaten: Var(b - a) = var_a + var_b - 2 cov >= (sd_a - sd_b)²."""
    x = np.array([1.0, 2.0, 3.0, 4.0])
    limit = pairing_limit(x, 2 * x)
    assert limit["correlation"] == pytest.approx(1) and limit["best_ratio"] == pytest.approx(1 / np.sqrt(5))
    rng = np.random.default_rng(7)
    for _ in range(200):
        a = rng.normal(size=12)
        b = rng.uniform(0.1, 5) * a + rng.normal(scale=rng.uniform(0.1, 5), size=12)
        achieved = np.std(b - a, ddof=1) / np.hypot(np.std(a, ddof=1), np.std(b, ddof=1))
        assert pairing_limit(a, b)["best_ratio"] <= achieved + 1e-12


def test_person_pairing_of_a_scenario_against_itself_pairs_every_person_exactly():
    """The same people in the same pathway: each person's QALYs and costs are equal in the two
    runs, so they correlate at 1 and the paired spread is 0, person by person and over replications."""
    a = shipped("ed_fragmented", horizon="1 year", warmup="3 months")
    b = shipped("ed_fragmented", horizon="1 year", warmup="3 months", **{"scenario.name": "copy"})
    table = person_pairing(a, b, replications=3).set_index("measure")
    assert list(table.index) == ["qalys", "own_cost"]
    assert (table["people"] > 100).all()
    assert table["person_correlation"].to_numpy() == pytest.approx(1)
    assert (table["person_ratio"] == 0).all() and (table["replication_ratio"] == 0).all()


def test_person_pairing_finds_the_same_person_in_two_pathways():
    """The fragmented and integrated pathways treat people differently, but a person's course of
    illness is their own: their QALYs in the two correlate strongly (were the people not matched
    up, by cohort and arrival, they would not correlate at all), their own costs less, because
    the pathways send different people to beds. Every ratio lies strictly between 0 and 1."""
    a = shipped("ed_fragmented", horizon="1 year", warmup="3 months")
    b = shipped("ed_integrated", horizon="1 year", warmup="3 months")
    table = person_pairing(a, b, replications=3).set_index("measure")
    assert table.loc["qalys", "person_correlation"] > 0.5
    assert table.loc["qalys", "person_correlation"] > table.loc["own_cost", "person_correlation"] > 0
    assert ((table["person_ratio"] > 0) & (table["person_ratio"] < 1)).all()


def test_person_pairing_refuses_scenarios_whose_people_differ():
    """More help-seekers in one scenario: there is nobody to pair them with, which is said plainly."""
    a = shipped("ed_fragmented", horizon="6 months", warmup="1 month")
    b = shipped("ed_fragmented", horizon="6 months", warmup="1 month",
                **{"scenario.name": "busier", "cohorts.adults.rate_per_100k_per_year": 60})
    with pytest.raises(ValueError, match=r"'ed_fragmented' and 'busier' do not have the same help-seekers"):
        person_pairing(a, b, replications=3)


def test_person_pairing_needs_a_course_of_illness():
    a = shipped("urgent_mh_fragmented", horizon="3 months", warmup="1 month")
    with pytest.raises(ValueError, match=r"has no health: block"):
        person_pairing(a, a, replications=3)


def test_own_cost_spread_splits_the_people_s_cost_differences_by_service():
    """The shares of the variance of the person-by-person cost differences add up to 1 over the
    services and the course of illness; a service one pathway does not have costs nothing there,
    and no more people have a cost somewhere in both pathways than in either."""
    a = shipped("ed_fragmented", horizon="1 year", warmup="3 months")
    b = shipped("ed_integrated", horizon="1 year", warmup="3 months")
    table = own_cost_spread(a, b, replications=2).set_index("service")
    assert table["share_of_spread"].sum() == pytest.approx(1)
    assert COURSE in table.index and "acute" in table.index
    only_integrated = table.loc["day_care"]   # the integrated pathway's day care
    assert only_integrated["mean_a"] == 0 and only_integrated["with_any_a"] == 0 and only_integrated["mean_b"] > 0
    assert (table["with_any_both"] <= table[["with_any_a", "with_any_b"]].min(axis=1) + 1e-12).all()
    assert table["share_of_spread"].is_monotonic_decreasing
