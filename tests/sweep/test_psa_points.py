"""A PSA's points keep their drawn values only: each point's scenario data is built when a run
needs it, tasks are made as the executor takes them, and drawn values with a unit plot as numbers."""

from __future__ import annotations

import types

from icssim.sweep import runner
from icssim.sweep.design import build_points, point_raw
from icssim.sweep.plots import _numbers_of_one_unit, plot_jobs
from icssim.sweep.spec import load_sweep

MEAN = "pathway.steps.service.duration.mean"


def _psa(make_sweep, samples: int = 6):
    return make_sweep({"design": "psa", "samples": samples,
                       "parameters": {MEAN: {"dist": "gamma", "mean": 0.9, "sd": 0.05}}})


def test_points_hold_values_not_scenarios(make_sweep):
    sweep = load_sweep(_psa(make_sweep))
    points = build_points(sweep)
    p = points[3]
    assert "raw" not in vars(p) and "scenario" not in vars(p)  # nothing held after validation
    first, again = p.raw, p.raw
    assert first == again and first is not again  # built afresh each time it is asked for
    assert first == point_raw(sweep, p.build.args[1], p)
    assert p.key == points[3].key and p.key != points[4].key
    assert p.scenario.pathway.steps["service"].duration.mean.value == p.values[MEAN]  # validated on demand


def test_tasks_are_made_as_they_are_taken(make_sweep, tmp_path):
    run = runner.prepare(_psa(make_sweep), tmp_path / "out")
    tasks = runner.tasks_for(run, [(p.index, 0) for p in run.points])
    assert isinstance(tasks, types.GeneratorType)
    task = next(tasks)
    assert task.raw == run.points[0].raw and task.key == run.points[0].key


def test_drawn_values_with_one_unit_are_numbers():
    assert _numbers_of_one_unit({0: "0.028 per month", 1: "1e-3 per month"}) == {0: 0.028, 1: 0.001}
    assert _numbers_of_one_unit({0: "2 weeks", 1: "14 days"}) == {0: "2 weeks", 1: "14 days"}
    assert _numbers_of_one_unit({0: 0.5, 1: "0.7 per day"}) == {0: 0.5, 1: "0.7 per day"}


def test_a_psa_draws_no_scatter_of_its_draws(make_sweep, tmp_path):
    import pandas as pd

    run = runner.prepare(_psa(make_sweep), tmp_path / "out")
    summ = pd.DataFrame({"kpi": ["wait_mean"], "point": [0], "mean": [1.0], "half_width": [0.1]})
    frame = pd.DataFrame({"point": [0], "wait_mean": [1.0]})
    assert not [job for job in plot_jobs(run, summ, frame) if job[0] == "scatter"]
