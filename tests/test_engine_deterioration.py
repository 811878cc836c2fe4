"""Deterioration over successive waits: each wait at a deteriorating step carries the scenario's
hazard, whatever happened in earlier waits (model/engine.py, ``Simulation._schedule_deterioration``).

The engine keeps one deterioration timer per patient and lets a later wait reuse it when it is still
ahead (memorylessness). These tests check the consequence a planner relies on: with a hazard ``h``
and a wait of fixed length ``w``, a share ``1 - exp(-h w)`` of those who reach that wait deteriorate
during it, at the first wait and again at a later one; time in service and waits at steps that do
not deteriorate carry no risk.
"""

import math

import numpy as np

from icssim.model import compile_plan, simulate
from icssim.scenario import scenario_from_dict

HAZARD_PER_DAY = 0.1
WAIT_DAYS = 5.0
SERVICE_DAYS = 3.0
EMERGENCY = 3  # visit outcome code (engine.EMERGENCY)


def _step(then: str, deteriorates: bool = True) -> dict:
    return {"kind": "assessment", "service": "team", "staff": ["nurse"], "handoff": f"{WAIT_DAYS} days",
            "duration": f"{SERVICE_DAYS} days", "deteriorate_while_waiting": deteriorates, "next": then}


SCENARIO = {
    "scenario": {"name": "successive_waits", "time_unit": "days", "horizon": "1 year", "seed": 5},
    "attributes": {"risk": ["green", "red"]},
    "cohorts": {"all": {"rate": "40 per day", "entry": "first", "attributes": {"risk": "green"}}},
    "services": {"team": {"staff": {"nurse": {"wte": 2000}}}},  # nobody queues: each wait is the hand-off
    "pathway": {"steps": {
        "first": _step("middle"),
        "middle": _step("last", deteriorates=False),
        "last": _step("done"),
        "ae": {"kind": "emergency", "next": "done"},
        "done": {"kind": "discharge"}}},
    "deterioration": {"attribute": "risk", "hazard": {"green": f"{HAZARD_PER_DAY} per day"},
                      "emergency_at": "red", "emergency_step": "ae"},
}


def _emergency_share_by_step(rec) -> dict[str, tuple[float, int]]:
    """Share of the patients reaching each step who left its wait for A&E, among patients who arrived
    early enough to finish the pathway before the horizon (no censoring)."""
    finished_in_time = rec.patients["pid"][rec.patients["arrival"] < rec.horizon - 60]
    v = rec.visits
    keep = np.isin(v["pid"], finished_in_time)
    out = {}
    for name in ("first", "middle", "last"):
        at = keep & (v["step"] == rec.steps.index(name))
        out[name] = (float(np.mean(v["outcome"][at] == EMERGENCY)), int(at.sum()))
    return out


def test_each_deteriorating_wait_carries_the_hazard_and_service_carries_none():
    rec = simulate(compile_plan(scenario_from_dict(SCENARIO)))
    expected = 1 - math.exp(-HAZARD_PER_DAY * WAIT_DAYS)  # 0.393
    shares = _emergency_share_by_step(rec)
    for name in ("first", "last"):
        share, n = shares[name]
        se = math.sqrt(expected * (1 - expected) / n)
        assert n > 2000 and abs(share - expected) < 4 * se, (name, share, expected, n)
    # Had the timer kept running through service and the middle wait, the last wait would see
    # P(T in [16, 21] | T > 5) = exp(-1.1) (1 - exp(-0.5)) = 0.13 of its arrivals deteriorate.
    assert shares["middle"] == (0.0, shares["middle"][1]) and shares["middle"][1] > 2000


def test_a_wait_at_a_new_risk_level_has_that_level_s_hazard():
    """The middle step sets everyone's risk to amber (hazard 0.3 a day against green's 0.1): a timer
    drawn at green in the first wait, often still ahead, must not carry over to the last wait."""
    scenario = {**SCENARIO, "attributes": {"risk": ["green", "amber", "red"]},
                "deterioration": {**SCENARIO["deterioration"],
                                  "hazard": {"green": "0.1 per day", "amber": "0.3 per day"}}}
    scenario["pathway"] = {"steps": {**SCENARIO["pathway"]["steps"],
                                     "middle": {**_step("last", deteriorates=False), "sets": {"risk": "amber"}}}}
    rec = simulate(compile_plan(scenario_from_dict(scenario)))
    shares = _emergency_share_by_step(rec)
    # first wait: red needs green -> amber -> red within 5 days, T1 ~ Exp(0.1) then T2 ~ Exp(0.3)
    first = 1 - (0.3 * math.exp(-0.1 * WAIT_DAYS) - 0.1 * math.exp(-0.3 * WAIT_DAYS)) / (0.3 - 0.1)  # 0.202
    last = 1 - math.exp(-0.3 * WAIT_DAYS)  # amber all through: 0.777
    for name, expected in (("first", first), ("last", last)):
        share, n = shares[name]
        se = math.sqrt(expected * (1 - expected) / n)
        assert n > 2000 and abs(share - expected) < 4 * se, (name, share, expected, n)


