"""Parameter sets for a probabilistic sensitivity analysis (``design: psa``).

Each parameter has a distribution given by its mean and standard deviation, in the families a
health economist uses: beta for probabilities and utilities, gamma or lognormal for rates, costs
and durations, normal, and uniform (``low``, ``high``). The draws are a scrambled Sobol sequence
(quasi-random: the parameter space is covered evenly with fewer draws than plain Monte Carlo),
seeded by the sweep's seed, mapped through each distribution's inverse CDF. A drawn number is in
the parameter's ``unit:`` when that names a time or a rate ("0.024 per month"), by the rule every
sweep design follows (:mod:`icssim.sweep.value_units`: a base value written with a unit needs one).
A ``design: sobol`` PSA draws a Saltelli design instead (:mod:`icssim.health.sobol`), mapped the
same way.

A PSA may also take its parameter sets from a table of draws (``draws:``, such as the posterior
``icssim calibrate`` writes): row i is parameter set i, so the columns keep their correlations, and
the independent ``parameters`` are drawn as above for the other key paths and joined row by row
(:func:`table_values`).

Each parameter set also has its own simulation seed (:func:`draw_seed`), shared by every
strategy (and area) run on it: the strategies are compared on common random numbers within a
draw, while the simulation's noise differs from draw to draw and so averages out over the
draws. One seed for every draw would instead make the PSA's mean cost and QALYs those of a
single replication's noise, however many draws were made.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from typing import Any

import numpy as np
from scipy import stats
from scipy.stats import qmc

from icssim.moments import from_moments
from icssim.sweep.draw_table import DrawTable
from icssim.sweep.spec import Parameter

#: How near a design's points of the unit interval come to 0 and 1 (:func:`sobol_points` clips to
#: it, and so does :func:`icssim.health.sobol.saltelli_unit`, which imports it from here): no draw
#: lies beyond a distribution's inverse CDF there (:func:`reach`).
EDGE = 1e-12


def frozen(p: Parameter) -> Any:
    """The scipy distribution of a PSA parameter, from its mean and sd (or low and high)."""
    if p.dist == "uniform":
        low, high = float(p.low or 0.0), float(p.high or 0.0)  # both set: the schema checks a range
        return stats.uniform(low, high - low)
    if p.dist == "beta" and p.low is not None and p.high is not None:  # a beta on [low, high]
        width = float(p.high) - float(p.low)
        unit = from_moments("beta", (float(p.mean or 0.0) - float(p.low)) / width, float(p.sd or 0.0) / width)
        return stats.beta(*unit.args, loc=float(p.low), scale=width)
    return from_moments(str(p.dist), float(p.mean or 0.0), float(p.sd or 0.0))  # both set: checked by the schema


def sobol_points(dimensions: int, samples: int, seed: int) -> np.ndarray:
    """``samples`` scrambled Sobol points in (0, 1)^dimensions."""
    with warnings.catch_warnings():  # a sample size that is not a power of 2 is still a valid sample
        warnings.simplefilter("ignore", UserWarning)
        u = qmc.Sobol(d=dimensions, scramble=True, seed=seed).random(samples)
    return np.clip(u, EDGE, 1 - EDGE)


def draw_seed(seed: int, values: dict[str, Any]) -> int:
    """The simulation seed of the parameter set ``values``: derived from the sweep's ``seed`` and
    the drawn values, so the same for every strategy and area drawn the same values and different
    between draws."""
    digest = int(hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:8], 16)
    return int(np.random.SeedSequence([seed, digest]).generate_state(1)[0])


def drawn_value(value: float, suffix: str = "", integer: bool = False) -> Any:
    """A drawn number as it is set: rounded (to a whole number for ``integer``), and followed by
    ``suffix``, the parameter's unit (``" per month"``) from :func:`icssim.sweep.value_units.value_units`."""
    number: float | int = int(round(value)) if integer else round(float(value), 8)
    if not suffix:
        return number
    return f"{number}{suffix}" if isinstance(number, int) else f"{number:g}{suffix}"


def reach(p: Parameter, suffix: str = "") -> tuple[Any, Any]:
    """The lowest and the highest value a draw of ``p`` can take, written as a draw is (followed by
    its unit, ``suffix``: :func:`drawn_value`), or None for a side on which the distribution is
    unbounded: a normal's two tails, a gamma's or lognormal's upper tail. (A beta or uniform is
    bounded on both sides, a gamma or lognormal below by 0.) Every draw is the inverse CDF at a
    point of [EDGE, 1 − EDGE], so none lies beyond these; what a draw can reach is then known
    before anything is drawn, and a scenario's bounds can be checked against it."""
    low, high = (float(x) for x in frozen(p).ppf([EDGE, 1 - EDGE]))
    return (None if p.dist == "normal" else drawn_value(low, suffix, p.integer),
            drawn_value(high, suffix, p.integer) if p.dist in ("beta", "uniform") else None)


def psa_values(params: dict[str, Parameter], units: dict[str, str], samples: int,
               seed: int) -> list[dict[str, Any]]:
    """``samples`` parameter sets: {key path: value} each, the same for every base scenario
    (``units``: what each parameter writes after its numbers, :func:`drawn_value`)."""
    return values_at(sobol_points(len(params), samples, seed), params, units)


def saltelli_values(params: dict[str, Parameter], units: dict[str, str], base_samples: int,
                    seed: int) -> list[dict[str, Any]]:
    """The parameter sets of a Saltelli design of ``base_samples`` base points (``design: sobol``),
    in the order the Sobol analysis reads them."""
    from icssim.health.sobol import saltelli_unit  # SALib: loaded only for a Sobol design

    return values_at(saltelli_unit(len(params), base_samples, seed), params, units)


def values_at(u: np.ndarray, params: dict[str, Parameter], units: dict[str, str]) -> list[dict[str, Any]]:
    """Points of the unit hypercube (rows; one column per parameter) as parameter sets."""
    columns = {path: frozen(p).ppf(u[:, i]) for i, (path, p) in enumerate(params.items())}
    return [{path: drawn_value(columns[path][row], units.get(path, ""), params[path].integer)
             for path in params} for row in range(len(u))]


def table_rows(table: DrawTable, samples: int, seed: int) -> list[int]:
    """Which rows of ``table`` a PSA of ``samples`` parameter sets uses: every row in order when it
    asks for as many as the table has; otherwise ``samples`` rows chosen without replacement by a
    generator seeded with the sweep's seed, kept in the table's order (the rows of a posterior
    are equally likely, but not in a random order: ``icssim calibrate`` resamples them in particle
    order). The sweep file's loader has already refused more samples than rows."""
    n = len(table.rows)
    if samples >= n:
        return list(range(n))
    rng = np.random.default_rng([seed, 0x64726177])  # a stream of its own, apart from the Sobol draws
    return sorted(int(i) for i in rng.choice(n, size=samples, replace=False))


def table_values(table: DrawTable, samples: int, seed: int) -> list[dict[str, Any]]:
    """The parameter sets a table of draws gives, {key path: value} each, in the rows' order, each
    cell exactly as written (a bare cell where the base scenario writes a unit is refused before:
    :func:`icssim.sweep.value_units.value_units`)."""
    return [dict(table.rows[i]) for i in table_rows(table, samples, seed)]
