"""The truncated normal distribution (issue 25): one class in the distribution registry."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError
from scipy import stats

from icssim.distributions import Distribution, describe_dist

ADAPTER = TypeAdapter(Distribution)


@pytest.mark.parametrize("raw, a, b", [
    ({"dist": "truncated_normal", "mean": "10 minutes", "sd": "5 minutes"}, 0.0, np.inf),
    ({"dist": "truncated_normal", "mean": 2, "sd": 3, "low": 1, "high": 4}, 1.0, 4.0),
    ({"dist": "truncated_normal", "mean": 1, "sd": 1, "low": 5}, 5.0, np.inf),  # deep in the upper tail
])
def test_draws_and_moments_match_scipy(raw, a, b):
    d = ADAPTER.validate_python(raw)
    unit = "minutes" if isinstance(raw["mean"], str) else "days"
    m, s = d.mean.to(unit), d.sd.to(unit)
    ref = stats.truncnorm((a - m) / s, (b - m) / s, loc=m, scale=s)
    smp = d.compile(unit)
    assert smp.mean == pytest.approx(ref.mean(), rel=1e-9)
    assert smp.var == pytest.approx(ref.var(), rel=1e-7)
    x = smp.draw(np.random.default_rng(4), 50_000)
    assert x.min() >= a and x.max() <= b
    assert stats.kstest(x, ref.cdf).pvalue > 0.001


def test_bad_parameters_are_refused():
    for raw in ({"dist": "truncated_normal", "mean": 1, "sd": 0},
                {"dist": "truncated_normal", "mean": 1, "sd": 1, "low": 3, "high": 2},
                {"dist": "truncated_normal", "mean": 0, "sd": 1, "low": 50}):
        with pytest.raises(ValidationError):
            ADAPTER.validate_python(raw)


def test_described_in_words():
    d = ADAPTER.validate_python({"dist": "truncated_normal", "mean": "10 minutes", "sd": "5 minutes"})
    assert describe_dist(d).startswith("normal, mean 10 minutes, sd 5 minutes, cut to")
