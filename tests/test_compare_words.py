"""One name for a measure wherever a comparison shows it (the report's first screen, its tables and
plot captions, the terminal's table): the variant's words first, then the baseline's
(:func:`icssim.report.labels.words_of`); the waits' section in the scenario's words
(``report.waits``); and long times written in hours, not hundreds of minutes."""

from __future__ import annotations

from html import unescape
from types import SimpleNamespace

import pandas as pd
import pytest
from helpers import SCENARIOS

from icssim.console_text import format_differences, format_kpis
from icssim.report.compare import compare_summary_html, compare_table_html, differences_table_html
from icssim.report.compare_text import forest_left_out
from icssim.report.labels import group_title, kpi_label_among, words_of
from icssim.report.numbers import Estimate, change_text, fmt, fmt_diff, waits_in
from icssim.scenario import load_scenario

FOUR_HOURS = "within_mh_four_hours"
VARIANT_WORDS = "Mental health attendances: four hours door to door (integrated's words)"


@pytest.fixture(scope="module")
def urgent():
    """The urgent pair, the integrated scenario wording the standard both declare its own way."""
    frag = load_scenario(SCENARIOS / "urgent_mh_fragmented.yaml")
    integ = load_scenario(SCENARIOS / "urgent_mh_integrated.yaml")
    name = FOUR_HOURS[len("within_"):]
    std = integ.scenario.standards[name].model_copy(update={"label": VARIANT_WORDS})
    section = integ.scenario.model_copy(update={"standards": {**integ.scenario.standards, name: std}})
    return frag, integ.model_copy(update={"scenario": section})


def _without_path_time(s, name: str):
    section = s.scenario.model_copy(update={"path_times": {k: v for k, v in s.scenario.path_times.items()
                                                           if k != name}})
    return s.model_copy(update={"scenario": section})


def _diffs(kpi: str, label: str, unit: str, base: float, diff: float) -> pd.DataFrame:
    return pd.DataFrame({"kpi": [kpi], "label": [label], "unit": [unit], "scenario": ["integ"],
                         "baseline": ["frag"], "baseline_mean": [base], "diff_mean": [diff],
                         "diff_lower": [diff * 1.2], "diff_upper": [diff * 0.8], "n": [2],
                         "pct_mean": [100 * diff / base], "pct_lower": [120 * diff / base],
                         "pct_upper": [80 * diff / base]})


def _summary(diffs: pd.DataFrame) -> pd.DataFrame:
    r = diffs.iloc[0]
    means = {"frag": r.baseline_mean, "integ": r.baseline_mean + r.diff_mean}
    return pd.DataFrame({"kpi": [r.kpi] * 2, "label": [r.label] * 2, "unit": [r.unit] * 2,
                         "scenario": list(means), "mean": list(means.values()),
                         "lower": [m * 0.9 for m in means.values()], "upper": [m * 1.1 for m in means.values()],
                         "n": [2, 2]})


# ----------------------------------------------------------------------------- 1. one rule for every view
def test_a_standard_both_word_differently_reads_alike_on_the_first_screen_and_in_the_tables(urgent):
    """The tables named a standard from the baseline first, the first screen from the variant first."""
    frag, integ = urgent
    assert words_of(FOUR_HOURS, [frag, integ]) is integ
    assert kpi_label_among(FOUR_HOURS, [frag, integ]).startswith(VARIANT_WORDS)
    diffs = _diffs(FOUR_HOURS, "Within standard: mh_four_hours", "share", 0.13, 0.28)
    summary = _summary(diffs)
    first = unescape(compare_summary_html(summary, diffs, "frag", frag, {"frag": frag, "integ": integ}))
    results = unescape(compare_table_html(summary, ["frag", "integ"], [frag, integ]))
    differences = unescape(differences_table_html(diffs, [frag, integ], {"frag": frag, "integ": integ}))
    for html in (first, results, differences):
        assert VARIANT_WORDS in html and "4 hours from arrival to leaving the ED" not in html
    comparison = SimpleNamespace(summary=lambda: summary, differences=lambda: diffs, names=["frag", "integ"],
                                 results=[SimpleNamespace(replications=[0, 1], scenario=frag),
                                          SimpleNamespace(replications=[0, 1], scenario=integ)])
    assert VARIANT_WORDS in format_differences(comparison)


