"""The words and numbers of the reports, from an audit of the generated reports: no floating-point
noise shown as a difference, one precision for a value and its interval, counts without a
pointless ".0", money per person to the pound, one rule for an interval from a value to itself,
an equal-budget establishment equal by design, the run's cost sentence, and a verdict that weighs
a difference's size."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pandas as pd
import pytest
from helpers import SCENARIOS, shipped

from icssim.comparability import comparability
from icssim.console_text import format_differences
from icssim.report.compare import compare_report, compare_summary_html, compare_table_html, differences_table_html
from icssim.report.compare_text import compare_headline, difference_sentence, difference_verdict
from icssim.report.model_text import cohort_rows
from icssim.report.numbers import (
    Estimate,
    diff_ci_words,
    fmt,
    fmt_diff,
    money,
    settled,
    settled_differences,
    waits_in,
)
from icssim.report.run_text import _cost_sentence, standard_sentence
from icssim.scenario import load_scenario

#: A row of differences.csv as ``icssim compare`` writes it (the urgent-care comparison's fixed
#: 4-hour step: the same 240 minutes in both, its mean differing by the rounding of a sum)
NOISE_ROW = {"kpi": "stage_time_mean_minutes_overdose_treatment", "label": "Time at overdose_treatment, mean",
             "unit": "minutes", "scenario": "integrated", "baseline": "fragmented", "baseline_mean": 240.0,
             "diff_mean": -4.7369515717340014e-14, "diff_lower": -2.5118409182546306e-13,
             "diff_upper": 1.5644506039078302e-13, "diff_half_width": 2.0381457610812304e-13, "n": 3,
             "pct_mean": -1.973729821555834e-14, "pct_lower": -1.0466003826060961e-13,
             "pct_upper": 6.518544182949293e-14}
#: a team's cost that is the same in every replication, summed in another order in each
TEAM_ROW = {"kpi": "cost_per_year_cyp_ed", "label": "Cost per year: cyp_ed", "unit": "GBP per year",
            "scenario": "integrated", "baseline": "fragmented", "baseline_mean": 3656795.9999999986,
            "diff_mean": -3656795.9999999986, "diff_lower": -3656796.0, "diff_upper": -3656795.999999997,
            "diff_half_width": 1.4167441624666817e-9, "n": 3, "pct_mean": -100.0,
            "pct_lower": -100.00000000000004, "pct_upper": -99.99999999999996}


def _row(**values) -> SimpleNamespace:
    return SimpleNamespace(**values)


# ----------------------------------------------------------------------------- 1. floating-point noise
def test_a_difference_that_is_rounding_noise_reads_as_zero_the_same_in_every_replication():
    """"Time at overdose_treatment, mean | −0.000000000000047 minutes | −0.00000000000025 to
    +0.00000000000016 minutes": a difference within 1e-9 of the values compared is 0."""
    assert settled(NOISE_ROW["diff_mean"], NOISE_ROW["diff_lower"], NOISE_ROW["diff_upper"], 240.0) == (0, 0, 0)
    assert settled(-5.0, -9.0, -1.0, 240.0) == (-5.0, -9.0, -1.0)   # a real difference is left alone
    diffs = settled_differences(pd.DataFrame([NOISE_ROW]))
    with waits_in("minutes"):
        html = differences_table_html(diffs)
    cells = html.split("Time at overdose_treatment, mean")[1].split("</tr>")[0]
    assert "0 minutes" in cells and "the same in every replication" in cells and "no clear difference" in cells
    assert "0000" not in cells and "−0%" not in cells and "+0%" not in cells


