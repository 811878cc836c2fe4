"""A course of illness whose parameters differ by a categorical attribute (``health.by``, e.g. the
diagnosis): compiled per cohort and level, each group follows its own closed form, and mistakes in
the levels are refused naming the key."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad

from icssim.errors import ScenarioError
from icssim.health.course import follow
from icssim.health.keys import person_keys
from icssim.health.outcomes import Timeline
from icssim.health.plan import TREATED, UNTREATED, compile_health
from icssim.scenario.initial_state import anchored_raw

from helpers import SCENARIOS, shipped
from icssim.scenario import load_scenario, scenario_from_dict


def _ed_raw() -> dict:
    return anchored_raw(load_scenario(SCENARIOS / "ed_fragmented.yaml"))


def test_shipped_ed_course_is_compiled_per_cohort_and_diagnosis():
    s = shipped("ed_fragmented")
    plan = compile_health(s)
    assert plan is not None and plan.by == "diagnosis"
    levels = list(s.attributes["diagnosis"])
    cohorts = list(s.cohorts)
    assert plan.rates.shape[0] == len(cohorts) * len(levels) == plan.utility.shape[0] == plan.start.shape[0]
    moderate, severe, early = (plan.names.index(n) for n in ("ill_moderate", "ill_severe", "remitted_early"))

    def group(cohort: str, level: str) -> int:
        return int(plan.group_of(np.array([cohorts.index(cohort)]), np.array([levels.index(level)]))[0])

    per_month = 12  # the scenario writes these hazards per month; the plan holds them per year
    assert plan.rates[group("adults", "anorexia"), TREATED, moderate, early] == pytest.approx(0.024 * per_month,
                                                                                             rel=1e-3)
    assert plan.rates[group("cyp", "anorexia"), TREATED, moderate, early] == pytest.approx(0.050 * per_month, rel=1e-3)
    assert plan.rates[group("cyp", "bulimia"), TREATED, moderate, early] == pytest.approx(0.036 * per_month, rel=1e-3)
    assert plan.rates[group("adults", "binge_eating"), UNTREATED, moderate, early] == pytest.approx(
        0.008 * per_month, rel=1e-3)
    # only anorexia deteriorates to the severe state of its own accord (outcomes 6.1)
    assert plan.rates[group("adults", "anorexia"), UNTREATED, moderate, severe] > 0
    assert plan.rates[group("adults", "osfed"), UNTREATED, moderate, severe] == 0
    assert plan.start[group("cyp", "bulimia"), moderate] == 1.0
    assert plan.start[group("cyp", "anorexia"), severe] == pytest.approx(0.44)
    assert plan.mortality_rr[group("adults", "anorexia"), moderate] == pytest.approx(10.7)
    assert plan.mortality_rr[group("adults", "bulimia"), moderate] == pytest.approx(2.9)
    assert plan.utility[group("cyp", "binge_eating"), moderate] == pytest.approx(0.80)
    assert plan.utility[group("cyp", "binge_eating"), plan.dead] == 0.0


def test_each_group_follows_its_own_exponential_and_annuity():
    """Two levels with different remission hazards, utilities and starting states: each group's
    share still ill is exp(-h t) and its undiscounted QALYs the matching integral."""
    raw = _ed_raw()
    h = raw["health"]
    h["mortality"] = None
    h["untreated_duration"] = None
    # on_admission (ill_severe) stays: no one is admitted here (admit is NaN)
    h["start"] = {"anorexia": {"ill_moderate": 1.0}, "bulimia": {"ill_moderate": 1.0},
                  "binge_eating": {"remitted_lasting": 1.0}, "osfed": {"remitted_lasting": 1.0}}
    h["transitions"] = [
        {"from": "ill_moderate", "to": "remitted_early", "when": {"diagnosis": "anorexia"}, "rate": "0.2 per year"},
        {"from": "ill_moderate", "to": "remitted_early", "when": {"diagnosis": ["bulimia"]}, "rate": "0.6 per year"},
        {"from": "ill_severe", "to": "ill_moderate", "rate": "1 per year"},
        {"from": ["remitted_early", "remitted_lasting"], "to": "remitted_sustained", "rate": "0 per year"},
        {"from": "remitted_sustained", "to": "remitted_lasting", "rate": "0 per year"},
    ]
    plan = compile_health(scenario_from_dict(raw))
    n = 10_000
    levels = np.repeat([0, 1, 2], n)  # anorexia, bulimia, binge eating
    cohort = np.zeros(3 * n, np.int64)
    keys = person_keys(7, 0, ["cyp", "adults"], cohort, np.arange(3 * n))
    nan, zero = np.full(3 * n, math.nan), np.zeros(3 * n)
    tl = Timeline(keys=keys, cohort=cohort, treat=nan, leave=zero, admit=nan, age=np.full(3 * n, 20.0),
                  ill_before=zero, group=plan.group_of(cohort, levels))
    out = follow(plan, tl)
    moderate = plan.names.index("ill_moderate")
    utility = {0: 0.75, 1: 0.75}
    for level, rate in ((0, 0.2), (1, 0.6)):
        mine = levels == level
        for year in (1, 3, 5):
            expected = math.exp(-rate * year)
            observed = (out.state_at[mine, year] == moderate).mean()
            assert abs(observed - expected) < 4 * math.sqrt(expected * (1 - expected) / n), (level, year)
        # ill at 0.75, then in remission at 0.85 (its first year) and 0.90: E[QALYs over 10 years] is
        # the time ill plus, for a remission at s (density r e^(-rs)), U(10 - s) of remission
        def remitted(x: float) -> float:
            return 0.85 * min(x, 1.0) + 0.90 * max(x - 1.0, 0.0)

        ill, _ = quad(lambda t, r=rate: utility[level] * math.exp(-r * t), 0, 10)
        later, _ = quad(lambda s, r=rate: r * math.exp(-r * s) * remitted(10 - s), 0, 10, points=[9.0])
        expected_qalys = ill + later
        assert out.qalys_undiscounted[mine].mean() == pytest.approx(expected_qalys, rel=0.01)
    # binge eating starts in lasting remission and nothing moves it
    assert (out.state_at[levels == 2, 5] == plan.names.index("remitted_lasting")).all()


@pytest.mark.parametrize("change, key, words", [
    ({"by": "risk_level"}, "health.by", "not a categorical attribute"),
    ({"states.ill_moderate.utility": {"anorexia": 0.7, "bulimia": 0.7}}, "health.states.ill_moderate.utility",
     "expected one value for each level of 'diagnosis'"),
    ({"transitions.0.when": {"diagnosis": ["anorexic"]}}, "health.transitions.0.when.diagnosis",
     "did you mean 'anorexia'"),
    ({"transitions.0.when": {"risk": ["green"]}}, "health.transitions.0.when.risk", "can only name"),
    ({"start.bulimia": {"ill_moderate": 0.5}}, "health", "'start' shares for 'bulimia' must be at least 0 and add up"),
])
def test_mistakes_in_the_levels_are_refused_naming_the_key(change, key, words):
    raw = _ed_raw()
    for path, value in change.items():
        node = raw["health"]
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[parts[-1]] = value
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(raw)
    problems = [(p.path, p.message) for p in caught.value.problems]
    assert any(k.startswith(key) and words in m for k, m in problems), problems


def test_values_per_level_need_by():
    raw = _ed_raw()
    del raw["health"]["by"]
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(raw)
    messages = " ".join(p.message for p in caught.value.problems)
    assert "no 'by'" in messages and "needs 'by'" in messages
