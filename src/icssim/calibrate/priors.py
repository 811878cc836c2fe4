"""Priors as scipy distributions: draw, density, support (truncated to ``low``/``high`` if given)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from icssim.calibrate.spec import Prior
from icssim.moments import from_moments


def frozen(p: Prior) -> Any:
    """The untruncated scipy distribution of a prior."""
    if p.dist in ("uniform", "loguniform"):
        assert p.low is not None and p.high is not None
        return stats.uniform(p.low, p.high - p.low) if p.dist == "uniform" else stats.loguniform(p.low, p.high)
    assert p.mean is not None and p.sd is not None
    return from_moments(p.dist, float(p.mean), float(p.sd))


def support(p: Prior) -> tuple[float, float]:
    """The range a prior's draws lie in: [low, high], or its 0.1% and 99.9% quantiles where open."""
    d = frozen(p)
    low = p.low if p.low is not None else float(d.ppf(0.001))
    high = p.high if p.high is not None else float(d.ppf(0.999))
    return low, high


class Priors:
    """The joint prior of the free parameters (independent), in the order of the file."""

    def __init__(self, priors: dict[str, Prior]) -> None:
        self.names = list(priors)
        self.priors = [priors[n] for n in self.names]
        self.dists = [frozen(p) for p in self.priors]
        self.bounds = np.array([[p.low if p.low is not None else -np.inf, p.high if p.high is not None else np.inf]
                                for p in self.priors])

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """One draw (inverse CDF, within the bounds)."""
        out = np.empty(len(self.dists))
        for i, d in enumerate(self.dists):
            lo, hi = d.cdf(self.bounds[i, 0]), d.cdf(self.bounds[i, 1])
            out[i] = d.ppf(lo + rng.random() * (hi - lo))
        return out

    def inside(self, theta: np.ndarray) -> bool:
        return bool(np.all(theta >= self.bounds[:, 0]) and np.all(theta <= self.bounds[:, 1])
                    and all(d.pdf(x) > 0 for d, x in zip(self.dists, theta)))

    def density(self, theta: np.ndarray) -> np.ndarray:
        """Prior density of each row of ``theta`` (up to the truncation constant, equal for every row)."""
        theta = np.atleast_2d(theta)
        dens = np.ones(len(theta))
        for i, d in enumerate(self.dists):
            dens *= d.pdf(theta[:, i])
            dens *= (theta[:, i] >= self.bounds[i, 0]) & (theta[:, i] <= self.bounds[i, 1])
        return dens
