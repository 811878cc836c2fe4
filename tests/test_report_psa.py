"""The PSA's answer in the report (icssim.report.psa), from a psa.json written by hand."""

from __future__ import annotations

import re
from html import unescape

from icssim.report.psa import psa_html, share

ANSWER = {
    "baseline": "fragmented", "draws": 200,
    "population": {"people_per_year": 1080.0, "years": 10, "discount_rate": 0.035, "given": False,
                   "people": 9296.0},
    "incremental": [{"strategy": "integrated", "baseline": "fragmented", "draws": 200, "delta_cost": -312.4,
                     "delta_qalys": 0.0841, "icer": -3714.6}],
    "at_thresholds": [{"wtp": 20000.0, "best": "integrated",
                       "probability_best": {"fragmented": 0.03, "integrated": 0.97},
                       "evpi_per_person": 11.2, "evpi_population": 104_115.2}],
    "evppi": [{"group": "Adult bed-day cost", "wtp": 20000.0, "evppi_per_person": 0.4, "evppi_population": 3718.4},
              {"group": "Utility severely ill", "wtp": 20000.0, "evppi_per_person": 6.3,
               "evppi_population": 58_564.8},
              {"group": "Relapse hazard", "wtp": 20000.0, "evppi_per_person": 0.00001, "evppi_population": 0.09}],
    "variance": [{"strategy": "fragmented", "share_parameters": 0.62},   # (a psa.json from before "kpi")
                 {"strategy": "integrated against fragmented", "kpi": "net_benefit_at_20000",
                  "share_parameters": 0.55}],
}


def test_the_answer_in_words():
    html = unescape(psa_html(ANSWER))
    assert ("Over 200 parameter draws, <strong>integrated</strong> against fragmented costs £312 less and gains "
            "+0.084 QALYs per help-seeker on average: it is dominant on average") in html
    assert ("At £20,000 per QALY, <strong>integrated</strong> has the highest expected net benefit, and the highest "
            "net benefit in <strong>97%</strong> of the draws. Perfect information would be worth £11 per "
            "help-seeker, £104,000 for the people the decision affects.") in html
    assert "1,080 people a year (the baseline scenario's help-seekers a year) for 10 years: 9,296 people" in html
    assert ("<tr><td>QALYs per help-seeker</td><td>fragmented</td><td class=num>62%</td><td class=num>38%</td>"
            "</tr>") in html
    assert ("<tr><td>the net benefit per help-seeker at £20,000 per QALY</td><td>integrated against fragmented</td>"
            "<td class=num>55%</td><td class=num>45%</td></tr>") in html


def test_parameters_worth_learning_about_come_largest_first():
    table = psa_html(ANSWER).split("<table>")[1]
    assert table.index("Utility severely ill") < table.index("Adult bed-day cost") < table.index("Relapse hazard")
    assert "£6 <span class=note>(£58,600 in all)</span>" in table
    assert "<td class=num>£0</td>" in table   # nothing worth learning: no population figure beside it


def test_a_psa_json_from_before_the_population_still_reads():
    old = {k: v for k, v in ANSWER.items() if k != "population"}
    old["at_thresholds"] = [{k: v for k, v in ANSWER["at_thresholds"][0].items() if k != "evpi_population"}]
    html = psa_html(old)
    assert "Perfect information would be worth £11 per help-seeker." in html and "Population figures" not in html


def test_a_probability_never_rounds_its_doubt_away():
    assert [share(p) for p in (0.997, 1.0, 0.003, 0.0, 0.5)] == ["over 99%", "100%", "under 1%", "0%", "50%"]


def test_when_no_parameter_is_worth_learning_the_report_says_so():
    quiet = {**ANSWER, "evppi": [{**r, "evppi_per_person": 0.001, "evppi_population": 9.3} for r in ANSWER["evppi"]]}
    assert "No parameter's EVPPI reaches £1 per help-seeker" in unescape(psa_html(quiet))
    assert "No parameter's EVPPI" not in unescape(psa_html(ANSWER))


def test_a_group_is_named_with_its_parameters_and_one_too_large_is_said_not_estimated():
    grouped = {**ANSWER,
               "evppi": [*ANSWER["evppi"], {"group": "columns of post.csv set in every strategy", "wtp": 20000.0,
                                            "evppi_per_person": 2.0, "evppi_population": 18_592.0}],
               "evppi_groups": {"columns of post.csv set in every strategy": ["Beds", "Deterioration"],
                                "all columns of post.csv": ["Beds", "Deterioration", "Hand-off"]},
               "evppi_not_estimated": [{"group": "all columns of post.csv", "draws_needed": 220},
                                       {"group": "Relapse hazard twice", "draws_needed": 400}]}
    html = unescape(psa_html(grouped))
    assert "<strong>columns of post.csv set in every strategy</strong>: Beds, Deterioration.</li>" in html
    assert ("<strong>all columns of post.csv</strong>: Beds, Deterioration, Hand-off. <em>Not estimated: it needs "
            "220 draws, this PSA has 200.</em>") in html
    assert "Not estimated, too few draws: Relapse hazard twice alone (needs 400 draws each)." in html
    many = {**grouped, "evppi_not_estimated": [{"group": f"p{i}", "draws_needed": 40} for i in range(9)]}
    assert "Not estimated, too few draws: each of 9 parameters alone (needs 40 draws each)." in unescape(
        psa_html(many))
    assert "The groups of parameters" not in unescape(psa_html(ANSWER))   # a psa.json without groups: nothing said


