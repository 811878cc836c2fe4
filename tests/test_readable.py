"""Every output read without help (issue 23): labels instead of ids, shares as percentages, rows
left out for things a scenario does not have, the staff each compared scenario assumes, a diagram
that fits the page, and sweep and optimise reports that lead with the answer."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from helpers import SCENARIOS, shipped

from icssim import experiments, plots_waits, results
from icssim.console_text import format_differences, format_kpis
from icssim.report.labels import absent_kpis, kpi_label
from icssim.report.staffing import staff_sentence, staffing_html
from icssim.scenario import load_scenario


@pytest.fixture(scope="module")
def integrated_run():
    return experiments.run(shipped("ed_integrated", horizon="1 year", warmup="3 months"), replications=2, workers=1)


def test_console_table_uses_labels_percentages_and_clipped_cis(integrated_run):
    text = format_kpis(results.kpi_table(integrated_run.summary()), "ed_integrated", integrated_run)
    # labels in the scenario's words, never ids or key paths
    assert "ed_service/caseload" not in text and "primary_care" not in text
    flat = " ".join(text.split())  # long labels wrap onto two lines
    assert "Utilisation of All-age integrated eating disorder service: caseload slots" in flat
    assert "Cost per year: General practice" in text
    # shares as percentages, with CIs inside [0%, 100%]
    assert re.search(r"Help-seekers who started treatment\s+\d+% \(95% CI \d+% to \d+%\)", text)
    assert not re.search(r"\b0\.\d{3}\b", text)
    for lo, hi in re.findall(r"95% CI (-?[\d.]+)% to (-?[\d.]+)%", text):
        assert 0 <= float(lo) <= float(hi) <= 100
    # everyone who asks for help is called that, not "Referrals"
    assert "Help-seekers (everyone who asks for help" in text
    # the integrated pathway rejects no referral: no row of zeros for it
    assert "Referrals rejected" not in text and "Re-referrals" not in text


def test_rows_for_things_a_scenario_does_not_have_are_left_out(verification_dir):
    s = load_scenario(verification_dir / "mmc.yaml")
    absent = absent_kpis(s)
    assert {"ae_attendances_per_year", "specialist_bed_days_per_year", "rejected_referrals_per_year"} <= absent
    assert "ae_attendances_per_year" not in absent_kpis(load_scenario(SCENARIOS / "ed_integrated.yaml"))


def test_an_emergency_department_has_no_rows_for_waits_to_treatment():
    """The urgent-care pathway has no treatment step: its waits to treatment are never measured (n/a
    in every replication) and no one is 'treated', so the terminal and the report leave those rows
    out, as urgent-care.md says, instead of six rows of n/a and '0% started treatment'."""
    from types import SimpleNamespace

    from icssim.report.labels import left_out

    s = load_scenario(SCENARIOS / "urgent_mh_fragmented.yaml")
    names = ["wait_to_treatment_median", "wait_to_treatment_median_mh_attendances", "wait_to_assessment_median",
             "share_treated", "untreated_time_mean", "cost_per_year"]
    absent = absent_kpis(s, names)
    assert {"wait_to_treatment_median", "wait_to_treatment_median_mh_attendances", "share_treated",
            "untreated_time_mean", "share_intensive_12m"} <= absent
    assert not {"wait_to_assessment_median", "cost_per_year"} & absent
    ed = load_scenario(SCENARIOS / "ed_fragmented.yaml")
    assert not {"wait_to_treatment_median", "share_treated"} & absent_kpis(ed, names)
    assert left_out(float("nan")) and left_out(0.0) and not left_out(52.0)
    table = pd.DataFrame({"kpi": ["wait_to_treatment_median", "wait_to_assessment_median"],
                          "mean": [float("nan"), 25.7], "lower": [float("nan"), 24.0],
                          "upper": [float("nan"), 27.0], "n": [2, 2]})
    result = SimpleNamespace(replications=[0, 1], seed=1, scenario=s)
    text = format_kpis(table, "urgent", result)
    # (the scenario's report.waits: its triage starts the clock on arrival; docs/urgent-care.md)
    assert "Arrival to first clinical assessment" in text and "Referral to" not in text


def test_an_emergency_department_counts_those_still_in_it_not_as_waiting_for_treatment():
    """still_waiting_at_end counts the window's referred people not treated and not gone: with no
    treatment step, everyone referred in the window still in the pathway at the end (in an ED, the
    people still in the department, as time_in_system_open). No one there waits for treatment, so the
    terminal, the run report and a comparison (its tables and its first screen, whose labels come
    stored with the results) say what it counts; a pathway with a treatment step keeps its words."""
    from types import SimpleNamespace

    from icssim.report.compare import compare_summary_html
    from icssim.report.labels import kpi_label_among

    urgent = load_scenario(SCENARIOS / "urgent_mh_fragmented.yaml")
    integrated = load_scenario(SCENARIOS / "urgent_mh_integrated.yaml")
    ed = load_scenario(SCENARIOS / "ed_fragmented.yaml")
    words = "Referred in window, still in the pathway at end"
    assert kpi_label("still_waiting_at_end", urgent) == words
    assert kpi_label_among("still_waiting_at_end", [urgent, integrated]) == words
    assert kpi_label("still_waiting_at_end", ed) == "Referred in window, still waiting for treatment at end"
    assert "still_waiting_at_end" not in absent_kpis(urgent, ["still_waiting_at_end"])   # a count, shown
    table = pd.DataFrame({"kpi": ["still_waiting_at_end"], "mean": [52.9], "lower": [44.9], "upper": [60.9],
                          "n": [2]})
    text = format_kpis(table, "urgent", SimpleNamespace(replications=[0, 1], seed=1, scenario=urgent))
    assert words in text and "treatment" not in text
    stored = "Referred in window, still waiting for treatment at end"   # (kpis.csv's registry label)
    diffs = pd.DataFrame({"kpi": ["still_waiting_at_end"], "label": [stored], "unit": ["patients"],
                          "scenario": ["integrated"], "baseline": ["fragmented"], "baseline_mean": [52.9],
                          "diff_mean": [-1.4], "diff_lower": [-2.7], "diff_upper": [-0.1], "n": [2],
                          "pct_mean": [-2.6], "pct_lower": [-5.1], "pct_upper": [-0.2]})
    html = compare_summary_html(None, diffs, "fragmented", urgent, {"fragmented": urgent, "integrated": integrated})
    assert words in html and "waiting for treatment" not in html
    assert stored in compare_summary_html(None, diffs, "fragmented", ed)


def test_kpi_labels_use_service_cohort_and_standard_labels():
    s = load_scenario(SCENARIOS / "ed_fragmented.yaml")
    assert (kpi_label("utilisation_cyp_ed/therapist", s)
            == "Utilisation of CYP community eating disorder team: therapists")
    assert kpi_label("cost_per_year_primary_care", s) == "Cost per year: General practice"
    assert kpi_label("wait_to_treatment_median_adults", s) == "Referral to treatment, median: Adults"
    assert kpi_label("within_adult_4_weeks_proposed", s) == (
        "Adults (proposed 2022, not adopted): treatment within 4 weeks (target 95%)")


def test_compare_first_screen_states_the_staff_each_scenario_assumes():
    """The staff each scenario assumes, from its files (the shipped WTEs are calibrated and change):
    the role that differs most (therapists) and the totals in the sentence, the WTE by service and
    each establishment's cost in the table."""
    from icssim.report.labels import short
    from icssim.report.numbers import money

    base = ("ed_fragmented", load_scenario(SCENARIOS / "ed_fragmented.yaml"))
    new = ("ed_integrated", load_scenario(SCENARIOS / "ed_integrated.yaml"))

    def therapists(s) -> dict[str, float]:
        return {short(svc.label): svc.staff["therapist"].wte for svc in s.services.values() if "therapist" in svc.staff}

    def total(s) -> float:
        return sum(st.wte for svc in s.services.values() for st in svc.staff.values())

    def cost(s) -> float:
        return sum(st.wte * st.cost_per_hour * st.paid_hours_per_year for svc in s.services.values()
                   for st in svc.staff.values())

    tb, tn = therapists(base[1]), therapists(new[1])
    sentence = staff_sentence(base, new)
    assert (f"<strong>{sum(tn.values()):g} WTE of therapists</strong> against {sum(tb.values()):g} in ed_fragmented "
            f"({total(new[1]):g} WTE of staff in all against {total(base[1]):g} WTE)") in sentence
    table = staffing_html([base, new])
    assert "What each scenario assumes in staff" in table
    by_service = ", ".join(f"{name} {wte:g}" for name, wte in tb.items())
    assert f"{sum(tb.values()):g} WTE ({by_service})" in table
    assert money(cost(base[1])) in table and money(cost(new[1])) in table


