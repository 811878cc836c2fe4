"""A comparison with a ``health:`` block where one scenario has no help-seekers: its cost and
QALYs per help-seeker are not numbers, and the comparison must still be written (the
cost-effectiveness plane crashed on NaN axis limits, exit 70, and every replication was lost),
with the plane saying what it leaves out and the value-for-money words saying n/a."""

from __future__ import annotations

import contextlib
import html
import io
import math
import re

import numpy as np
import pandas as pd
import pytest

from catalogue import HEALTHY, edit
from helpers import run_cli
from icssim.cli import main
from icssim.health.economics import verdict
from icssim.health.plots import ce_plane, psa_plane
from icssim.plots import plt
from icssim.report.compare_text import forest_left_out
from icssim.report.economics import plane_caption, value_sentence
from icssim.report.pieces import PLOT_CAPTIONS

NAN = math.nan


def _texts(fig) -> str:
    return " ".join(t.get_text() for ax in fig.axes for t in ax.texts).replace("\n", " ")


def _summary(name: str, cost: float, qalys: float) -> pd.DataFrame:
    return pd.DataFrame([{"scenario": name, "delta_cost": cost, "delta_cost_lower": cost - 1,
                          "delta_cost_upper": cost + 1, "delta_qalys": qalys, "delta_qalys_lower": qalys - 0.01,
                          "delta_qalys_upper": qalys + 0.01}])


def test_a_plane_with_nothing_to_plot_says_so():
    points = {"tiny": pd.DataFrame({"delta_qalys": [NAN, NAN], "delta_cost": [NAN, NAN]})}
    fig = ce_plane(points, _summary("tiny", NAN, NAN), "base", (20_000.0, 30_000.0))
    try:
        assert "Nothing to plot: tiny has no cost or QALYs per help-seeker" in _texts(fig)
    finally:
        plt.close(fig)


def test_a_plane_leaves_out_only_the_scenario_without_numbers():
    points = {"tiny": pd.DataFrame({"delta_qalys": [NAN, 0.02], "delta_cost": [NAN, 300.0]}),
              "good": pd.DataFrame({"delta_qalys": [0.01, 0.03], "delta_cost": [100.0, 500.0]})}
    summary = pd.concat([_summary("tiny", NAN, NAN), _summary("good", 300.0, 0.02)], ignore_index=True)
    fig = ce_plane(points, summary, "base", (20_000.0, 30_000.0))
    try:
        ax = fig.axes[0]
        assert all(np.isfinite(ax.get_xlim()))
        assert "Not plotted: tiny" in _texts(fig)
        labels = ax.get_legend_handles_labels()[1]
        assert "good: mean, 95% CI" in labels and not any(label.startswith("tiny") for label in labels)
    finally:
        plt.close(fig)


def test_a_psa_plane_of_draws_without_help_seekers_is_drawn():
    points = pd.DataFrame({"strategy": ["a", "a"], "delta_qalys": [NAN, NAN], "delta_cost": [NAN, NAN]})
    plt.close(psa_plane(points, "base", (20_000.0,)))


def test_value_for_money_without_numbers_is_n_a_not_a_quadrant():
    assert verdict(NAN, NAN, (NAN, NAN), (NAN, NAN)) == "n/a"
    row = pd.Series({"scenario": "tiny", "baseline": "base", "delta_cost": NAN, "delta_qalys": NAN,
                     "icer": NAN, "verdict": "n/a"})
    name, words = value_sentence(row)
    assert name == "tiny" and "value for money n/a" in words and "QALYs for" not in words


@pytest.mark.parametrize("tiny_first", [False, True])
def test_compare_with_a_scenario_without_help_seekers_is_written(tmp_path, tiny_first):
    base = tmp_path / "base.yaml"
    base.write_text(HEALTHY)
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text(edit("rate: 3 per day", "rate: 0.000001 per day",
                         edit("name: small", "name: tiny", HEALTHY)))
    files = [tiny, base] if tiny_first else [base, tiny]
    out = tmp_path / "out"
    code, err = run_cli(["compare", *map(str, files), "-n", "2", "-w", "1", "--out", str(out)])
    assert code == 0, err
    assert (out / "plots" / "ce_plane.png").is_file() and (out / "report.html").is_file()
    ce = pd.read_csv(out / "cost_effectiveness.csv", keep_default_na=False)
    assert list(ce["verdict"]) == ["n/a"]
    assert "value for money n/a" in (out / "report.html").read_text(encoding="utf-8")
    code, err = run_cli(["report", str(out)])   # and it reads back
    assert code == 0, err


def test_compare_with_some_replications_without_help_seekers_pairs_the_rest(tmp_path):
    """With 0.02 people a day over 50 days, some of six replications of ``sparse`` have no one: its
    value for money comes from the others, and the table, the terminal and the report say how many."""
    base, sparse = tmp_path / "base.yaml", tmp_path / "sparse.yaml"
    base.write_text(HEALTHY)
    sparse.write_text(edit("rate: 3 per day", "rate: 0.02 per day", edit("name: small", "name: sparse", HEALTHY)))
    out = tmp_path / "out"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(io.StringIO()):
        code = main(["compare", str(base), str(sparse), "-n", "6", "-w", "1", "--out", str(out)])
    assert code == 0
    ce = pd.read_csv(out / "cost_effectiveness.csv").iloc[0]
    n = int(ce["n"])
    assert 1 < n < 6 == ce["replications"], "the seed no longer gives a run with some (not all) replications empty"
    assert np.isfinite(ce[["delta_cost", "delta_qalys", "nmb_20000", "nmb_20000_lower"]].to_numpy(float)).all()
    said = f"from {n} of 6 paired replications"
    assert said in " ".join(stdout.getvalue().split())   # (wrapped at 100 characters)
    report = (out / "report.html").read_text(encoding="utf-8")
    assert said in report and "value for money n/a" not in report
    assert f"sparse: points and mean {said}" in _captions(report)["ce_plane.png"]