def test_a_standard_only_the_baseline_declares_keeps_the_baseline_s_words(urgent):
    frag, integ = urgent
    assert words_of("within_liaison_1_hour", [frag, _strip_standard(integ, "liaison_1_hour")]) is frag


def _strip_standard(s, name):
    section = s.scenario.model_copy(update={"standards": {k: v for k, v in s.scenario.standards.items()
                                                          if k != name}})
    return s.model_copy(update={"scenario": section})


# ----------------------------------------------------------------------------- 2. what one scenario lacks
def test_the_first_screen_names_a_cohort_and_a_path_time_only_the_variant_has(urgent):
    """The first screen named them from the baseline alone: the cohort by its id, the path time by
    the label stored with the results."""
    frag, integ = urgent
    kpi = "path_time_median_minutes_mh_assessment"
    base = _without_path_time(frag, "mh_assessment")
    diffs = _diffs(kpi, "Path time mh assessment, median", "minutes", 431.0, -416.0)
    html = unescape(compare_summary_html(_summary(diffs), diffs, "frag", base, {"frag": base, "integ": integ}))
    assert "Mental health attendances: arrival to psychiatric assessment, median" in html
    assert "Path time mh assessment" not in html
    cohort = "wait_to_assessment_median_ward_referrals"   # (featured, so on the first screen)
    frag = frag.model_copy(update={"report": frag.report.model_copy(update={"featured": [cohort]})})
    diffs = _diffs(cohort, "Referral to assessment, median: ward_referrals", "days", 0.01, -0.005)
    html = unescape(compare_summary_html(_summary(diffs), diffs, "frag", frag, {"frag": frag, "integ": integ}))
    assert "median: Referrals to liaison from the hospital's wards" in html and "ward_referrals" not in html


def test_the_forest_plot_caption_names_a_measure_as_the_rest_of_the_comparison(urgent):
    """``forest_left_out`` named a measure in the baseline's words alone."""
    frag, integ = urgent
    diffs = pd.DataFrame({"kpi": [FOUR_HOURS], "scenario": ["integ"], "pct_mean": [float("nan")],
                          "diff_mean": [float("nan")]})
    summary = pd.DataFrame({"kpi": [FOUR_HOURS], "scenario": ["integ"], "mean": [0.4]})
    caption = forest_left_out(diffs, summary, "frag", frag, scenarios={"frag": frag, "integ": integ})
    assert VARIANT_WORDS in caption, caption


# ----------------------------------------------------------------------------- 3. the waits' section
def test_the_waits_section_says_what_starts_the_clock(urgent):
    frag, _ = urgent
    ed = load_scenario(SCENARIOS / "ed_fragmented.yaml")
    assert group_title("Waits from referral", frag) == "Waits from arrival"
    assert group_title("Waits from referral", ed) == "Waits from referral"
    assert group_title("Costs", frag) == "Costs"
    table = pd.DataFrame({"kpi": ["wait_to_assessment_median"], "mean": [0.019], "lower": [0.017],
                          "upper": [0.021], "n": [2]})
    with waits_in("minutes"):
        text = format_kpis(table, "urgent", SimpleNamespace(replications=[0, 1], seed=1, scenario=frag))
    assert "  Waits from arrival\n" in text and "Waits from referral" not in text


def test_the_run_report_heads_the_waits_and_their_sentence_in_the_scenario_s_words(urgent):
    from icssim.report.run_text import _waits_sentence

    frag, _ = urgent
    est = {"wait_to_assessment_median": Estimate("wait_to_assessment_median", 0.019, 0.017, 0.021, 2)}
    with waits_in("minutes"):
        sentence = _waits_sentence(est, frag)
    assert sentence.startswith("Waits from arrival: half started <strong>first clinical assessment")
    assert _waits_sentence(est).startswith("Waits from referral: half of referred patients started "
                                           "<strong>assessment</strong>")
    from icssim.report.run_text import how_sure

    assert "(arrival to first clinical assessment (ED clinician" in how_sure(est, {"replications": 2}, frag)