def test_posts_on_duty_around_the_clock_are_not_added_to_whole_time_equivalents():
    """A role paid around the clock (an A&E clinician, a 24/7 liaison practitioner) is a count of
    posts on duty: the staffing table and sentence say so and total them apart from the WTE."""
    base = ("urgent_mh_fragmented", load_scenario(SCENARIOS / "urgent_mh_fragmented.yaml"))
    new = ("urgent_mh_integrated", load_scenario(SCENARIOS / "urgent_mh_integrated.yaml"))
    staff = {role: st for svc in new[1].services.values() for role, st in svc.staff.items()}
    posts = sum(st.wte for st in staff.values() if st.paid_hours_per_year >= 8760)
    wte = sum(st.wte for st in staff.values() if st.paid_hours_per_year < 8760)
    assert posts and wte  # (both kinds, or the test shows nothing)
    before = sum(st.wte for svc in base[1].services.values() for st in svc.staff.values())   # (all on duty)
    table = staffing_html([base, new])
    # a row per unit, never a sum of the two ("2 WTE and 15 on duty")
    assert f"<td>All staff on duty around the clock</td><td>{before:g} on duty</td><td>{posts:g} on duty</td>" in table
    assert f"<td>All staff in WTE</td><td>0 WTE</td><td>{wte:g} WTE</td>" in table
    assert " WTE and " not in table and "<td>All staff</td>" not in table
    assert f"{staff['clinician'].wte:g} on duty" in table and "posts filled around the clock" in table
    sentence = staff_sentence(base, new)
    assert f"{staff['practitioner'].wte:g} practitioners on duty</strong> against 0" in sentence, sentence
    in_all = f"(staff in all: {posts:g} on duty around the clock against {before:g}, and {wte:g} WTE against 0)"
    assert in_all in sentence, sentence


