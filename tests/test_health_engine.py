"""The course of illness inside the engine (icssim.health.person, model/deterioration.py): a death
takes the person out of their queue or service, the course the engine ran is the one the follow-up
carries on (a constant-hazard cohort still follows the Markov closed form), entering a state that
``health.escalation`` names sends a waiting person to the emergency step at the rate of that state's
hazard, and the engine's random numbers are the person's own (the scalar twins of course.py's). A
lazy engine, which starts a course only when a death could be due, computes what one that runs
every course event by event does."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.linalg import expm

from icssim.errors import ScenarioError
from icssim.experiments import run_replication
from icssim.health.keys import person_keys, uniforms
from icssim.health import person
from icssim.health.person_returns import PathwayCourse
from icssim.health.person_keys import (
    Person,
    cohort_key,
    person_key,
    splitmix,
    splitmix_halves,
    uniform,
    uniform_halves,
)
from icssim.health.plan import compile_health
from icssim.model import compile_plan, deterioration, simulate
from icssim.scenario import scenario_from_dict

DAYS_PER_YEAR = 365.25
EMERGENCY, DIED = 3, 8  # visit outcome codes (records.VISIT_OUTCOMES)


def _frail(service_days: float) -> dict:
    """People aged 90 whose illness multiplies background mortality 500-fold (about 0.14 deaths a
    day), one a day, for one therapist whose sessions last ``service_days``: most die waiting."""
    return {
        "scenario": {"name": "frail", "time_unit": "days", "horizon": "1 year", "seed": 11},
        "cohorts": {"all": {"rate": "1 per day", "entry": "therapy", "attributes": {"age": 90}}},
        "services": {"team": {"staff": {"therapist": {"wte": 1}}}},
        "pathway": {"steps": {
            "therapy": {"kind": "treatment", "service": "team", "staff": ["therapist"],
                        "duration": f"{service_days} days", "next": "done"},
            "done": {"kind": "discharge", "outcome": "completed"}}},
        "health": {
            "states": {"ill": {"utility": 0.5, "mortality_rr": 500, "absorbing": True}},
            "start": {"ill": 1.0},
            "mortality": {"female_share": 1.0, "age_attribute": "age"},
            "follow_up": "1 year"},
    }


def _run(raw: dict, replication: int = 0):
    return run_replication(scenario_from_dict(raw), replication).records


def test_a_death_while_waiting_leaves_the_queue():
    rec = _run(_frail(service_days=5))
    P, v = rec.patients, rec.visits
    died = P["outcome"] == rec.outcomes.index("died")
    assert died.sum() > 100
    # the engine's death is the follow-up's death: same person, same instant, one course
    years = rec.hours_per_unit / 24 / DAYS_PER_YEAR
    assert np.allclose(rec.health.died[died], (P["exit"][died] - P["arrival"][died]) * years, rtol=0, atol=1e-9)
    left = ~died & ~np.isnan(P["exit"])  # the others died, if at all, after leaving the pathway
    assert not (rec.health.died[left] <= (P["exit"][left] - P["arrival"][left]) * years).any()
    # each of them left their wait with the visit outcome 'died', and nobody is served after dying
    died_visits = v["outcome"] == DIED
    assert set(v["pid"][died_visits]) == set(P["pid"][died])
    death_time = dict(zip(P["pid"][died], P["exit"][died]))
    started = ~np.isnan(v["t_start"])
    assert all(v["t_start"][i] <= death_time.get(pid, math.inf) for i, pid in enumerate(v["pid"]) if started[i])
    # the queue stays short (one a day in, 0.2 a day served, the rest die within a week or so):
    # without deaths leaving it, it would grow to about 290 by the end of the year
    assert rec.timeseries["queue_therapy"][-20:].max() < 40


def test_who_died_in_the_pathway_left_it_dead():
    # the leave is converted from the engine's days and the death's time is the course's own years:
    # either may round the other way, and the state on leaving must not depend on which
    rec = _run(_frail(service_days=5))
    P = rec.patients
    died = P["outcome"] == rec.outcomes.index("died")
    followed = rec.health.state_at_leave >= 0
    assert (died & followed).sum() > 100
    dead = rec.health.years_in_state.shape[1] - 1  # (dead is the last state)
    assert (rec.health.state_at_leave[died & followed] == dead).all()
    assert (rec.health.state_at_leave[~died & followed] != dead).all()


def test_a_death_in_service_frees_the_therapist():
    # sessions longer than the run: only deaths in service let anyone after the first start
    rec = _run(_frail(service_days=1000))
    P = rec.patients
    starts = int((~np.isnan(P["treat_start"])).sum())
    assert starts > 20
    died_in_service = (P["outcome"] == rec.outcomes.index("died")) & ~np.isnan(P["treat_start"])
    # the next person starts the moment the one in service dies
    deaths = np.sort(P["exit"][died_in_service])
    next_starts = np.sort(P["treat_start"][~np.isnan(P["treat_start"])])[1:]
    assert np.isin(np.round(deaths[:-1], 9), np.round(next_starts, 9)).mean() > 0.9


def test_scenarios_without_deaths_have_no_died_outcome():
    raw = _frail(service_days=5)
    del raw["health"]["mortality"]
    rec = _run(raw)
    assert "died" in rec.outcomes and not (rec.patients["outcome"] == rec.outcomes.index("died")).any()
    del raw["health"]
    assert "died" not in _run(raw).outcomes


def _markov() -> dict:
    """A ⇄ B, B → C (absorbing), the same hazards whatever the status; people spend months in the
    pathway (a queue for a busy team), so the engine runs part of every course."""
    return {
        "scenario": {"name": "markov", "time_unit": "days", "horizon": "1 year", "seed": 3},
        "cohorts": {"all": {"rate": "25 per day", "entry": "therapy"}},
        "services": {"team": {"staff": {"therapist": {"wte": 6}}}},
        "pathway": {"steps": {
            "therapy": {"kind": "treatment", "service": "team", "staff": ["therapist"],
                        "duration": {"dist": "exponential", "mean": "60 days"}, "next": "done"},
            "done": {"kind": "discharge", "outcome": "completed"}}},
        "health": {
            "states": {"a": {"utility": 0.9}, "b": {"utility": 0.6}, "c": {"utility": 0.3, "absorbing": True}},
            "start": {"a": 0.7, "b": 0.3},
            "transitions": [{"from": "a", "to": "b", "rate": "0.6 per year"},
                            {"from": "b", "to": "a", "rate": "0.3 per year"},
                            {"from": "b", "to": "c", "rate": "0.2 per year"}],
            "follow_up": "5 years", "discount": {"costs": 0, "qalys": 0}},
    }


@pytest.fixture
def eager(monkeypatch):
    """The engine runs every course event by event from arrival (no lazy start)."""
    monkeypatch.setattr(person, "LAZY", False)


@pytest.mark.parametrize("lazy", [False, True])
def test_constant_hazards_through_the_engine_follow_the_markov_model(lazy, monkeypatch):
    monkeypatch.setattr(person, "LAZY", lazy)
    rec = _run(_markov())
    out, P = rec.health, rec.patients
    n = len(P["pid"])
    moved_in_pathway = sum(1 for c in rec.course.values() if any(not a for _, _, a in c.log))
    # without deaths a lazy engine starts no course: the follow-up runs them all from the records
    assert n > 8000 and (moved_in_pathway == 0 if lazy else moved_in_pathway > 500)
    Q = np.array([[0.0, 0.6, 0.0], [0.3, 0.0, 0.2], [0.0, 0.0, 0.0]])
    gen = Q - np.diag(Q.sum(axis=1))
    p0 = np.array([0.7, 0.3, 0.0])
    for year in (1, 2, 5):
        expected = p0 @ expm(gen * year)
        observed = np.bincount(out.state_at[:, year], minlength=4)[:3] / n
        se = np.sqrt(expected * (1 - expected) / n)
        assert np.all(np.abs(observed - expected) < 4 * se + 1e-12), (year, observed, expected)
    years_in_a = np.mean([float((p0 @ expm(gen * t))[0]) for t in np.linspace(0, 5, 2001)]) * 5
    assert abs(out.years_in_state[:, 0].mean() - years_in_a) < 4 * out.years_in_state[:, 0].std() / math.sqrt(n)


HAZARD_PER_DAY = 0.1
WAIT_DAYS = 5.0


def _crisis() -> dict:
    """Waits of exactly five days (a hand-off; staff without limit) at a step where people
    deteriorate, then at one where they do not; a crisis comes at 0.1 a day while waiting."""
    def step(then: str, deteriorates: bool) -> dict:
        return {"kind": "assessment", "service": "team", "staff": ["nurse"], "handoff": f"{WAIT_DAYS} days",
                "duration": "3 days", "deteriorate_while_waiting": deteriorates, "next": then}
    return {
        "scenario": {"name": "crisis", "time_unit": "days", "horizon": "1 year", "seed": 5},
        "attributes": {"risk": ["green", "red"]},
        "cohorts": {"all": {"rate": "40 per day", "entry": "first", "attributes": {"risk": "green"}}},
        "services": {"team": {"staff": {"nurse": {"wte": 2000}}}},
        "pathway": {"steps": {
            "first": step("second", True), "second": step("done", False),
            "ae": {"kind": "emergency", "next": "done"}, "done": {"kind": "discharge"}}},
        "deterioration": {"attribute": "risk", "hazard": {}, "emergency_at": "red", "emergency_step": "ae"},
        "health": {
            "states": {"well": {"utility": 0.8},
                       "crisis": {"utility": 0.5, "then": "well", "after": "2 days"}},
            "start": {"well": 1.0},
            "transitions": [{"from": "well", "to": "crisis",
                             "rate": {"untreated": "0 per day", "waiting": f"{HAZARD_PER_DAY} per day"}}],
            "escalation": {"crisis": "emergency"},
            "follow_up": "1 year"},
    }


def _emergency_share(rec, step: str) -> tuple[float, int]:
    finished = rec.patients["pid"][rec.patients["arrival"] < rec.horizon - 60]
    v = rec.visits
    at = np.isin(v["pid"], finished) & (v["step"] == rec.steps.index(step))
    return float(np.mean(v["outcome"][at] == EMERGENCY)), int(at.sum())


def test_entering_an_escalating_state_while_waiting_sends_people_to_the_emergency_step():
    rec = _run(_crisis())
    share, n = _emergency_share(rec, "first")
    expected = 1 - math.exp(-HAZARD_PER_DAY * WAIT_DAYS)  # 0.393
    assert abs(share - expected) < 4 * math.sqrt(expected * (1 - expected) / n), (share, expected, n)
    # the same crises at a step where people do not deteriorate escalate nobody
    share, n = _emergency_share(rec, "second")
    assert n > 1000 and share == 0.0
    # those sent to A&E reached the emergency level of the deterioration attribute
    red = rec.patients["final_risk"] == 1
    assert red.sum() > 0.3 * len(red)


def test_escalation_is_data_checked_with_clear_errors():
    raw = _crisis()
    raw["health"]["escalation"] = {"crises": "emergency"}
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(raw)
    assert any(p.path.startswith("health.escalation.crises") and "crisis" in p.message for p in caught.value.problems)
    raw = _crisis()
    del raw["deterioration"]
    for step in raw["pathway"]["steps"].values():
        step.pop("deteriorate_while_waiting", None)
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(raw)
    assert any("'deterioration:' block" in p.message for p in caught.value.problems)
    raw = _crisis()
    raw["health"]["escalation"] = {"crisis": "soon"}
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(raw)
    assert any(p.path.startswith("health.escalation") for p in caught.value.problems)


def test_splitmix_in_halves_is_splitmix_bit_for_bit():
    # the engine's draws work on 32-bit halves (person_keys.splitmix_halves): the same numbers
    rng = np.random.default_rng(20261205)
    edges = [0, 1, 2**32 - 1, 2**32, 2**63, 2**64 - 1, 0x9E3779B97F4A7C15, (2**64 - 1) - 0x9E3779B97F4A7C15,
             (2**64 - 1) - 0x9E3779B97F4A7C15 + 1]
    values = edges + [int(v) for v in rng.integers(0, 2**64, size=2000, dtype=np.uint64)]
    for z in values:
        hi, lo = splitmix_halves(z >> 32, z & 0xFFFFFFFF)
        assert hi << 32 | lo == splitmix(z)
        for counter in (0, 1, 255, 256, 70000):
            expected = ((splitmix(z ^ splitmix(counter)) >> 11) + 0.5) * 2.0**-53  # splitmix64's uniform
            assert uniform_halves(z >> 32, z & 0xFFFFFFFF, counter) == expected
    # a person's draws, and the clocks drawn again as they move, are those of their key
    person = Person(values[-1], 0, 30.0, 0.0, 3, 10.0)
    key = values[-1]
    assert [person.draw() for _ in range(300)] == [((splitmix(key ^ splitmix(c)) >> 11) + 0.5) * 2.0**-53
                                                   for c in range(300)]
    plan = compile_health(scenario_from_dict(_markov()))
    course = PathwayCourse(plan, 2026, 3, ["all"], [])
    p = course.begin(0, [0.0], 0.0)
    for dest in range(plan.n_states):
        for occurrence in range(1, 4):
            stream = splitmix(p.key ^ splitmix(dest + 1))
            again = -math.log(((splitmix(stream ^ splitmix(occurrence)) >> 11) + 0.5) * 2.0**-53)
            assert course._clock(p, dest) == again


def test_the_engine_draws_the_person_s_own_numbers():
    # the scalar twins give course.py's numbers, person by person
    cohorts = ["adults", "cyp"]
    numbers = np.arange(50)
    for ci, name in enumerate(cohorts):
        keys = person_keys(2026, 3, cohorts, np.full(50, ci), numbers)
        scalar = [person_key(cohort_key(2026, 3, name), int(k)) for k in numbers]
        assert [int(k) for k in keys] == scalar
        for counter in (0, 1, 7, 255, 256, 1000):  # either side of person_keys.SALTS' table
            assert uniforms(keys, np.full(50, counter)).tolist() == [uniform(k, counter) for k in scalar]
    # the first draws made in blocks (numpy) are the ones a person would draw one by one
    plan = compile_health(scenario_from_dict(_markov()))
    course = PathwayCourse(plan, 2026, 3, ["all"], [])
    people = [course.begin(0, [0.0], 0.0) for _ in range(300)]  # past the first block
    for number in (0, 1, 299):
        p = people[number]
        assert p.key == person_key(cohort_key(2026, 3, "all"), number)
        cum = np.cumsum(plan.start[0])
        assert p.start == int(np.searchsorted(cum, uniform(p.key, 0) * cum[-1], side="right"))
        one_by_one = [-math.log(uniform(splitmix(p.key ^ splitmix(dest + 1)), 0)) for dest in range(plan.n_states)]
        assert p.clocks == pytest.approx(one_by_one, rel=1e-15)
    # a lazy engine leaves a person alone on arrival until their first death clock (the block's)
    # could run out at the highest hazard they could meet: the highest background hazard of the
    # ages they pass through (70 and 71, for a stay of at most 1.5 years) times state b's 40
    plan = compile_health(scenario_from_dict(_mortal()))
    course = PathwayCourse(plan, 2026, 3, ["all"], ["age"])
    keys, u0, male_of, clocks, death = course._block(0, 0, 300)
    u0, clocks = list(u0), list(clocks)  # (stored as arrays of doubles: compact, read for few people)
    n = plan.n_states  # (the block's clocks are flat, person by person; the death clocks again, alone)
    u1 = uniforms(np.array(keys, dtype=np.uint64), np.ones(300, dtype=np.uint64))
    assert male_of == (u1 >= plan.mortality.female_share).tolist() and death == clocks[plan.dead::n]
    assert u0 == uniforms(np.array(keys, dtype=np.uint64), np.zeros(300, dtype=np.uint64)).tolist()
    for number in range(300):
        male = male_of[number]
        highest = max(plan.mortality.hazard[age][int(male)] for age in (70, 71)) * 40
        assert course.arrive(0, [70.0], 1.5) == (number, pytest.approx(clocks[number * n + plan.dead] / highest,
                                                                       rel=1e-8))
    # and a course started late draws the block's numbers, the ones it would draw alone
    late = course.begin(0, [40.0], 0.0, number=299)
    assert late.key == keys[299] and late.clocks == clocks[299 * n:300 * n]
    assert late.male == male_of[299]


def test_the_same_person_starts_the_same_life_in_another_pathway(eager):
    a = _run(_markov())
    slower = copy.deepcopy(_markov())
    slower["services"]["team"]["staff"]["therapist"]["wte"] = 3
    b = _run(slower)
    pa, pb = a.course, b.course
    common = sorted(set(pa) & set(pb))
    assert len(common) > 8000
    assert all(pa[i].start == pb[i].start and pa[i].key == pb[i].key for i in common)
    # a move before either started treatment is the same move at the same time
    same = [i for i in common if pa[i].log and pb[i].log and not pa[i].log[0][2]
            and pa[i].log[0][0] < min(_treated(a, i), _treated(b, i))]
    assert len(same) > 100
    assert all(pa[i].log[0] == pb[i].log[0] for i in same)


def _mortal() -> dict:
    """The Markov cohort aged 70 with deaths (state b multiplies background mortality 40-fold):
    a few die in the pathway, most leave it before a death could be due."""
    raw = _markov()
    raw["cohorts"]["all"]["attributes"] = {"age": 70}
    raw["health"]["states"]["a"]["mortality_rr"] = 2
    raw["health"]["states"]["b"]["mortality_rr"] = 40
    raw["health"]["mortality"] = {"female_share": 0.5, "age_attribute": "age"}
    return raw


def test_a_lazy_engine_computes_what_an_eager_one_does(monkeypatch):
    runs = {}
    for lazy in (False, True):
        monkeypatch.setattr(person, "LAZY", lazy)
        runs[lazy] = _run(_mortal(), replication=1)
    eager, lazy = runs[False], runs[True]
    n = len(eager.patients["pid"])
    died = eager.patients["outcome"] == eager.outcomes.index("died")
    assert len(eager.course) == n and 0 < len(lazy.course) < n / 2 and died.sum() > 20
    for key, column in eager.patients.items():  # the pathway sees the same deaths at the same times
        assert np.array_equal(column, lazy.patients[key], equal_nan=True), key
    a, b = eager.health, lazy.health
    assert np.array_equal(a.died, b.died, equal_nan=True) and np.array_equal(a.state_at, b.state_at)
    assert np.array_equal(a.remissions, b.remissions) and np.array_equal(a.state_at_leave, b.state_at_leave)
    # accrued over other stretches (the engine's log, or the follow-up's own), so equal to rounding
    assert np.allclose(a.qalys, b.qalys, rtol=1e-12, atol=0) and np.allclose(a.years_in_state, b.years_in_state,
                                                                             rtol=1e-12, atol=1e-12)


def _treated(rec, pid: int) -> float:
    P = rec.patients
    row = int(np.flatnonzero(P["pid"] == pid)[0])
    years = rec.hours_per_unit / 24 / DAYS_PER_YEAR
    t = (P["treat_start"][row] - P["arrival"][row]) * years
    return math.inf if math.isnan(t) else t


def test_without_health_the_engine_runs_no_course():
    raw = _markov()
    del raw["health"]
    rec = simulate(compile_plan(scenario_from_dict(raw)))
    assert rec.course is None and "died" not in rec.outcomes


def test_a_course_in_the_pathway_survives_pickling_whole():
    """Courses of those still in the pathway travel back from worker processes in the records, so a
    Person must pickle, compiled by mypyc or not (the compiled class cannot be rebuilt from
    ``__new__`` alone), with every attribute kept."""
    import ast
    import pickle

    from icssim.health import person_keys as module
    from icssim.health.person_keys import PERSON_FIELDS, Person

    # the compiled class has no __slots__ attribute: read the source's
    source = ast.parse(Path(module.__file__).with_name("person_keys.py").read_text(encoding="utf-8"))
    slots = next(node.value for node in ast.walk(source) if isinstance(node, ast.Assign)
                 and any(getattr(t, "id", None) == "__slots__" for t in node.targets))
    assert ast.literal_eval(slots) == PERSON_FIELDS
    person = Person(12345, 1, 34.5, 2.0, 4, 10.0)
    person.state, person.t, person.counter, person.status = 2, 1.25, 7, 1
    person.clocks[2], person.log = 0.5, [(0.25, 1, False), (1.0, 2, True)]
    person.hazards, person.due, person.admitted = [(3, 0.2)], 4.5, True
    person.dui, person.returns = 0.75, 2  # (dui is NaN until treated, which compares unequal)
    copy = pickle.loads(pickle.dumps(person))
    assert type(copy) is Person
    assert [getattr(copy, f) for f in PERSON_FIELDS] == [getattr(person, f) for f in PERSON_FIELDS]


def test_following_only_the_measured_people_gives_them_the_same_courses(monkeypatch):
    """A replication follows the people its KPIs measure (who asked for help after the warm-up),
    not those of the warm-up: each course depends on the person's own numbers only, so theirs
    are what following everyone gives, and the others' rows are left empty."""
    from helpers import shipped
    from icssim.experiments import standards_of
    from icssim.kpis import compute_kpis
    from icssim.health.follow import follow_records
    from icssim.health.outcomes import PER_PERSON
    from icssim.kpi_base import window_people

    scenario = shipped("ed_fragmented", horizon="2 years", warmup="1 year")
    # the engine logs the courses of the measured only, so it cannot follow everyone unless told
    with pytest.raises(ValueError, match="LOG_ALL to follow everyone"):
        follow_records(run_replication(scenario, 1).records, compile_health(scenario))
    monkeypatch.setattr(deterioration, "LOG_ALL", True)
    rep = run_replication(scenario, 1)
    rec = rep.records
    measured = window_people(rec)
    assert 0.3 < measured.mean() < 0.7
    everyone = follow_records(rec, compile_health(scenario))
    for name in PER_PERSON:
        mine, all_ = getattr(rec.health, name), getattr(everyone, name)
        if all_ is None:
            continue
        if all_.dtype.kind == "f":  # numpy's vector maths may round the last bit by array position
            assert np.allclose(mine[measured], all_[measured], rtol=1e-12, atol=0, equal_nan=True), name
        else:
            assert np.array_equal(mine[measured], all_[measured]), name
        skipped = mine[~measured]
        assert (np.isnan(skipped).all() if skipped.dtype.kind == "f" else
                (~skipped).all() if skipped.dtype.kind == "b" else (skipped == -1).all()), name
    rec.health = everyone  # the KPIs read only the measured people's rows
    kpis = compute_kpis(rec, standards_of(scenario))
    assert kpis == pytest.approx({k: v for k, v in rep.kpis.items() if k != "events"}, rel=1e-12, nan_ok=True)
