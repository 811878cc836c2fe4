"""The urgent-care comparison's words (``icssim compare urgent_mh_fragmented urgent_mh_integrated``):
staff totals one per unit (posts on duty around the clock never added to WTE), steps, cohorts and
standards by their labels in KPI rows, the STRESS-DES list of standards in the standards' own words,
and parts only one scenario has named by their labels."""

from __future__ import annotations

from html import unescape

import pytest
from helpers import SCENARIOS

from icssim.kpis import kpi_info
from icssim.report.labels import kpi_label, kpi_label_among
from icssim.report.staffing import staff_sentence, staffing_html
from icssim.scenario import load_scenario


def _unlabelled(s, step: str):
    """``s`` with the step ``step`` without its label."""
    steps = {**s.pathway.steps, step: s.pathway.steps[step].model_copy(update={"label": None})}
    return s.model_copy(update={"pathway": s.pathway.model_copy(update={"steps": steps})})


@pytest.fixture(scope="module")
def urgent():
    return (load_scenario(SCENARIOS / "urgent_mh_fragmented.yaml"),
            load_scenario(SCENARIOS / "urgent_mh_integrated.yaml"))


# ----------------------------------------------------------------------------- 1. staff totals by unit
def test_staff_sentence_states_each_unit_against_the_baseline_without_adding_them(urgent):
    """"(2 WTE and 15 on duty of staff in all against 12 on duty)" added WTE to posts on duty
    around the clock (one such post takes over five WTE): one "X against Y" per unit, posts first."""
    frag, integ = urgent
    sentence = staff_sentence(("urgent_mh_fragmented", frag), ("urgent_mh_integrated", integ))
    assert "(staff in all: 15 on duty around the clock against 12, and 2 WTE against 0)." in sentence, sentence
    assert "WTE and" not in sentence and "of staff in all against" not in sentence
    same = staff_sentence(("a", integ), ("b", integ))
    assert "Both assume the same staff (staff in all: 15 on duty around the clock, and 2 WTE)." in same, same


def test_staff_sentence_with_wte_only_keeps_its_form():
    base = ("ed_fragmented", load_scenario(SCENARIOS / "ed_fragmented.yaml"))
    new = ("ed_integrated", load_scenario(SCENARIOS / "ed_integrated.yaml"))
    sentence = staff_sentence(base, new)
    assert " WTE of staff in all against " in sentence and sentence.rstrip().endswith(" WTE).")
    assert "on duty" not in sentence and "staff in all:" not in sentence


def test_staffing_table_totals_each_unit_in_a_row_of_its_own(urgent):
    """The "All staff" row read "12 on duty | 2 WTE and 15 on duty"."""
    frag, integ = urgent
    table = staffing_html([("urgent_mh_fragmented", frag), ("urgent_mh_integrated", integ)])
    assert "<td>All staff on duty around the clock</td><td>12 on duty</td><td>15 on duty</td>" in table, table
    assert "<td>All staff in WTE</td><td>0 WTE</td><td>2 WTE</td>" in table, table
    assert "<td>All staff</td>" not in table and "WTE and" not in table
    wte_only = staffing_html([("ed", load_scenario(SCENARIOS / "ed_fragmented.yaml"))])
    assert "<td>All staff in WTE</td>" in wte_only and "on duty" not in wte_only


def test_staff_cost_label_does_not_call_posts_on_duty_wte():
    assert kpi_info("staff_cost_per_year").label == "Staff establishment cost (staff × hourly cost × paid hours)"


# ----------------------------------------------------------------------------- 2. steps by their labels
def test_step_kpis_name_the_step_by_its_label(urgent):
    """"Wait for ed_assessment, mean", "Still at wait_for_mh_bed at the horizon": the step's id."""
    frag, integ = urgent
    assert (kpi_label("stage_wait_mean_minutes_ed_assessment", frag)
            == "ED clinician assessment and treatment: wait to start, mean")
    assert (kpi_label("stage_time_p90_minutes_psychiatry_called_in", frag)
            == "Waiting for psychiatry to come: time at the step, 90th percentile")
    assert (kpi_label("stage_open_wait_for_mh_bed", frag)
            == "Waiting in the ED for a mental health bed: still there at the horizon (not in its times)")
    assert kpi_label("stage_wait_mean_minutes_triage", frag) == "Triage: wait to start, mean"   # (no label)
    # the registry's label (kpis.csv, no scenario) keeps the id
    assert kpi_info("stage_wait_mean_minutes_ed_assessment").label == "Wait for ed_assessment, mean"


def test_step_kpis_in_a_comparison_take_the_label_of_the_scenario_that_has_the_step(urgent):
    frag, integ = urgent
    assert (kpi_label_among("stage_time_mean_minutes_liaison_assessment", [frag, integ])
            == "Liaison assessment: time at the step, mean")
    assert (kpi_label_among("stage_open_psychiatry_called_in", [integ, frag])
            == "Waiting for psychiatry to come: still there at the horizon (not in its times)")


