"""A calibration's priors follow the unit rule of sweeps and PSAs (``icssim.sweep.value_units``): a
time or rate ``unit:`` is the unit of the prior's numbers, and a prior without one where the base
writes its value with a unit is refused, naming where. Priors were read in the base's unit, while
a sweep or PSA over the same key path refused the same bare numbers."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from helpers import SCENARIOS, run_cli
from icssim.calibrate.outputs import psa_yaml
from icssim.calibrate.priors import Priors, support
from icssim.calibrate.spec import load_calibration
from icssim.errors import ScenarioError
from icssim.scenario import provenance, scenario_from_dict

HERE = Path(__file__).resolve().parent
DURATION = "pathway.steps.service.duration.mean"
RATE = "cohorts.customers.rate"


def _files(tmp_path: Path, parameters: str) -> Path:
    """The small M/M/c scenario with its service time and arrival rate written with units (line 14:
    the rate, line 27: the mean service time), and a calibration of it with ``parameters``."""
    text = (HERE / "sweep" / "mmc_small.yaml").read_text()
    text = text.replace("rate: 9          # per hour", "rate: 9 per hour").replace("mean: 1}", "mean: 1 hours}")
    (tmp_path / "mmc_small.yaml").write_text(text)
    cal = tmp_path / "cal.yaml"
    cal.write_text("calibration: {name: t, population: 10, generations: 1, max_simulations: 20}\n"
                   "scenario: mmc_small.yaml\nparameters:\n" + parameters +
                   "targets:\n  u: {kpi: utilisation_desk/server, value: 0.8, sd: 0.05, source: test}\n")
    return cal


def test_a_bare_prior_where_the_base_has_a_unit_is_refused_naming_the_base(tmp_path):
    cal = _files(tmp_path, f"  {DURATION}: {{low: 0.5, high: 1.5}}\n"
                           f"  {RATE}: {{dist: gamma, mean: 9, sd: 1}}\n")
    code, err = run_cli(["validate", str(cal)])
    assert code == 2
    base = tmp_path / "mmc_small.yaml"
    assert (f"{cal}:4: parameters.{DURATION}: the base writes '1 hours' at {base}:27: give 'unit: hours' "
            "(the unit of low and high)") in err, err
    assert (f"{cal}:5: parameters.{RATE}: the base writes '9 per hour' at {base}:14: give 'unit: per hour' "
            "(the unit of mean, sd, low and high)") in err, err
    code, err = run_cli(["calibrate", str(cal), "--out", str(tmp_path / "out"), "-w", "1", "-q"])
    assert code == 2 and f"parameters.{DURATION}: the base writes '1 hours'" in err
    assert not (tmp_path / "out").exists()


def test_a_priors_unit_is_the_unit_of_its_numbers(tmp_path):
    """30 to 90 minutes on a base of 1 hours: the scenario is given 0.5 to 1.5 hours, not 30 to 90."""
    from icssim.calibrate.spec import end_raw

    cal = load_calibration(_files(tmp_path, f"  {DURATION}: {{low: 30, high: 90, unit: minutes}}\n"
                                            f"  {RATE}: {{low: 100, high: 300, unit: per day}}\n"))
    assert cal.written(DURATION, 45.0) == "45 minutes" and cal.written(RATE, 216.0) == "216 per day"
    for key, expected in ((DURATION, (0.5, 1.5)), (RATE, (100 / 24, 300 / 24))):
        read = []
        for end in support(cal.spec.parameters[key]):
            scenario = scenario_from_dict(end_raw(cal, key, end))
            read.append(scenario.pathway.steps["service"].duration.mean.to("hour") if key == DURATION
                        else scenario.cohorts["customers"].rate.to("hour"))
        assert read == pytest.approx(expected)
    # the moment-matched posterior keeps the unit, which a PSA of a base written with one needs
    run = SimpleNamespace(cal=cal, priors=Priors(cal.spec.parameters))
    summary = pd.DataFrame([{"parameter": DURATION, "mean": 50.0, "sd": 5.0}, {"parameter": RATE, "mean": 200.0,
                                                                              "sd": 20.0}])
    assert f"{DURATION}: {{dist: gamma, mean: 50, sd: 5, unit: minutes}}" in psa_yaml(summary, run)
    assert f"{RATE}: {{dist: gamma, mean: 200, sd: 20, unit: per day}}" in psa_yaml(summary, run)


@pytest.mark.parametrize(("parameter", "message"), [
    (f"{DURATION}: {{low: 1, high: 2, unit: per week}}",
     rf"{DURATION}.unit: unit 'per week' is a rate, but the base writes '1 hours' at .*mmc_small.yaml:27, a time"),
    (f"{DURATION}: {{low: 1, high: 2, unit: GBP}}", rf"{DURATION}.unit: unit 'GBP' is not a time unit"),
    ("services.desk.staff.server.wte: {low: 5, high: 12, unit: hours}",
     "unit 'hours' names a time, but 'wte' takes a plain number"),
    (f"{DURATION}: {{low: 0.1, high: 0.9, unit: hours, complement: {RATE}}}", "a complement is for a probability"),
])
def test_a_unit_that_does_not_suit_the_key_is_refused(tmp_path, parameter, message):
    with pytest.raises(ScenarioError, match=message):
        load_calibration(_files(tmp_path, f"  {parameter}\n"))


def test_a_bare_prior_on_a_bare_base_and_a_label_are_read_as_before(tmp_path):
    cal = load_calibration(_files(tmp_path, "  services.desk.staff.server.wte: {low: 5, high: 12, unit: WTE}\n"))
    assert cal.suffixes == {"services.desk.staff.server.wte": ""} and cal.written("services.desk.staff.server.wte",
                                                                                  7.5) == 7.5


def test_a_unit_the_base_writes_keeps_the_fingerprint_of_a_folder_made_before(tmp_path):
    """Before priors had a unit they were read in the base's, and a folder of that time resumes
    without --restart; a unit that changes what the numbers mean is a different calibration."""
    def old_fingerprint(cal) -> str:   # the fingerprint as it was computed before priors had a unit
        s = cal.spec.calibration
        data = {"scenario": provenance(cal.scenario).sha256, "seed": s.seed, "population": s.population,
                "initial_factor": s.initial_factor, "quantile": s.quantile,
                "parameters": {k: p.model_dump(exclude={"label", "source", "unit"})
                               for k, p in cal.spec.parameters.items()},
                "targets": {k: t.model_dump(exclude={"label", "unit", "source", "definition"})
                            for k, t in cal.spec.targets.items()}}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    same = load_calibration(_files(tmp_path, f"  {DURATION}: {{low: 0.5, high: 1.5, unit: hour}}\n"))
    assert same.fingerprint() == old_fingerprint(same)
    other = load_calibration(_files(tmp_path, f"  {DURATION}: {{low: 0.5, high: 1.5, unit: days}}\n"))
    assert other.fingerprint() != old_fingerprint(other) and other.fingerprint() != same.fingerprint()


@pytest.mark.parametrize("name", ["ed_fragmented", "ltc_depression"])
def test_the_shipped_priors_give_their_values_in_the_units_the_base_writes(name):
    """Each shipped prior of a time or rate names the unit its base writes, so that it proposes the
    values it did when priors were read in the base's unit (and its results folder still resumes)."""
    cal = load_calibration(SCENARIOS / "calibration" / f"{name}.yaml")
    for key, base in cal.bases.items():
        if base.kind in ("time", "rate"):
            assert cal.suffixes[key] == str(cal.base_values[key])[len(str(cal.base_values[key]).split()[0]):], key
        else:
            assert cal.suffixes[key] == "", key
    assert sum(bool(s) for s in cal.suffixes.values()) == 4
