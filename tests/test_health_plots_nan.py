"""A comparison with a ``health:`` block where one scenario has no help-seekers: its cost and
QALYs per help-seeker are not numbers, and the comparison must still be written (the
cost-effectiveness plane crashed on NaN axis limits, exit 70, and every replication was lost),
with the plane saying what it leaves out and the value-for-money words saying n/a."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from catalogue import HEALTHY, edit
from helpers import run_cli
from icssim.health.economics import verdict
from icssim.health.plots import ce_plane, psa_plane
from icssim.plots import plt
from icssim.report.economics import value_sentence

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
        assert "Nothing to plot: tiny has no mean cost or QALYs per help-seeker" in _texts(fig)
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
