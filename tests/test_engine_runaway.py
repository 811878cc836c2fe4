"""The engine stops a replication in which a patient goes round the pathway without end
(a loop whose way out is never taken in practice), with a clear error instead of a run that
never finishes; replications finished before it are kept by the command line."""

from __future__ import annotations

import json
import time

import pytest

from icssim.cli import main
from icssim.model import compile_plan, simulate
from icssim.errors import RunawayPathway
from icssim.scenario import scenario_from_dict


def _loop(exit_when: str = "age < 200") -> dict:
    """Patients loop through a 0.6-second delay for as long as ``exit_when`` holds (here: always)."""
    return {
        "scenario": {"name": "loop", "time_unit": "days", "horizon": 60, "warmup": 10},
        "cohorts": {"young": {"rate": "3 per day", "entry": "assess",
                              "attributes": {"age": {"dist": "uniform", "low": 10, "high": 18}}}},
        "services": {"team": {"staff": {"clinician": {"wte": 3, "clinical_hours_per_week": 22.5,
                                                      "cost_per_hour": 60}}}},
        "pathway": {"steps": {
            "assess": {"kind": "assessment", "service": "team", "staff": ["clinician"],
                       "duration": "1 hour", "next": "loop"},
            "loop": {"kind": "delay", "duration": "0.01 minutes",
                     "next": [{"to": "loop", "when": exit_when}, {"to": "done"}]},
            "done": {"kind": "discharge"},
        }},
    }


def test_a_loop_without_end_stops_with_a_clear_error():
    plan = compile_plan(scenario_from_dict(_loop()))
    started = time.perf_counter()
    with pytest.raises(RunawayPathway) as stop:
        simulate(plan, 0, 1)
    assert time.perf_counter() - started < 30
    message = str(stop.value)
    assert "patient 0 (cohort 'young') moved between steps more than 100,000 times" in message
    assert "last into step 'loop'" in message and "loops without end" in message


def test_the_guard_does_not_touch_a_loop_that_ends():
    """The same pathway whose loop ends (nobody is 200) runs to the horizon as before."""
    plan = compile_plan(scenario_from_dict(_loop(exit_when="age > 200")))
    records = simulate(plan, 0, 1)
    assert records.arrivals > 100 and records.exits > 100


def test_the_command_says_which_replication_and_step(tmp_path, capsys):
    path = tmp_path / "loop.yaml"
    path.write_text(json.dumps(_loop()))  # JSON is YAML
    out = tmp_path / "o"
    assert main(["run", str(path), "--out", str(out), "-n", "2", "-w", "2", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("icssim: error: replication 0: patient 0 (cohort 'young')") and "Traceback" not in err
    assert not out.exists()