def test_staff_roles_are_named_by_their_labels():
    """A role key such as ``hit`` reads as a word ("143 WTE of hits"); its ``label`` names it in the
    staffing sentence and table, in the plural, and a role without one keeps its key."""
    base = ("ltc_depression_fragmented", load_scenario(SCENARIOS / "ltc_depression_fragmented.yaml"))
    new = ("ltc_depression_integrated", load_scenario(SCENARIOS / "ltc_depression_integrated.yaml"))
    hits = new[1].services["tt_high"].staff["hit"].wte
    assert f"<strong>{hits:g} WTE of high-intensity therapists</strong>" in staff_sentence(base, new)
    table = staffing_html([base, new])
    for name in ("Psychological wellbeing practitioners", "High-intensity therapists", "Specialist nurses"):
        assert f"<td>{name}</td>" in table, table
    assert "Hits" not in table and "Pwps" not in table
    ed = ("ed_fragmented", load_scenario(SCENARIOS / "ed_fragmented.yaml"))
    assert "<td>Therapists</td>" in staffing_html([ed, ed])


def test_console_differences_use_labels_and_points():
    comparison = experiments.compare([shipped("ed_fragmented", horizon="1 year", warmup="3 months"),
                                      shipped("ed_integrated", horizon="1 year", warmup="3 months")],
                                     replications=2, workers=1)
    text = format_differences(comparison)
    assert "Referred patients who started treatment (uptake)\n" in text
    assert re.search(r"\d+%\s+[+−][\d.]+ points \(95% CI [+−][\d.]+ to [+−][\d.]+ points\): ", text)
    assert not re.search(r"\b0\.\d{3}\b(?! QALYs)", text)  # shares never as 0.769
    assert re.search(r"\d\.\d\d QALYs", text)  # QALYs to two decimals: their differences are small


