"""Cost-effectiveness against hand computations, and in a comparison of the shipped ED scenarios."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from icssim.experiments import compare, run_replication
from icssim.health.economics import cost_effectiveness, icer, net_monetary_benefit, paired_points, verdict
from icssim.results import comparison_economics

from helpers import shipped


def _table(costs: list[float], qalys: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"cost_per_person": costs, "qalys_per_person": qalys},
                        index=pd.Index(range(len(costs)), name="replication"))


def test_icer_and_net_monetary_benefit_by_hand():
    assert icer(3000.0, 0.1) == pytest.approx(30_000.0)
    assert math.isnan(icer(3000.0, 0.0))
    assert icer(-3000.0, -0.1) == pytest.approx(30_000.0)  # saved per QALY lost
    assert math.isnan(icer(-3000.0, 0.1)) and math.isnan(icer(3000.0, -0.1))  # dominant, dominated: no ratio
    assert net_monetary_benefit(3000.0, 0.1, 20_000) == pytest.approx(-1000.0)
    assert verdict(-10.0, 0.01).startswith("dominant")
    assert verdict(10.0, -0.01).startswith("dominated")
    # an interval of the QALY difference that holds 0 is no clear difference, whatever the point says
    assert verdict(-10.0, 0.003, (-0.003, 0.008), (-20.0, -1.0)) == "no clear QALY difference, for less money"
    assert verdict(10.0, 0.004, (-0.002, 0.009), (-5.0, 25.0)) == "no clear QALY difference"
    assert verdict(-10.0, 0.01, (0.005, 0.015)).startswith("dominant")


def test_cost_effectiveness_table_pairs_replications():
    kpis = {"a": _table([100, 110, 120, 130], [5.0, 5.1, 5.2, 5.3]),
            "b": _table([300, 320, 330, 360], [5.1, 5.2, 5.32, 5.41])}
    ce = cost_effectiveness(kpis, "a", thresholds=(20_000,)).iloc[0]
    d_cost, d_qaly = np.array([200, 210, 210, 230.0]), np.array([0.1, 0.1, 0.12, 0.11])
    assert ce["delta_cost"] == pytest.approx(d_cost.mean())
    assert ce["delta_qalys"] == pytest.approx(d_qaly.mean())
    assert ce["icer"] == pytest.approx(d_cost.mean() / d_qaly.mean())
    nmb = 20_000 * d_qaly - d_cost
    half = stats.t.ppf(0.975, 3) * nmb.std(ddof=1) / 2
    assert ce["nmb_20000"] == pytest.approx(nmb.mean())
    assert ce["nmb_20000_upper"] == pytest.approx(nmb.mean() + half)
    points = paired_points(kpis, "a")["b"]
    assert points["delta_cost"].tolist() == pytest.approx(d_cost.tolist())


def test_no_health_block_means_no_cost_effectiveness():
    kpis = {"a": pd.DataFrame({"x": [1.0]}), "b": pd.DataFrame({"x": [2.0]})}
    assert cost_effectiveness(kpis, "a").empty


def test_shipped_ed_comparison_reports_value_for_money():
    scenarios = [shipped("ed_fragmented", horizon="2 years"), shipped("ed_integrated", horizon="2 years")]
    scenarios[1] = scenarios[1].model_copy(update={"scenario": scenarios[1].scenario.model_copy(
        update={"name": "ed_integrated"})})
    scenarios[0] = scenarios[0].model_copy(update={"scenario": scenarios[0].scenario.model_copy(
        update={"name": "ed_fragmented"})})
    comparison = compare(scenarios, replications=3, workers=1)
    ce = comparison_economics(comparison)
    assert list(ce["scenario"]) == ["ed_integrated"]
    kpis = [r.kpis for r in comparison.results]
    gained = (kpis[1]["qalys_per_person"] - kpis[0]["qalys_per_person"]).mean()
    assert ce["delta_qalys"].iloc[0] == pytest.approx(gained)
    assert ce["delta_qalys_lower"].iloc[0] <= ce["delta_qalys"].iloc[0] <= ce["delta_qalys_upper"].iloc[0]


def test_health_outcomes_reproduce_with_the_seed():
    scenario = shipped("ed_fragmented", horizon="1 year", warmup="3 months")
    a, b = run_replication(scenario, 1), run_replication(scenario, 1)
    assert a.kpis["qalys_per_person"] == b.kpis["qalys_per_person"]
    assert np.array_equal(a.records.health.state_at, b.records.health.state_at)
    assert 0 < a.kpis["qalys_per_person"] < 10


def test_fieller_interval_of_the_icer():
    from icssim.health.economics import icer_interval

    rng = np.random.default_rng(2)
    d_qaly = 0.1 + rng.normal(0, 0.01, 50)
    d_cost = 3000 + 20_000 * (d_qaly - 0.1) + rng.normal(0, 100, 50)
    lo, hi = icer_interval(d_cost, d_qaly)
    point = d_cost.mean() / d_qaly.mean()
    assert lo < point < hi
    # a delta-method check of the width: the ratio's standard error to first order
    n = len(d_cost)
    cov = np.cov(d_cost, d_qaly) / n
    r = point
    se = math.sqrt(cov[0, 0] - 2 * r * cov[0, 1] + r * r * cov[1, 1]) / d_qaly.mean()
    assert (hi - lo) / 2 == pytest.approx(stats.t.ppf(0.975, n - 1) * se, rel=0.05)
    # a QALY difference indistinguishable from zero gives no bounded interval
    assert all(math.isnan(x) for x in icer_interval(d_cost, rng.normal(0, 0.01, 50)))


def _clinic(contact_cost: float, gp_cost: float) -> dict:
    """People see their GP (a unit cost, no staff modelled) and then a clinic of 2 WTE at £50 an
    hour (an establishment of 2 x 50 x 1,500 = £150,000 a year) whose contacts also have a unit
    cost; no discounting, and no cost of illness states."""
    return {
        "scenario": {"name": "clinic", "time_unit": "days", "horizon": "3 years", "warmup": "1 year", "seed": 3},
        "cohorts": {"all": {"rate": "2 per day", "entry": "gp", "attributes": {"age": 30}}},
        "services": {"practice": {"cost_per_contact": gp_cost},
                     "clinic": {"cost_per_contact": contact_cost,
                                "staff": {"therapist": {"wte": 2, "cost_per_hour": 50, "paid_hours_per_year": 1500}}}},
        "pathway": {"steps": {
            "gp": {"kind": "assessment", "service": "practice", "duration": "10 minutes", "next": "therapy"},
            "therapy": {"kind": "treatment", "service": "clinic", "staff": ["therapist"], "duration": "1 hour",
                        "next": "done"},
            "done": {"kind": "discharge", "outcome": "completed"}}},
        "health": {"states": {"ill": {"utility": 0.5, "absorbing": True}}, "start": {"ill": 1.0},
                   "follow_up": "1 year", "discount": {"costs": 0.0, "qalys": 0.0}},
    }


def test_a_team_is_costed_once_by_its_establishment():
    """A service whose staff the scenario costs as an establishment costs that establishment, shared
    over the window's help-seekers; its contacts' unit costs price the same staff time and are not
    added to it. A service without one costs what each person used there."""
    from icssim.scenario import scenario_from_dict

    def cost(contact: float, gp: float) -> tuple[float, int]:
        rep = run_replication(scenario_from_dict(_clinic(contact, gp)), 0)
        seekers = int((rep.records.patients["referral"] >= rep.records.warmup).sum())
        return rep.kpis["cost_per_person"], seekers

    base, seekers = cost(contact=300.0, gp=40.0)
    assert cost(contact=900.0, gp=40.0)[0] == pytest.approx(base)   # the team's unit cost: not counted
    assert cost(contact=300.0, gp=80.0)[0] == pytest.approx(base + 40.0, rel=1e-3)   # the GP's: counted
    establishment = 2 * 50 * 1500 * 2 / seekers   # two years of window, shared equally
    assert base == pytest.approx(40.0 + establishment, rel=1e-3)


def test_each_payer_pays_its_teams_establishments_and_the_rest_of_its_activity():
    """The budget-impact view counts each service once too: the clinic's payer pays its
    establishment (£150,000 a year, whatever its staff do), the GP's payer the GP contacts (2 a day
    at £40), each year of the window and per year over it."""
    from icssim.scenario import scenario_from_dict

    raw = _clinic(contact_cost=900.0, gp_cost=40.0)
    raw["services"]["practice"]["payer"] = "local_authority"
    rep = run_replication(scenario_from_dict(raw), 0)
    kpis, rec = rep.kpis, rep.records
    assert kpis["cost_to_icb_year_all"] == pytest.approx(150_000.0)
    for year in (1, 2):   # a year of 365.25 days, not whole weekly buckets (52 or 53 weeks)
        assert kpis[f"cost_to_icb_year_{year}"] == pytest.approx(150_000.0, rel=1e-9)
    # the GP contacts the records hold (each charged when it starts; the time unit is the day),
    # those in a cost bucket (sample_every, 7 days) that straddles the end of the warm-up or of a
    # year shared in proportion to the bucket's days on each side (docs/health.md, "Who pays"); the
    # last bucket ends at the horizon
    gp = rec.steps.index("gp")
    starts = np.concatenate([V["t_start"][V["step"] == gp] for V in (rec.visits, rec.in_progress)])
    assert len(starts) == len(rec.patients["pid"])   # everyone sees the GP once, on arrival
    width = rec.sample_every
    assert width == 7.0
    lo = np.floor(starts / width) * width
    hi = np.minimum(lo + width, rec.horizon)

    def contacts(a: float, b: float) -> float:
        return float((np.clip(np.minimum(hi, b) - np.maximum(lo, a), 0.0, None) / (hi - lo)).sum())

    in_window = contacts(rec.warmup, rec.horizon)
    assert in_window == pytest.approx(2 * 2 * 365.25, rel=0.05)   # 2 a day
    assert kpis["cost_to_local_authority_year_all"] == pytest.approx(40.0 * in_window / 2, rel=1e-12)
    year_1 = contacts(rec.warmup, rec.warmup + 365.25)
    assert kpis["cost_to_local_authority_year_1"] == pytest.approx(40.0 * year_1, rel=1e-12)
    assert year_1 != int(year_1)   # a bucket was shared: whole buckets would count other contacts


def test_a_journey_cut_off_by_the_runs_end_is_costed_whole():
    """Everyone spends 300 days in a first step and then 10 days in a bed at £100 a day, so a
    journey costs £1,000. The run stops while the window's last 300 days of arrivals have not
    reached the bed: their own bookings would put the cost per help-seeker near £590. In a steady
    state (a warm-up longer than the journey) the window's bed-days over its arrivals give the whole
    journey's cost."""
    from icssim.scenario import scenario_from_dict

    raw = _clinic(contact_cost=0.0, gp_cost=0.0)
    raw["services"] = {"practice": {}, "ward": {"beds": 1000, "cost_per_bed_day": 100}}
    raw["pathway"]["steps"] = {
        "gp": {"kind": "assessment", "service": "practice", "duration": "300 days", "next": "bed"},
        "bed": {"kind": "inpatient", "service": "ward", "bed": True, "duration": "10 days", "next": "done"},
        "done": {"kind": "discharge", "outcome": "completed"}}
    rep = run_replication(scenario_from_dict(raw), 0)
    P, rec = rep.records.patients, rep.records
    own = P["cost_ward"][P["arrival"] >= rec.warmup].mean()
    assert own == pytest.approx(1000.0 * (730.5 - 300) / 730.5, rel=0.05)
    assert rep.kpis["cost_per_person"] == pytest.approx(1000.0, rel=0.03)


