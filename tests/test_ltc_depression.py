"""The second shipped domain: long-term physical conditions with depression (docs/ltc-depression.md)."""

from __future__ import annotations

import json
import re

import pytest

from icssim.errors import ScenarioError
from icssim.experiments import run_replication
from icssim.scenario import load_scenario

from helpers import SCENARIOS, run_cli, shipped

PAIR = ("ltc_depression_fragmented", "ltc_depression_integrated")


@pytest.mark.parametrize("name", PAIR)
def test_ltc_scenarios_validate(name):
    code, err = run_cli(["validate", str(SCENARIOS / f"{name}.yaml")])
    assert code == 0, err
    s = load_scenario(SCENARIOS / f"{name}.yaml")
    assert s.health is not None and set(s.health.events) == {"ltc_review", "emergency_admission", "ae_attendance"}
    assert set(s.health.states) == {"depressed", "improved", "recovered"}


@pytest.mark.parametrize("name", PAIR)
def test_every_number_in_the_ltc_scenarios_is_cited(name):
    """Each line that sets a number carries a comment (a domain row, derived, calibrated or an
    assumption) on it, on the line before (the other branch of a draw) or on the next comment lines
    (health states)."""
    lines = (SCENARIOS / f"{name}.yaml").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        code = line.split("#", 1)[0]
        if not re.search(r":\s*[\d{]", code) or not re.search(r"\d", code):
            continue
        later = " ".join(lines[max(0, i - 1):i + 4])
        assert re.search(r"#.*(domain|assumption|derived|calibrated|as the base|NICE)", later), \
            f"{name}.yaml:{i + 1}: a number without its source: {line.strip()}"


def _brief(name):
    return run_replication(shipped(name, horizon="15 months", warmup="3 months"), 0, keep_records=False).kpis


def test_ltc_pair_runs_briefly_and_integration_changes_what_it_should():
    frag, integ = (_brief(n) for n in PAIR)
    for k in (frag, integ):
        assert k["referrals_per_year"] > 10_000          # about 1,530 per 100k a year in 1.19 million
        assert k["health_events_emergency_admission"] > 0 and k["health_events_ae_attendance"] > 0
        assert 0 < k["qalys_per_person"] < 5             # 5 years' follow-up
        assert k["cost_per_person"] > 0
    # common random numbers: the same people arrive in both
    assert frag["referrals_per_year"] == integ["referrals_per_year"]
    # the pathway's differences: more people picked up and treated, fewer turned away
    assert integ["share_treated"] > 2 * frag["share_treated"]
    assert integ["rejected_referrals_per_year"] < frag["rejected_referrals_per_year"]
    # more time recovered means fewer of the physical condition's emergencies (state-dependent rates)
    assert integ["health_events_emergency_admission"] < frag["health_events_emergency_admission"]
    assert integ["qalys_per_person"] > frag["qalys_per_person"]


def test_fragmented_waits_near_the_talking_therapies_figures():
    """The calibration targets of the baseline, loosely: about 90% start within 6 weeks."""
    k = _brief(PAIR[0])
    assert 0.75 <= k["within_tt_6_weeks"] <= 0.97
    assert k["within_tt_18_weeks"] >= 0.95