def test_a_step_without_a_label_reads_as_its_id_in_words(urgent):
    s = _unlabelled(urgent[1], "liaison_assessment")
    assert kpi_label("stage_wait_mean_minutes_liaison_assessment", s) == "Liaison assessment: wait to start, mean"


# ----------------------------------------------------------------------------- 3. a cohort's time in the pathway
def test_time_in_the_pathway_of_a_cohort_names_the_cohort_once_by_its_label(urgent):
    """"Time from arrival to leaving, mean (mental_health): Mental health attendances"."""
    frag, integ = urgent
    label = kpi_label("time_in_system_mean_minutes_mental_health", frag)
    assert label == "Time from arrival to leaving, mean: Mental health attendances"
    assert (kpi_label_among("time_in_system_mean_minutes_ward_referrals", [frag, integ])
            == "Time from arrival to leaving, mean: Referrals to liaison from the hospital's wards")


# ----------------------------------------------------------------------------- 4. a standard only one scenario has
def test_a_standard_only_one_compared_scenario_has_reads_its_label(urgent):
    """"Within standard: ward_24_hours": the baseline has no such standard."""
    frag, integ = urgent
    assert "ward_24_hours" not in frag.scenario.standards
    assert (kpi_label_among("within_ward_24_hours", [frag, integ])
            == "Ward referrals seen by liaison within 24 hours (target 95%)")


def test_the_comparison_table_names_the_standard_by_its_label(urgent):
    from icssim.report.compare import _measure

    frag, integ = urgent
    assert _measure("within_ward_24_hours", "Within standard: ward_24_hours", [frag, integ]) == (
        "Ward referrals seen by liaison within 24 hours (target 95%)")


# ----------------------------------------------------------------------------- 5. STRESS-DES standards
def test_model_description_lists_standards_in_their_own_words(urgent):
    """"Mental_health: 95% start treatment within 1 hour of referral (liaison_1_hour)"."""
    from icssim.report.model_section import _objectives_html

    frag, _ = urgent
    html = _objectives_html(frag)
    assert ("<li>Psychiatric assessment within 1 hour of referral (target 95%; <code>liaison_1_hour</code>)</li>"
            in html), html
    assert "Mental_health" not in html and "start treatment within" not in html


def test_whom_a_standard_covers_reads_the_cohorts_labels(urgent):
    from icssim.report.run_text import standard_who, standard_words

    frag, integ = urgent
    assert standard_who(integ.scenario.standards["mh_four_hours"], integ) == "Mental health attendances"
    assert (standard_who(integ.scenario.standards["four_hours"], integ)
            == "All other attendances and mental health attendances")
    unlabelled = frag.scenario.standards["liaison_1_hour"].model_copy(update={"label": None})
    assert standard_words(unlabelled, frag).startswith("Mental health attendances: the start of referral to ")
    ed = load_scenario(SCENARIOS / "ed_fragmented.yaml")
    assert standard_who(ed.scenario.standards["cyp_urgent_1_week"], ed) == "Urgent children and young people"
    assert standard_who(ed.scenario.standards["cyp_urgent_1_week"]) == "Urgent CYP"   # (no scenario: the id)


# ----------------------------------------------------------------------------- 6. parts only some scenarios have
def test_parts_only_one_scenario_has_are_named_by_their_labels(tmp_path):
    """Blank labels for the steps and services only one scenario has (fixed before these tests:
    kept here for the urgent pair), and a part without a label by its id in words."""
    from icssim.report.compare_inputs import input_diff_html
    from icssim.report.parameters import parameter_rows
    from icssim.report.pieces import RunData

    runs = []
    for name in ("urgent_mh_fragmented", "urgent_mh_integrated"):
        folder = tmp_path / name
        folder.mkdir()
        s = load_scenario(SCENARIOS / f"{name}.yaml")
        rows = parameter_rows(s)
        # stored without the parts' labels (as an older run's): the labels come from the scenario
        rows[~rows["path"].str.endswith(".label")].to_csv(folder / "parameters.csv", index=False)
        runs.append((name, RunData(folder, {}, scenario=_unlabelled(s, "refer_liaison") if "integ" in name else s)))
    text = unescape(input_diff_html(runs))
    assert "<td>Step: Waiting for psychiatry to come</td>" in text
    assert "<td>Service: Psychiatry called in (crisis team or on-call psychiatrist)</td>" in text
    assert "<td>Step: Liaison assessment (team on site)</td>" in text
    assert "<td>Service: Liaison psychiatry team (24/7, in the hospital)</td>" in text
    assert "<td>Step: Refer liaison</td>" in text
    assert "<td>Step: </td>" not in text and "<td>Service: </td>" not in text