def test_pathway_diagram_fits_a_1280_px_page(integrated_run, tmp_path):
    from icssim.report.pieces import RunData, read_json
    from icssim.report.run import pathway_html

    results.write_run(integrated_run, tmp_path / "run", command="icssim run x")
    folder = tmp_path / "run"
    html = pathway_html(RunData.load(folder, read_json(folder / "metadata.json")))
    style = re.search(r'<img [^>]*style="([^"]*)"', html).group(1)
    assert "min-width" not in style
    width = float(re.search(r"max-width: (\d+)px", style).group(1))
    # the page's column at 1280 px is 1,112 px: the diagram is shrunk by at most a fifth or so (the
    # integrated pathway's step-up from treatment to day care and beds made it 1,313 px wide)
    assert width <= 1400
    assert "count only people who asked for help after the warm-up" in html
    # on a phone: wide enough to read (the stylesheet), opened at its middle where the pathway starts
    assert "f.scrollLeft=(f.scrollWidth-f.clientWidth)/2" in html
    from icssim.report.pieces import _CSS

    assert "figure.diagram img { min-width: 70rem; }" in _CSS.read_text()


def test_waiting_list_band_stops_at_zero_and_time_reads_in_years():
    import numpy as np

    from icssim import plots

    days = np.arange(0, 6 * 365, 30.0)
    frame = pd.DataFrame({r: np.random.default_rng(r).poisson(1.0, len(days)).astype(float) for r in range(4)},
                         index=days)
    fig = plots.band_over_time({"all services": frame}, "waiting", "Patients waiting")
    ax = fig.axes[0]
    band = next(c for c in ax.collections)
    assert min(v[1] for path in band.get_paths() for v in path.vertices) >= 0
    assert ax.get_xlabel() == "Time since start (years)"
    fig.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels() if t.get_text()][:3] == ["0", "1", "2"]


def test_wait_plot_names_standards_in_words_and_keeps_its_legend_off_the_data():
    import numpy as np

    rng = np.random.default_rng(1)
    fig = plots_waits.wait_ecdf({"a": rng.exponential(20, 500)}, {"cyp_urgent_1_week": 7.0}, "t")
    ax = fig.axes[0]
    assert "CYP urgent 1 week" in [t.get_text() for t in ax.texts]
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert legend.y1 <= ax.get_window_extent().y0   # under the axes, not over the curves or the standards


def test_how_to_reproduce_names_the_folder_as_typed_from_where_the_run_was(integrated_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = results.write_run(integrated_run, Path("results") / "ed_integrated", command="icssim run x")
    assert "<code>icssim report results/ed_integrated</code>" in (out / "report.html").read_text()


def test_model_description_states_standards_in_words(integrated_run, tmp_path):
    out = results.write_run(integrated_run, tmp_path / "run", command="icssim run x")
    model = (out / "report.html").read_text().split('<section id="model">')[1].split("</section>")[0]
    assert ("Adults (proposed 2022, not adopted): treatment within 4 weeks (target 95%; "
            "<code>adult_4_weeks_proposed</code>)") in model
    assert "adults referrals" not in model


def test_accepted_referrals_beside_help_seekers(integrated_run, tmp_path):
    """Accepted referrals count each help-seeker whose referral clock started (a triage, assessment
    or treatment step took them on), once: fewer than the help-seekers when some are never referred
    on, shown under its label next to them in the console and the report."""
    import numpy as np

    kpis = integrated_run.kpis
    assert (kpis["accepted_referrals_per_year"] < kpis["referrals_per_year"]).all()
    rec = integrated_run.records[0]
    p = rec.patients
    in_window = p["arrival"] >= rec.warmup
    years = rec.window * rec.hours_per_unit / 24 / 365.25
    expected = (in_window & ~np.isnan(p["referral"])).sum() / years
    assert kpis["accepted_referrals_per_year"].iloc[0] == pytest.approx(expected)
    text = format_kpis(results.kpi_table(integrated_run.summary()), "ed_integrated", integrated_run)
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if "Help-seekers (everyone" in line)
    assert lines[at + 1].lstrip().startswith("Accepted referrals (help-seekers taken on")
    results.write_run(integrated_run, tmp_path / "run")
    assert "Accepted referrals (help-seekers taken on by a triage, assessment or treatment step)" in \
        (tmp_path / "run" / "report.html").read_text(encoding="utf-8")


