"""Routing in the engine: probabilistic branches, conditional branches, and ``after`` delays."""

from __future__ import annotations

import numpy as np
import pytest

from icssim.model import compile_plan, simulate
from icssim.scenario import scenario_from_dict


def _scenario(steps: dict, attributes: dict | None = None, levels: dict | None = None,
              rate: str = "40 per day", horizon: int = 500) -> dict:
    steps = {**steps, "out_x": {"kind": "discharge"}, "out_y": {"kind": "discharge"},
             "out_z": {"kind": "discharge"}}
    return {
        "scenario": {"name": "routing", "time_unit": "days", "horizon": horizon, "seed": 11},
        "attributes": levels or {},
        "cohorts": {"c": {"rate": rate, "entry": "start", "attributes": attributes or {}}},
        "pathway": {"steps": steps},
    }


def _visits(raw: dict, seed: int | None = None):
    rec = simulate(compile_plan(scenario_from_dict(raw)), seed=seed)
    names = np.array(rec.steps)
    v = {k: np.asarray(a) for k, a in rec.visits.items()}
    return rec, v, names[v["step"]]


def _exits(raw: dict, seed: int | None = None):
    """Records, and the discharge step (outcome) of each patient, indexed by patient id."""
    rec = simulate(compile_plan(scenario_from_dict(raw)), seed=seed)
    order = np.argsort(rec.patients["pid"])
    outcome = np.array(rec.outcomes)[rec.patients["outcome"]][order]
    return rec, outcome, order


def test_probabilistic_branch_frequencies_match_p():
    p = {"out_x": 0.2, "out_y": 0.5, "out_z": 0.3}
    raw = _scenario({"start": {"kind": "referral",
                               "next": [{"to": k, "p": v} for k, v in p.items()]}})
    rec, ends, _ = _exits(raw)
    n = len(ends)
    assert n == rec.arrivals > 15_000
    for target, prob in p.items():
        share = np.mean(ends == target)
        se = np.sqrt(prob * (1 - prob) / n)
        assert abs(share - prob) < 4 * se, (target, share, prob)


def test_probabilistic_routing_depends_on_the_seed_but_is_reproducible():
    raw = _scenario({"start": {"kind": "referral",
                               "next": [{"to": "out_x", "p": 0.5}, {"to": "out_y", "p": 0.5}]}},
                    horizon=50)
    _, a, _ = _exits(raw, seed=1)
    _, b, _ = _exits(raw, seed=1)
    _, c, _ = _exits(raw, seed=2)
    assert np.array_equal(a, b)
    assert not np.array_equal(a[:200], c[:200])


def test_conditional_routing_takes_the_first_matching_branch():
    raw = _scenario(
        {"start": {"kind": "referral", "next": [
            {"when": "band >= mid and age < 10", "to": "out_x"},
            {"when": "band == high", "to": "out_y"},   # overlaps the first branch: order decides
            {"to": "out_z"},
        ]}},
        attributes={"band": {"values": ["low", "mid", "high"]}, "age": {"dist": "uniform", "low": 0, "high": 30}},
        levels={"band": ["low", "mid", "high"]}, horizon=100,
    )
    rec, exits, order = _exits(raw)
    band, age = rec.patients["attr_band"][order], rec.patients["attr_age"][order]
    expected = np.where((band >= 1) & (age < 10), "out_x", np.where(band == 2, "out_y", "out_z"))
    assert len(exits) == rec.arrivals > 3000
    np.testing.assert_array_equal(exits, expected)
    # every branch was exercised, including the overlap resolved in favour of the first branch
    assert {"out_x", "out_y", "out_z"} <= set(exits)
    assert np.any((band == 2) & (age < 10) & (exits == "out_x"))


