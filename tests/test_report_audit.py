"""What a reader of a report must find without hunting (the report audit): value for money on a
comparison's first screen, long names that wrap, people's words instead of ids, and what a
sweep, a PSA or a plot could not show said plainly."""

from __future__ import annotations

from html import unescape
from pathlib import Path

import pandas as pd

from icssim.report.compare import compare_summary_html

#: cost_effectiveness.csv of `icssim compare scenarios/ed_fragmented.yaml scenarios/ed_integrated.yaml -n 3`
ED_VALUE = {"scenario": "ed_integrated", "baseline": "ed_fragmented", "n": 3, "replications": 3,
            "delta_cost": 4517.183066858511, "delta_cost_lower": 1657.126748980279,
            "delta_cost_upper": 7377.239384736742, "delta_qalys": 0.06102104478753715,
            "delta_qalys_lower": 0.05473719902738222, "delta_qalys_upper": 0.06730489054769208,
            "icer": 74026.64249008555, "icer_lower": 24666.56463628854, "icer_upper": 134527.70788049267,
            "verdict": "more QALYs for more money", "nmb_20000": -3296.762171107768,
            "nmb_20000_lower": -6279.995335958464, "nmb_20000_upper": -313.52900625707207,
            "nmb_30000": -2686.5517232323964, "nmb_30000_lower": -5731.449934723429,
            "nmb_30000_upper": 358.3464882586354}


def _ed_rows() -> tuple[pd.DataFrame, pd.DataFrame]:
    diffs = pd.DataFrame([
        {"kpi": "cost_per_year", "label": "Total cost", "unit": "GBP per year", "scenario": "ed_integrated",
         "baseline": "ed_fragmented", "baseline_mean": 2.195e7, "diff_mean": 4.86e6, "diff_lower": 1.71e6,
         "diff_upper": 8.02e6, "n": 3, "pct_mean": 22.0, "pct_lower": 8.0, "pct_upper": 36.0},
        {"kpi": "wait_to_treatment_median", "label": "Referral to treatment, median", "unit": "days",
         "scenario": "ed_integrated", "baseline": "ed_fragmented", "baseline_mean": 29.1, "diff_mean": -17.1,
         "diff_lower": -19.9, "diff_upper": -14.3, "n": 3, "pct_mean": -59.0, "pct_lower": -68.0,
         "pct_upper": -49.0}])
    summary = pd.DataFrame([{"kpi": r.kpi, "scenario": s, "mean": r.baseline_mean + (r.diff_mean if s != "ed_fragmented"
                                                                                        else 0), "n": 3}
                            for r in diffs.itertuples() for s in ("ed_fragmented", "ed_integrated")])
    return diffs, summary


# ----------------------------------------------------------------------------- 1. value for money first
def test_value_for_money_is_on_a_comparisons_first_screen():
    """The ICER and the net monetary benefit came after some 30 bullets; now a short paragraph
    under the headline gives them, with their intervals, read in plain words."""
    diffs, summary = _ed_rows()
    html = compare_summary_html(summary, diffs, "ed_fragmented", ce=pd.DataFrame([ED_VALUE]))
    text = unescape(html)
    assert "Value for money" in text
    first = text.index("Value for money")
    assert first < text.index("For patients") and first < text.index('class="tiles"')
    value = text[first:text.index("</p>", first)]
    # the numbers of cost_effectiveness.csv, as the value-for-money section writes them
    assert "costs £4,517 more (95% CI +£1,657 to +£7,377)" in value
    assert "gains 0.061 QALYs (95% CI +0.055 to +0.067)" in value
    assert "an ICER of <strong>£74,000 per QALY gained</strong> (95% CI £24,700 to £135,000)" in value
    # read in plain words at each threshold, from the net monetary benefit's interval
    assert "at £20,000 per QALY, <strong>not worth it</strong> (net monetary benefit −£3,297" in value
    assert "at £30,000 per QALY, <strong>not clearly either way" in value
    assert "#value" in value