# ----------------------------------------------------------------------------- 4. long times
def test_long_times_read_in_hours_and_their_intervals_and_changes_alike():
    """"431 minutes": a path time of seven hours read in minutes."""
    assert fmt(431.0, "minutes") == "7.2 hours"
    assert fmt(119.0, "minutes") == "119 minutes"
    assert fmt(431.0, "minutes", False) == "431"   # a bare number stays in the unit its column names
    assert Estimate("path_time_median_minutes_x", 431.0, 400.0, 460.0, 2).text() == (
        "7.2 hours (95% CI 6.7 to 7.7)")
    assert fmt_diff(-416.0, "minutes", like=506.0) == "−6.9 hours"
    assert fmt(60.0, "hours") == "2.5 days" and fmt(47.0, "hours") == "47.0 hours"
    assert change_text(431.0, 14.7, "minutes") == "7.2 hours → 14.7 minutes"
    assert change_text(431.0, 500.0, "minutes") == "7.2 → 8.3 hours"
    assert change_text(27.8, 26.0, "minutes") == "27.8 → 26.0 minutes"
    with waits_in("minutes"):   # a wait in days in a scenario timed in minutes
        assert fmt(431.0 / 1440, "days") == "7.2 hours"
        assert fmt(26.0 / 1440, "days") == "26.0 minutes"
    assert fmt(3.0, "days") == "3.0 days"


def test_the_first_screen_writes_a_long_path_time_in_hours(urgent):
    frag, integ = urgent
    kpi = "path_time_median_minutes_mh_assessment"
    diffs = _diffs(kpi, "Path time", "minutes", 431.0, -416.3)
    html = unescape(compare_summary_html(_summary(diffs), diffs, "frag", frag, {"frag": frag, "integ": integ}))
    assert "7.2 hours → 14.7 minutes (−6.9 hours, 95% CI −8.3 to −5.6 hours" in html, html
    assert "431" not in html


def test_the_wait_plots_say_what_starts_the_clock(tmp_path):
    # the urgent scenarios' triage starts the clock on arrival (report.waits): the run's and the
    # comparison's wait plots say so, in their series, axis and title
    from icssim import experiments
    from icssim.plots_waits import run_waits
    from icssim.metrics import patients_frame

    s = load_scenario(SCENARIOS / "urgent_mh_fragmented.yaml")
    result = experiments.run(s, replications=1, workers=1)
    pats = pd.concat([patients_frame(r) for r in result.records], ignore_index=True)
    waits = run_waits(result, pats)
    assert waits.clock == "arrival"
    assert any(name.startswith("arrival to first clinical assessment") for name in waits.waits)
    assert not {"referral to assessment", "referral to treatment"} & set(waits.waits)
    fig = waits.figure("t", f"Wait from {waits.clock} (days)")
    assert fig.axes[0].get_xlabel().startswith("Time from arrival")


# ----------------------------------------------------------------------------- the talking-therapies audit
TALKING = """
scenario:
  name: talking
  time_unit: days
  horizon: 1 year
  warmup: 1 month
  seed: 7
  standards:
    tt_6_weeks: {label: "Referral to first therapy session within 6 weeks", from: therapy.enter,
                 to: therapy.start, within: 6 weeks, target: 0.75}
  path_times:
    referral_to_therapy: {label: "Adults: referral to first therapy session", cohort: adults,
                          from: arrival, to: therapy}
cohorts:
  adults: {rate: 3 per day, entry: triage}
  young_people: {rate: 1 per day, entry: triage}
services:
  iapt:
    label: Talking therapies
    staff:
      wellbeing: {wte: 3, clinical_hours_per_week: 25}
      therapist: {wte: 12, clinical_hours_per_week: 25}
pathway:
  steps:
    triage: {kind: triage, service: iapt, staff: [wellbeing], duration: 20 minutes, next: assessment}
    assessment: {kind: assessment, service: iapt, staff: [wellbeing], duration: 1 hour, next: therapy}
    therapy: {kind: treatment, service: iapt, staff: [therapist], duration: 1 hour, next: done}
    done: {kind: discharge}
report:
  people: adults and young people referred to talking therapies
  featured: [within_tt_6_weeks, path_time_median_days_referral_to_therapy, path_time_reached_referral_to_therapy]
  waits: {from: Referral, assessment: first assessment, treatment: first therapy session}
"""


