"""Regression: a patient re-queued after a missed appointment keeps deteriorating and ageing."""

import numpy as np

from icssim.model import compile_plan, simulate
from icssim.scenario import scenario_from_dict

SCENARIO = {
    "scenario": {"name": "missed", "time_unit": "days", "horizon": "3 years", "seed": 3},
    "attributes": {"risk": ["green", "red"]},
    "cohorts": {"all": {"rate": "3 per week", "entry": "clinic",
                        "attributes": {"risk": "green", "age": {"dist": "uniform", "low": 17.8, "high": 17.99}}}},
    "services": {"team": {"staff": {"nurse": {"wte": 1}}}},
    "pathway": {"steps": {
        "clinic": {"kind": "assessment", "service": "team", "staff": ["nurse"], "duration": "1 day",
                   "missed": {"probability": 0.6, "discharge_after": 50},
                   "age_limit": {"max_age": 18, "then": "aged"}, "next": "done"},
        "ae": {"kind": "emergency", "next": "done"},
        "done": {"kind": "discharge"}, "aged": {"kind": "discharge"}}},
    "deterioration": {"attribute": "risk", "hazard": {"green": "0.05 per week"}, "emergency_at": "red",
                      "emergency_step": "ae"},
}


def test_requeued_patients_still_deteriorate_and_age_out():
    rec = simulate(compile_plan(scenario_from_dict(SCENARIO)))
    v, steps = rec.visits, list(rec.steps)
    clinic = v["step"] == steps.index("clinic")
    missed_pids = set(v["pid"][clinic & (v["outcome"] == 4)])  # "missed"
    emergency_pids = set(v["pid"][clinic & (v["outcome"] == 3)])  # left the queue for A&E
    aged_pids = set(v["pid"][clinic & (v["outcome"] == 6)])  # "aged_out"
    # people who missed and were re-queued later go to A&E or age out from that queue
    assert len(missed_pids & emergency_pids) > 10
    assert len(missed_pids & aged_pids) > 10
    assert np.all(np.isin(list(aged_pids), rec.patients["pid"]))