def test_no_value_for_money_paragraph_without_a_health_block():
    diffs, summary = _ed_rows()
    assert "Value for money" not in compare_summary_html(summary, diffs, "ed_fragmented")


def test_a_cheaper_scenario_that_gains_reads_as_worth_it():
    diffs, summary = _ed_rows()
    row = {**ED_VALUE, "delta_cost": -500.0, "delta_cost_lower": -800.0, "delta_cost_upper": -200.0,
           "verdict": "dominant (more QALYs for less money)", "nmb_20000": 1720.0, "nmb_20000_lower": 1300.0,
           "nmb_20000_upper": 2100.0, "nmb_30000": 2330.0, "nmb_30000_lower": 1900.0, "nmb_30000_upper": 2700.0}
    value = unescape(compare_summary_html(summary, diffs, "ed_fragmented", ce=pd.DataFrame([row])))
    assert "costs £500 less (95% CI −£800 to −£200)" in value
    assert "dominant (more QALYs for less money)" in value and "ICER of" not in value
    assert "at £20,000 per QALY, <strong>worth it</strong>" in value


# ----------------------------------------------------------------------------- 2. long names wrap
def test_long_scenario_names_wrap_in_the_tiles():
    """``ed_integrated_at_ed_fragmented_budget → ...`` ran out of its tile: a grid item is as wide
    as its longest word unless it may shrink and break it."""
    css = (Path(__file__).parents[1] / "src" / "icssim" / "templates" / "report.css").read_text()
    rule = css.split("\n.tile {", 1)[1].split("}", 1)[0]
    assert "min-width: 0" in rule and "overflow-wrap: anywhere" in rule
    assert any("overflow-wrap: anywhere" in line and "h3" in line and ".headline" in line
               for line in css.splitlines())
    # and a long name breaks after an underscore; a short one only at spaces
    from icssim.report.compare import _breakable

    long = "ed_integrated_at_ed_fragmented_budget"
    assert (_breakable(f"ed_fragmented 29.1 → {long} 12.0", ("ed_fragmented", long))
            == "ed_fragmented 29.1 → ed_<wbr>integrated_<wbr>at_<wbr>ed_<wbr>fragmented_<wbr>budget 12.0")


# ----------------------------------------------------------------------------- 4. total and activity cost
def test_total_cost_below_activity_cost_is_explained_where_both_are_shown():
    """The LTC comparison showed a total cost of £4.59 million above an activity cost of £6.15
    million with no word on why (teams at their establishment, all care at unit costs)."""
    from icssim.report.compare import compare_table_html, differences_table_html

    rows = []
    for kpi, label, base, diff in (("cost_per_year", "Total cost", 4.59e6, 13.77e6),
                                   ("activity_cost_per_year", "Activity cost (all care at unit costs)", 6.15e6,
                                    20.86e6)):
        rows.append({"kpi": kpi, "label": label, "unit": "GBP per year", "scenario": "ltc_depression_integrated",
                     "baseline": "ltc_depression_fragmented", "baseline_mean": base, "diff_mean": diff,
                     "diff_lower": diff * 0.99, "diff_upper": diff * 1.01, "n": 3, "pct_mean": 100 * diff / base,
                     "pct_lower": 99 * diff / base, "pct_upper": 101 * diff / base})
    diffs = pd.DataFrame(rows)
    summary = pd.DataFrame([{"kpi": r.kpi, "label": r.label, "unit": r.unit, "scenario": s,
                             "mean": r.baseline_mean + (r.diff_mean if s != r.baseline else 0),
                             "lower": 0.0, "upper": 0.0, "n": 3}
                            for r in diffs.itertuples() for s in (r.baseline, r.scenario)])
    for html in (compare_table_html(summary, ["ltc_depression_fragmented", "ltc_depression_integrated"]),
                 differences_table_html(diffs)):
        text = unescape(html)
        assert "Total cost and activity cost" in text
        assert "each staffed team once, at its staff establishment" in text
        assert "the activity cost is the higher" in text
        assert ("<td>Total cost (each team at its staff establishment, other care at unit costs; see the note)</td>"
                in text)
    only_total = summary[summary["kpi"] == "cost_per_year"]
    assert "activity cost" not in compare_table_html(only_total, ["ltc_depression_fragmented"])


