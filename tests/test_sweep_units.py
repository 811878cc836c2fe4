"""The unit of a number a sweep or PSA sets (icssim.sweep.value_units): a parameter's ``unit:`` is
the unit of its numbers, converted to what the scenario needs, in every design and the PSA alike; a
bare number where the base writes a unit is refused, naming where; ``unit:`` as an axis label only
where the key takes a plain number. Until this rule a grid's ``values: [0.5, 1.5], unit: hours`` on
a base of ``1 hour`` ran as 0.5 and 1.5 minutes, and a PSA's ``unit:`` was ignored."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from icssim.errors import IcssimError, ScenarioError
from icssim.sweep.design import build_points
from icssim.sweep.optimise import parameter_numbers
from icssim.sweep.plot_labels import param_axis
from icssim.sweep.spec import load_sweep

MEAN = "pathway.steps.service.duration.mean"
RATE = "cohorts.customers.rate"
WTE = "services.desk.staff.server.wte"
HAZARD = "health.transitions.0.rate"

#: an M/M/c timed in minutes whose times and rates are written with units (a health block for a rate
#: per month)
BASE = """scenario:
  name: units_base
  time_unit: minutes
  horizon: 3 days
  warmup: 12 hours
  seed: 7
cohorts:
  customers:
    rate: 9 per hour
    entry: service
services:
  desk:
    staff:
      server: {wte: 12, cost_per_hour: 50}
pathway:
  steps:
    service:
      kind: assessment
      service: desk
      staff: [server]
      duration: {dist: exponential, mean: 1 hour}
      next: done
    done:
      kind: discharge
      outcome: served
health:
  follow_up: 1 year
  start: {ill: 1.0}
  states:
    ill: {utility: 0.6}
    well: {utility: 0.9, absorbing: true}
  transitions:
    - {from: ill, to: well, rate: 0.15 per month}
