"""Parameter sweeps: many points x replications on all cores or a Dask cluster, resumable,
with tables, plots and goal-seeking to a standard.

Modules: :mod:`~icssim.sweep.spec` (the sweep file), :mod:`~icssim.sweep.design` (grid,
Latin hypercube, one-at-a-time; areas), :mod:`~icssim.sweep.store` (the SQLite results
store), :mod:`~icssim.sweep.executors` (in-process, local pool, Dask),
:mod:`~icssim.sweep.runner` (resume, estimate, run; what a resume checks:
:mod:`~icssim.sweep.resume`), :mod:`~icssim.sweep.tables` and :mod:`~icssim.sweep.plots` (a
finished sweep's tables and plots; cost against wait: :mod:`~icssim.sweep.frontier`; their labels
and colours: :mod:`~icssim.sweep.plot_labels`), :mod:`~icssim.sweep.outputs`
(writes them, with metadata and report), :mod:`~icssim.sweep.optimise` (goal-seek) and
:mod:`~icssim.sweep.cli` (the ``sweep`` and ``optimise`` commands).

From Python::

    from icssim.sweep import sweep
    run = sweep("scenarios/sweeps/ed_cyp_capacity.yaml", out="results/cap", workers=2)
    # tables and plots are in run.out (summary.parquet, points.csv, plots/)
"""

from typing import Any

from icssim.lazy import load_lazily

_LAZY = {"execute": "runner", "prepare": "runner", "sweep": "runner", "load_sweep": "spec"}


def __getattr__(name: str) -> Any:
    """Load the runner (pandas, the executors) when first used, not when ``icssim sweep`` is
    registered on the command line."""
    return load_lazily(__name__, _LAZY, name)


__all__ = ["execute", "load_sweep", "prepare", "sweep"]
