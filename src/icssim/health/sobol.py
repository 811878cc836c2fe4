"""Global sensitivity analysis of a PSA: Sobol indices of the incremental net benefit.

A sweep with ``design: sobol`` is a PSA whose parameter sets form a Saltelli design (Saltelli's
extension of the Sobol sequence, drawn with SALib): ``samples`` base points give
``samples × (parameters + 2)`` parameter sets, each a draw from the parameters' distributions.
Every PSA output still applies; in addition, the *first-order* index of a parameter is the share
of the variance of the incremental net benefit that it explains alone, and its *total* index the
share it takes part in (alone or through interactions), each with a bootstrap 95% interval
(Saltelli 2010 and Jansen 1999 estimators, as SALib computes them).

With one replication per parameter set, the simulation's own noise acts like one more input that
is not listed: it lowers the first-order indices' sum below 1 and adds its share to every total
index. More replications per set average it out.

SALib is an optional dependency (``pip install icssim[psa]``), imported only here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from icssim.errors import IcssimError

#: seed of the bootstrap that gives the indices' intervals (the design's own seed is the sweep's)
BOOTSTRAP_SEED = 20_260_101


def _salib() -> tuple[Any, Any]:
    """SALib's Sobol sampler and analyser, with an error that says how to install SALib."""
    try:
        from SALib.analyze import sobol as analyze
        from SALib.sample import sobol as sample
    except ImportError:
        raise IcssimError("a Sobol design needs SALib: pip install 'icssim[psa]' (or pip install SALib)") from None
    return sample, analyze


def _problem(dimensions: int) -> dict[str, Any]:
    return {"num_vars": dimensions, "names": [f"x{i}" for i in range(dimensions)],
            "bounds": [[0.0, 1.0]] * dimensions}


def design_size(dimensions: int, base_samples: int) -> int:
    """How many parameter sets a Saltelli design of ``base_samples`` base points gives (first and
    total indices only)."""
    return base_samples * (dimensions + 2)


def saltelli_unit(dimensions: int, base_samples: int, seed: int) -> np.ndarray:
    """A scrambled Saltelli design in (0, 1)^dimensions, ``design_size`` rows, in SALib's order,
    clipped to [EDGE, 1 − EDGE] as a PSA's Sobol points are (:data:`icssim.sweep.draws.EDGE`): the
    extremes a distribution can reach, which the PSA checks against its scenarios before drawing
    (:func:`icssim.sweep.draws.reach`), are then those of either design."""
    from icssim.sweep.draws import EDGE  # scipy, as SALib: loaded with the design, not with this module

    sample, _ = _salib()
    u = sample.sample(_problem(dimensions), base_samples, calc_second_order=False, scramble=True, seed=seed)
    return np.clip(u, EDGE, 1 - EDGE)


def indices(y: Sequence[float] | np.ndarray, names: Sequence[str]) -> pd.DataFrame:
    """First-order and total Sobol indices of ``y`` (one value per row of a Saltelli design over
    ``names``, in the design's order), with their bootstrap 95% intervals."""
    values = np.asarray(y, dtype=float)
    if len(values) % (len(names) + 2) or not np.isfinite(values).all():
        raise ValueError(f"a Saltelli design over {len(names)} parameters has a multiple of {len(names) + 2} "
                         f"finite outputs; found {len(values)} (finite: {int(np.isfinite(values).sum())})")
    if values.std() == 0:
        zero = np.zeros(len(names))
        return pd.DataFrame({"parameter": list(names), "first_order": zero, "first_order_ci": zero,
                             "total": zero, "total_ci": zero})
    _, analyze = _salib()
    result = analyze.analyze(_problem(len(names)), values, calc_second_order=False, num_resamples=200,
                             conf_level=0.95, seed=BOOTSTRAP_SEED)
    return pd.DataFrame({"parameter": list(names), "first_order": result["S1"], "first_order_ci": result["S1_conf"],
                         "total": result["ST"], "total_ci": result["ST_conf"]})


def incremental_net_benefit(table: pd.DataFrame, baseline: str, strategy: str, wtp: float) -> np.ndarray:
    """Per draw (in draw order): the net benefit of ``strategy`` minus the ``baseline``'s at ``wtp``."""
    wide = table.pivot(index="draw", columns="strategy", values=["cost", "qalys"]).sort_index()
    nb = wtp * wide["qalys"] - wide["cost"]
    return (nb[strategy] - nb[baseline]).to_numpy(dtype=float)


def sobol_table(table: pd.DataFrame, baseline: str, labels: dict[str, str],
                thresholds: Sequence[float]) -> pd.DataFrame:
    """Sobol indices of each strategy's incremental net benefit against ``baseline`` at each
    threshold; ``labels`` maps each parameter's key path (in design order) to its label."""
    rows = []
    for strategy in sorted(set(table["strategy"]) - {baseline}):
        for wtp in thresholds:
            inb = incremental_net_benefit(table, baseline, strategy, wtp)
            found = indices(inb, list(labels.values())).assign(path=list(labels), strategy=strategy, wtp=wtp)
            rows.append(found)
    columns = ["strategy", "wtp", "path", "parameter", "first_order", "first_order_ci", "total", "total_ci"]
    return pd.concat(rows, ignore_index=True)[columns] if rows else pd.DataFrame(columns=columns)
