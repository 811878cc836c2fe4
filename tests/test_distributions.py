"""Distributions: samples have the stated mean and variance; parameters are checked."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from scipy import stats

from icssim.distributions import DIST_NAMES, Distribution, coerce_distribution
from icssim.sampling import FIRST_BLOCK, BlockStream, block_draws

ADAPTER = TypeAdapter(Distribution)
N = 200_000

CASES = {
    "fixed": ({"dist": "fixed", "value": "2 days"}, 2.0, 0.0),
    "exponential": ({"dist": "exponential", "mean": "1 week"}, 7.0, 49.0),
    "gamma": ({"dist": "gamma", "mean": 10, "sd": 4}, 10.0, 16.0),
    "lognormal": ({"dist": "lognormal", "mean": "12 hours", "sd": "6 hours"}, 0.5, 0.0625),
    "triangular": ({"dist": "triangular", "low": 1, "mode": 2, "high": 6},
                   3.0, (1 + 4 + 36 - 2 - 6 - 12) / 18),
    "uniform": ({"dist": "uniform", "low": "1 day", "high": "3 days"}, 2.0, 4 / 12),
    "empirical": ({"dist": "empirical", "values": [1, 2, "1 week"], "weights": [1, 2, 1]},
                  (1 + 4 + 7) / 4, (1 * 1 + 2 * 4 + 49) / 4 - 9.0),
    # a normal of mean 2 and sd 1 cut at 0 (2 sd below the mean): its moments from scipy's truncnorm
    "truncated_normal": ({"dist": "truncated_normal", "mean": "2 days", "sd": "1 day"},
                         float(stats.truncnorm(-2.0, np.inf, loc=2.0).mean()),
                         float(stats.truncnorm(-2.0, np.inf, loc=2.0).var())),
}


def test_every_distribution_is_covered():
    """DIST_NAMES (the names messages list) is read from the registry: every family, once."""
    assert set(CASES) == set(DIST_NAMES)
    assert len(DIST_NAMES) == len(set(DIST_NAMES))


@pytest.mark.parametrize("name", sorted(CASES))
def test_sample_mean_and_variance_match_the_stated_ones(name):
    spec, mean, var = CASES[name]
    sampler = ADAPTER.validate_python(spec).compile("days")
    assert sampler.mean == pytest.approx(mean, rel=1e-12)
    assert sampler.var == pytest.approx(var, rel=1e-12, abs=1e-15)
    x = sampler.draw(np.random.default_rng(20261123), N)
    assert x.shape == (N,)
    assert (x >= 0).all()
    # tolerances from the standard errors of the sample mean and the sample variance
    se_mean = math.sqrt(var / N)
    fourth = float(np.mean((x - x.mean()) ** 4))
    se_var = math.sqrt(max(fourth - var * var, 0.0) / N)
    assert abs(x.mean() - mean) <= 5 * se_mean + 1e-12
    assert abs(x.var(ddof=1) - var) <= 5 * se_var + 1e-12


def test_time_unit_scales_mean_and_variance():
    spec = {"dist": "gamma", "mean": "2 days", "sd": "1 day"}
    days = ADAPTER.validate_python(spec).compile("days")
    hours = ADAPTER.validate_python(spec).compile("hours")
    assert hours.mean == pytest.approx(24 * days.mean)
    assert hours.var == pytest.approx(24 * 24 * days.var)
    weeks = ADAPTER.validate_python({"dist": "exponential", "mean": 14}).compile("weeks")
    assert weeks.mean == 14  # a bare number is already in the scenario's time unit


def test_block_stream_gives_the_same_values_as_one_draw():
    sampler = ADAPTER.validate_python({"dist": "exponential", "mean": 3}).compile("days")
    stream = BlockStream(np.random.default_rng(5), sampler, block=7)
    got = [stream() for _ in range(21)]
    rng = np.random.default_rng(5)
    want = np.concatenate([sampler.draw(rng, 7) for _ in range(3)])
    np.testing.assert_array_equal(got, want)
    assert all(type(v) is float for v in got)


@pytest.mark.parametrize("name", sorted(CASES))
def test_growing_blocks_give_the_values_of_one_big_draw(name):
    """block_draws starts with small blocks and doubles them; numpy draws value by value, so
    the stream must equal one draw of all the values (else block sizes would change results)."""
    sampler = ADAPTER.validate_python(CASES[name][0]).compile("days")
    n = 2 * FIRST_BLOCK + 3 * 64 + 5  # spans the 16, 32, 64, 64 (capped) ... blocks
    draw = block_draws(np.random.default_rng(11), sampler, block=64)
    got = [draw() for _ in range(n)]
    want = sampler.draw(np.random.default_rng(11), n)
    np.testing.assert_array_equal(got, want)
    assert all(type(v) is float for v in got)


@pytest.mark.parametrize("raw, dist", [(3, "fixed"), ("2 weeks", "fixed"), (0.5, "fixed"),
                                       ({"values": [1, 2]}, "empirical"),
                                       ({"dist": "uniform", "low": 0, "high": 1}, "uniform")])
def test_shorthands(raw, dist):
    assert ADAPTER.validate_python(coerce_distribution(raw)).dist == dist


@pytest.mark.parametrize("spec, words", [
    ({"dist": "exponential", "mean": 0}, "mean must be greater than 0"),
    ({"dist": "exponential", "mean": "-2 days"}, "mean must be greater than 0"),
    ({"dist": "gamma", "mean": 2, "sd": 0}, "sd must be greater than 0"),
    ({"dist": "lognormal", "mean": -1, "sd": 1}, "mean must be greater than 0"),
    ({"dist": "uniform", "low": 3, "high": 2}, "low < high"),
    ({"dist": "uniform", "low": -1, "high": 2}, "low must not be negative"),
    ({"dist": "triangular", "low": 1, "mode": 5, "high": 4}, "low <= mode <= high"),
    ({"dist": "triangular", "low": 2, "mode": 2, "high": 2}, "low < high"),
    ({"dist": "fixed", "value": -1}, "value must not be negative"),
    ({"dist": "empirical", "values": [1, 2], "weights": [1]}, "weights has 1 entries"),
    ({"dist": "empirical", "values": [1, 2], "weights": [0, 0]}, "add up to more than 0"),
    ({"dist": "empirical", "values": []}, "at least 1"),
    ({"dist": "exponential", "mean": "3 fortnights"}, "unknown time unit 'fortnights'"),
    ({"dist": "exponential", "mean": 1, "sd": 2}, "Extra inputs"),
])
def test_bad_parameters_are_refused(spec, words):
    with pytest.raises(ValidationError) as info:
        ADAPTER.validate_python(spec)
    assert words in str(info.value)


positive = st.floats(min_value=1e-3, max_value=1e4, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(mean=positive, cv=st.floats(min_value=0.05, max_value=3))
def test_gamma_and_lognormal_keep_their_stated_moments(mean, cv):
    for name in ("gamma", "lognormal"):
        s = ADAPTER.validate_python({"dist": name, "mean": mean, "sd": mean * cv}).compile("days")
        assert s.mean == pytest.approx(mean, rel=1e-9)
        assert s.var == pytest.approx((mean * cv) ** 2, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(a=st.floats(0, 100), w1=st.floats(0.01, 100), w2=st.floats(0, 1))
def test_triangular_moments_match_scipy(a, w1, w2):
    from scipy import stats

    b, c = a + w1, a + w2 * w1
    s = ADAPTER.validate_python({"dist": "triangular", "low": a, "mode": c, "high": b}).compile("days")
    ref = stats.triang((c - a) / (b - a), loc=a, scale=b - a)
    assert s.mean == pytest.approx(ref.mean(), rel=1e-9, abs=1e-12)
    assert s.var == pytest.approx(ref.var(), rel=1e-6, abs=1e-12)
