"""KPI names in files checked before anything runs (icssim.kpi_check): a sweep's ``kpis:``, a
calibration's targets and a scenario's ``report.featured``; ``validate`` and the command refuse a
misspelt one with its file, line and key and the nearest KPI, and name only the misspelt ones."""

from __future__ import annotations

import pytest

from helpers import SCENARIOS, run_cli
from icssim.experiments import run_replication
from icssim.kpi_check import measured
from icssim.scenario import load_scenario

URGENT = SCENARIOS / "urgent_mh_fragmented.yaml"
LTC = SCENARIOS / "ltc_depression_fragmented.yaml"


def _small(tmp_path, extra: str = "") -> str:
    """The urgent-care scenario over 2 days, with ``extra`` YAML added."""
    path = tmp_path / "small.yaml"
    path.write_text(f"extends: {URGENT}\nscenario:\n  horizon: 2 days\n  warmup: 1 day\n{extra}")
    return str(path)


def _sweep(tmp_path, kpis: list[str]) -> str:
    path = tmp_path / "sweep.yaml"
    lines = "".join(f"  - {k}\n" for k in kpis)
    path.write_text(f"sweep: {{name: s, replications: 1}}\nbase: {_small(tmp_path)}\n"
                    f"parameters:\n  services.ed.staff.clinician.wte: {{values: [9, 10]}}\nkpis:\n{lines}")
    return str(path)


def test_the_names_known_before_a_run_are_those_a_run_gives():
    """One day without a warm-up gives the same KPI names as the scenario's own run (stage waits,
    standards, cohorts, resources and services included)."""
    scenario = load_scenario(URGENT)
    assert measured(scenario) == list(run_replication(scenario, 0).kpis)


def test_validate_refuses_a_misspelt_sweep_kpi_with_its_line(tmp_path):
    sweep = _sweep(tmp_path, ["cost_per_year", "within_4_hours", "within_twelve_hours"])
    code, err = run_cli(["validate", sweep])
    assert code == 2
    assert (f"{sweep}:7: kpis.1: 'within_4_hours' is not a KPI of its base scenario; "
            "did you mean 'within_four_hours'?") in err
    assert "cost_per_year'" not in err and "within_twelve_hours" not in err   # only the misspelt one


def test_sweep_refuses_a_misspelt_kpi_before_running(tmp_path):
    out = tmp_path / "out"
    code, err = run_cli(["sweep", _sweep(tmp_path, ["within_4_hours"]), "--out", str(out), "-q", "-w", "1"])
    assert code == 2 and ":6: kpis.0: 'within_4_hours' is not a KPI" in err, err
    assert "KPIs measured" not in err and not out.exists()


def test_a_misspelt_optimise_target_or_measure_to_minimise_is_refused_before_running(tmp_path):
    """They were found wrong only after every point of the sweep had run (the first optimise round)."""
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(open(_sweep(tmp_path, ["cost_per_year"])).read() +
                     "optimise:\n  target: within_4_hours >= 0.95\n  minimise: staff_cost_per_yaer\n"
                     "frontier: {cost: cost_per_year, wait: wait_to_assesment_mean}\n")
    code, err = run_cli(["validate", str(sweep)])
    assert code == 2
    assert f"{sweep}:8: optimise.target: 'within_4_hours' is not a KPI of its base scenario" in err
    assert f"{sweep}:9: optimise.minimise: 'staff_cost_per_yaer' is neither a KPI of its base scenario nor a " \
           "swept parameter; did you mean 'staff_cost_per_year'?" in err
    assert "frontier.wait: 'wait_to_assesment_mean' is not a KPI" in err and "frontier.cost" not in err


def test_every_kpi_term_of_a_sum_to_minimise_is_checked(tmp_path):
    """Only the first KPI of a sum was checked: a misspelt later term was found after every point ran."""
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(open(_sweep(tmp_path, ["cost_per_year"])).read() +
                     "optimise:\n  target: within_four_hours >= 0.95\n"
                     "  minimise: cost_per_year + 2*staff_cost_per_yaer + 60000*services.ed.staff.clinician.wte"
                     " + 3*cost_per_yeer + 60000*services.ed.staff.clinican.wte\n")
    code, err = run_cli(["validate", str(sweep)])
    assert code == 2, err
    for term, near in (("staff_cost_per_yaer", "staff_cost_per_year"), ("cost_per_yeer", "cost_per_year"),
                       ("services.ed.staff.clinican.wte", "services.ed.staff.clinician.wte")):
        assert (f"{sweep}:9: optimise.minimise: {term!r} is neither a KPI of its base scenario nor a swept "
                f"parameter; did you mean {near!r}?") in err, err
    assert "'cost_per_year' is" not in err and "'services.ed.staff.clinician.wte' is" not in err
    assert "optimise.target" not in err