def test_console_calls_a_negligible_certain_difference_negligible():
    """A certain difference of £36 in £6.5m: the terminal calls it negligible, as the report does,
    instead of "clearly worse"."""
    import pandas as pd
    from types import SimpleNamespace

    kpi = "staff_cost_per_year"
    summary = pd.DataFrame({"kpi": [kpi, kpi], "scenario": ["a", "b"], "mean": [6.49e6, 6.49e6 + 36]})
    diffs = pd.DataFrame({"kpi": [kpi], "scenario": ["b"], "diff_mean": [36.0], "diff_lower": [36.0],
                          "diff_upper": [36.0], "pct_lower": [5.5e-4], "pct_upper": [5.5e-4]})
    comparison = SimpleNamespace(summary=lambda: summary, differences=lambda: diffs, names=["a", "b"],
                                 results=[SimpleNamespace(replications=[0, 1], scenario=None)])
    text = format_differences(comparison)
    assert "clearly different but negligible" in text and "clearly worse" not in text


def test_a_difference_fixed_by_the_scenarios_is_not_given_an_interval_from_itself_to_itself():
    """A staff establishment is set by the scenario files, so its difference is the same in every
    replication: the terminal, the report's sentence and its tile say so, not "95% CI +£3.23
    million to +£3.23 million"."""
    from types import SimpleNamespace

    from icssim.report.compare_text import difference_sentence
    from icssim.report.numbers import diff_ci_words

    kpi = "staff_cost_per_year"
    summary = pd.DataFrame({"kpi": [kpi, kpi], "scenario": ["a", "b"], "mean": [6.49e6, 9.72e6]})
    diffs = pd.DataFrame({"kpi": [kpi], "scenario": ["b"], "diff_mean": [3.23e6], "diff_lower": [3.23e6],
                          "diff_upper": [3.23e6], "pct_lower": [49.8], "pct_upper": [49.8]})
    comparison = SimpleNamespace(summary=lambda: summary, differences=lambda: diffs, names=["a", "b"],
                                 results=[SimpleNamespace(replications=[0, 1], scenario=None)])
    text = format_differences(comparison)
    assert "(the same in every replication): clearly worse" in text and "(95% CI" not in text
    row = SimpleNamespace(kpi=kpi, unit="GBP per year", label="Staff establishment cost", diff_mean=3.23e6,
                          diff_lower=3.23e6, diff_upper=3.23e6, pct_lower=49.8, pct_upper=49.8, pct_mean=49.8)
    sentence = difference_sentence(row, 6.49e6, 9.72e6)
    assert "the same in every replication" in sentence and "95% CI" not in sentence
    assert sentence.endswith("clearly worse</span>.")
    assert diff_ci_words(-1.0, 2.0, "days").startswith("95% CI ") and diff_ci_words(float("nan"), 1.0, "days") == ""


def test_waits_read_in_the_scenarios_own_time_unit():
    """An emergency department timed in minutes reads its waits in minutes, one unit for the whole
    text (a value, its interval and a change alike); elsewhere waits stay in days."""
    from icssim.report.numbers import Estimate, fmt, fmt_diff, waits_in

    est = Estimate("wait_to_assessment_median", 0.018, 0.017, 0.019, 10)
    assert est.text() == "0.018 days (95% CI 0.017 to 0.019)"
    with waits_in("minutes"):
        assert est.text() == "25.9 minutes (95% CI 24.5 to 27.4)"
        assert fmt_diff(-0.0011, "days") == "−1.6 minutes"
        assert fmt(0.5, "share") == "50%"
    with waits_in("hours"):
        assert fmt(0.25, "days") == "6.0 hours"
    with waits_in("days"):
        assert fmt(3.0, "days") == "3.0 days"


