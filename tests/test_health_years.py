"""The hazard of death within a stretch of a course, year by year (``health.years``): the
follow-up's numpy sums give the engine's to the bit, the death they find is where the life
table's hazards, summed by hand, reach the clock, and the anniversaries on the way are listed."""

import math

import numpy as np
import pytest
from test_health_engine import _mortal

from icssim.health.course import _Course
from icssim.health.outcomes import Timeline
from icssim.health.person_returns import PathwayCourse
from icssim.health.plan import compile_health
from icssim.health.years import Years
from icssim.scenario import scenario_from_dict

N = 400


@pytest.fixture(scope="module")
def stretches():
    """N people of the mortal Markov cohort at various ages, states and sexes, each with a stretch
    from t0 to ``until`` and a clock of death small enough that about half die within it."""
    plan = compile_health(scenario_from_dict(_mortal()))
    rng = np.random.default_rng(7)
    age = rng.uniform(20.0, 95.0, N)
    t0 = rng.uniform(0.0, 4.0, N)
    t0[:20] = np.floor(t0[:20])  # some start on an anniversary
    until = t0 + rng.uniform(0.0, 5.0, N)
    state = rng.integers(0, plan.dead, N)
    male = rng.random(N) < 0.5
    clock = rng.exponential(1.0, N) * 0.5
    follow = _Course(plan, Timeline(keys=np.arange(N, dtype=np.uint64), cohort=np.zeros(N, dtype=np.int64),
                                    treat=np.full(N, np.nan), leave=np.zeros(N), admit=np.full(N, np.nan),
                                    age=age, ill_before=np.zeros(N)))
    follow.state, follow.male = state.astype(np.int64), male
    n = plan.dead
    h0 = plan.mortality.at(age + t0, male) * follow.flat_rr[follow.group * n + follow.state]
    return plan, follow, Years(follow, t0, h0), dict(age=age, t0=t0, until=until, state=state, male=male, clock=clock)


def _engine_people(plan, s):
    """The same people as the engine holds them (its course, started and moved to t0)."""
    course = PathwayCourse(plan, 2026, 0, ["all"], ["age"])
    people = []
    for i in range(N):
        p = course.begin(0, [float(s["age"][i])], 0.0)
        p.male, p.state, p.t = bool(s["male"][i]), int(s["state"][i]), float(s["t0"][i])
        course._hazards(p)  # (the hazard of death at t0: p.death)
        p.clocks[plan.dead] = float(s["clock"][i])
        people.append(p)
    return course, people


def test_the_follow_up_finds_the_engines_deaths_to_the_bit(stretches):
    plan, _, years, s = stretches
    course, people = _engine_people(plan, s)
    engine = np.array([course._death_due(p, float(u)) for p, u in zip(people, s["until"])])
    follow = years.death_due(s["clock"], s["until"])
    assert 0.3 * N < np.isfinite(engine).sum() < 0.9 * N
    assert np.array_equal(engine, follow)
    t1 = np.minimum(follow, s["until"])
    spent = np.array([max(p.clocks[plan.dead] - course._death_spent(p, float(t)), 0.0) for p, t in zip(people, t1)])
    assert np.array_equal(spent, years.spend(s["clock"], t1))


def test_a_death_comes_where_the_life_tables_hazards_reach_the_clock(stretches):
    plan, follow, years, s = stretches
    death = years.death_due(s["clock"], s["until"])
    life = plan.mortality.hazard
    for i in range(N):
        rr = follow.flat_rr[s["state"][i]]  # (one group: the state's multiplier)
        sex = int(s["male"][i])

        def met(t: float) -> float:  # the hazard met from t0 to t: the first year's row at t0, then each year's
            total, start = 0.0, s["t0"][i]
            while start < t:
                end = min(math.floor(start + 1e-12) + 1.0, t)
                row = int(s["age"][i] + start) if start == s["t0"][i] else int(s["age"][i]) + int(round(start))
                total += life[min(row, len(life) - 1), sex] * rr * (end - start)
                start = end
            return total

        if np.isfinite(death[i]):
            assert met(death[i]) == pytest.approx(s["clock"][i], rel=1e-9)
        else:
            assert met(s["until"][i]) <= s["clock"][i] * (1 + 1e-9)


def test_the_anniversaries_on_the_way_are_listed(stretches):
    _, follow, years, s = stretches
    end = np.full(N, 3.0)
    who, year = years.anniversaries(s["until"], end, 5)
    listed = set(zip(who.tolist(), year.tolist()))
    expected = {(i, k) for i in range(N) for k in range(1, 5)
                if s["t0"][i] < k < s["until"][i] and k <= 3.0}
    assert listed == expected and len(expected) > N / 2
