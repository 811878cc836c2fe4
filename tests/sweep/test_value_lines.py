"""A sweep's or PSA's value the scenario refuses, and a file it names that is not there, are named
by the sweep file's line of that value (file:line: key: ...), not by the file alone."""

from __future__ import annotations

import pytest

from icssim.cli import main
from icssim.errors import ScenarioError
from icssim.sweep.design import build_points
from icssim.sweep.spec import load_sweep

WTE = "services.desk.staff.server.wte"


def _line(path, text: str) -> int:
    """The line of ``path`` that holds ``text`` (first)."""
    return next(i for i, line in enumerate(path.read_text().splitlines(), start=1) if text in line)


@pytest.mark.parametrize("sweep, text, key", [
    ({"base": "missing.yaml", "parameters": {WTE: [10, 11]}}, '"base"', "base"),
    ({"base": {"a": "mmc_small.yaml", "b": "missing.yaml"}, "parameters": {WTE: [10, 11]}}, '"b"', "base.b"),
    ({"design": "psa", "samples": 2, "draws": {"file": "nowhere.csv"}}, '"file"', "draws.file"),
    ({"design": "psa", "samples": 2, "draws": "nowhere.csv"}, '"draws"', "draws"),
    ({"areas": {"table": "nowhere.csv", "scale": [WTE]}}, '"table"', "areas.table"),
])
def test_a_missing_file_is_named_by_its_line(make_sweep, capsys, tmp_path, sweep, text, key):
    path = make_sweep(sweep)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:{_line(path, text)}: {key}: " in err and "does not exist" in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize("parameter, text, key, value", [
    ({"low": -1, "high": 12}, '"low"', "low", "-1"),                 # one at a time: its low end
    ({"low": 8, "high": 12, "base": -3}, '"base": -3', "base", "-3"),     # the base it gives
    ({"values": [9, -2]}, "-2", "values.1", "-2"),                  # an item of its list
])
def test_a_refused_one_at_a_time_value_is_named_by_its_line(make_sweep, parameter, text, key, value):
    path = make_sweep({"design": "oat", "parameters": {WTE: parameter}})
    with pytest.raises(ScenarioError) as info:
        build_points(load_sweep(path))
    problem = info.value.problems[0]
    assert (problem.file, problem.line, problem.path) == (str(path), _line(path, text), f"parameters.{WTE}.{key}")
    assert f"{WTE}: expected a number at least 0, found {value}" in problem.message
