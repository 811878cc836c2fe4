"""What a wrong number is told, said once and in its key's terms: a per-diagnosis mapping's wrong
member is one problem (not a second about the mapping), a utility or rate ratio typed as a
percentage is told its own scale (not "a share" or "without %", which would give 85 for 0.85),
and a PSA distribution's mistake is named by the line of the sub-key at fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import SCENARIOS
from icssim.cli import main
from icssim.errors import ScenarioError
from icssim.sweep.spec import load_sweep

STATE = "health.states.ill_moderate"


def _child(tmp_path: Path, health: str) -> Path:
    """A scenario extending the shipped ED one with ``health`` (YAML lines under ``health:``)."""
    path = tmp_path / "child.yaml"
    path.write_text(f"extends: {SCENARIOS}/ed_fragmented.yaml\nhealth:\n{health}")
    return path


def _problems(path: Path, capsys) -> list[str]:
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return [line.strip() for line in err.splitlines()[1:]]


@pytest.mark.parametrize("utility, expected", [
    ("{anorexia: 1.4, bulimia: 0.75, binge_eating: 0.8, osfed: 0.8}",
     f"{STATE}.utility.anorexia: expected a number at most 1, found 1.4"),
    ("{anorexia: 85%, bulimia: 0.75, binge_eating: 0.8, osfed: 0.8}",
     f"{STATE}.utility.anorexia: expected a number, found '85%' (a utility is not a percentage: 1 is full health "
     "and 0 death; 85% of full health is written 0.85)"),
])
def test_a_per_diagnosis_mapping_s_wrong_member_is_one_problem(tmp_path, capsys, utility, expected):
    path = _child(tmp_path, f"  states:\n    ill_moderate:\n      utility: {utility}\n")
    assert _problems(path, capsys) == [f"{path}:5: {expected}"]


@pytest.mark.parametrize("key, value, hint", [
    ("utility", "85%", "(a utility is not a percentage: 1 is full health and 0 death; 85% of full health is written "
                       "0.85)"),
    ("utility", "85", "found 85 (a utility is not a percentage: 1 is full health and 0 death; 85% of full health "
                      "is written 0.85)"),
    ("mortality_rr", "150%", "(a rate ratio is not a percentage: 1 is the general population's rate; 150% of it is "
                             "written 1.5)"),
])
def test_a_percentage_where_a_utility_or_rate_ratio_goes_is_told_its_scale(tmp_path, capsys, key, value, hint):
    path = _child(tmp_path, f"  states:\n    remitted_early:\n      {key}: {value}\n")
    problems = _problems(path, capsys)
    assert len(problems) == 1 and problems[0].endswith(hint), problems
    assert "share of 1" not in problems[0] and "without %" not in problems[0]


def test_a_utility_a_little_above_1_is_not_taken_for_a_percentage(tmp_path, capsys):
    path = _child(tmp_path, "  states:\n    remitted_early:\n      utility: 1.4\n")
    assert _problems(path, capsys) == [f"{path}:5: health.states.remitted_early.utility: expected a number at most 1, "
                                       "found 1.4"]


def _psa(tmp_path: Path, parameter: str) -> Path:
    path = tmp_path / "psa.yaml"
    path.write_text(f"""sweep: {{name: lines, seed: 5, replications: 1}}
base: {{fragmented: {SCENARIOS}/ed_fragmented.yaml, integrated: {SCENARIOS}/ed_integrated.yaml}}
design: psa
samples: 2
parameters:
  {STATE}.utility.anorexia:
{parameter}kpis: [qalys_per_person]
""")
    return path


@pytest.mark.parametrize("lines, line, key, words", [
    ("    dist: beta\n    mean: 0.75\n    sd: 0.5\n", 9, "sd",
     "a beta distribution with mean 0.75 needs sd below 0.433"),
    ("    dist: beta\n    mean: 1.75\n    sd: 0.05\n", 8, "mean", "needs a mean between 0 and 1, found 1.75"),
    ("    dist: gamma\n    sd: 0.05\n    mean: -1\n", 9, "mean", "a gamma distribution (a cost, rate or duration) "
                                                             "needs a mean above 0"),
    ("    dist: beta\n    mean: 0.75\n    sd: 0.05\n    low: 0.5\n", 10, "low",
     "a beta distribution on a range needs both 'low' and 'high'"),
    ("    dist: gamma\n    mean: 0.75\n    sd: 0.05\n    values: [1]\n", 10, "values", "takes 'mean' and 'sd'"),
    ("    dist: beta\n    mean: 75%\n    sd: 0.05\n", 8, "mean", "found '75%' (a utility is not a percentage"),
])
def test_a_distribution_s_mistake_is_named_by_the_line_of_its_sub_key(tmp_path, lines, line, key, words):
    path = _psa(tmp_path, lines)
    with pytest.raises(ScenarioError) as info:
        load_sweep(path)
    [problem] = info.value.problems
    assert (problem.file, problem.line, problem.path) == (str(path), line, f"parameters.{STATE}.utility.anorexia.{key}")
    assert words in problem.message


@pytest.mark.parametrize("value, hint", [(85, " (85% is written 0.85)"), (5, " (5% is written 0.05)"),
                                         (1.7, ""), (150, "")])
def test_a_probability_above_1_is_told_it_as_a_percentage_only_where_it_may_be_one(value, hint):
    """1.7 is a slip (0.17? 0.7?), not 1.7%: "1.7% is written 0.017" would mislead."""
    from icssim.scenario.messages import percent_hint

    assert percent_hint(value) == hint