# ----------------------------------------------------------------------------- 5. a PSA's draws with units
def test_each_draw_of_a_psa_shows_its_values_with_their_units(tmp_path):
    """The "each draw" table showed 1589.12 and 47.6042 for costs, bare, beside hazards written
    with their unit: every value now carries the unit the sweep file gives (``unit:``) or its cell
    was written with, to three significant figures."""
    from icssim.report.sweep import points_html
    from icssim.report.sweep_data import SweepData

    params = {"health.events.emergency_admission.cost": {"dist": "gamma", "mean": 1979, "sd": 198,
                                                         "label": "Emergency admission cost", "unit": "GBP"},
              "services.tt_low.staff.pwp.cost_per_hour": {"dist": "gamma", "mean": 44, "sd": 4.4,
                                                          "label": "PWP cost per hour", "unit": "GBP"},
              "health.transitions.4.rate": {"dist": "gamma", "mean": 0.02, "sd": 0.008,
                                            "label": "Relapse hazard after recovery", "unit": "per month"},
              "health.states.depressed.utility": {"dist": "beta", "mean": 0.55, "sd": 0.03,
                                                  "label": "Utility depressed"},
              "health.transitions.0.rate.treated": {}}
    pd.DataFrame([{"point": 0, "base": "fragmented", "health.events.emergency_admission.cost": 1916.9066204,
                   "services.tt_low.staff.pwp.cost_per_hour": 47.60424358, "health.transitions.4.rate": 0.011431,
                   "health.states.depressed.utility": 0.55712266,
                   "health.transitions.0.rate.treated": "0.251255 per month"}]).to_csv(tmp_path / "points.csv",
                                                                                        index=False)
    pd.DataFrame([{"point": 0, "kpi": "qalys_per_person", "mean": 2.74, "lower": 2.7, "upper": 2.78, "n": 3,
                   "unit": "QALYs"},
                  {"point": 0, "kpi": "deaths_per_1000", "mean": 190.0, "lower": 185.0, "upper": 195.0, "n": 3,
                   "unit": "per 1,000 help-seekers"}]).to_csv(tmp_path / "summary.csv", index=False)
    d = SweepData(tmp_path, {"design": "psa", "parameters": params, "kpis": ["qalys_per_person", "deaths_per_1000"]})
    cells = unescape(points_html(d))
    for shown in ("<td>£1,917</td>", "<td>£47.60</td>", "<td>0.0114 per month</td>", "<td>0.557</td>",
                  "<td>0.251 per month</td>"):
        assert shown in cells, shown
    assert "1916.9" not in cells and "47.6042" not in cells
    # a measure's cells leave out its unit: the header gives it
    assert "(per 1,000 help-seekers)</th>" in cells


# ----------------------------------------------------------------------------- 3. ids out of the tables
def _run_data(tmp_path):
    from helpers import shipped

    from icssim.report.numbers import estimates
    from icssim.report.pieces import RunData

    kpis = pd.DataFrame([{"kpi": k, "mean": m, "lower": m * 0.99, "upper": m * 1.01, "n": 3}
                         for k, m in (("cost_per_year", 4.59e6), ("activity_cost_per_year", 6.15e6),
                                      ("wait_to_treatment_median", 53.9))])
    return RunData(tmp_path, {"replications": 3}, scenario=shipped("ltc_depression_fragmented"), kpis=kpis,
                   est=estimates(kpis))