def test_a_persons_deterioration_is_their_own_whoever_else_deteriorates():
    """Deterioration draws come from each person's own streams (model/choices.py), not one stream
    shared in the order timers are drawn: another cohort deteriorating at its own steps (its own
    staff, so no one's wait changes) leaves every patient of the first cohort with the same
    escalations, exactly. From a shared stream, the other cohort's timers would take draws between
    theirs and change who deteriorates."""
    other = {**SCENARIO,
             "cohorts": {**SCENARIO["cohorts"],
                         "others": {"rate": "40 per day", "entry": "apart", "attributes": {"risk": "green"}}},
             "services": {**SCENARIO["services"], "elsewhere": {"staff": {"nurse": {"wte": 2000}}}},
             "pathway": {"steps": {**SCENARIO["pathway"]["steps"],
                                   "apart": {**_step("done"), "service": "elsewhere"}}}}
    alone = simulate(compile_plan(scenario_from_dict(SCENARIO)))
    beside = simulate(compile_plan(scenario_from_dict(other)))
    mine = beside.patients["cohort"] == 0
    assert int((~mine).sum()) > 10_000
    for key in ("arrival", "exit", "outcome", "n_ae"):
        assert np.array_equal(alone.patients[key], beside.patients[key][mine], equal_nan=True), key
    assert int(alone.patients["n_ae"].sum()) > 1000


def test_a_crisis_on_a_routing_delay_records_no_visit_to_the_step_not_yet_reached():
    """Someone who deteriorates to the emergency level (or dies) on a routing delay (a GP's letter
    on its way to the assessment) has no visit open: the visits table kept a row for the step they
    had not reached, with the previous step's times (22 of 57 emergency rows in this scenario). A
    patient's visit to a step begins after their visit to the step before has ended."""
    import copy

    import pandas as pd
    from test_kpi_oracle import RAW

    from icssim.experiments import run_replication
    from icssim.model.records import VISIT_OUTCOMES
    from icssim.scenario import scenario_from_dict

    rec = run_replication(scenario_from_dict(copy.deepcopy(RAW)), 0).records
    V = pd.DataFrame(rec.visits).sort_values(["pid", "t_enter", "t_end"], kind="stable")
    crises = V["outcome"].isin([VISIT_OUTCOMES.index(x) for x in ("emergency", "escalated", "died")])
    assert crises.sum() > 20   # (the scenario sends people to A&E while they wait)
    earlier = V.groupby("pid")[["t_end", "step"]].shift()
    moved_on = earlier["step"].notna() & (earlier["step"] != V["step"])   # (a missed appointment's rebooked
    overlap = V[moved_on & (V["t_enter"] < earlier["t_end"] - 1e-9)]     # visit keeps the step's entry time)
    assert overlap.empty, overlap.head()


def test_the_records_keep_a_changed_attribute_on_arrival_and_on_leaving():
    """Everyone arrives green; the middle step sets amber and deterioration moves risk up. The
    patient table keeps both: ``arrival_risk`` (green for all) and ``attr_risk`` (where they left:
    amber after the middle step, red after an escalation). Attributes nothing changes get no
    arrival column."""
    scenario = {**SCENARIO, "attributes": {"risk": ["green", "amber", "red"], "band": ["low", "high"]},
                "cohorts": {"all": {**SCENARIO["cohorts"]["all"], "attributes": {"risk": "green", "band": "high"}}},
                "deterioration": {**SCENARIO["deterioration"],
                                  "hazard": {"green": "0.1 per day", "amber": "0.3 per day"}}}
    scenario["pathway"] = {"steps": {**SCENARIO["pathway"]["steps"],
                                     "middle": {**_step("last", deteriorates=False), "sets": {"risk": "amber"}}}}
    rec = simulate(compile_plan(scenario_from_dict(scenario)))
    P = rec.patients
    left = ~np.isnan(P["exit"])
    assert "arrival_band" not in P and "arrival_urgency" not in P
    assert (P["arrival_risk"] == 0).all()
    assert set(np.unique(P["attr_risk"][left])) == {1.0, 2.0}  # amber after the middle step, or red
    assert (P["attr_risk"][left & (P["n_ae"] > 0)] == 2).all()
    from icssim.metrics import patients_frame

    df = patients_frame(rec)
    assert list(df["arrival_risk"].cat.categories) == ["green", "amber", "red"]
    assert (df["arrival_risk"] == "green").all()
