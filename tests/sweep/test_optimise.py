"""Goal-seek finds the known answer: the smallest c for an M/M/c to meet a wait target (Erlang C)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from icssim.cli import main
from icssim.errors import IcssimError
from icssim.sweep.optimise import Target, parse_objective, parse_target

WTE = "services.desk.staff.server.wte"
LAMBDA, MU, WITHIN_HOURS = 9.0, 1.0, 0.1       # mmc_small.yaml: 9 arrivals/hour, mean service 1 hour; 6 minutes


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with offered load a = lambda/mu."""
    top = a ** c / math.factorial(c) * c / (c - a)
    return top / (sum(a ** k / math.factorial(k) for k in range(c)) + top)


def share_within(c: int, t: float) -> float:
    """P(wait <= t) in an M/M/c queue."""
    return 1 - erlang_c(c, LAMBDA / MU) * math.exp(-(c * MU - LAMBDA) * t)


def test_goal_seek_finds_the_smallest_c_from_erlang_c(make_sweep, tmp_path, capsys):
    target = 0.85
    cs = list(range(11, 15))
    answer = min(c for c in cs if share_within(c, WITHIN_HOURS) >= target)
    assert answer == 13                              # 12 servers: 0.803; 13 servers: 0.894
    path = make_sweep({"sweep": {"name": "mmc_c", "seed": 5, "replications": 3},
                       "parameters": {WTE: cs}, "kpis": ["within_quick"]}, horizon=1200)
    out = tmp_path / "out"
    # 3 replications leave the CIs of 12 and 13 servers straddling the target: undecided points
    # cheaper than the best confirmed one get more replications (up to 16) until decided
    code = main(["optimise", str(path), "--out", str(out), "--target", f"within_quick >= {target}",
                 "--minimise", WTE, "--max-replications", "16", "-q"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    found = json.loads((out / "optimise.json").read_text())
    assert found["found"] and found["point"][WTE] == answer
    assert found["point"]["within_quick_lower"] >= target
    assert f": {WTE} 13" in printed and "falls short" in printed   # the sweep file gives no label
    table = pd.read_csv(out / "optimise.csv")
    by_c = table.set_index(WTE)
    # the simulation agrees with the closed form at every c (within its CI, widened a little)
    for c in cs:
        row = by_c.loc[c]
        slack = 0.01
        assert row["within_quick_lower"] - slack <= share_within(c, WITHIN_HOURS) <= row["within_quick_upper"] + slack
    assert by_c.loc[answer - 1, f"status[within_quick >= {target:g}]"] == "fails"
    assert by_c.loc[answer, "n"] > 3 and by_c["n"].max() <= 16     # evidence was added where needed
    assert by_c.loc[14, "n"] == 3                                    # but not to the dearer point
    # the sweep's own tables compare every point on the 3 replications they all have (paired), and
    # say how many runs optimise added beyond them
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["n"]) == {3}
    meta = json.loads((out / "metadata.json").read_text())
    added = int(by_c["n"].sum()) - 3 * len(cs)
    assert added > 0 and meta["runs_beyond_the_design"] == added
    assert meta["runs_stored"] == 3 * len(cs) + added and meta["complete"]
    assert pd.read_csv(out / "runs.csv")["replication"].max() >= 3    # the added runs are kept

    # a standard no point can meet: exit status 3 (done, no answer) and the closest points as evidence
    code = main(["optimise", str(path), "--out", str(out), "--target", "within_quick >= 0.99",
                 "--minimise", WTE, "-q"])
    assert code == 3
    assert "No point meets" in capsys.readouterr().out


def test_targets_and_objectives_are_parsed_or_refused():
    assert parse_target("within_routine_4_weeks >= 0.95") == Target("within_routine_4_weeks", ">=", 0.95)
    assert parse_target("wait_to_treatment_mean<28") == Target("wait_to_treatment_mean", "<", 28.0)
    t = Target("x", ">=", 0.9)
    assert (t.status(0.91, 0.95), t.status(0.85, 0.95), t.status(0.8, 0.89)) == ("meets", "undecided", "fails")
    t = Target("wait", "<=", 28)
    assert (t.status(20, 27), t.status(20, 30), t.status(29, 35)) == ("meets", "undecided", "fails")
    assert parse_objective("cost_per_year + 60000*services.a.staff.b.wte") == [
        (1.0, "cost_per_year"), (60000.0, "services.a.staff.b.wte")]
    with pytest.raises(IcssimError, match="expected 'KPI >= number'"):
        parse_target("within_quick is high")
    with pytest.raises(IcssimError, match="sum of"):
        parse_objective("cost_per_year * 2 - wte")


def test_unknown_target_kpi_is_refused_before_running(make_sweep, tmp_path, capsys):
    path = make_sweep({"parameters": {WTE: [10, 11]}, "kpis": ["within_quick"]})
    code = main(["optimise", str(path), "--out", str(tmp_path / "out"), "--target", "within_quik >= 0.9",
                 "--minimise", WTE, "-q"])
    assert code == 2
    assert "did you mean 'within_quick'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_targets_can_come_from_the_sweep_file(make_sweep, tmp_path, capsys):
    path = make_sweep({"sweep": {"name": "f", "seed": 5, "replications": 3}, "parameters": {WTE: [10, 12, 14]},
                       "kpis": ["within_quick"],
                       "optimise": {"target": "within_quick >= 0.6", "minimise": WTE}})
    out = tmp_path / "out"
    assert main(["optimise", str(path), "--out", str(out), "-q"]) == 0
    found = json.loads((out / "optimise.json").read_text())
    assert found["targets"] == ["within_quick >= 0.6"] and found["point"][WTE] in (12, 14)
    assert found["point"]["within_quick_lower"] >= 0.6
    capsys.readouterr()


def test_a_bound_that_rounds_to_the_target_is_shown_with_more_digits():
    """An undecided point printed as '95% (95% CI 95% to 96%)' against a target of 95% looked as if
    it met it: its lower bound, 94.67%, is then written out."""
    from icssim.sweep.optimise import _bound_note

    t = Target("within_cyp_routine_4_weeks", ">=", 0.95)
    assert _bound_note({"within_cyp_routine_4_weeks_lower": 0.9467}, t) == (
        " (its lower bound 94.67%, the target 95.00%)")
    assert _bound_note({"within_cyp_routine_4_weeks_lower": 0.90}, t) == ""   # plainly short: no note
    wait = Target("wait_to_treatment_median", "<=", 28)
    assert _bound_note({"wait_to_treatment_median_upper": 28.04}, wait) == (
        " (its upper bound 28.04, the target 28)")



def _sweep_with(make_sweep, optimise: str):
    """A sweep file written as YAML by hand (its lines known), with ``optimise`` as its last lines."""
    path = make_sweep({})
    path.write_text(f"sweep: {{name: t, seed: 3, replications: 2}}\nbase: mmc_small.yaml\n"
                    f"parameters:\n  {WTE}: [10, 11]\nkpis: [within_quick]\noptimise:\n{optimise}")
    return path


@pytest.mark.parametrize(("target", "says"), [
    ("within_quick >= 90%", "(within_quick is a share of 1: 90% is written 0.9)"),
    ("within_quick 0.9", "expected '<KPI> >= <number>' (or <=, >, <)"),
    ("within_quick >= 95", "within_quick is a share between 0 and 1, found 95 (95% is written 0.95)"),
    ("cost_per_year <= 5%", "(write the number without %)"),
])
def test_a_target_optimise_could_not_use_is_refused_by_validate(make_sweep, capsys, target, says):
    """optimise.target is checked when the sweep file is read: `icssim validate` names the file, line
    and key and what was expected, instead of `icssim optimise` blaming a --target never given (or, for
    a share written as a percentage, finding no point that meets 9500%)."""
    path = _sweep_with(make_sweep, f"  minimise: {WTE}\n  target: {target}\n")
    line = len(path.read_text().splitlines())
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:{line}: optimise.target: " in err and says in err
    assert "Traceback" not in err and "--target" not in err


def test_each_target_of_a_list_is_placed_on_its_own_line(make_sweep, capsys):
    path = _sweep_with(make_sweep, "  target:\n    - within_quick >= 0.9\n    - within_quick > 1.5\n")
    line = len(path.read_text().splitlines())
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:{line}: optimise.target.1: within_quick is a share between 0 and 1, found 1.5" in err
    assert "optimise.target.0" not in err


def test_good_targets_in_the_file_validate(make_sweep, capsys):
    path = _sweep_with(make_sweep, "  target: [within_quick >= 0.9, wait_to_treatment_mean <= 28]\n")
    assert main(["validate", str(path)]) == 0
    capsys.readouterr()