def test_care_in_a_second_service_runs_alongside_therapy_and_is_costed_to_it():
    """The LTC clinic's reviews every 3 months go on in and out of therapy: counted over the
    follow-up and while in the pathway, costed to the clinic, and part of the cost per person."""
    from icssim.health.plan import compile_health

    s = load_scenario(SCENARIOS / f"{PAIR[0]}.yaml")
    plan = compile_health(s)
    review = plan.event_names.index("ltc_review")
    assert plan.event_services[review] == "ltc_clinic" and plan.event_payers[review] == "icb"
    assert plan.event_rates[review, :-1] == pytest.approx([4.0, 4.0, 4.0]) and plan.event_rates[review, -1] == 0
    k = _brief(PAIR[0])
    life_years = k["life_years_per_person"]
    # four reviews a year of life over the follow-up, per 1,000
    assert k["health_events_ltc_review"] == pytest.approx(4000 * life_years, rel=1e-6)
    # while in the pathway: some, but far fewer than over five years
    assert 0 < k["contacts_in_pathway_ltc_review"] < 0.5 * k["health_events_ltc_review"]
    # their cost, discounted at 3.5%: between the discounted and undiscounted 4 x £113.20 a year of life
    cost = k["follow_up_cost_ltc_clinic"]
    assert 0.85 * 4 * 113.20 * life_years < cost < 4 * 113.20 * life_years
    without = run_replication(shipped(PAIR[0], horizon="15 months", warmup="3 months",
                                      **{"health.events.ltc_review.cost": 0}), 0, keep_records=False).kpis
    assert k["cost_per_person"] - without["cost_per_person"] == pytest.approx(cost, rel=1e-6)


@pytest.mark.parametrize(("change", "message"), [
    ({"service": "diabetes"}, "service 'diabetes' is not defined"),
    ({"service": None}, "'every' schedules contacts of a service"),
    ({"rate": {"depressed": "1 per year"}}, "give either 'rate'"),
])
def test_a_second_service_contact_that_cannot_be_placed_is_refused(tmp_path, change, message):
    event = {"label": "Review", "service": "ltc_clinic", "every": "3 months", "cost": 10, **change}
    f = tmp_path / "s.yaml"                       # null removes a key of the base (extends)
    base = SCENARIOS / f"{PAIR[0]}.yaml"
    f.write_text(f"extends: {base}\nhealth: {{events: {{ltc_review: {json.dumps(event)}}}}}\n")
    with pytest.raises(ScenarioError, match=message):
        load_scenario(f)


@pytest.mark.parametrize(("treated", "expected"), [("0 per month", 0.0), ("10 per month", 1.0)])
def test_recovery_of_completers_is_the_state_they_leave_in(treated, expected):
    """No recovery while treated (and none untreated): no completer leaves recovered; a huge
    treated hazard: every completer does."""
    from icssim.scenario import scenario_from_dict
    from icssim.scenario.initial_state import anchored_raw

    raw = anchored_raw(shipped(PAIR[0], horizon="15 months", warmup="3 months"))
    raw["health"]["transitions"][0]["rate"] = {"untreated": "0 per month", "treated": treated}
    for i in (1, 2):      # no road through "improved"
        raw["health"]["transitions"][i]["rate"] = {"untreated": "0 per month", "treated": "0 per month"}
    k = run_replication(scenario_from_dict(raw), 0, keep_records=False).kpis
    assert k["share_at_exit_tt_recovery"] == pytest.approx(expected, abs=0.02)   # a few relapse near the end


def test_the_calibrated_values_are_the_shipped_posteriors_medians():
    """Each value the LTC baseline marks "calibrated: posterior median" is the median of the shipped
    posterior table (scenarios/data/ltc_depression_posterior.csv, the calibration's posterior.csv,
    which ltc_psa.yaml draws from) to within a tenth of its 95% interval: the weighted median the
    calibration reports and the median of the resampled rows differ by less, and a value changed
    without calibrating again, or a table from another run, by more."""
    import numpy as np
    import pandas as pd

    from icssim.scenario.initial_state import anchored_raw
    from icssim.sweep.paths import get_path

    table = pd.read_csv(SCENARIOS / "data" / "ltc_depression_posterior.csv")
    raw = anchored_raw(load_scenario(SCENARIOS / "ltc_depression_fragmented.yaml"))
    fitted = [c for c in table.columns if c not in ("draw", "particle", "distance")]
    assert len(fitted) == 6
    for column in fitted:
        draws = pd.to_numeric(table[column].astype(str).str.split().str[0]).to_numpy()
        shipped_value = float(str(get_path(raw, column)).split()[0])
        low, median, high = np.percentile(draws, [2.5, 50, 97.5])
        assert abs(shipped_value - median) <= 0.1 * (high - low), (column, shipped_value, median, low, high)
