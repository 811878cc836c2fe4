"""What survives a stopped run: the replications that finished, written as a run or comparison
folder beside the one the command was writing, so that no finished work is lost to Ctrl-C, a
signal, a cancel in the app or an error in a later replication.

The command line (``cli.py``) and the app (``app/job_process.py``) both keep them here; each says
in its own words where they went.
"""

from __future__ import annotations

from pathlib import Path

from icssim.output_folder import free_name


def keep_run(scenario, seed: int, finished: list, target: Path, wall: float, command: str) -> Path | None:
    """Write the finished replications of a stopped run to ``target`` (or the first free name like
    it); the folder, or None if nothing could be saved.

    Writing them is tried the ordinary way first; if that fails too (the disk is full, or the
    failure was in the writing itself), each replication's KPIs are saved as a bare CSV.
    """
    from icssim import experiments, results

    partial = experiments.RunResult(scenario, seed, sorted(finished, key=lambda r: r.replication))
    target = free_name(target)
    try:
        results.write_run(partial, target, force=False, wall_seconds=wall, command=command)
    except (KeyboardInterrupt, Exception):
        return _save_bare_kpis(partial, target)
    return target


def keep_comparison(scenarios: list, seed: int, finished: list, target: Path, wall: float,
                    command: str) -> tuple[Path | None, int]:
    """Write the replications of a stopped comparison that finished for every scenario (at least
    two, for a confidence interval) to ``target`` (or the first free name like it): the folder
    (None if writing failed) and the replications of each scenario kept (0: too few finished)."""
    from icssim import experiments, results
    from icssim.comparability import comparability

    partial = experiments.finished_comparison(scenarios, seed, finished, comparability(scenarios))
    if partial is None:
        return None, 0
    pairs = len(partial.results[0].replications)
    target = free_name(target)
    try:
        results.write_comparison(partial, target, force=False, wall_seconds=wall, command=command)
    except (KeyboardInterrupt, Exception):
        return None, pairs
    return target, pairs


def _save_bare_kpis(result, target: Path) -> Path | None:
    """Last resort: the finished replications' KPIs as one CSV (pandas' own writer), in a new
    folder beside ``target`` (nothing existing is touched)."""
    folder = free_name(target)
    try:
        folder.mkdir(parents=True)
        result.kpis.reset_index().to_csv(folder / "kpis_by_replication.csv", index=False)
        return folder
    except (OSError, ValueError):
        return None