def test_a_run_reports_kpi_tables_name_measures_in_words_with_the_id_on_hovering(tmp_path):
    """The KPI tables had a column of ids (``wait_to_treatment_median``) beside each measure; the
    id a user types is now on the measure (a tooltip) and named in the note, not a column."""
    from icssim.report.run import kpi_tables_html

    html = kpi_tables_html(_run_data(tmp_path))
    assert "KPI name" not in html and '<td class="code">' not in html
    assert '<span title="wait_to_treatment_median">Referral to treatment, median</span>' in html
    assert "kpis.csv" in html
    # the run's total cost beside its activity cost says how each prices the teams
    assert "Total cost (each team at its staff establishment" in html
    assert "Total cost and activity cost" in unescape(html)


def test_what_differs_names_parts_by_their_labels_not_their_ids(tmp_path):
    """The table of parts only some scenarios have showed a blank label for services whose label
    was not among the stored parameters, and the values that differ were named only by key path."""
    from helpers import shipped

    from icssim.report.compare_inputs import input_diff_html
    from icssim.report.pieces import RunData

    runs = []
    for name in ("ed_fragmented", "ed_integrated"):
        folder = tmp_path / name
        folder.mkdir()
        pd.DataFrame([{"path": "services.day_care.cost_per_contact" if name == "ed_integrated"
                       else "services.adult_day_care.cost_per_contact", "value": "300", "source": ""},
                      {"path": "pathway.steps.gp.next[0].p", "value": "0.7" if name == "ed_fragmented" else "0.8",
                       "source": ""}]).to_csv(folder / "parameters.csv", index=False)
        runs.append((name, RunData(folder, {}, scenario=shipped(name))))
    text = unescape(input_diff_html(runs))
    assert "<td>Service: Eating disorder day care / intensive community support</td>" in text
    assert "<td>Service: Adult specialist eating disorder day care</td>" in text
    assert "<td>GP consultation: route 1, probability</td>" in text
    assert '<td class="code">pathway.steps.gp.next[0].p</td>' in text   # (the key to find it by, last)


def test_a_measure_named_after_a_service_reads_its_label_not_its_id():
    """"Cost per help-seeker of ltc_clinic contacts over the follow-up (discounted): Diabetes,
    respiratory or cardiac clinic" named the service twice, once by its id."""
    from helpers import shipped

    from icssim.report.labels import kpi_label

    s = shipped("ltc_depression_fragmented")
    assert kpi_label("follow_up_cost_ltc_clinic", s) == ("Cost per help-seeker of Diabetes, respiratory or cardiac "
                                                         "clinic contacts over the follow-up (discounted)")
    assert kpi_label("cost_per_year_ltc_clinic", s) == "Cost per year: Diabetes, respiratory or cardiac clinic"


# ----------------------------------------------------------------------------- 7. a comparison's first screen
def _std_row(kpi: str, base: float, diff: float, scenario: str = "ed_integrated") -> dict:
    return {"kpi": kpi, "label": f"Within standard: {kpi[len('within_'):]}", "unit": "share", "scenario": scenario,
            "baseline": "ed_fragmented", "baseline_mean": base, "diff_mean": diff, "diff_lower": diff - 0.05,
            "diff_upper": diff + 0.05, "n": 3, "pct_mean": 100 * diff / base, "pct_lower": 0.0, "pct_upper": 0.0}