def _captions(report: str) -> dict[str, str]:
    """Each plot's caption in a report, by its file name (the figures' alt text is its stem)."""
    found = re.findall(r'<img src="data:image/png;base64,[^"]*" alt="([^"]*)".*?<figcaption>(.*?)</figcaption>',
                       report, re.S)
    return {alt.lower().replace(" ", "_") + ".png": html.unescape(cap) for alt, cap in found}


def test_a_plane_with_nothing_on_it_has_a_caption_saying_why():
    ce = pd.DataFrame([{"scenario": "tiny", "baseline": "base", "n": 0, "replications": 3,
                        "delta_cost": NAN, "delta_qalys": NAN}])
    generic = PLOT_CAPTIONS["ce_plane.png"]
    caption = plane_caption(ce, generic)
    assert caption.startswith("The cost-effectiveness plane could not be drawn: tiny has no cost or QALYs")
    assert "in no replication did anyone ask for help in both it and base" in caption
    assert "one point per paired replication" not in caption
    shown = pd.concat([ce, pd.DataFrame([{"scenario": "good", "baseline": "base", "n": 3, "replications": 3,
                                          "delta_cost": 1.0, "delta_qalys": 0.1}])], ignore_index=True)
    assert plane_caption(shown, generic).startswith(generic + " Not plotted: tiny has no cost")
    assert plane_caption(shown.iloc[1:], generic) == generic


def test_a_forest_plot_names_the_measures_a_scenario_has_no_value_for():
    diffs = pd.DataFrame([
        {"kpi": "cost_per_year", "scenario": "tiny", "diff_mean": -5.0, "pct_mean": -5.0},
        {"kpi": "qalys_per_person", "scenario": "tiny", "diff_mean": NAN, "pct_mean": NAN},
        {"kpi": "wait_to_treatment_median", "scenario": "tiny", "diff_mean": NAN, "pct_mean": NAN},
        {"kpi": "deaths_per_1000", "scenario": "tiny", "diff_mean": 0.0, "pct_mean": NAN},
        {"kpi": "ae_attendances_per_year", "scenario": "tiny", "diff_mean": 4.0, "pct_mean": NAN}])
    summary = pd.DataFrame([
        {"kpi": k, "scenario": scen, "mean": m} for k, means in {
            "cost_per_year": (100.0, 95.0), "qalys_per_person": (2.9, NAN), "wait_to_treatment_median": (NAN, NAN),
            "deaths_per_1000": (0.0, 0.0), "ae_attendances_per_year": (0.0, 4.0)}.items()
        for scen, m in zip(("base", "tiny"), means)])
    note = forest_left_out(diffs, summary, "base", None)
    assert "Left out for tiny (no value in tiny: in no replication was there anyone to measure): QALYs" in note
    assert "Left out for tiny (base's mean is 0, so a change has no percentage of it): A&E" in note
    assert "Total cost" not in note and "treatment" not in note and "Deaths" not in note   # drawn; neither has; 0 both
    # a measure one scenario's table lacks altogether has no row of differences, and is named too
    assert "tiny: in no replication was there anyone to measure): QALYs" in forest_left_out(
        diffs.iloc[:1], summary, "base", None)
    assert forest_left_out(diffs.iloc[:1], summary[summary["kpi"] == "cost_per_year"], "base", None) == ""


def test_compare_report_says_what_its_plane_and_forest_plot_could_not_draw(tmp_path):
    base, tiny = tmp_path / "base.yaml", tmp_path / "tiny.yaml"
    base.write_text(HEALTHY)
    tiny.write_text(edit("rate: 3 per day", "rate: 0.000001 per day", edit("name: small", "name: tiny", HEALTHY)))
    out = tmp_path / "out"
    code, err = run_cli(["compare", str(base), str(tiny), "-n", "2", "-w", "1", "--out", str(out), "-q"])
    assert code == 0, err
    captions = _captions((out / "report.html").read_text(encoding="utf-8"))
    assert captions["ce_plane.png"].startswith("The cost-effectiveness plane could not be drawn: tiny has no cost")
    assert "QALYs per help-seeker" in captions["forest.png"].split("Left out for tiny (no value in tiny")[1]


def test_a_plane_says_how_many_replications_a_scenario_s_points_leave_out():
    points = {"sparse": pd.DataFrame({"delta_qalys": [NAN, 0.02, 0.04], "delta_cost": [NAN, 300.0, 500.0]})}
    summary = _summary("sparse", 400.0, 0.03).assign(baseline="base", n=2, replications=3)
    fig = ce_plane(points, summary, "base", (20_000.0, 30_000.0))
    try:
        assert ("sparse: points and mean from 2 of 3 paired replications: in the other one, no one asked for "
                "help in sparse or in base.") in _texts(fig)
        plt.close(fig)
        fig = ce_plane(points, summary.assign(n=3), "base", (20_000.0,))
        assert _texts(fig) == ""
    finally:
        plt.close(fig)