def test_a_forest_of_several_scenarios_has_one_row_per_kpi_and_names_each_scenario():
    """With several scenarios (an equal-budget comparison has three against the baseline) each KPI
    is one row, each scenario a colour named in the legend, not one row per KPI and scenario."""
    import pandas as pd

    from icssim import plots_forest

    diffs = pd.DataFrame({"label": ["Wait", "Cost"] * 3,
                          "scenario": ["a at b's staff budget"] * 2 + ["b at a's staff budget"] * 2 + ["b"] * 2,
                          "mean": [1.0, -2.0, 3.0, 0.5, -1.0, 2.0], "lower": [0.5, -3.0, 2.0, -1.0, -2.0, 1.0],
                          "upper": [1.5, -1.0, 4.0, 2.0, -0.5, 3.0]})
    fig = plots_forest.forest(diffs, "Change against a")
    ax = fig.axes[0]
    rows = sorted((tick, label.get_text()) for tick, label in zip(ax.get_yticks(), ax.get_yticklabels()))
    assert [label for _, label in rows] == ["Cost", "Wait"]  # bottom to top: the first KPI at the top
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:3] == ["a at b's staff budget", "b at a's staff budget", "b"]
    assert "hollow: the 95% CI includes zero" in legend
    one = plots_forest.forest(diffs[diffs["scenario"] == "b"].drop(columns="scenario"), "Change against a")
    assert len(one.axes[0].get_yticklabels()) == 2 and one.axes[0].get_legend() is None


def test_value_for_money_reads_with_signs_and_a_rounded_icer():
    """The terminal says what the report's first screen says: increments signed (+£, −£, a true
    minus for QALYs), the ICER to three significant figures; nothing without a health: block."""
    import pandas as pd

    from icssim.console_text import format_value_for_money

    row = {"scenario": "b", "baseline": "a", "n": 3, "delta_cost": 4517.2, "delta_cost_lower": 1657.0,
           "delta_cost_upper": 7377.0, "delta_qalys": 0.061, "delta_qalys_lower": 0.055, "delta_qalys_upper": 0.067,
           "icer": 74027.0, "icer_lower": 24667.0, "icer_upper": 134528.0, "verdict": "more QALYs for more money",
           "nmb_20000": -3297.0, "nmb_20000_lower": -6280.0, "nmb_20000_upper": -314.0,
           "nmb_30000": -2687.0, "nmb_30000_lower": -5731.0, "nmb_30000_upper": 358.0}
    text = " ".join(format_value_for_money(pd.DataFrame([row])).split())
    assert "b against a, per person who asked for help: cost +£4,517 (95% CI +£1,657 to +£7,377)" in text
    assert "an ICER of £74,000 per QALY gained (95% CI £24,700 to £135,000, Fieller)" in text
    assert "at £30,000 per QALY the net monetary benefit is −£2,687 (95% CI −£5,731 to +£358)" in text
    worse = row | {"delta_qalys": -0.017, "delta_qalys_lower": -0.025, "delta_qalys_upper": -0.009,
                   "verdict": "dominated: fewer QALYs for more money"}
    text = " ".join(format_value_for_money(pd.DataFrame([worse])).split())
    assert "QALYs −0.017 (95% CI −0.025 to −0.009), so dominated" in text and "-0.0" not in text
    assert format_value_for_money(pd.DataFrame()) == ""


def test_console_leaves_out_what_no_scenario_measured():
    """An emergency department has no wait to treatment: the terminal leaves it out, as the report
    does, instead of printing n/a with the reason "single replication"."""
    import pandas as pd
    from types import SimpleNamespace

    nan = float("nan")
    kpis = ["wait_to_treatment_median", "staff_cost_per_year"]
    summary = pd.DataFrame({"kpi": [k for k in kpis for _ in "ab"], "scenario": ["a", "b"] * 2,
                            "mean": [nan, nan, 6.0e6, 7.0e6]})
    diffs = pd.DataFrame({"kpi": kpis, "scenario": ["b", "b"], "diff_mean": [nan, 1.0e6],
                          "diff_lower": [nan, 0.9e6], "diff_upper": [nan, 1.1e6]})
    comparison = SimpleNamespace(summary=lambda: summary, differences=lambda: diffs, names=["a", "b"],
                                 results=[SimpleNamespace(replications=[0, 1, 2], scenario=None)])
    text = format_differences(comparison)
    assert "treatment" not in text and "n/a" not in text and "single replication" not in text
    assert "clearly worse" in text