def test_a_correct_sweep_still_validates(tmp_path):
    code, err = run_cli(["validate", _sweep(tmp_path, ["within_four_hours", "cost_per_year"])])
    assert code == 0, err


def _calibration(tmp_path) -> str:
    text = (SCENARIOS / "calibration" / "ltc_depression.yaml").read_text()
    text = text.replace("scenario: ../ltc_depression_fragmented.yaml", f"scenario: {LTC}")
    text = text.replace("kpi: within_tt_6_weeks", "kpi: within_tt_6_week")
    path = tmp_path / "cal.yaml"
    path.write_text(text)
    return str(path)


def test_validate_names_only_the_misspelt_calibration_target(tmp_path):
    cal = _calibration(tmp_path)
    code, err = run_cli(["validate", cal])
    assert code == 2
    assert ("targets.tt_6_weeks.kpi: 'within_tt_6_week' is not a KPI of this scenario; did you mean "
            "'within_tt_6_weeks'?") in err
    assert err.count("is not a KPI") == 1 and "recovery" not in err and "hidden_wait" not in err


def test_a_share_target_written_as_a_percentage_is_refused(tmp_path):
    """value: 88.5 for a share passed validate and the whole calibration ran to 'nothing fits'."""
    text = (SCENARIOS / "calibration" / "ltc_depression.yaml").read_text()
    text = text.replace("scenario: ../ltc_depression_fragmented.yaml", f"scenario: {LTC}")
    path = tmp_path / "cal.yaml"
    path.write_text(text.replace("    value: 0.885\n", "    value: 88.5\n", 1))
    code, err = run_cli(["validate", str(path)])
    assert code == 2 and ("targets.tt_6_weeks.value: within_tt_6_weeks is a share between 0 and 1, found 88.5 "
                          "(88.5% is written 0.885)") in err
    assert err.count("is a share between") == 1


def test_calibrate_refuses_a_misspelt_target_before_simulating(tmp_path):
    out = tmp_path / "out"
    code, err = run_cli(["calibrate", _calibration(tmp_path), "--out", str(out), "-q", "-w", "1", "--yes"])
    assert code == 2 and "'within_tt_6_week' is not a KPI" in err and "missing or NaN" not in err, err
    assert not out.exists()


def test_more_than_12_featured_measures_are_refused_in_words(tmp_path):
    names = ", ".join(["cost_per_year"] * 13)
    code, err = run_cli(["validate", _small(tmp_path, f"report: {{featured: [{names}]}}\n")])
    assert code == 2 and "report.featured: at most 12 featured measures, found 13" in err, err
    assert "List should have" not in err


@pytest.mark.parametrize("command", [["validate"], ["run", "-q", "-w", "1"]])
def test_a_misspelt_featured_measure_is_refused(tmp_path, command):
    scenario = _small(tmp_path, "report: {featured: [within_mh_four_hours, within_mh_4_hours]}\n")
    out = tmp_path / "out"
    code, err = run_cli([command[0], scenario, *command[1:], *(["--out", str(out)] if command[0] == "run" else [])])
    assert code == 2, err
    assert (f"{scenario}:5: report.featured.1: 'within_mh_4_hours' is not a KPI of this scenario; "
            "did you mean 'within_mh_four_hours'?") in err
    assert not out.exists()


def test_compare_refuses_a_misspelt_featured_measure(tmp_path):
    a = _small(tmp_path, "report: {featured: [within_mh_4_hours]}\n")
    b = tmp_path / "b.yaml"
    b.write_text(f"extends: {URGENT}\nscenario:\n  name: other\n  horizon: 2 days\n  warmup: 1 day\n")
    code, err = run_cli(["compare", a, str(b), "-n", "2", "-q", "-w", "1", "--out", str(tmp_path / "out")])
    assert code == 2 and "'within_mh_4_hours' is not a KPI of this scenario" in err, err


@pytest.mark.parametrize("name", ["urgent_mh_fragmented", "ltc_depression_fragmented"])
def test_shipped_featured_measures_are_kpis(name, tmp_path):
    code, err = run_cli(["validate", str(SCENARIOS / f"{name}.yaml")])
    assert code == 0, err