"""


def write(tmp_path: Path, parameters: dict, design: str = "grid", **extra) -> Path:
    (tmp_path / "base.yaml").write_text(BASE)
    data = {"sweep": {"name": "u", "seed": 3, "replications": 1}, "base": "base.yaml", "design": design,
            "parameters": parameters, "kpis": ["cost_per_year"], **extra}
    path = tmp_path / "sweep.yaml"
    path.write_text(json.dumps(data, indent=1))
    return path


def minutes(point) -> float:
    return point.scenario.pathway.steps["service"].duration.mean.to("minutes")


def test_grid_values_are_in_the_parameters_unit(tmp_path):
    points = build_points(load_sweep(write(tmp_path, {MEAN: {"values": [0.5, 1.5], "unit": "hours"}})))
    assert [p.values[MEAN] for p in points] == ["0.5 hours", "1.5 hours"]
    assert [minutes(p) for p in points] == pytest.approx([30.0, 90.0])   # were 0.5 and 1.5 minutes


def test_a_range_one_at_a_time_and_its_base_are_in_the_unit(tmp_path):
    grid = build_points(load_sweep(write(tmp_path, {MEAN: {"low": 30, "high": 90, "step": 30, "unit": "minutes"}})))
    assert [minutes(p) for p in grid] == pytest.approx([30.0, 60.0, 90.0])
    oat = build_points(load_sweep(write(tmp_path, {MEAN: {"low": 0.5, "high": 2, "base": 1.5, "unit": "hours"}},
                                        design="oat")))
    assert [p.role for p in oat] == ["base", "low", "high"]
    assert [minutes(p) for p in oat] == pytest.approx([90.0, 30.0, 120.0])


def test_latin_hypercube_values_are_in_the_unit(tmp_path):
    points = build_points(load_sweep(write(tmp_path, {RATE: {"low": 100, "high": 200, "unit": "per day"}},
                                           design="lhs", samples=4)))
    assert all(p.values[RATE].endswith(" per day") for p in points)
    for p in points:
        per_minute = float(p.values[RATE].split()[0]) / 1440
        assert p.scenario.cohorts["customers"].rate.to("minutes") == pytest.approx(per_minute)


def test_a_bare_number_where_the_base_writes_a_unit_is_refused(tmp_path):
    with pytest.raises(ScenarioError) as exc:
        build_points(load_sweep(write(tmp_path, {RATE: {"values": [200]}})))
    text = str(exc.value)
    assert "sweep.yaml:" in text and f"parameters.{RATE}" in text
    assert "the base writes '9 per hour' at " in text and "base.yaml:9:" in text
    assert "'unit: per hour'" in text
    with pytest.raises(ScenarioError, match="the base writes .*'unit: hours'"):
        build_points(load_sweep(write(tmp_path, {MEAN: [2, 3]})))


def test_values_with_their_own_unit_need_no_unit(tmp_path):
    points = build_points(load_sweep(write(tmp_path, {MEAN: ["30 minutes", "2 hours"]})))
    assert [minutes(p) for p in points] == pytest.approx([30.0, 120.0])


def test_a_unit_of_the_wrong_kind_is_refused(tmp_path):
    with pytest.raises(ScenarioError, match=r"unit 'per day' is a rate, but the base writes .*1 hour.*a time"):
        build_points(load_sweep(write(tmp_path, {MEAN: {"values": [1], "unit": "per day"}})))
    with pytest.raises(ScenarioError, match=r"unit 'hours' is a time, but the base writes '9 per hour'.*a rate"):
        build_points(load_sweep(write(tmp_path, {RATE: {"values": [1], "unit": "hours"}})))
    with pytest.raises(ScenarioError, match=r"unit 'GBP' is not a time unit, but the base writes .*'unit: hours'"):
        build_points(load_sweep(write(tmp_path, {MEAN: {"values": [1], "unit": "GBP"}})))
    with pytest.raises(ScenarioError, match=r"unit 'hours' names a time, but 'wte' takes a plain number.*'unit: WTE'"):
        build_points(load_sweep(write(tmp_path, {WTE: {"values": [10, 11], "unit": "hours"}})))
    with pytest.raises(ScenarioError, match=r"the value '30 minutes' is not in hours"):
        build_points(load_sweep(write(tmp_path, {MEAN: {"values": [1, "30 minutes"], "unit": "hours"}})))


def test_a_label_on_a_plain_number_stays_a_label(tmp_path):
    path = write(tmp_path, {WTE: {"values": [10, 11], "unit": "WTE", "label": "Desk staff"},
                            "services.desk.staff.server.cost_per_hour": {"values": [50], "unit": "GBP"}})
    sweep = load_sweep(path)
    points = build_points(sweep)
    assert [p.values[WTE] for p in points] == [10, 11]
    run = SimpleNamespace(sweep=sweep, points=points)
    assert param_axis(run, WTE) == "Desk staff (WTE)"


def test_the_axis_keeps_the_unit_and_optimise_reads_the_numbers(tmp_path):
    sweep = load_sweep(write(tmp_path, {MEAN: {"values": [0.5, 1.5], "unit": "hours", "label": "Service"}}))
    points = build_points(sweep)
    run = SimpleNamespace(sweep=sweep, points=points)
    assert param_axis(run, MEAN) == "Service (hours)"
    assert parameter_numbers(run, MEAN) == [0.5, 1.5]


def psa(tmp_path: Path, parameter: dict, key: str = MEAN, samples: int = 4) -> list:
    return build_points(load_sweep(write(tmp_path, {key: parameter}, design="psa", samples=samples)))


def test_a_psa_draw_is_in_the_parameters_unit(tmp_path):
    points = psa(tmp_path, {"dist": "gamma", "mean": 0.5, "sd": 0.1, "unit": "hours"})
    for p in points:
        drawn = float(p.values[MEAN].removesuffix(" hours"))
        assert 0.2 < drawn < 1.0 and minutes(p) == pytest.approx(60 * drawn)   # was `drawn` minutes
    points = psa(tmp_path, {"dist": "gamma", "mean": 1.8, "sd": 0.4, "unit": "per year"}, key=HAZARD)
    for p in points:
        per_year = float(p.values[HAZARD].removesuffix(" per year"))
        rate = p.scenario.health.transitions[0].rate.untreated
        assert rate.to("days") == pytest.approx(per_year / 365.25)   # was per month


def test_a_psa_parameter_without_a_unit_on_a_base_with_one_is_refused(tmp_path):
    with pytest.raises(ScenarioError, match=r"the base writes '0.15 per month' at .*base.yaml:\d+: give "
                                            r"'unit: per month' \(the unit of mean, sd, low and high\)"):
        psa(tmp_path, {"dist": "gamma", "mean": 0.15, "sd": 0.05}, key=HAZARD)


def test_a_psa_parameter_in_the_bases_unit_draws_as_before(tmp_path):
    """A ``unit:`` that is the base's own gives the values the PSA drew before (the shipped PSAs
    write theirs so): the same text, and so the same seeds."""
    points = psa(tmp_path, {"dist": "gamma", "mean": 0.15, "sd": 0.05, "unit": "per month"}, key=HAZARD)
    assert all(p.values[HAZARD].endswith(" per month") for p in points)


def test_a_psa_extreme_is_checked_in_the_unit(tmp_path):
    """A utility-like bound is not at issue here; a negative time is: a normal reaches below 0 only
    with its tail, a uniform from -1 hours is refused before any draw, in its unit."""
    with pytest.raises(ScenarioError, match=r"reaches -1 hours; .*mean must be greater than 0"):
        psa(tmp_path, {"dist": "uniform", "low": -1, "high": 2, "unit": "hours"})


def test_a_bare_cell_of_a_table_of_draws_where_the_base_writes_a_unit_is_refused(tmp_path):
    (tmp_path / "draws.csv").write_text(f"draw,{HAZARD}\n0,0.2 per month\n1,0.3\n")
    path = write(tmp_path, {}, design="psa", draws={"file": "draws.csv"})
    with pytest.raises(ScenarioError, match=r"draws.csv:3: column health.transitions.0.rate: '?0.3'? is a bare "
                                            r"number, but the base writes '0.15 per month'"):
        build_points(load_sweep(path))
    (tmp_path / "draws.csv").write_text(f"draw,{HAZARD}\n0,0.2 per month\n1,0.3 per month\n")
    assert [p.values[HAZARD] for p in build_points(load_sweep(path))] == ["0.2 per month", "0.3 per month"]


def test_a_bare_base_reads_bare_numbers_in_the_time_unit(tmp_path):
    """Where the base writes a bare number, a bare value is read as it is, in the scenario's time unit."""
    (tmp_path / "base.yaml").write_text(BASE.replace("mean: 1 hour", "mean: 60"))
    data = {"sweep": {"name": "u", "seed": 3, "replications": 1}, "base": "base.yaml",
            "parameters": {MEAN: [30, 90]}, "kpis": ["cost_per_year"]}
    (tmp_path / "bare.yaml").write_text(json.dumps(data))
    assert [minutes(p) for p in build_points(load_sweep(tmp_path / "bare.yaml"))] == [30.0, 90.0]


def test_validate_names_the_file_line_and_key(tmp_path):
    from helpers import run_cli

    path = write(tmp_path, {RATE: {"values": [200]}})
    code, err = run_cli(["validate", str(path)])
    assert code == 2, err
    assert f"sweep.yaml:10: parameters.{RATE}: the base writes '9 per hour' at" in err


def test_refused_before_anything_runs(tmp_path):
    with pytest.raises(IcssimError):
        build_points(load_sweep(write(tmp_path, {MEAN: {"values": [1], "unit": "fortnights"}})))


def test_a_unit_that_sets_the_values_decides_the_runs_and_a_label_does_not(tmp_path):
    """A results folder is resumed only by the same runs: changing a time or rate ``unit:`` changes
    the values, so the sweep's fingerprint; changing an axis label (``WTE``) does not."""
    from icssim.sweep.resume import runs_sha256

    def sha(parameters: dict) -> str:
        return runs_sha256(load_sweep(write(tmp_path, parameters)))

    assert sha({MEAN: {"values": [1], "unit": "hours"}}) != sha({MEAN: {"values": [1], "unit": "minutes"}})
    assert sha({WTE: {"values": [10], "unit": "WTE"}}) == sha({WTE: {"values": [10], "unit": "staff"}})