def test_nested_routing_draws_then_tests_conditions():
    raw = _scenario(
        {"start": {"kind": "referral", "next": [
            {"p": 0.6, "next": [{"when": "band == high", "to": "out_x"}, {"to": "out_y"}]},
            {"p": 0.4, "to": "out_z"},
        ]}},
        attributes={"band": {"values": ["low", "high"], "weights": [1, 1]}}, levels={"band": ["low", "high"]},
    )
    rec, exits, order = _exits(raw)
    band = rec.patients["attr_band"][order]
    n = len(exits)
    assert abs(np.mean(exits == "out_z") - 0.4) < 4 * np.sqrt(0.24 / n)
    assert set(exits[band == 1]) == {"out_x", "out_z"}
    assert set(exits[band == 0]) == {"out_y", "out_z"}


@pytest.mark.parametrize("after, mean", [("3 days", 3.0), ("12 hours", 0.5), ("2 weeks", 14.0)])
def test_fixed_after_delay_is_applied_exactly(after, mean):
    raw = _scenario({"start": {"kind": "referral", "next": {"to": "wait", "after": after}},
                     "wait": {"kind": "referral", "next": "out_x"}}, rate="2 per day", horizon=200)
    _, v, steps = _visits(raw)
    left = dict(zip(v["pid"][steps == "start"], v["t_end"][steps == "start"]))
    arrived = dict(zip(v["pid"][steps == "wait"], v["t_enter"][steps == "wait"]))
    gaps = np.array([arrived[p] - left[p] for p in arrived])
    assert len(gaps) > 300
    np.testing.assert_allclose(gaps, mean, atol=1e-9)


def test_random_after_delay_has_its_mean_and_only_on_its_branch():
    raw = _scenario({"start": {"kind": "referral", "next": [
        {"to": "wait", "p": 0.5, "after": {"dist": "exponential", "mean": "5 days"}},
        {"to": "out_y", "p": 0.5},
    ]}, "wait": {"kind": "referral", "next": "out_x"}}, rate="20 per day", horizon=500)
    _, v, steps = _visits(raw)
    left = dict(zip(v["pid"][steps == "start"], v["t_end"][steps == "start"]))
    arrived = dict(zip(v["pid"][steps == "wait"], v["t_enter"][steps == "wait"]))
    gaps = np.array([arrived[p] - left[p] for p in arrived])
    assert len(gaps) > 3000
    assert abs(gaps.mean() - 5.0) < 4 * 5.0 / np.sqrt(len(gaps))
    rec = simulate(compile_plan(scenario_from_dict(raw)))
    P = rec.patients
    direct = P["outcome"] == rec.outcomes.index("out_y")
    assert direct.sum() > 3000
    np.testing.assert_array_equal(P["exit"][direct], P["arrival"][direct])  # no delay on that branch


@pytest.mark.parametrize("op", ["<", "<=", ">", ">=", "==", "!="])
def test_compiled_condition_agrees_with_the_operator(op):
    """plan.compile_condition generates one expression; it must decide as the clauses' operators do,
    for plain and ageing attributes, NaN included (every comparison with NaN is false, != true)."""
    from icssim.model.plan import compile_condition
    from icssim.scenario.conditions import OPERATORS

    rng = np.random.default_rng(3)
    ypu = 1 / 365.25
    both = compile_condition([(op, 0, 1.0, None), (op, 1, 15.0, ypu)])
    plain = compile_condition([(op, 0, 1.0, None)])
    compare = OPERATORS[op]
    for _ in range(500):
        attrs = [float(rng.integers(0, 3)), float(rng.integers(12, 18)), np.nan]
        if rng.random() < 0.1:
            attrs[0] = np.nan
        arrival, now = float(rng.uniform(0, 100)), float(rng.uniform(100, 2000))
        age = attrs[1] + (now - arrival) * ypu
        assert plain(attrs, arrival, now) == compare(attrs[0], 1.0)
        assert both(attrs, arrival, now) == (compare(attrs[0], 1.0) and compare(age, 15.0))
    assert compile_condition([])([], 0.0, 0.0) is True


def test_compiled_condition_refuses_an_unknown_operator():
    from icssim.model.plan import compile_condition

    with pytest.raises(ValueError, match="unknown comparison operator"):
        compile_condition([("=>", 0, 1.0, None)])
