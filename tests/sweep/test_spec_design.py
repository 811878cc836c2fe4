"""Sweep files and designs: grid, Latin hypercube, one-at-a-time, areas; bad input named clearly."""

from __future__ import annotations

import pytest

from icssim.cli import main
from icssim.errors import IcssimError
from icssim.sweep.design import build_points
from icssim.sweep.spec import load_sweep

WTE = "services.desk.staff.server.wte"


def points_of(path):
    return build_points(load_sweep(path))


def test_grid_is_the_product_of_values_and_ranges(make_sweep):
    path = make_sweep({"parameters": {WTE: [10, 11, 12],
                                      "pathway.steps.service.duration.mean": {"low": 0.8, "high": 1.0, "step": 0.1}}})
    points = points_of(path)
    assert len(points) == 9
    assert [p.values[WTE] for p in points[:3]] == [10, 10, 10]
    assert sorted({p.values["pathway.steps.service.duration.mean"] for p in points}) == [0.8, 0.9, 1.0]
    # each point's scenario carries its values
    p = points[4]
    assert p.scenario.services["desk"].staff["server"].wte == p.values[WTE]


def test_lhs_is_seeded_and_stays_in_range(make_sweep):
    path = make_sweep({"design": "lhs", "samples": 12,
                       "parameters": {WTE: {"low": 10, "high": 14, "integer": True},
                                      "pathway.steps.service.duration.mean": {"low": 0.5, "high": 1.0}}})
    a, b = points_of(path), points_of(path)
    assert [p.values for p in a] == [p.values for p in b]
    wtes = [p.values[WTE] for p in a]
    means = [p.values["pathway.steps.service.duration.mean"] for p in a]
    assert all(isinstance(w, int) and 10 <= w <= 14 for w in wtes)
    assert len(set(wtes)) == 5                          # a Latin hypercube covers every stratum
    assert all(0.5 <= m <= 1.0 for m in means)
    # one sample per 1/12 stratum of the continuous range
    assert sorted(int((m - 0.5) / 0.5 * 12) for m in means) == list(range(12))


def test_oat_moves_one_parameter_at_a_time_around_the_base(make_sweep):
    path = make_sweep({"design": "oat",
                       "parameters": {WTE: [11, 13], "cohorts.customers.rate": {"low": 8, "high": 9.5}}})
    points = points_of(path)
    assert [(p.role, p.varied) for p in points] == [
        ("base", None), ("low", WTE), ("high", WTE),
        ("low", "cohorts.customers.rate"), ("high", "cohorts.customers.rate")]
    assert points[0].values == {WTE: 10, "cohorts.customers.rate": 9}
    assert points[2].values == {WTE: 13, "cohorts.customers.rate": 9}
    assert points[3].values == {WTE: 10, "cohorts.customers.rate": 8}


def test_areas_scale_population_and_capacity(make_sweep, tmp_path):
    base = (tmp_path / "x").parent
    path = make_sweep({"areas": {"rows": [{"name": "small", "population": 500_000},
                                          {"name": "big", "population": 2_000_000}],
                                 "scale": [WTE]}})
    text = (base / "mmc_small.yaml").read_text()
    text = text.replace("  seed: 7\n", "  seed: 7\n  population: 1000000\n")
    text = text.replace("    rate: 9          # per hour\n", "    rate_per_100k_per_year: 7884\n")
    (base / "mmc_small.yaml").write_text(text)
    small, big = points_of(path)
    assert (small.area, small.population, big.population) == ("small", 500_000, 2_000_000)
    assert small.scenario.scenario.population == 500_000
    assert small.scenario.services["desk"].staff["server"].wte == pytest.approx(5)
    assert big.scenario.services["desk"].staff["server"].wte == pytest.approx(20)
    assert big.expected_patients == pytest.approx(4 * small.expected_patients)


def test_areas_need_rates_per_100k(make_sweep):
    path = make_sweep({"areas": [{"name": "a", "population": 600_000}, {"name": "b", "population": 900_000}]})
    with pytest.raises(IcssimError, match="rate_per_100k_per_year"):
        points_of(path)


