"""Reports lead with what the scenario's domain features (``report:``, standards' and measures'
labels), and read as before for a scenario that does not say (src/icssim/report/run_text.py,
compare_text.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from icssim.metrics import kpi_info
from icssim.report.compare_text import compare_headline, patient_kpis
from icssim.report.numbers import Estimate
from icssim.report.run_text import HEADLINE, featured, kpi_target, run_findings, standard_label, tile_keys
from icssim.scenario import load_scenario

from helpers import SCENARIOS

LTC = SCENARIOS / "ltc_depression_fragmented.yaml"
ED = SCENARIOS / "ed_fragmented.yaml"


def _est(values: dict[str, float], n: int = 5, spread: float = 0.01) -> dict[str, Estimate]:
    return {k: Estimate(k, v, v - spread * abs(v), v + spread * abs(v), n) for k, v in values.items()}


LTC_VALUES = {"referrals_per_year": 18_200, "wait_to_treatment_median": 57.0, "wait_to_assessment_median": 27.0,
              "within_tt_6_weeks": 0.87, "within_tt_18_weeks": 1.0, "within_course_6_weeks": 0.29,
              "share_at_exit_tt_recovery": 0.46, "share_at_exit_tt_reliable_improvement": 0.66,
              "health_events_ae_attendance": 2320.0, "health_events_emergency_admission": 1230.0,
              "share_treated": 0.086, "qalys_per_person": 2.58, "cost_per_person": 10_500.0, "cost_per_year": 5.4e6}


def test_the_ltc_report_leads_with_talking_therapies_measures():
    s = load_scenario(LTC)
    est = _est(LTC_VALUES)
    keys = tile_keys(est, s, lambda k: True)
    assert keys[:4] == ["within_tt_6_weeks", "within_tt_18_weeks", "share_at_exit_tt_recovery",
                        "share_at_exit_tt_reliable_improvement"]
    assert standard_label("within_tt_6_weeks", s) == "Referral to first treatment contact within 6 weeks (target 75%)"
    assert kpi_info("share_at_exit_tt_recovery").label == "Recovery of people who completed a course"
    assert kpi_target("share_at_exit_tt_recovery", s) == 0.5
    assert kpi_target("share_at_exit_tt_reliable_improvement", s) is None
    text = " ".join(run_findings(est, s, {"replications": 5}))
    assert "people with an LTC and depression a year asked for help" in text
    assert "<strong>Recovery of people who completed a course</strong> (target 50%): 46%" in text
    assert "falls short of the target" in text                   # 46% (45.5-46.5%) against 50%
    assert "<strong>Reliable improvement of people who completed a course</strong>: 66%" in text
    assert "<strong>Referral to first treatment contact within 6 weeks</strong> (target 75%)" in text
    assert "<strong>A&amp;E attendance (not admitted), over the follow-up</strong>: 2,320" in text
    # nothing of the eating disorder wording
    assert "assessment within" not in text and "day care" not in text


def test_the_ed_report_reads_as_before_without_a_report_block():
    s = load_scenario(ED)
    assert featured(s) == [] and s.report is None
    est = _est({"referrals_per_year": 300, "wait_to_treatment_median": 70.0, "wait_to_assessment_median": 28.0,
                "within_cyp_routine_4_weeks": 0.8, "within_cyp_urgent_1_week": 0.64, "ae_attendances_per_year": 40,
                "cost_per_year": 3e6})
    keys = tile_keys(est, s, lambda k: True)
    assert keys == ["wait_to_treatment_median", "within_cyp_routine_4_weeks", "within_cyp_urgent_1_week",
                    "ae_attendances_per_year", "cost_per_year"]                  # the generic choice, as before
    text = " ".join(run_findings(est, s, {"replications": 5}))
    assert "</strong> people a year asked for help" in text
    assert "CYP: treatment within 4 weeks" in text or "treatment within 4 weeks" in text
    assert "Recovery" not in text
    assert patient_kpis(s)[:3] == ["wait_to_assessment_median", "wait_to_treatment_median", "wait_to_treatment_p90"]
    assert HEADLINE[0] == "wait_to_treatment_median"


def _row(kpi: str, diff: float, lo: float, hi: float):
    return SimpleNamespace(kpi=kpi, diff_mean=diff, diff_lower=lo, diff_upper=hi, unit=kpi_info(kpi).unit,
                           label=kpi_info(kpi).label, pct_mean=float("nan"))


def test_the_ltc_comparison_says_what_changes_in_its_own_words():
    s = load_scenario(LTC)
    rows = {k: _row(k, d, d - 0.3 * abs(d), d + 0.3 * abs(d)) for k, d in (
        ("wait_to_treatment_median", -15.0), ("within_tt_6_weeks", -0.01), ("share_at_exit_tt_recovery", 0.06),
        ("share_at_exit_tt_reliable_improvement", 0.066), ("health_events_ae_attendance", -15.0),
        ("cost_per_person", 1400.0), ("cost_per_year", 1.9e7))}
    means = {("wait_to_treatment_median", "f"): 57.0, ("wait_to_treatment_median", "i"): 42.0,
             ("share_at_exit_tt_recovery", "f"): 0.52, ("share_at_exit_tt_recovery", "i"): 0.58,
             ("within_tt_6_weeks", "f"): 0.87, ("within_tt_6_weeks", "i"): 0.86,
             ("cost_per_year", "f"): 5.4e6, ("cost_per_year", "i"): 2.4e7}
    text = compare_headline(rows, means, "f", "i", s, 5)
    assert "for people with an LTC and depression: recovery of people who completed a course 52% → 58%" in text
    assert "Referral to first treatment contact within 6 weeks: 87% → 86%" in text
    assert "Worse for patients:</span> Referral to first treatment contact within 6 weeks" in text
    assert "Cost per help-seeker" not in text.split("Worse for patients")[1]    # money is not a patient outcome
    assert patient_kpis(s)[0] == "within_tt_6_weeks" and "cost_per_person" not in patient_kpis(s)


@pytest.mark.parametrize("bad", ["Within TT", "within tt", "1st"])
def test_a_featured_name_that_is_not_a_kpi_name_is_refused(tmp_path, bad):
    from icssim.errors import ScenarioError

    f = tmp_path / "s.yaml"
    f.write_text(f"extends: {LTC}\nreport: {{featured: ['{bad}']}}\n")
    with pytest.raises(ScenarioError, match="featured"):
        load_scenario(f)
