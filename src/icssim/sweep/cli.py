"""``icssim sweep`` and ``icssim optimise``: parsers and handlers."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from icssim import guard
from icssim.cli_args import about, output_path, positive_number
from icssim.errors import NO_ANSWER, IcssimError
from icssim.units import parse_span


def register(sub) -> None:
    """Add the ``sweep`` and ``optimise`` subcommands to the ``icssim`` parser."""
    p = sub.add_parser("sweep", help="run a parameter sweep (resumable) and write tables and plots", **about(
        "Run every point x replication of a sweep file on all cores (or a Dask cluster), keeping each "
        "finished run; re-run the same command to resume. Prints what the sweep found, in its labels.",
        "icssim sweep scenarios/sweeps/ed_cyp_capacity.yaml",
        "results/<sweep name>/: sweep.sqlite (the runs), runs.csv, summary.csv, points.csv, plots/, "
        "report.html, metadata.json (docs/sweeps.md)"))
    p.add_argument("file", type=Path, help="sweep file (YAML; see docs/sweeps.md)")
    add_sweep_options(p)
    p.set_defaults(handler=cmd_sweep)

    p = sub.add_parser("psa", help="probabilistic sensitivity analysis: a sweep with 'design: psa', plus the "
                                   "CE plane, acceptability curve and EVPI",
                       **about("Run every strategy (base scenario) on every drawn parameter set (resumable, like "
                               "a sweep) and write the cost-effectiveness analysis under uncertainty; prints the "
                               "answer (the best strategy at each threshold, EVPI), never the draws.",
                               "icssim psa scenarios/sweeps/ed_psa.yaml",
                               "the sweep's folder plus psa.csv, ceac.csv, evpi.csv, psa.json, plots/ceac.png, "
                               "plots/psa_plane.png and the analysis in report.html (docs/health.md)"))
    p.add_argument("file", type=Path, help="sweep file with 'design: psa' (YAML; see docs/health.md)")
    add_sweep_options(p)
    p.set_defaults(handler=cmd_sweep, psa=True)

    p = sub.add_parser("optimise", aliases=["optimize"],
                       help="find the cheapest sweep point meeting a standard (judged on the CI bound)",
                       description="Find the sweep point that meets every --target on its confidence bound at "
                                   "the lowest --minimise, running the sweep first if needed; with "
                                   "--max-replications, add replications to undecided points.",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="example:\n  icssim optimise scenarios/sweeps/ed_cyp_capacity.yaml --target "
                              "\"within_cyp_routine_4_weeks >= 0.95\" --minimise staff_cost_per_year\n\n"
                              "writes:\n  the sweep's folder plus optimise.json, optimise.csv and the answer "
                              "in report.html")
    p.add_argument("file", type=Path, help="sweep file (YAML; see docs/sweeps.md)")
    p.add_argument("--target", action="append", default=None,
                   help="a standard to meet, e.g. 'within_cyp_routine_4_weeks >= 0.9' (repeatable; "
                        "default: the sweep file's optimise.target)")
    p.add_argument("--minimise", "--minimize", default=None,
                   help="KPI (e.g. cost_per_year) or swept parameter (key path) to minimise "
                        "(default: the sweep file's optimise.minimise)")
    p.add_argument("--max-replications", type=int, default=None,
                   help="add replications (up to this many per point) to undecided points that could "
                        "beat the answer")
    add_sweep_options(p)
    p.set_defaults(handler=cmd_optimise)


def add_sweep_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=output_path, default=None, help="output folder (default: results/<sweep name>)")
    p.add_argument("--workers", "-w", type=positive_number, default=None,
                   help="local worker processes (default: all cores); with --dask local, the number of Dask workers")
    p.add_argument("--dask", metavar="ADDRESS|local", default=None,
                   help="run on a Dask distributed scheduler (e.g. tcp://host:8786), or 'local' for a "
                        "LocalCluster (needs: pip install 'icssim[dask]')")
    p.add_argument("--restart", action="store_true",
                   help="discard the results already stored in the output folder and start again")
    p.add_argument("--yes", "-y", action="store_true", help="run even if the estimate exceeds --budget")
    p.add_argument("--budget", default="15 minutes",
                   help="time you have for the sweep, e.g. '2 hours' (a bare number is minutes); a longer "
                        "estimate asks to confirm (default: 15 minutes)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or messages")


def _budget_seconds(text: str) -> float:
    try:
        span = parse_span(text)
    except ValueError:
        raise IcssimError(f"--budget: expected a time such as '30 minutes' or '2 hours', found {text!r}") from None
    seconds = span.value * 60 if span.unit is None else span.to("minutes") * 60
    if seconds <= 0:
        raise IcssimError(f"--budget must be more than 0, found {text!r}")
    return seconds


def _command() -> str:
    return " ".join(["icssim", *sys.argv[1:]])


def _interrupted(run) -> int:
    guard.mark_stopping()  # (the same Ctrl-C arriving again must not cut this report or the store's closing)
    stored = len(run.done) if run is not None else 0
    where = f" in {run.out}/" if run is not None else ""
    total = f" of {run.total()}" if run is not None else ""
    print(f"icssim: interrupted; {stored}{total} runs are saved{where}; run the same command again to resume",
          file=sys.stderr)
    return 130


def cmd_sweep(args: argparse.Namespace) -> int:
    from icssim.file_checks import check_before_running
    from icssim.health.psa_outputs import answer_text, refuse_without_health, write_psa
    from icssim.sweep import outputs, runner

    run = None
    try:
        check_before_running(args.file, "psa" if getattr(args, "psa", False) else "sweep")
        budget = _budget_seconds(args.budget)
        rough = runner.RoughSize(args.workers, args.dask, budget, args.yes)
        run = runner.prepare(args.file, args.out, args.restart, size_check=rough)
        psa = run.sweep.spec.is_psa
        if getattr(args, "psa", False) and not psa:
            raise IcssimError(f"{args.file}: 'icssim psa' needs a sweep file with 'design: psa' (or 'sobol') and "
                              f"parameters with distributions, found 'design: {run.sweep.spec.design}'")
        if psa:
            refuse_without_health(run.sweep, args.file)
        runner.execute(run, args.workers, args.dask, args.restart, rough.confirmed, budget,
                       args.quiet, command=_command())
        meta = outputs.write_outputs(run, _command())
        answer = write_psa(run) if psa else None
    except KeyboardInterrupt:
        return _interrupted(run)
    finally:
        if run is not None and run.store is not None:
            run.store.close()
    if not args.quiet:
        print(outputs_summary(run, meta))
    if answer is not None:
        print(answer_text(answer))
    rate = meta["runs_a_minute"]
    speed = f", {rate:,.0f} runs a minute" if rate else ""
    reps = meta["replications"]
    beyond = meta.get("runs_beyond_the_design") or 0
    extra = (f"; {beyond} more replication(s) that optimise added are in runs.csv and optimise.csv, not in the "
             f"summary, which compares points on the replications they all have" if beyond else "")
    print(f"wrote {run.out}/ ({meta['points']} points x {reps} replication{'s' if reps != 1 else ''}; "
          f"{meta['runs_now']} run(s) now on {meta['workers']} {meta['executor']} worker(s) in {meta['seconds_now']:.1f} s"
          f"{speed}{extra})")
    return 0


def outputs_summary(run, meta: dict) -> str:
    """What the sweep found, in its labels, within 100 columns (:mod:`icssim.sweep.console`)."""
    from icssim.sweep.console import sweep_summary

    return sweep_summary(run.out, meta)


def cmd_optimise(args: argparse.Namespace) -> int:
    from icssim.file_checks import check_before_running
    from icssim.sweep import optimise, outputs, runner

    run = None
    try:
        check_before_running(args.file, "optimise")
        budget = _budget_seconds(args.budget)
        rough = runner.RoughSize(args.workers, args.dask, budget, args.yes)
        run = runner.prepare(args.file, args.out, args.restart, size_check=rough)
        spec = run.sweep.spec.optimise
        texts = args.target or spec.target
        minimise = args.minimise or spec.minimise
        if not texts:
            raise IcssimError("give at least one --target, e.g. --target 'within_cyp_routine_4_weeks >= 0.9'")
        if not minimise:
            raise IcssimError("give --minimise, e.g. --minimise cost_per_year")
        targets = [optimise.parse_target(t) for t in texts]
        reps = run.sweep.spec.sweep.replications
        more = None
        if args.max_replications is not None:
            if args.max_replications < reps:
                raise IcssimError(f"--max-replications ({args.max_replications}) is below the sweep's "
                                  f"replications ({reps})")
            more = optimise.refinement(targets, minimise, args.max_replications, max(reps, 2))
        runner.execute(run, args.workers, args.dask, args.restart, rough.confirmed, budget,
                       args.quiet, command=_command(), more=more,
                       check=lambda names: optimise.check_names(run, targets, minimise, names))
        optimise.check_names(run, targets, minimise, _kpi_names(run))
        meta = outputs.write_outputs(run, _command())
        table = optimise.assess(run, targets, minimise)
        text, answer = optimise.report(run, targets, minimise, table)
        answer["runs"] = meta["runs_stored"]
        optimise.write(run, table, answer)
    except KeyboardInterrupt:
        return _interrupted(run)
    finally:
        if run is not None and run.store is not None:
            run.store.close()
    print(text)
    print(f"wrote {run.out}/optimise.json and optimise.csv ({meta['runs_stored']} runs stored)")
    return 0 if answer["found"] else NO_ANSWER


def _kpi_names(run) -> list[str]:
    frame = run.frame()
    return [c for c in frame.columns if c not in ("point", "replication", "seed", "wall_seconds", "worker")]