@pytest.mark.parametrize("sweep, message", [
    ({"parameters": {"services.desk.staf.server.wte": [9, 10]}}, "did you mean 'services.desk.staff.server.wte'"),
    ({"parameters": {"services.dsek.staff.server.wte": [9, 10]}}, "did you mean 'services.desk.staff.server.wte'"),
    ({"parameters": {"services.desk.staff.server.wtee": [9, 10]}}, "did you mean 'services.desk.staff.server.wte'"),
    ({"parameters": {WTE: ["many", 10]}}, "services.desk.staff.server.wte"),
    ({"parameters": {WTE: -1}}, "give a list of values or a range"),
    ({"parameters": {WTE: []}}, "empty"),
    ({"parameters": {WTE: {"low": 12, "high": 10, "step": 1}}}, "range is empty"),
    ({"parameters": {WTE: {"low": 10, "high": 12}}}, "needs 'step' or 'points'"),
    ({"parameters": {WTE: {"values": [9.5, 10.5], "integer": True}}}, "a list of 'values' is swept as written"),
    ({"design": "lhs", "parameters": {WTE: {"low": 10, "high": 12}}}, "needs 'samples'"),
    ({"parameters": {WTE: [10, 11]}, "replicatons": 3}, "did you mean 'replications'"),
    ({"parameters": {"pathway.steps.service.next.3": ["done"]}}, "is a single value ('done')"),
    ({}, "nothing varies"),
    ({"base": "missing.yaml", "parameters": {WTE: [10, 11]}}, "does not exist"),
])
def test_bad_sweep_files_get_clear_messages(make_sweep, capsys, tmp_path, sweep, message):
    path = make_sweep(sweep)
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_wrong_type_names_the_point_and_key_path(make_sweep):
    path = make_sweep({"parameters": {WTE: [10, "lots"]}})
    with pytest.raises(IcssimError) as info:
        points_of(path)
    text = str(info.value)
    assert "point 1" in text and f"{WTE}=lots" in text and "services.desk.staff.server.wte:" in text


def test_a_base_naming_a_waiting_list_file_works_from_a_sweep_elsewhere(tmp_path):
    """The base's waiting-list CSV is named relative to the base scenario file; the sweep's
    points are built from a copy of its data, in the sweep file's folder, and must still find it."""
    import json
    from pathlib import Path

    clinic = Path(__file__).resolve().parents[1] / "calendar" / "clinic.yaml"
    path = tmp_path / "elsewhere" / "sweep.yaml"
    path.parent.mkdir()
    path.write_text(json.dumps({"sweep": {"name": "t", "seed": 3, "replications": 1}, "base": str(clinic),
                          "design": "grid", "parameters": {"services.team.cost_per_contact": {"values": [300, 320]}},
                          "kpis": ["cost_per_year"]}))
    points = build_points(load_sweep(path))
    assert len(points) == 2
    assert all(Path(p.raw["initial_state"]["file"]) == clinic.parent / "waiting_list.csv" for p in points)


def test_the_returns_sweep_varies_the_shipped_return_rule_in_both_pathways():
    """scenarios/sweeps/ed_returns.yaml: every point is a valid scenario, and carries its values."""
    from pathlib import Path
    path = Path(__file__).resolve().parents[2] / "scenarios" / "sweeps" / "ed_returns.yaml"
    points = points_of(path)
    assert len(points) == 2 * 4 * 2  # two pathways × four probabilities × at_exit or not
    for p in points:
        rule = p.scenario.health.returns["relapse"]
        assert rule.probability == p.values["health.returns.relapse.probability"]
        assert rule.at_exit == p.values["health.returns.relapse.at_exit"]


@pytest.mark.parametrize("key, expected", [
    # 'hours' is near 'hourly' (a demand key), which is no key of a staff role
    ("services.desk.staff.server.hours", "keys allowed there: label, wte, clinical_hours_per_week"),
    ("services.desk.staff.server.cost_per_hr", "did you mean 'services.desk.staff.server.cost_per_hour'"),
    # a schema key valid elsewhere (a service's beds) is not a staff role's, though the base lacks it
    ("services.desk.staff.server.beds", "no key 'beds' under services.desk.staff.server"),
])
def test_a_wrong_key_path_suggests_only_keys_valid_at_its_position(make_sweep, key, expected):
    path = make_sweep({"parameters": {key: [9, 10]}})
    with pytest.raises(IcssimError) as info:
        points_of(path)
    text = str(info.value)
    assert expected in text
    assert "hourly" not in text


def test_an_optional_key_the_base_leaves_at_its_default_can_be_swept(make_sweep):
    path = make_sweep({"parameters": {"services.desk.staff.server.paid_hours_per_year": [1500, 1600]}})
    points = points_of(path)
    assert [p.scenario.services["desk"].staff["server"].paid_hours_per_year for p in points] == [1500, 1600]
