"""A step's ``choice:`` draws its routing from the person's own stream (model/choices.py), so that two
pathways that name a decision alike let the same person decide alike (issue 20)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from icssim.errors import ScenarioError
from icssim.model import compile_plan, simulate
from icssim.scenario import scenario_from_dict


def _raw(step: str, p_yes: float, choice: str | None, before: float = 0.5) -> dict:
    """People wait a random time at ``wait`` (so that they reach the decision in an order of its own),
    then the step ``step`` sends a share ``p_yes`` to ``yes``, the rest to ``no``."""
    decide = {"kind": "triage", "next": [{"p": p_yes, "to": "yes"}, {"p": round(1 - p_yes, 10), "to": "no"}]}
    if choice is not None:
        decide["choice"] = choice
    return {
        "scenario": {"name": f"s_{step}", "time_unit": "days", "horizon": 600, "warmup": 0, "seed": 11},
        "cohorts": {"people": {"rate": 5, "entry": "wait"}},
        "pathway": {"steps": {
            "wait": {"kind": "delay", "duration": {"dist": "exponential", "mean": before}, "next": step},
            step: decide,
            "yes": {"kind": "discharge", "outcome": "yes"},
            "no": {"kind": "discharge", "outcome": "no"},
        }},
    }


def _said_yes(raw: dict, decided: int = 2900) -> np.ndarray:
    """Whether each of the first ``decided`` arrivals (by pid; all past the decision by the end)
    left through ``yes``."""
    rec = simulate(compile_plan(scenario_from_dict(copy.deepcopy(raw), name=raw["scenario"]["name"])), 0)
    outcomes = np.asarray(rec.outcomes)[rec.patients["outcome"]][np.argsort(rec.patients["pid"])][:decided]
    assert np.isin(outcomes, ["yes", "no"]).all()
    return outcomes == "yes"


def test_the_same_named_choice_makes_the_same_person_decide_alike():
    # different step names and a different order of arrival at the decision (another wait)
    a = _said_yes(_raw("assess", 0.7, "offered"))
    b_raw = _raw("joint_assessment", 0.7, "offered", before=3.0)
    b = _said_yes(b_raw)
    assert (a == b).all()
    # each step's own stream, as before: the same share, but not the same people
    a0, b0 = _said_yes(_raw("assess", 0.7, None)), _said_yes(_raw("joint_assessment", 0.7, None, before=3.0))
    assert abs(a0.mean() - b0.mean()) < 0.03
    assert (a0 == b0).mean() < 0.65  # independent: 0.7² + 0.3² = 0.58


def test_different_shares_couple_as_closely_as_they_allow():
    low = _said_yes(_raw("assess", 0.6, "offered"))
    high = _said_yes(_raw("other", 0.8, "offered", before=2.0))
    assert not (low & ~high).any()  # everyone who says yes at 0.6 says yes at 0.8
    assert abs(low.mean() - 0.6) < 4 * np.sqrt(0.6 * 0.4 / len(low))
    assert abs(high.mean() - 0.8) < 4 * np.sqrt(0.8 * 0.2 / len(high))


def test_a_persons_successive_decisions_under_one_name_are_fresh_draws():
    # two decisions in a row under one name: the second is not the first again
    raw = _raw("assess", 0.5, "offered")
    steps = raw["pathway"]["steps"]
    steps["assess"]["next"] = [{"p": 0.5, "to": "again"}, {"p": 0.5, "to": "no"}]
    steps["again"] = {"kind": "triage", "choice": "offered", "next": [{"p": 0.5, "to": "yes"}, {"p": 0.5, "to": "no"}]}
    said = _said_yes(raw)
    # yes needs two draws below 0.5: a quarter of people, not a half (the same draw twice)
    assert abs(said.mean() - 0.25) < 4 * np.sqrt(0.25 * 0.75 / len(said))


def test_a_choice_name_is_checked():
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(_raw("assess", 0.7, "Offered treatment"), name="s")
    assert "pathway.steps.assess.choice" in str(err.value)
