"""The Student-t half-widths every table and plot uses, against scipy.stats and by coverage."""

import numpy as np
import pytest
from scipy import stats

from icssim.intervals import half_width, t_quantile


@pytest.mark.parametrize("dof", [1, 2, 4, 9, 19, 99, 3.7, np.inf])
@pytest.mark.parametrize("level", [0.8, 0.9, 0.95, 0.99])
def test_t_quantile_is_scipy_stats_t_ppf(level, dof):
    assert t_quantile(level, dof) == stats.t.ppf(0.5 + level / 2, dof)


def test_half_width_scalar_array_and_single_replication():
    assert half_width(2.0, 10) == pytest.approx(stats.t.ppf(0.975, 9) * 2.0 / np.sqrt(10), rel=1e-15)
    assert np.isnan(half_width(2.0, 1))
    out = half_width(np.array([1.0, 1.0, 3.0]), np.array([1, 5, 20]), level=0.9)
    assert np.isnan(out[0])
    assert out[1:] == pytest.approx([stats.t.ppf(0.95, 4) / np.sqrt(5), 3 * stats.t.ppf(0.95, 19) / np.sqrt(20)])


def test_intervals_cover_the_true_mean_at_their_level():
    """20,000 samples of 5 normals: the 95% interval holds the mean about 95% of the time, where a
    normal quantile (1.96) would cover only about 88%."""
    rng = np.random.default_rng(7)
    x = rng.normal(3.0, 2.0, size=(20_000, 5))
    half = half_width(x.std(axis=1, ddof=1), np.full(len(x), 5))
    covered = np.abs(x.mean(axis=1) - 3.0) <= half
    assert covered.mean() == pytest.approx(0.95, abs=0.006)
