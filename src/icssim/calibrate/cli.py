"""``icssim calibrate``: parser and handler (heavy libraries are imported in the handler only)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from icssim import guard
from icssim.cli_args import output_path, positive_number
from icssim.errors import NO_ANSWER


def register(sub) -> None:
    p = sub.add_parser("calibrate", help="fit free parameters to published targets (ABC-SMC, resumable)",
                       description="Calibrate a scenario's free parameters to published targets with sequential "
                                   "Monte Carlo approximate Bayesian computation (ABC-SMC) on all cores (or a Dask "
                                   "cluster), keeping each finished simulation; re-run the same command to resume. "
                                   "Writes the posterior (PSA input), fit and pairwise plots and report.md.")
    p.add_argument("file", type=Path, help="calibration file (YAML; see docs/calibration.md)")
    p.add_argument("--out", type=output_path, default=None,
                   help="output folder (default: results/calibration/<name>)")
    p.add_argument("--workers", "-w", type=positive_number, default=None,
                   help="local worker processes (default: all cores); with --dask local, the number of Dask workers")
    p.add_argument("--dask", metavar="ADDRESS|local", default=None,
                   help="run on a Dask distributed scheduler, or 'local' (needs: pip install 'icssim[dask]')")
    p.add_argument("--restart", action="store_true", help="discard the simulations stored in the output folder")
    p.add_argument("--yes", "-y", action="store_true", help="run even if the estimate exceeds --budget")
    p.add_argument("--budget", default="30 minutes",
                   help="time you have, e.g. '2 hours' (a bare number is minutes); a longer estimate of the "
                        "whole simulation budget asks to confirm (default: 30 minutes)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or messages")
    p.set_defaults(handler=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from icssim.calibrate import runner
    from icssim.calibrate.outputs import write_outputs
    from icssim.file_checks import check_before_running
    from icssim.sweep.cli import _budget_seconds

    run = None
    command = " ".join(["icssim", *sys.argv[1:]])
    try:
        check_before_running(args.file, "calibrate")
        run = runner.prepare(args.file, args.out, args.restart)
        runner.execute(run, args.workers, args.dask, args.restart, args.yes, _budget_seconds(args.budget),
                       args.quiet, command=command)
        meta = write_outputs(run, command)
    except KeyboardInterrupt:
        guard.mark_stopping()  # (the same Ctrl-C arriving again must not cut this report or the store's closing)
        stored = run.store.count() if run is not None and run.store is not None else 0
        where = f" in {run.out}/" if run is not None else ""
        print(f"icssim: interrupted; {stored} simulations are saved{where}; run the same command again to resume",
              file=sys.stderr)
        return 130
    finally:
        if run is not None and run.store is not None:
            run.store.close()
    fit = __import__("pandas").read_csv(run.out / "fit.csv")
    for _, r in fit.iterrows():
        tag = " (held out)" if r["held_out"] else ""
        nan = float("nan")
        print(f"  {r['target']}{tag}: published {r['published']:.4g}, fitted {r.get('fitted_median', nan):.4g} "
              f"({r.get('fitted_low', nan):.4g}-{r.get('fitted_high', nan):.4g})")
    rate = meta["simulations_per_second"]
    print(f"wrote {run.out}/ (report.md, posterior.csv, plots/); {run.ran_now} simulation(s) now on {run.workers} "
          f"{run.executor_name} worker(s) in {run.wall_seconds:.1f} s" + (f", {rate:g} per second" if rate else ""))
    if not meta["fits"]:
        print(f"icssim: nothing fits: the closest parameter set is {run.final.distances.min():.3g} uncertainty units "
              "from the targets; see report.md", file=sys.stderr)
        return NO_ANSWER
    return 0