def test_a_standard_is_named_by_the_scenario_that_declares_it():
    """The first screen named every standard in the baseline's words: a standard the variant alone
    declares, or words it differently, fell back to its id ("Within standard: ward_2_weeks")."""
    from helpers import shipped

    base = shipped("ed_fragmented")
    variant = shipped("ed_integrated", **{
        "scenario.standards.ward_2_weeks": {"label": "Ward referrals: treatment within 2 weeks", "within": "2 weeks"},
        "scenario.standards.cyp_urgent_1_week.label": "Urgent CYP-ED referrals, as the variant words it"})
    diffs = pd.DataFrame([_std_row("within_ward_2_weeks", 0.5, 0.3), _std_row("within_cyp_urgent_1_week", 0.6, 0.3)])
    summary = pd.DataFrame([{"kpi": r.kpi, "scenario": s, "mean": r.baseline_mean + (r.diff_mean if s != r.baseline
                                                                                     else 0), "n": 3}
                            for r in diffs.itertuples() for s in (r.baseline, r.scenario)])
    html = unescape(compare_summary_html(summary, diffs, "ed_fragmented", base,
                                         {"ed_fragmented": base, "ed_integrated": variant}))
    tiles = html.split('<div class="tiles">')[1].split("<h4>")[0]
    patients = html.split("<h4>For patients</h4>")[1].split("<h4>")[0]
    headline = html.split('<p class="headline">')[1].split("</p>")[0]
    for part in (tiles, patients, headline):
        assert "Ward referrals: treatment within 2 weeks" in part
        assert "Urgent CYP-ED referrals, as the variant words it" in part
        assert "ward_2_weeks" not in part
    # a standard only one scenario has has no paired difference (differences.csv pairs what both
    # have): the first screen says so rather than leave it out without a word
    summary = summary[(summary["kpi"] != "within_ward_2_weeks") | (summary["scenario"] == "ed_integrated")]
    html = unescape(compare_summary_html(summary, diffs[diffs["kpi"] != "within_ward_2_weeks"], "ed_fragmented",
                                         base, {"ed_fragmented": base, "ed_integrated": variant}))
    patients = html.split("<h4>For patients</h4>")[1].split("<h4>")[0]
    assert ("<strong>Ward referrals: treatment within 2 weeks (target 95%)</strong>: 80% in ed_integrated — only "
            "ed_integrated has this standard, so it has no paired difference.") in patients


def test_the_tiles_name_the_two_scenarios_once_above_them():
    """Each tile read "ed_fragmented 29.1 → ed_integrated 12.0": both names in every tile. One line
    above the tiles names them; a tile gives the two values only."""
    diffs, summary = _ed_rows()
    html = compare_summary_html(summary, diffs, "ed_fragmented")
    key, tiles = html.split('<div class="tiles">')
    key = key.rsplit('<p class="note tiles-key">', 1)[1]
    assert "Each tile: ed_fragmented → ed_integrated, the difference with its 95% CI." in key
    tiles = tiles.split("<h4>")[0]
    assert "ed_fragmented" not in tiles and "ed_integrated" not in tiles
    assert '<span class="ci">29.1 → 12.0 days</span>' in tiles
    assert '<span class="ci">£21.95 million → £26.81 million</span>' in tiles   # (a year: in the tile's label)
    # a long name may still break in the line that names it
    long = "ed_integrated_at_ed_fragmented_budget"
    diffs["scenario"] = long
    summary["scenario"] = summary["scenario"].replace("ed_integrated", long)
    html = compare_summary_html(summary, diffs, "ed_fragmented")
    assert "ed_fragmented → ed_<wbr>integrated_<wbr>at_<wbr>ed_<wbr>fragmented_<wbr>budget" in html


def test_the_shipped_eating_disorder_standards_have_labels_of_their_own():
    """Without a label the ED standards read "Urgent children and young people (under 18): …" from
    the cohort's label; each has one in the words of the CYP-ED access and waiting time standard,
    the same in every ED scenario."""
    from helpers import SCENARIOS

    from icssim.report.run_text import standard_label
    from icssim.scenario import load_scenario

    base = load_scenario(SCENARIOS / "ed_fragmented.yaml").scenario.standards
    for path in sorted(SCENARIOS.glob("ed_*.yaml")):
        s = load_scenario(path)
        assert s.scenario.standards, path.name
        assert all(std.label for std in s.scenario.standards.values()), path.name
        # the baseline's standards read the same everywhere; a file may add its own (ed_freed's FREED ones)
        assert {name: s.scenario.standards[name].label for name in base} == {
            name: std.label for name, std in base.items()}, path.name
    s = load_scenario(SCENARIOS / "ed_fragmented.yaml")
    assert standard_label("within_cyp_urgent_1_week", s) == (
        "Urgent CYP-ED referrals: treatment within 1 week (target 95%)")
    assert standard_label("within_cyp_routine_4_weeks", s) == (
        "Routine CYP-ED referrals: treatment within 4 weeks (target 95%)")
