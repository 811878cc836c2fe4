"""Distributions by their mean and standard deviation, as health economists give parameters:
beta for probabilities and utilities, gamma or lognormal for rates, costs and durations, normal
otherwise. Used for PSA draws (:mod:`icssim.sweep.draws`) and calibration priors
(:mod:`icssim.calibrate.priors`)."""

from __future__ import annotations

import math
from typing import Any

from scipy import stats


def from_moments(dist: str, mean: float, sd: float) -> Any:
    """The scipy distribution ``dist`` (beta, gamma, lognormal or normal) with this mean and sd."""
    if dist == "beta":
        common = mean * (1 - mean) / sd ** 2 - 1
        return stats.beta(mean * common, (1 - mean) * common)
    if dist == "gamma":
        return stats.gamma((mean / sd) ** 2, scale=sd ** 2 / mean)
    if dist == "lognormal":
        sigma2 = math.log1p((sd / mean) ** 2)
        return stats.lognorm(math.sqrt(sigma2), scale=math.exp(math.log(mean) - sigma2 / 2))
    return stats.norm(mean, sd)