def test_the_console_and_the_report_round_the_psa_answer_alike():
    """One rounding of money for both (icssim.report.numbers.pounds): the console said +£3,844 and
    ICER £58,307 where the report said £3,840 more and £58,300 per QALY."""
    from icssim.health.psa_outputs import answer_text

    answer = {**ANSWER,
              "incremental": [{"strategy": "integrated", "baseline": "fragmented", "draws": 200,
                               "delta_cost": 3844.2, "delta_qalys": 0.0659, "icer": 58_307.4}],
              "at_thresholds": [{**ANSWER["at_thresholds"][0], "evpi_per_person": 118.4,
                                 "evpi_population": 1_100_654.0}],
              "evppi": [{**ANSWER["evppi"][1], "evppi_per_person": 1234.5, "evppi_population": 11_475_912.0}]}
    console = " ".join(answer_text(answer).split())
    report = unescape(psa_html(answer))
    assert "+£3,840 and +0.066 QALYs" in console and "costs £3,840 more and gains +0.066 QALYs" in report
    assert "ICER £58,300 per QALY" in console and "an ICER of £58,300 per QALY" in report
    assert "EVPI £118 per person, £1.10 million for 1,080 people" in console
    assert "worth £118 per help-seeker, £1.10 million for the people" in report
    assert "Utility severely ill (EVPPI £1,230 per person)" in console and "£1,230 <span" in report
    amounts = re.compile(r"£\d[\d,]*(?:\.\d+)?(?: million)?")
    assert set(amounts.findall(console)) <= set(amounts.findall(report))



def test_the_psa_console_and_the_compare_report_write_one_minus_sign():
    """The PSA's console wrote "-£1,520" (a hyphen, icssim.report.psa.signed_pounds) where the
    compare report wrote "−£6,303" (U+2212, its own _change): both now call
    icssim.report.numbers.signed_money."""
    import pandas as pd

    from icssim.console_text import format_value_for_money
    from icssim.health.psa_outputs import answer_text

    answer = {**ANSWER, "incremental": [{**ANSWER["incremental"][0], "delta_cost": -1523.4, "icer": -18_000.0}]}
    console = " ".join(answer_text(answer).split())
    assert "mean over the draws: \u2212£1,520 and +0.084 QALYs per help-seeker" in console
    row = {"scenario": "b", "baseline": "a", "n": 3, "delta_cost": -1523.4, "delta_cost_lower": -2001.0,
           "delta_cost_upper": -1046.0, "delta_qalys": 0.084, "delta_qalys_lower": 0.08, "delta_qalys_upper": 0.09,
           "icer": -18_000.0, "verdict": "dominant: more QALYs for less money",
           "nmb_20000": 3203.4, "nmb_20000_lower": 2700.0, "nmb_20000_upper": 3700.0}
    report = " ".join(format_value_for_money(pd.DataFrame([row])).split())
    assert "cost \u2212£1,523 (95% CI \u2212£2,001 to \u2212£1,046)" in report
    assert "-£" not in console + report


def test_signed_money_signs_as_every_difference_is_signed():
    """One writer of signed money, with fmt_diff's minus sign (U+2212) and its rule that what rounds
    to zero has no sign; to the pound, or rounded as a PSA's answer is (icssim.report.numbers.pounds)."""
    from icssim.report.numbers import MINUS, fmt_diff, signed_money

    assert MINUS == "\u2212" and fmt_diff(-2.0, "days").startswith(MINUS)
    assert signed_money(-6303.4) == MINUS + "£6,303" and signed_money(4517.2) == "+£4,517"
    assert signed_money(-1523.4, rounded=True) == MINUS + "£1,520" and signed_money(3844.2, rounded=True) == "+£3,840"
    assert signed_money(-57_400.0, plus=False) == MINUS + "£57,400" and signed_money(20_000.0, plus=False) == "£20,000"
    assert signed_money(-0.4) == "£0" and signed_money(float("nan")) == "n/a"   # no "−£0"


def test_a_qaly_difference_is_signed_as_money_is_in_the_console_and_both_reports():
    """The PSA's console and report wrote a QALY loss "-0.003" (a hyphen) beside "−£1,520": every
    signed QALY difference is now icssim.report.numbers.signed_qalys's."""
    from icssim.health.psa_outputs import answer_text
    from icssim.report.numbers import MINUS, signed_qalys

    assert signed_qalys(-0.003) == MINUS + "0.003" and signed_qalys(0.047) == "+0.047"
    assert signed_qalys(-0.0002) == "0.000" and signed_qalys(float("nan")) == "n/a"   # no "−0.000"
    answer = {**ANSWER, "incremental": [{**ANSWER["incremental"][0], "delta_cost": 1523.4, "delta_qalys": -0.003}]}
    console = " ".join(answer_text(answer).split())
    assert f"+£1,520 and {MINUS}0.003 QALYs per help-seeker" in console and "-0.003" not in console