def test_the_staff_share_is_discounted_like_the_rest_of_the_pathway():
    """A team's establishment is spent on people while they are in the pathway: at 3.5% a year, a
    journey of 310 days is discounted from its midpoint, 155 days after asking (factor 0.9855)."""
    from icssim.scenario import scenario_from_dict

    raw = _clinic(contact_cost=0.0, gp_cost=0.0)
    raw["services"] = {"practice": {"staff": {"gp": {"wte": 1, "cost_per_hour": 50, "paid_hours_per_year": 1500}}},
                       "ward": {"beds": 1000}}
    raw["pathway"]["steps"] = {
        "gp": {"kind": "assessment", "service": "practice", "duration": "300 days", "next": "bed"},
        "bed": {"kind": "inpatient", "service": "ward", "bed": True, "duration": "10 days", "next": "done"},
        "done": {"kind": "discharge", "outcome": "completed"}}

    def cost(rate: float) -> float:
        raw["health"]["discount"] = {"costs": rate, "qalys": 0.0}
        return run_replication(scenario_from_dict(raw), 0).kpis["cost_per_person"]

    undiscounted = cost(0.0)
    finished = 1.035 ** (-155 / 365.25)
    # those still in the pathway at the run's end are discounted from an earlier midpoint
    assert finished * undiscounted < cost(0.035) < (1 - 0.6 * (1 - finished)) * undiscounted