def test_the_compare_report_and_the_terminal_read_the_differences_without_noise(tmp_path, monkeypatch):
    """Every view of a comparison reads differences.csv through the one function that settles it."""
    folder = tmp_path / "cmp"
    folder.mkdir()
    pd.DataFrame([NOISE_ROW, TEAM_ROW]).to_csv(folder / "differences.csv", index=False)
    summary = pd.DataFrame([
        {"kpi": k, "label": r["label"], "unit": r["unit"], "scenario": s, "mean": m, "lower": m, "upper": m, "n": 3}
        for k, r in ((NOISE_ROW["kpi"], NOISE_ROW), (TEAM_ROW["kpi"], TEAM_ROW))
        for s, m in (("fragmented", r["baseline_mean"]), ("integrated", r["baseline_mean"] + r["diff_mean"]))])
    summary.to_csv(folder / "summary.csv", index=False)
    meta = {"kind": "compare", "scenarios": ["fragmented", "integrated"], "baseline": "fragmented"}
    (folder / "metadata.json").write_text(json.dumps(meta))
    html = compare_report(folder, meta)
    assert "0.0000" not in html and "−£3.66 million to −£3.66 million" not in html
    assert "−£3.66 million a year, the same in every replication" in html

    comparison = SimpleNamespace(summary=lambda: summary, differences=lambda: pd.DataFrame([TEAM_ROW]),
                                 names=["fragmented", "integrated"],
                                 results=[SimpleNamespace(replications=[0, 1, 2], scenario=None)])
    monkeypatch.setattr("icssim.results.HEADLINE_KPIS", (TEAM_ROW["kpi"],))
    text = format_differences(comparison)
    assert "(the same in every replication)" in text and "95% CI −£3.66 million" not in text


# ----------------------------------------------------------------------------- 2. precision
def test_a_value_and_its_interval_have_the_same_number_of_decimals():
    """"12% (10.0% to 14%)": 9.98% rounded to one decimal is 10.0%; a share's interval is now
    written with its mean's decimals."""
    assert Estimate("share_treated", 0.12, 0.0998, 0.14, 3).text() == "12% (95% CI 10% to 14%)"
    assert Estimate("share_treated", 0.25, 0.094, 0.40, 3).text() == "25% (95% CI 9% to 40%)"
    assert Estimate("share_treated", 0.087, 0.077, 0.101, 3).text() == "8.7% (95% CI 7.7% to 10.1%)"
    assert fmt(0.0998, "share") == "10%"
    summary = pd.DataFrame({"kpi": ["share_treated"], "unit": ["share"], "label": ["Treated"], "scenario": ["a"],
                            "mean": [0.12], "lower": [0.0998], "upper": [0.14], "n": [3]})
    assert "12% (10% to 14%)" in compare_table_html(summary, ["a"])


def test_a_share_near_its_target_shows_the_decimal_that_places_it():
    """"Routine CYP 95% (95% CI 95% to 96%) — too close to call: the interval spans the target"
    while the interval was 94.6 to 96.2%."""
    s = load_scenario(SCENARIOS / "ed_fragmented.yaml")
    name, std = next(iter(s.scenario.standards.items()))
    target = std.target
    near = Estimate(f"within_{name}", target + 0.004, target - 0.004, target + 0.012, 3)
    sentence = standard_sentence(name, near, s)
    t = target * 100
    assert f"{t + 0.4:.1f}% (95% CI {t - 0.4:.1f}% to {t + 1.2:.1f}%)" in sentence and "too close to call" in sentence
    # a bound that one decimal would round onto the target gets two, so the words agree with it
    short = Estimate(f"within_{name}", target - 0.02, target - 0.03, target - 0.0003, 3)
    assert f"to {t - 0.03:.2f}%" in standard_sentence(name, short, s) and "falls short" in standard_sentence(
        name, short, s)
    # far from the target: whole percentages as everywhere
    far = Estimate(f"within_{name}", 0.50, 0.45, 0.55, 3)
    assert "50% (95% CI 45% to 55%)" in standard_sentence(name, far, s)


def test_counts_show_decimals_only_where_they_matter():
    """"65.0 patients", "45.0 a year", "Referrals a year 450.0": means of counts are whole from
    10 up, and whole when they are whole; their intervals follow them."""
    assert Estimate("still_waiting_at_end", 65.0, 53.6, 76.4, 3).text() == "65 patients (95% CI 54 to 76)"
    assert Estimate("ae_attendances_per_year", 45.0, 34.53, 55.47, 3).text() == "45 a year (95% CI 35 to 55)"
    assert Estimate("ae_attendances_per_year", 40.2, 32.7, 47.7, 3).text() == "40 a year (95% CI 33 to 48)"
    assert Estimate("still_waiting_at_end", 4.0, 0.0, 8.3, 3).text() == "4 patients (95% CI 0 to 8)"
    assert Estimate("still_waiting_at_end", 0.67, 0.0, 2.1, 3).text() == "0.67 patients (95% CI 0.00 to 2.10)"
    assert fmt(1.0, "patients") == "1 patient" and fmt(1.0, "lists") == "1 list"
    assert fmt_diff(-33.0, "patients") == "−33 patients" and fmt(90_712.0, "per year") == "90,700 a year"
    rates = {row["Cohort"].split(" ")[0]: row["Referrals a year"] for row in cohort_rows(
        load_scenario(SCENARIOS / "ed_fragmented.yaml"))}
    assert rates["cyp"] == "450" and not any(r.endswith(".0") for r in rates.values())