@pytest.fixture(scope="module")
def talking(tmp_path_factory):
    """A talking-therapies pair whose waits end at the "first therapy session" (report.waits), with a
    path time of one cohort labelled "Adults: …", the variant with fewer therapists, neither costed."""
    folder = tmp_path_factory.mktemp("talking")
    (folder / "talking.yaml").write_text(TALKING)
    (folder / "fewer.yaml").write_text(TALKING.replace("name: talking", "name: fewer").replace("wte: 12", "wte: 6"))
    return load_scenario(folder / "talking.yaml"), load_scenario(folder / "fewer.yaml")


def _talking_diffs(rows: list[tuple[str, str, float, float]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """differences.csv and summary.csv of "fewer" against "talking": (kpi, unit, baseline's mean, difference)."""
    diffs = pd.concat([_diffs(k, k, unit, base or 1.0, diff) for k, unit, base, diff in rows], ignore_index=True)
    diffs["baseline_mean"] = [base for _, _, base, _ in rows]
    diffs["scenario"], diffs["baseline"] = "fewer", "talking"
    for col in ("pct_mean", "pct_lower", "pct_upper"):   # (no percentage of a baseline of 0)
        diffs.loc[diffs["baseline_mean"] == 0, col] = float("nan")
    summary = pd.concat([_summary(diffs.iloc[[i]]) for i in range(len(diffs))], ignore_index=True)
    summary["scenario"] = summary["scenario"].map({"frag": "talking", "integ": "fewer"})
    return diffs, summary


TALKING_ROWS = [("wait_to_treatment_median", "days", 12.0, -3.8),
                ("path_time_median_days_referral_to_therapy", "days", 12.0, -3.8),
                ("cost_per_year", "GBP per year", 0.0, 0.0), ("staff_cost_per_year", "GBP per year", 0.0, 0.0)]


def _headline(html: str) -> str:
    return unescape(html.split('<p class="headline">', 1)[1].split("</p>", 1)[0])


def test_the_first_screen_leads_with_the_wait_in_the_scenario_s_words(talking):
    """It said "Patients start treatment sooner (median wait from referral …)" though the scenario's
    waits end at the first therapy session (report.waits)."""
    s, fewer = talking
    diffs, summary = _talking_diffs(TALKING_ROWS)
    lead = _headline(compare_summary_html(summary, diffs, "talking", s, {"talking": s, "fewer": fewer}))
    assert lead.startswith("The median wait from referral to first therapy session is <strong>shorter</strong> "
                           "(12.0 → 8.2 days"), lead
    assert "start treatment" not in lead
    # without words of its own, a scenario's first screen reads as before
    plain = _headline(compare_summary_html(summary, diffs, "talking"))
    assert plain.startswith("Patients start treatment <strong>sooner</strong> (median wait from referral 12.0"), plain


def test_a_path_time_named_by_its_group_is_a_clause_of_its_own(talking):
    """It said "…talking therapies: adults: referral to first therapy session, median": the label
    lower-cased after a colon of the sentence's own, so two colons."""
    s, fewer = talking
    diffs, summary = _talking_diffs(TALKING_ROWS)
    lead = _headline(compare_summary_html(summary, diffs, "talking", s, {"talking": s, "fewer": fewer}))
    assert "; Adults: referral to first therapy session, median 12.0 → 8.2 days." in lead, lead
    assert "adults: referral" not in lead and "therapies: " not in lead


def test_a_comparison_of_scenarios_without_costs_shows_no_cost_of_nothing(talking):
    """Its tiles and its first sentence said "£0 → £0" where neither scenario gives a unit cost."""
    s, fewer = talking
    diffs, summary = _talking_diffs(TALKING_ROWS)
    html = compare_summary_html(summary, diffs, "talking", s, {"talking": s, "fewer": fewer})
    text = unescape(html)
    assert "£0" not in text, text
    assert "Total cost" not in text and "Staff establishment" not in text
    assert _headline(html).count("no costs were counted") == 1
    # a scenario that does give costs keeps its tiles and sentences
    priced = [*TALKING_ROWS[:2], ("cost_per_year", "GBP per year", 2e6, 1e5)]
    diffs, summary = _talking_diffs(priced)
    text = unescape(compare_summary_html(summary, diffs, "talking", s, {"talking": s, "fewer": fewer}))
    assert "Total cost per year" in text and "no costs were counted" not in text
