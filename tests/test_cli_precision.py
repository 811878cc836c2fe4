"""``icssim run --precision`` refuses, before any replication, what it could only find at its cap
or never (icssim.kpi_check.check_precision_options): a KPI with no value in the scenario, a
misspelt --kpi, a cap below --replications; and --kpi or --max-replications without --precision,
which would be ignored."""

from __future__ import annotations

import pytest

from helpers import SCENARIOS, run_cli, shipped
from icssim.kpi_check import no_value_reason

URGENT = SCENARIOS / "urgent_mh_fragmented.yaml"


@pytest.fixture
def small(tmp_path) -> str:
    """The urgent-care pathway (no step counts as treatment) over 2 days."""
    path = tmp_path / "small.yaml"
    path.write_text(f"extends: {URGENT}\nscenario:\n  horizon: 2 days\n  warmup: 1 day\n")
    return str(path)


def _run(small: str, tmp_path, *options: str) -> tuple[int, str]:
    code, err = run_cli(["run", small, "--out", str(tmp_path / "out"), "-q", "-w", "1", *options])
    return code, err


def test_a_default_kpi_without_a_value_is_refused_before_the_run(small, tmp_path):
    code, err = _run(small, tmp_path, "-n", "2", "--precision", "0.1")
    assert code == 2, err
    assert ("wait_to_treatment_mean has no value in this scenario (no treatment step)" in err
            and "choose the measure with --kpi" in err), err
    assert err.strip().count("\n") == 0 and not (tmp_path / "out").exists()


def test_a_kpi_with_a_value_runs_to_precision(small, tmp_path):
    code, err = _run(small, tmp_path, "-n", "2", "--precision", "10", "--kpi", "cost_per_year")
    assert code == 0, err
    assert (tmp_path / "out" / "kpis.csv").exists()


def test_a_cap_below_the_replications_is_refused(small, tmp_path):
    code, err = _run(small, tmp_path, "-n", "10", "--max-replications", "5", "--precision", "0.1",
                     "--kpi", "cost_per_year")
    assert code == 2 and "--max-replications (5) is below --replications (10)" in err, err


@pytest.mark.parametrize("options, said", [
    (["--kpi", "cost_per_year"], "--kpi is for --precision"),
    (["--max-replications", "5"], "--max-replications is for --precision"),
    (["--kpi", "cost_per_year", "--max-replications", "5"], "--kpi and --max-replications are for --precision"),
])
def test_precision_options_without_precision_are_refused(small, tmp_path, options, said):
    code, err = _run(small, tmp_path, "-n", "2", *options)
    assert code == 2 and said in err and err.strip().count("\n") == 0, err
    assert not (tmp_path / "out").exists()


def test_a_misspelt_kpi_is_named_with_the_nearest(small, tmp_path):
    code, err = _run(small, tmp_path, "--precision", "0.1", "--kpi", "cost_per_yer")
    assert code == 2 and "--kpi: 'cost_per_yer' is not a KPI of this scenario; did you mean 'cost_per_year'?" in err
    assert "known:" not in err   # not the list of every KPI on one line


def test_a_chosen_kpi_without_a_value_is_refused_too(small, tmp_path):
    code, err = _run(small, tmp_path, "--precision", "0.1", "--kpi", "wait_to_treatment_p90")
    assert code == 2 and "wait_to_treatment_p90 has no value in this scenario (no treatment step)" in err
    assert "choose another --kpi" in err


def test_no_value_reason_sees_steps_that_count_as_treatment():
    ed = shipped("ed_fragmented", horizon="60 days", warmup="30 days")
    assert no_value_reason(ed, "wait_to_treatment_mean") is None   # (kind: treatment)
    urgent = shipped("urgent_mh_fragmented", horizon="2 days", warmup="1 day")
    assert no_value_reason(urgent, "wait_to_treatment_median") == "no treatment step"
    assert no_value_reason(urgent, "wait_to_assessment_mean") is None
    assert no_value_reason(urgent, "cost_per_year") is None
    counted = shipped("urgent_mh_fragmented", horizon="2 days", warmup="1 day",
                      **{"pathway.steps.psychiatric_assessment.counts_as": "treatment"})
    assert no_value_reason(counted, "wait_to_treatment_mean") is None


def test_a_kpi_no_one_reached_stops_after_the_first_replications():
    """A measure the pathway could give but no one reached (a cohort too small to arrive in the run)
    ran to the cap of 100 replications for nothing; it now stops after the starting ones."""
    from types import SimpleNamespace

    from icssim.errors import IcssimError
    from icssim.precision import refuse_unreachable

    reps = [SimpleNamespace(kpis={"cost_per_year": 1.0, "wait_rare": float("nan")}) for _ in range(3)]
    with pytest.raises(IcssimError, match="wait_rare had no value in any of the first 3 replications"):
        refuse_unreachable(reps, ["cost_per_year", "wait_rare"])
    reps[1].kpis["wait_rare"] = 4.0
    refuse_unreachable(reps, ["cost_per_year", "wait_rare"])   # one value: more replications may help


URGENT_INTEGRATED = SCENARIOS / "urgent_mh_integrated.yaml"


@pytest.fixture
def small_pair(tmp_path) -> list[str]:
    """The urgent-care pathways, fragmented and integrated, over 2 days."""
    paths = []
    for name, source in (("fragmented", URGENT), ("integrated", URGENT_INTEGRATED)):
        path = tmp_path / f"{name}.yaml"
        path.write_text(f"extends: {source}\nscenario:\n  horizon: 2 days\n  warmup: 1 day\n")
        paths.append(str(path))
    return paths


def _compare(pair: list[str], tmp_path, *options: str) -> tuple[int, str]:
    return run_cli(["compare", *pair, "--out", str(tmp_path / "out"), "-q", "-w", "1", *options])


def test_compare_adds_replications_until_the_difference_is_precise(small_pair, tmp_path, capsys):
    """compare --precision judges the paired difference and writes how many replications it took,
    whether the target was reached, in metadata.json and in the report's reproduce table."""
    import json

    from icssim.cli import main

    code = main(["compare", *small_pair, "--out", str(tmp_path / "out"), "-q", "-w", "1", "-n", "3",
                 "--precision", "10", "--kpi", "cost_per_year", "--max-replications", "6"])
    assert code == 0
    meta = json.loads((tmp_path / "out" / "metadata.json").read_text())
    pr = meta["precision"]
    assert pr["target"] == 10 and pr["kpis"] == ["cost_per_year"] and pr["reached"]
    assert meta["replications"] == pr["replications"] == 3   # a loose target: the first three reach it
    assert "precision 10 reached after 3 replications" in capsys.readouterr().out
    report = (tmp_path / "out" / "report.html").read_text()
    assert ("added until the paired differences of cost_per_year to the baseline were within ±1000% of themselves"
            in report)


def test_compare_refuses_a_default_kpi_one_scenario_cannot_give(small_pair, tmp_path):
    """Without a health: block compare --precision judges the wait to treatment and the cost a
    year; the urgent-care pathway has no treatment step, which is said before any run."""
    code, err = _compare(small_pair, tmp_path, "--precision", "0.1")
    assert code == 2 and "wait_to_treatment_mean has no value in scenario 'urgent_mh_fragmented'" in err, err
    assert not (tmp_path / "out").exists()


def test_compare_refuses_precision_options_without_precision(small_pair, tmp_path):
    code, err = _compare(small_pair, tmp_path, "--kpi", "cost_per_year")
    assert code == 2 and "--kpi is for --precision" in err, err