def test_a_difference_that_rounds_to_zero_has_no_sign():
    """``−0.0 points`` and ``±0.0 to ±0.0 points`` read as a change where there is none."""
    from icssim.report.numbers import diff_ci_text, fmt_diff

    assert fmt_diff(-1e-7, "share") == "0.0 points"
    assert fmt_diff(0.0, "share") == "0.0 points"
    # a small difference of shares has two significant figures, as a small difference in any unit
    # has: an interval that is not zero does not read "0.0 to 0.0 points"
    assert fmt_diff(-0.0004, "share") == "−0.040 points"
    assert diff_ci_text(-0.0004, 0.0003, "share") == "−0.040 to +0.030 points"
    assert fmt_diff(-0.004, "QALYs") == "0.00 QALYs"
    assert fmt_diff(-0.012, "share") == "−1.2 points" and fmt_diff(3.2, "days") == "+3.2 days"


def test_an_interval_of_a_count_that_cannot_be_negative_stops_at_zero():
    """Deaths per 1,000 over two replications read '27.0 (95% CI −9.7 to 63.8)'; waits were already
    cut at 0. Every unit of a quantity that cannot be negative is cut alike."""
    import icssim.metrics  # noqa: F401  (registers the health KPIs)
    from icssim.report.numbers import Estimate

    assert Estimate("deaths_per_1000", 27.0, -9.7, 63.8, 2).bounds() == (0.0, 63.8)
    assert Estimate("wait_to_treatment_mean", 35.5, -10.0, 81.6, 2).bounds() == (0.0, 81.6)


def test_ids_read_as_words_keep_their_abbreviations():
    """A step called gp was drawn as 'Gp', ae as 'Ae' (found by an audit)."""
    from icssim.report.labels import id_words

    assert id_words("gp", capital=True) == "GP" and id_words("ae", capital=True) == "A&E"
    assert id_words("mbu_admission", capital=True) == "MBU admission"
    assert id_words("triage", capital=True) == "Triage" and id_words("cyp_urgent_1_week") == "CYP urgent 1 week"


def test_grid_lines_go_behind_bars_and_not_across_scenarios():
    """A stacked cost bar was crossed by the grid's white lines (matplotlib draws grids above bars
    by default), and each scenario's bar had a vertical grid line through it."""
    from icssim import plots

    costs = pd.DataFrame({"scenario": ["a", "a", "b"], "service": ["gp", "beds", "gp"], "mean": [1e6, 2e6, 1.5e6],
                          "half_width": [1e5, 1e5, 1e5], "total_mean": [3e6, 3e6, 1.5e6],
                          "total_half_width": [2e5, 2e5, 1e5]})
    fig = plots.cost_bars(costs, "cost per year by service")
    ax = fig.axes[0]
    assert ax.get_axisbelow() is True
    assert not any(line.get_visible() for line in ax.get_xgridlines())
    assert any(line.get_visible() for line in ax.get_ygridlines())
    plots.plt.close(fig)


def test_a_service_only_the_course_of_illness_uses_has_no_cost_row():
    """The LTC scenarios' acute trust and clinic hold only health events' contacts: the pathway
    costs nothing there, and a "£0 a year" row stood beside those contacts as if they were free.
    A service some step uses, or with a staff establishment, keeps its row."""
    from icssim.report.labels import absent_kpis

    ltc = load_scenario(SCENARIOS / "ltc_depression_fragmented.yaml")
    ed = load_scenario(SCENARIOS / "ed_fragmented.yaml")
    assert {"cost_per_year_acute", "cost_per_year_ltc_clinic"} <= absent_kpis(ltc)
    assert not {f"cost_per_year_{name}" for name in ltc.services} - {"cost_per_year_acute",
                                                                     "cost_per_year_ltc_clinic"} & absent_kpis(ltc)
    assert not {k for k in absent_kpis(ed) if k.startswith("cost_per_year_")}
