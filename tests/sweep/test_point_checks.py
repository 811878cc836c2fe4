"""Checking a sweep's points by what each area changes (icssim.sweep.point_checks) gives what
validating every point in full gave: the same scenarios, and the same refusal, at the same
point, for a wrong value however deep in the design it is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from icssim import national
from icssim.errors import IcssimError
from icssim.scenario import scenario_from_dict
from icssim.scenario.initial_state import anchored_raw
from icssim.sweep import design, point_checks
from icssim.sweep.design import check_points, design_points, read_only_raw, validate_point, validate_points
from icssim.sweep.spec import load_sweep

from helpers import ROOT, run_cli

RATE = "cohorts.customers.rate_per_100k_per_year"
COST = "services.desk.staff.server.cost_per_hour"

BASE = """\
scenario: {name: area_base, time_unit: hours, horizon: 1200, warmup: 100, seed: 7, population: 100000}
cohorts:
  customers: {rate_per_100k_per_year: 100, entry: service}
services:
  desk:
    staff:
      server: {wte: 10, cost_per_hour: 50}
pathway:
  steps:
    service: {kind: assessment, service: desk, staff: [server], duration: {dist: exponential, mean: 1}, next: done}
    done: {kind: discharge, outcome: served}
"""
#: the areas: the first small, where every draw is a valid scenario; the second so big that a
#: huge referral rate brings more patients than a replication may have (a check of the population)
AREAS = {"rows": [{"name": "Small", "population": 100_000}, {"name": "Big", "population": 20_000_000}],
         "scale": ["services.desk.staff.server.wte"]}


def _area_psa(folder: Path, column: str, values: list[float]) -> Path:
    """A PSA of a table of draws of ``column`` (one row each of ``values``), in both areas."""
    (folder / "base.yaml").write_text(BASE)
    (folder / "draws.csv").write_text(column + "\n" + "".join(f"{v}\n" for v in values))
    sweep = {"sweep": {"name": "deep", "seed": 3, "replications": 1}, "base": "base.yaml", "design": "psa",
             "draws": "draws.csv", "parameters": {}, "areas": AREAS, "kpis": ["referrals_per_year"]}
    path = folder / "psa.yaml"
    path.write_text(yaml.safe_dump(sweep))
    return path


def _refused_in_full(sweep, points) -> tuple[int, type, str]:
    """The point, kind and words of the first refusal when every point is validated in full, in
    order (as before points were checked by their areas)."""
    for p in points:
        try:
            validate_point(sweep, p, p.raw)
        except IcssimError as exc:
            return p.index, type(exc), str(exc)
    raise AssertionError("every point is valid")


def _refused(check, sweep, points) -> tuple[tuple[int, type, str], list[int]]:
    """The point, kind and words of ``check``'s refusal, and the points it validated in full."""
    checked = []
    real = design.validate_point

    def noting(sweep, p, raw=None):
        checked.append(p.index)
        return real(sweep, p, raw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(point_checks, "validate_point", noting)
        with pytest.raises(IcssimError) as exc:
            check(sweep, points)
    return (checked[-1], type(exc.value), str(exc.value)), checked


@pytest.mark.parametrize("check", [check_points, validate_points])
def test_a_value_refused_in_every_area_deep_in_the_design_is_refused_as_before(check, tmp_path):
    """Draw 37 of 40 costs less than nothing: refused at its first point, with the words of
    validating each point in full (the table, its column, the point, the value and the bound)."""
    path = _area_psa(tmp_path, COST, [50.0] * 37 + [-5.0] + [50.0] * 2)
    sweep = load_sweep(path)
    points = design_points(sweep)
    assert len(points) == 80
    expected = _refused_in_full(sweep, points)
    assert expected[0] == 37 and expected[2] == (f"{tmp_path / 'draws.csv'}: column {COST}: point 37 (base) drew "
                                                 f"-5; {COST} must be a number at least 0")
    assert _refused(check, sweep, points) == (expected, list(range(38)))


@pytest.mark.parametrize("check", [check_points, validate_points])
def test_a_value_refused_in_one_area_only_is_refused_at_that_point_as_before(check, tmp_path):
    """Draw 37's referral rate is fine for the small area (its first point, checked in full) and too
    many patients for the big one: the point of the big area is found by what its area changes
    (its population), and refused with the same words as when every point was validated in full."""
    path = _area_psa(tmp_path, RATE, [100.0] * 37 + [1e6] + [100.0] * 2)
    sweep = load_sweep(path)
    points = design_points(sweep)
    expected = _refused_in_full(sweep, points)
    assert expected[0] == 40 + 37 and "patients would arrive in one replication" in expected[2]
    assert f"(drawn there: {RATE}=1000000.0)" in expected[2]
    # validated in full: the small area's points (each draw's first); the big area's, by its area
    assert _refused(check, sweep, points) == (expected, [*range(40), 77])


def test_a_grid_value_refused_in_one_area_only_is_refused_as_before(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE)
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump({"sweep": {"name": "grid", "seed": 3, "replications": 1}, "base": "base.yaml",
                                    "parameters": {RATE: {"values": [100, 1_000_000]}}, "areas": AREAS}))
    sweep = load_sweep(path)
    points = design_points(sweep)
    expected = _refused_in_full(sweep, points)
    assert expected[0] == 3 and expected[2].startswith(f"{path}: point 3 (base, Big, {RATE}=1000000) is not a valid "
                                                       "scenario:\n  cohorts: about ")
    assert _refused(check_points, sweep, points) == (expected, [0, 1, 3])


