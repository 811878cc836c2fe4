"""The second shipped domain: long-term physical conditions with depression (docs/ltc-depression.md)."""

from __future__ import annotations

import re

import pytest

from icssim.experiments import run_replication
from icssim.scenario import load_scenario

from helpers import SCENARIOS, run_cli, shipped

PAIR = ("ltc_depression_fragmented", "ltc_depression_integrated")


@pytest.mark.parametrize("name", PAIR)
def test_ltc_scenarios_validate(name):
    code, err = run_cli(["validate", str(SCENARIOS / f"{name}.yaml")])
    assert code == 0, err
    s = load_scenario(SCENARIOS / f"{name}.yaml")
    assert s.health is not None and set(s.health.events) == {"emergency_admission", "ae_attendance"}
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
