"""The course of illness against closed forms: a constant-hazard cohort follows the matching Markov
model (matrix exponential), QALYs follow the continuous annuity, life tables give the survival
they imply, and a person's course uses their own random numbers (common random numbers)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.linalg import expm

from icssim.health.course import follow
from icssim.health.keys import person_keys, uniforms
from icssim.health.outcomes import Timeline
from icssim.health.plan import DuedEffect, HealthPlan, Mortality, life_table_hazards

N = 40_000


def _plan(rates: np.ndarray, utility: list[float], start: list[float], follow_up: float = 5.0, **kw) -> HealthPlan:
    """A plan over living states with the same hazards whatever the status (unless ``rates`` is 3-D)."""
    n = rates.shape[-1]
    by_status = rates if rates.ndim == 3 else np.stack([rates] * 3)
    base = dict(
        names=tuple(f"s{i}" for i in range(n)), labels=tuple(f"s{i}" for i in range(n)),
        rates=by_status[None, ...], scaled=np.zeros((n, n), bool),
        utility=np.array([utility + [0.0]]), cost_per_year=np.zeros(n + 1), mortality_rr=np.ones((1, n)),
        remission=np.zeros(n + 1, bool), tunnel_to=np.full(n, -1), tunnel_after=np.full(n, math.inf),
        start=np.array([start]), on_admission=-1, dued=None, mortality=None, follow_up=follow_up,
        discount_costs=0.0, discount_qalys=0.0,
    )
    base.update(kw)
    return HealthPlan(**base)


def _timeline(n: int = N, seed: int = 1, treat: float = math.nan, leave: float = 0.0, admit: float = math.nan,
              age: float = 20.0, ill_before: float = 0.0) -> Timeline:
    keys = person_keys(seed, 0, ["c"], np.zeros(n, np.int64), np.arange(n))
    full = lambda x: np.full(n, float(x))  # noqa: E731
    return Timeline(keys=keys, cohort=np.zeros(n, np.int64), treat=full(treat), leave=full(leave),
                    admit=full(admit), age=full(age), ill_before=full(ill_before))


def test_constant_hazards_follow_the_markov_model():
    # A ⇄ B, B → C (absorbing); hazards per year
    Q = np.array([[0.0, 0.6, 0.0], [0.3, 0.0, 0.2], [0.0, 0.0, 0.0]])
    plan = _plan(Q, [0.9, 0.6, 0.3], [0.7, 0.3, 0.0], follow_up=5.0, discount_qalys=0.035)
    out = follow(plan, _timeline())
    gen = Q - np.diag(Q.sum(axis=1))
    p0 = np.array([0.7, 0.3, 0.0])
    for year in (1, 2, 5):
        expected = p0 @ expm(gen * year)
        observed = np.bincount(out.state_at[:, year], minlength=4)[:3] / N
        se = np.sqrt(expected * (1 - expected) / N)
        assert np.all(np.abs(observed - expected) < 4 * se + 1e-12), (year, observed, expected)
    delta = math.log(1.035)
    u = np.array([0.9, 0.6, 0.3])
    qalys, _ = quad(lambda t: float(p0 @ expm(gen * t) @ u) * math.exp(-delta * t), 0, 5)
    assert abs(out.qalys.mean() - qalys) < 4 * out.qalys.std() / math.sqrt(N)
    years_in_a, _ = quad(lambda t: float((p0 @ expm(gen * t))[0]), 0, 5)
    assert abs(out.years_in_state[:, 0].mean() - years_in_a) < 4 * out.years_in_state[:, 0].std() / math.sqrt(N)


def test_discounted_qalys_match_the_continuous_annuity():
    plan = _plan(np.zeros((1, 1)), [1.0], [1.0], follow_up=10.0, discount_qalys=0.035)
    out = follow(plan, _timeline(n=10))
    annuity = (1 - 1.035 ** -10) / math.log(1.035)
    assert out.qalys == pytest.approx(np.full(10, annuity), rel=1e-12)
    assert out.qalys_undiscounted == pytest.approx(np.full(10, 10.0))
    assert out.life_years == pytest.approx(np.full(10, 10.0))


def _life_table_course(table: np.ndarray, age: int, years: int, rr: float = 1.0) -> tuple[np.ndarray, float]:
    """The exact course of a female cohort entering the follow-up on their ``age``-th birthday, by
    the life table: the hazard of each whole year of age (× ``rr``; ages past the table's last row
    use that row) held through the year. Returns the survival to each anniversary 0 … ``years``
    and the expected years lived to the last, ∫ S(t) dt = Σ_k S(k) (1 - exp(-h_k)) / h_k."""
    hazards = rr * table[np.minimum(np.arange(age, age + years), len(table) - 1), 0]
    survival = np.exp(-np.concatenate([[0.0], np.cumsum(hazards)]))
    return survival, float(np.sum(survival[:-1] * -np.expm1(-hazards) / hazards))


def _assert_survival(died: np.ndarray, survival: np.ndarray, years: list[int]) -> None:
    """The share alive at each of these anniversaries is the life table's, within 4 standard errors."""
    n = len(died)
    for year in years:
        expected = survival[year]
        observed = (np.isnan(died) | (died > year)).mean()
        se = math.sqrt(expected * (1 - expected) / n)
        assert abs(observed - expected) < 4 * se + 1e-12, (year, observed, expected, se)