def test_validate_names_the_deep_draw_as_before(tmp_path):
    """``icssim validate`` says the same of such a file."""
    path = _area_psa(tmp_path, RATE, [100.0] * 37 + [1e6] + [100.0] * 2)
    sweep = load_sweep(path)
    _, _, words = _refused_in_full(sweep, design_points(sweep))
    code, err = run_cli(["validate", str(path)])
    assert code == 2 and err.startswith(f"{path}: INVALID\n  {words}"), err


@pytest.fixture(scope="module")
def national_psa(tmp_path_factory) -> dict[str, Path]:
    """The shipped national PSA, split per pathway as the national run splits it, on 4 draws."""
    folder = tmp_path_factory.mktemp("national")
    files = national.split_sweep(ROOT / "scenarios" / "sweeps" / "england_42_ics_psa.yaml", folder)
    for file in files.values():
        data = yaml.safe_load(file.read_text())
        data["samples"] = 4
        file.write_text(yaml.safe_dump(data))
    return files


@pytest.mark.parametrize("label", ["fragmented", "integrated"])
def test_each_point_of_the_national_psa_is_the_scenario_validated_in_full(label, national_psa, monkeypatch):
    """Every point of each area (4 draws x 42 ICSs) but the first area's is checked by what its
    area changes, and gets the scenario (and data) that validating it in full gives; building it
    leaves its base's data as it was."""
    sweep = load_sweep(national_psa[label])
    base_raw = anchored_raw(sweep.running[label])
    before = json.dumps(base_raw, sort_keys=True, default=str)
    points = design_points(sweep)
    assert len(points) == 4 * 42
    full = []
    real = point_checks.validate_point
    monkeypatch.setattr(point_checks, "validate_point",
                        lambda sweep, p, raw=None: full.append(p) or real(sweep, p, raw))
    checker = point_checks.PointChecker(sweep)
    for p in points:
        scenario = checker.check(p)
        raw = p.raw
        assert read_only_raw(p) == raw
        assert json.dumps(scenario._provenance.raw, sort_keys=True, default=str) == \
            json.dumps(raw, sort_keys=True, default=str)
        assert scenario.model_dump() == scenario_from_dict(raw, name=f"{sweep.path} point {p.index}").model_dump()
    assert [p.index for p in full] == [0, 1, 2, 3]   # the first area's: each draw's reference
    assert json.dumps(base_raw, sort_keys=True, default=str) == before
    # the checks run again are those that read what an area changes: services, population, name
    rerun = {check.__name__ for check in next(iter(checker._references.values())).rerun}
    assert {"_steps", "size"} <= rerun and not rerun & {"loops", "way_out", "health_findings"}


def test_the_shipped_national_psa_validates_each_setting_in_full_once(monkeypatch):
    """16,800 points (200 draws x 2 pathways x 42 ICSs): the scenario of each draw and pathway is
    validated in full once, in its first ICS, and the other 41 by what their area changes (its
    time is measured, not asserted: about 12 s, where validating every point in full took 80 s
    or more on 2 cores)."""
    full = []
    real = point_checks.validate_point
    monkeypatch.setattr(point_checks, "validate_point",
                        lambda sweep, p, raw: full.append(p.index) or real(sweep, p, raw))
    code, err = run_cli(["validate", str(ROOT / "scenarios" / "sweeps" / "england_42_ics_psa.yaml")])
    assert code == 0, err
    assert len(full) == 400