def test_a_replication_without_help_seekers_leaves_only_itself_out():
    """In replication 1 no one asked for help in b, in replication 3 no one in a: the other three
    pairs give the cost-effectiveness (with a t interval on 2 degrees of freedom), and the row says
    it used 3 of 5; it is n/a only when no pair remains. One empty replication used to blank it."""
    from icssim.report.economics import value_sentence

    kpis = {"a": _table([100, 110, 120, math.nan, 140], [5.0, 5.1, 5.2, math.nan, 5.4]),
            "b": _table([300, math.nan, 330, 360, 345], [5.1, math.nan, 5.32, 5.41, 5.5])}
    ce = cost_effectiveness(kpis, "a", thresholds=(20_000,)).iloc[0]
    d_cost, d_qaly = np.array([200, 210, 205.0]), np.array([0.1, 0.12, 0.1])
    assert (ce["n"], ce["replications"]) == (3, 5)
    assert ce["delta_cost"] == pytest.approx(d_cost.mean()) and ce["delta_qalys"] == pytest.approx(d_qaly.mean())
    half = stats.t.ppf(0.975, 2) * d_cost.std(ddof=1) / math.sqrt(3)
    assert ce["delta_cost_upper"] == pytest.approx(d_cost.mean() + half)
    nmb = 20_000 * d_qaly - d_cost
    assert ce["nmb_20000_lower"] == pytest.approx(nmb.mean() - stats.t.ppf(0.975, 2) * nmb.std(ddof=1) / math.sqrt(3))
    assert math.isfinite(ce["icer"]) and ce["verdict"] != "n/a"
    name, words = value_sentence(ce)
    assert "from 3 of 5 paired replications: in the other 2, no one asked for help in b or in a" in words
    assert "n/a" not in words and "95% CI" in words

    kpis["b"].loc[[0, 2, 4]] = math.nan   # now no pair has people in both
    none = cost_effectiveness(kpis, "a", thresholds=(20_000,)).iloc[0]
    assert (none["n"], none["replications"], none["verdict"]) == (0, 5, "n/a")
    assert math.isnan(none["delta_cost"]) and math.isnan(none["nmb_20000"])
    assert "value for money n/a" in value_sentence(none)[1]


def test_one_usable_replication_says_it_gives_no_interval():
    from icssim.report.economics import value_sentence

    kpis = {"a": _table([100, math.nan], [5.0, math.nan]), "b": _table([300, 320], [5.1, 5.2])}
    ce = cost_effectiveness(kpis, "a", thresholds=(20_000,)).iloc[0]
    assert (ce["n"], ce["replications"], ce["delta_cost"]) == (1, 2, pytest.approx(200.0))
    words = value_sentence(ce)[1]
    assert "from 1 of 2 paired replications: in the other one" in words
    assert "one replication gives no 95% CI" in words and "n/a" not in words