def test_life_table_mortality_gives_the_survival_it_implies():
    # the share alive at each anniversary, against the table's exact values: a young cohort with a
    # large multiplier (the hazard × rr), and an old one, where the hazard rises ~10% a year of age,
    # so that reading each year's hazard one row off (a year too old or too young) moves the deaths
    # by more than 10 standard errors (at 20 it moves them by about 2: that cohort alone cannot tell)
    table = life_table_hazards("england_wales_ons")
    for age, rr in ((20, 12.0), (70, 1.5)):
        plan = _plan(np.zeros((1, 1)), [1.0], [1.0], follow_up=10.0, mortality_rr=np.array([[rr]]),
                     mortality=Mortality(table, 1.0, "age"))  # all female
        out = follow(plan, _timeline(age=float(age)))
        survival, _ = _life_table_course(table, age, 10, rr)
        _assert_survival(out.died, survival, list(range(11)))
    assert table[20, 0] == pytest.approx(-math.log(1 - 0.000212))


def test_treatment_status_and_the_untreated_duration_effect():
    # remission only while treated, from year 1 until leaving at year 3; β = 0.5 after 1 year ill
    Q = np.zeros((3, 2, 2))
    Q[2, 0, 1] = 0.8
    scaled = np.array([[False, True], [False, False]])
    kw = dict(scaled=scaled, remission=np.array([False, True, False]), tunnel_to=np.full(2, -1))
    flat = _plan(Q, [0.7, 0.9], [1.0, 0.0], **kw)
    timeline = _timeline(treat=1.0, leave=3.0, ill_before=2.0)
    out = follow(flat, timeline)
    assert np.all(out.first_remission[~np.isnan(out.first_remission)] >= 1.0)
    assert np.all(out.first_remission[~np.isnan(out.first_remission)] <= 3.0)
    expected = 1 - math.exp(-0.8 * 2)
    assert abs((out.remissions > 0).mean() - expected) < 0.01
    # DUI = 2 years before + 1 year waiting = 3 years: × exp(−0.5 × (3 − 1))
    slowed = follow(_plan(Q, [0.7, 0.9], [1.0, 0.0], dued=DuedEffect("x", 0.5, 1.0), **kw), timeline)
    expected = 1 - math.exp(-0.8 * math.exp(-1.0) * 2)
    assert abs((slowed.remissions > 0).mean() - expected) < 0.01
    assert out.dui == pytest.approx(np.full(N, 3.0))


def test_treated_hazards_carry_on_out_of_the_pathway_for_the_declared_time():
    # remission at 0.8 a year treated and 0.1 untreated; treated from year 1, left at year 1.5:
    # with treated_hazards_for 1 year the treated hazard lasts to year 2, then the untreated one
    # (waiting, before year 1: no remission)
    Q = np.zeros((3, 2, 2))
    Q[0, 0, 1], Q[2, 0, 1] = 0.1, 0.8
    kw = dict(remission=np.array([False, True, False]))
    timeline = _timeline(treat=1.0, leave=1.5)
    plain = follow(_plan(Q, [0.7, 0.9], [1.0, 0.0], **kw), timeline)
    window = follow(_plan(Q, [0.7, 0.9], [1.0, 0.0], treated_hazards_for=1.0, **kw), timeline)
    for out, treated_years in ((plain, 0.5), (window, 1.0)):
        for year in (2, 4):  # waiting to year 1, treated for treated_years, untreated after
            expected = 1 - math.exp(-0.1 * (year - 1 - treated_years) - 0.8 * treated_years)
            observed = (out.state_at[:, year] == 1).mean()
            assert abs(observed - expected) < 4 * math.sqrt(expected * (1 - expected) / N), (year, treated_years)
    # a window shorter than the treatment changes nothing: the same numbers, the same courses
    short = follow(_plan(Q, [0.7, 0.9], [1.0, 0.0], treated_hazards_for=0.25, **kw), timeline)
    assert np.array_equal(short.state_at, plain.state_at) and np.array_equal(short.qalys, plain.qalys)