def test_money_per_person_is_to_the_pound_from_ten_pounds():
    """"+£35.88": pence do not matter above £10; below, they do."""
    assert money(35.88) == "£36" and fmt_diff(35.88, "GBP") == "+£36"
    assert money(7.59) == "£7.59" and fmt_diff(7.59, "GBP") == "+£7.59"
    assert money(290.4) == "£290" and money(0) == "£0"
    # an interval's bounds follow its mean
    assert Estimate("cost_per_referral", 9.5, 8.1, 11.2, 3).text() == "£9.50 (95% CI £8.10 to £11.20)"


# ----------------------------------------------------------------------------- 3. zero intervals
def test_an_interval_from_a_value_to_itself_reads_the_same_everywhere():
    """"−£3.66 million to −£3.66 million" in one row and "the same in every replication" in the
    next: an interval whose width is rounding noise is closed, and diff_ci_words says it in words."""
    row = settled_differences(pd.DataFrame([TEAM_ROW])).iloc[0]
    assert row["diff_lower"] == row["diff_upper"] == row["diff_mean"]
    assert diff_ci_words(row["diff_lower"], row["diff_upper"], "GBP per year") == "the same in every replication"
    sentence = difference_sentence(_row(**row.to_dict()), TEAM_ROW["baseline_mean"], 0.0)
    assert "the same in every replication" in sentence and "95% CI" not in sentence
    # a tiny interval that is not zero is written to enough decimals to tell its ends apart
    assert diff_ci_words(-0.000157, 0.000309, "share") == "95% CI −0.016 to +0.031 points"


# ----------------------------------------------------------------------------- 4. the cohort warning
def test_the_cohort_warning_is_a_sentence_in_the_cohorts_words():
    a, b = (shipped(f"urgent_mh_{name}", horizon="3 days", warmup="0 days") for name in ("fragmented", "integrated"))
    added, = comparability([a, b])
    assert "Referrals to liaison from the hospital's wards" in added and "ward_referrals" not in added
    assert "help-seekers and total cost include them" in added and "measures per person" in added
    assert "cohorts both have" in added and added.endswith(".") and "(s)" not in added
    missing, = comparability([b, a])
    assert "'urgent_mh_fragmented' leaves out the cohort" in missing and "which 'urgent_mh_integrated' has" in missing


# ----------------------------------------------------------------------------- 5. equal budgets
def _staff_rows(scenario: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    base = 6487884.0
    diffs = pd.DataFrame([
        {"kpi": "staff_cost_per_year", "label": "Staff establishment cost", "unit": "GBP per year",
         "scenario": scenario, "baseline": "ed_fragmented", "baseline_mean": base, "diff_mean": 35.88,
         "diff_lower": 35.88, "diff_upper": 35.88, "n": 3, "pct_mean": 5.5e-4, "pct_lower": 5.5e-4,
         "pct_upper": 5.5e-4},
        {"kpi": "cost_per_year", "label": "Total cost", "unit": "GBP per year", "scenario": scenario,
         "baseline": "ed_fragmented", "baseline_mean": 2.195e7, "diff_mean": 6.75e6, "diff_lower": 5.24e6,
         "diff_upper": 8.27e6, "n": 3, "pct_mean": 31.0, "pct_lower": 24.0, "pct_upper": 38.0}])
    summary = pd.DataFrame([{"kpi": r.kpi, "scenario": s, "mean": r.baseline_mean + (r.diff_mean if s == scenario
                                                                                        else 0), "n": 3}
                            for r in diffs.itertuples() for s in ("ed_fragmented", scenario)])
    return diffs, summary


def test_an_establishment_equalised_by_design_reads_as_equal_budgets():
    """The equal-budget comparison's card read "+£35.88" and "the same to within 0.01%" for the
    establishment it had equalised by design."""
    scenario = "ed_integrated_at_ed_fragmented_budget"
    diffs, summary = _staff_rows(scenario)
    html = compare_summary_html(summary, diffs, "ed_fragmented")
    tile = html.split("Staff establishment cost")[1].split('<div class="tile')[0]
    assert '<span class="tile-value">£0</span>' in tile and "equal by design (equal budgets)" in tile
    assert "35.88" not in html and "£36" not in html
    assert "staff establishment</strong> it assumes is the same by design (equal budgets" in html
    table = differences_table_html(diffs)
    assert "£0 a year" in table and "equal by design (equal budgets)" in table and "35.88" not in table
    # the same rounding between scenarios that were not rescaled to each other is not "by design"
    diffs, summary = _staff_rows("ed_integrated")
    row = _row(**diffs.iloc[0].to_dict())
    assert difference_verdict(row, "lower") == ("neutral", "clearly different but negligible")


# ----------------------------------------------------------------------------- 6. the run's cost sentence
def test_the_staff_establishment_is_said_to_be_part_of_the_total_not_of_the_largest_service():
    est = {"cost_per_year": Estimate("cost_per_year", 21.95e6, 18.82e6, 25.08e6, 3),
           "cost_per_referral": Estimate("cost_per_referral", 20_400.0, 19_000.0, 21_800.0, 3),
           "cost_per_year_adult_inpatient": Estimate("cost_per_year_adult_inpatient", 9.9e6, 8e6, 11e6, 3),
           "staff_cost_per_year": Estimate("staff_cost_per_year", 6.49e6, 6.49e6, 6.49e6, 3)}
    text = _cost_sentence(est)
    assert "the largest share (45%) is spent in" in text
    assert "Of the total, £6.49 million a year (30%) is the staff establishment the scenario assumes" in text
    assert "Of that" not in text


# ----------------------------------------------------------------------------- 7. a verdict that weighs size
def test_a_clear_but_negligible_difference_is_called_so_and_left_out_of_the_headline():
    """"Diabetes … clinic: £1,880 → £1,880 (+£1.64) — clearly worse", and tiny changes listed as
    worse for patients."""
    clinic = _row(kpi="cost_per_person_ltc_clinic", unit="GBP", label="Clinic cost per person", baseline_mean=1880.0,
                  diff_mean=1.64, diff_lower=1.48, diff_upper=1.80, pct_mean=0.087, pct_lower=0.079, pct_upper=0.096)
    assert difference_verdict(clinic, "lower") == ("neutral", "clearly different but negligible")
    assert difference_sentence(clinic, 1880.0, 1881.64).endswith("clearly different but negligible</span>.")
    # small but visible in the means, or over 1% of the baseline: still better or worse
    visible = _row(**{**vars(clinic), "baseline_mean": 100.0, "diff_mean": 0.6, "diff_lower": 0.5,
                      "diff_upper": 0.7, "pct_lower": 0.5, "pct_upper": 0.7})
    assert difference_verdict(visible, "lower") == ("bad", "clearly worse")

    def wait(diff: float) -> SimpleNamespace:
        return _row(kpi="wait_to_assessment_median", unit="days", label="Referral to assessment, median",
                    baseline_mean=24.7, diff_mean=diff, diff_lower=diff * 0.5, diff_upper=diff * 1.5,
                    pct_mean=100 * diff / 24.7, pct_lower=50 * diff / 24.7, pct_upper=150 * diff / 24.7)

    for diff, listed in ((0.001, False), (0.4, True)):
        rows = {"wait_to_assessment_median": wait(diff)}
        means = {("wait_to_assessment_median", "a"): 24.7, ("wait_to_assessment_median", "b"): 24.7 + diff}
        headline = compare_headline(rows, means, "a", "b", None, 3)
        assert ("Worse for patients" in headline) is listed, headline
        assert "1 of 1 measures differ clearly" in headline   # (still counted as a clear difference)


@pytest.mark.parametrize("x", [1e-15, -3e-14, 0.0])
def test_noise_alone_is_no_difference_for_the_verdict(x):
    row = settled_differences(pd.DataFrame([{**NOISE_ROW, "diff_mean": x, "diff_lower": x, "diff_upper": x}])).iloc[0]
    assert (row["diff_mean"], row["diff_lower"], row["diff_upper"]) == (0, 0, 0)
    assert difference_verdict(_row(**row.to_dict()), "lower")[1] == "no clear difference"
    assert not math.isnan(row["pct_mean"])