def test_tunnel_states_and_admissions_move_people_when_due():
    plan = _plan(np.zeros((3, 3)), [0.5, 0.6, 0.7], [1.0, 0.0, 0.0], follow_up=3.0,
                 tunnel_to=np.array([1, -1, -1]), tunnel_after=np.array([0.5, math.inf, math.inf]), on_admission=2)
    out = follow(plan, _timeline(n=5, admit=2.0))
    assert out.years_in_state[:, 0] == pytest.approx(np.full(5, 0.5))
    assert out.years_in_state[:, 1] == pytest.approx(np.full(5, 1.5))
    assert out.years_in_state[:, 2] == pytest.approx(np.full(5, 1.0))
    assert list(out.state_at[0]) == [0, 1, 2, 2]


def test_the_same_person_lives_the_same_course_until_the_pathways_differ():
    Q = np.array([[0.0, 0.5], [0.2, 0.0]])
    by_status = np.stack([Q, Q, Q * 4])
    plan = _plan(by_status, [0.7, 0.9], [0.5, 0.5], follow_up=4.0)
    never = follow(plan, _timeline(n=2000))
    treated = _timeline(n=2000)
    treated.treat[1000:] = 2.0
    treated.leave[1000:] = 3.0
    changed = follow(plan, treated)
    assert np.array_equal(never.qalys[:1000], changed.qalys[:1000])
    before_treatment = never.state_at[1000:, :3]
    assert np.array_equal(before_treatment, changed.state_at[1000:, :3])
    assert not np.array_equal(never.qalys[1000:], changed.qalys[1000:])


def test_person_streams_are_independent_of_order_and_uniform():
    keys = person_keys(7, 3, ["a", "b"], np.array([0, 1, 0, 1]), np.array([0, 0, 1, 1]))
    assert len(set(keys.tolist())) == 4
    again = person_keys(7, 3, ["a", "b"], np.array([1, 0]), np.array([1, 1]))
    assert again.tolist() == [keys[3], keys[2]]
    u = uniforms(np.repeat(keys[:1], 100_000), np.arange(100_000, dtype=np.uint64))
    assert 0 < u.min() and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.005


def test_health_events_accrue_their_expected_number_and_discounted_cost():
    # one state for 4 years at 3 events a year, GBP 100 each, costs discounted at 3.5%
    plan = _plan(np.zeros((1, 1)), [0.8], [1.0], follow_up=4.0, discount_costs=0.035,
                 event_names=("ae",), event_labels=("A&E",), event_rates=np.array([[3.0, 0.0]]),
                 event_costs=np.array([100.0]), event_payers=("icb",))
    out = follow(plan, _timeline(n=3))
    assert out.events[:, 0] == pytest.approx(np.full(3, 12.0))
    annuity = (1 - 1.035 ** -4) / math.log(1.035)
    assert out.event_costs == pytest.approx(np.full(3, 300.0 * annuity))
    assert out.state_costs == pytest.approx(out.event_costs)


def test_a_lifetime_follow_up_ends_with_the_life_table():
    # followed from 60 to LIFETIME_AGE (101): the survival to each decade and to the end, and the
    # years lived, against the life table's exact values (4 standard errors of the cohort's)
    table = life_table_hazards("england_wales_ons")
    plan = _plan(np.zeros((1, 1)), [1.0], [1.0], follow_up=math.inf, mortality=Mortality(table, 1.0, "age"))
    out = follow(plan, _timeline(age=60.0))
    survival, expected_years = _life_table_course(table, 60, 41)
    assert np.all(out.died[~np.isnan(out.died)] < 41.0)  # nobody dies after the follow-up ends
    _assert_survival(out.died, survival, [10, 20, 30, 35, 41])
    se = out.life_years.std() / math.sqrt(N)
    assert abs(out.life_years.mean() - expected_years) < 4 * se, (out.life_years.mean(), expected_years, se)


def test_the_status_constants_are_the_schema_s_statuses():
    """The engine reads the statuses as constants (plan.py, Final); the rates are laid out in the
    order of the scenario schema's STATUSES: the two must agree."""
    from icssim.health.plan import TREATED, UNTREATED, WAITING
    from icssim.scenario.health import STATUSES

    assert [STATUSES[UNTREATED], STATUSES[WAITING], STATUSES[TREATED]] == ["untreated", "waiting", "treated"]
    assert len(STATUSES) == 3
