"""The ``icssim`` command line: validate and run scenario files.

User mistakes (:class:`~icssim.errors.IcssimError`) are printed as one clear message
and exit with status 2; a disk or permission that refuses the writing, with 1; Ctrl-C exits
with 130 and leaves nothing half-written.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from icssim import __version__, guard
from icssim.errors import IcssimError, ScenarioError
from icssim.cli_args import about, add_precision_options, add_run_options
from icssim.console_text import (format_differences, format_kpis, format_value_for_money, precision_line,
                                 progress_bar)
from icssim.output_folder import OutputConflict, OutputError, check_replaceable, inside

DEFAULT_RESULTS = Path("results")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``icssim`` console script.

    Every way a command can end is one line on stderr and an exit status: 0 done, 2 a mistake
    in the input or command, 1 the machine refused (disk full, no permission), 130 Ctrl-C and
    143 SIGTERM (finished replications kept), 70 a bug in icssim (its traceback saved to a file).
    A run whose folder another process wrote meanwhile is done (0): a warning names where its
    results were kept.
    """
    started = time.perf_counter()
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        refuse_unknown_arguments(parser, args.command, unknown)
    args.started = started
    with guard.terminate_as_interrupt():
        try:
            return args.handler(args)
        except ScenarioError as exc:
            for problem in exc.problems:
                print(f"icssim: error: {problem}", file=sys.stderr)
            return 2
        except OutputConflict as exc:   # done: the results are kept beside the folder asked for
            print(f"icssim: warning: {exc}", file=sys.stderr)
            return 0
        except OutputError as exc:   # the machine refused the writing (disk full, no permission)
            print(f"icssim: error: {exc}", file=sys.stderr)
            return 1
        except IcssimError as exc:
            print(f"icssim: error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt as exc:
            guard.mark_stopping()
            what = "terminated" if isinstance(exc, guard.Terminated) else "interrupted"
            print(f"icssim: {what}; nothing was written for the unfinished run", file=sys.stderr)
            return 143 if isinstance(exc, guard.Terminated) else 130
        except OSError as exc:
            message = guard.environment_problem(exc)
            if message is None:
                return guard.internal_error(args, exc)
            print(f"icssim: error: {message}", file=sys.stderr)
            return 1
        except Exception as exc:  # a bug in icssim: one line, the traceback in a file
            return guard.internal_error(args, exc)


def console() -> None:
    """The ``icssim`` command (console script, ``python -m icssim``): :func:`main`, then the exit.

    The exit freezes the objects left (:func:`gc.freeze`) first: the interpreter's shutdown
    otherwise walks them all with the cyclic garbage collector, to free memory the operating
    system takes back anyway (about a quarter of a second of CPU after a run, with pandas,
    pyarrow and matplotlib loaded). Files are closed and streams flushed as before; only
    cyclic garbage is left uncollected. Called in-process (tests, the app), :func:`main`
    freezes nothing.
    """
    status = main()
    gc.freeze()
    sys.exit(status)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="icssim",
        description="Simulate fragmented and integrated mental health pathways from scenario files.",
    )
    parser.add_argument("--version", action="version", version=f"icssim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check scenario, sweep and calibration files and report every mistake",
                       **about(
        "Check scenario files without running them: every mistake, with its file, line and key. A sweep "
        "or PSA file (top-level 'sweep:') or a calibration file ('calibration:') is checked as 'icssim "
        "sweep', 'psa' or 'calibrate' checks it, with its base scenarios.",
        "icssim validate scenarios/ed_fragmented.yaml scenarios/sweeps/ed_psa.yaml",
        "nothing; exit status 0 when every file is valid, 2 otherwise"))
    p.add_argument("files", nargs="+", type=Path,
                   help="scenario, sweep or calibration files (YAML; see docs/scenario-format.md, docs/sweeps.md)")
    p.set_defaults(handler=cmd_validate)

    p = sub.add_parser("run", help="run a scenario and write KPIs, records and plots", **about(
        "Run a scenario's replications on all cores and write its results: KPIs with 95% CIs, "
        "per-patient and per-visit records, plots and a report.",
        "icssim run scenarios/ed_integrated.yaml --replications 10",
        "results/<name>/: kpis.csv, kpis_by_replication.csv, patients.csv/.parquet, visits.parquet, "
        "timeseries.csv, costs.csv, plots/, report.html, metadata.json (seed, versions, hashes)"))
    p.add_argument("file", type=Path, help="scenario file (YAML; see docs/scenario-format.md)")
    add_run_options(p)
    add_precision_options(p, "its mean", "wait_to_treatment_mean, cost_per_year")
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("compare", help="run scenarios on common random numbers and compare them", **about(
        "Run two or more scenarios on the same random numbers and give each one's paired difference to "
        "the first, with 95% CIs; with a health: block, value for money (ICER, net monetary benefit).",
        "icssim compare scenarios/ed_fragmented.yaml scenarios/ed_integrated.yaml --equal-budget",
        "results/compare-<names>/: summary.csv, differences.csv, cost_effectiveness.csv, plots/, "
        "report.html, and each scenario's own run folder"))
    p.add_argument("files", nargs="+", type=Path, help="scenario files; the first is the baseline")
    p.add_argument("--equal-budget", action="store_true",
                   help="with two scenarios: also run each at the other's staff budget, to separate what "
                        "the pathway does from what the money does")
    add_run_options(p)
    add_precision_options(p, "its mean difference to the baseline (the variant's, with --equal-budget)",
                          "cost_per_person and qalys_per_person with a health: block, else "
                          "wait_to_treatment_mean and cost_per_year")
    p.set_defaults(handler=cmd_compare, replications=10)

    p = sub.add_parser("warmup", help="plot running means and suggest a warm-up length (MSER-5)", **about(
        "Run a scenario without a warm-up and suggest how long its warm-up should be (MSER-5 on the "
        "running means of its waiting lists and waits).",
        "icssim warmup scenarios/ed_fragmented.yaml --replications 5",
        "results/<name>-warmup/: warmup.png and warmup.csv (the suggested length per series)"))
    p.add_argument("file", type=Path, help="scenario file (YAML)")
    add_run_options(p, out="results/<name>-warmup")
    p.set_defaults(handler=cmd_warmup, replications=5)
    __import__("icssim.report").report.register(sub)
    __import__("icssim.sweep.cli", fromlist=["register"]).register(sub)
    __import__("icssim.calibrate.cli", fromlist=["register"]).register(sub)
    __import__("icssim.app", fromlist=["register"]).register(sub)
    return parser


def cmd_validate(args: argparse.Namespace) -> int:
    """Check each file without running it (:mod:`icssim.file_checks`); every file is checked,
    however many fail."""
    from icssim.file_checks import validate_file

    failed = 0
    for path in args.files:
        try:
            summary, warnings = validate_file(path)
        except ScenarioError as exc:
            failed += 1
            print(f"{path}: INVALID", file=sys.stderr)
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
            continue
        except IcssimError as exc:  # a sweep's or calibration's mistake beyond one key: a message of its own
            failed += 1
            print(f"{path}: INVALID", file=sys.stderr)
            print("\n".join(f"  {line}" for line in str(exc).splitlines()), file=sys.stderr)
            continue
        print(f"{path}: ok ({summary})")
        for warning in warnings:   # a value no ICS could have: said, never refused
            print(f"icssim: warning: {warning}", file=sys.stderr)
    return 2 if failed else 0


def _import_pyplot() -> None:
    from icssim.plots import import_pyplot

    import_pyplot()


#: What writing a run's outputs imports, imported while its workers simulate (:mod:`icssim.preload`).
OUTPUT_IMPORTS = ("pandas", "scipy.special", "icssim.results", "pyarrow.parquet", "pyarrow.csv", "pyarrow.compute",
                  _import_pyplot, "icssim.report.run", "icssim.diagram", "icssim.calendar_metrics",
                  "icssim.calendar_plots")


def cmd_run(args: argparse.Namespace) -> int:
    from icssim import experiments, preload
    from icssim.file_checks import refuse_other_kind
    from icssim.kpi_check import check_precision_options, featured_problems, refuse
    from icssim.scenario import load_scenario

    refuse_other_kind(args.file, "run")   # (a sweep's or calibration's file: the command that runs it)
    scenario = load_scenario(args.file)
    check_precision_options(args, [scenario])   # before the run: a cap hit or an option ignored is no answer
    refuse(featured_problems(scenario))
    _warn_implausible([scenario])
    out = args.out or inside(DEFAULT_RESULTS, scenario.scenario.name)
    check_replaceable(out, args.force)  # before simulating: a refusal then costs nothing
    if args.replications < 1:
        raise IcssimError(f"--replications must be at least 1, found {args.replications}")
    planned = args.replications if args.precision is None else max(args.max_replications, args.replications)
    check_size(args, [scenario], planned)
    started = time.perf_counter()
    finished: list = []
    tasks = args.replications if args.precision is None else args.max_replications
    try:
        with progress_bar(args, "replications", args.replications if args.precision is None else None) as tick, \
                experiments.executor_for([scenario], args.workers, args.dask, tasks=tasks) as ex:
            if ex.name != "in-process":  # this process waits for the workers: import the writing's modules
                preload.start(OUTPUT_IMPORTS)
            if args.precision is not None:
                from icssim.precision import run_to_precision

                result = run_to_precision(scenario, args.precision, args.kpi, args.seed,
                                          start=max(args.replications, 3), cap=args.max_replications,
                                          progress=tick, done=finished, executor=ex)
            else:
                result = experiments.run(scenario, args.replications, args.seed, progress=tick,
                                         done=finished, executor=ex)
    except (KeyboardInterrupt, Exception) as exc:  # keep what finished, then report what stopped it
        _keep_finished(scenario, args, finished, out, time.perf_counter() - started, exc)
        raise
    wall = time.perf_counter() - started
    preload.wait()  # before importing anything here (two threads importing could wait on each other)
    from icssim import results

    try:
        with preload.frozen():  # the modules imported live to the end: collections need not walk them
            results.write_run(result, out, args.force, wall, " ".join(["icssim", *sys.argv[1:]]),
                              workers=args.workers or experiments.default_workers())
    except (KeyboardInterrupt, Exception) as exc:
        _keep_finished(scenario, args, finished, out, wall, exc)
        raise
    from icssim.warmup import records_warning

    if warning := records_warning(scenario.scenario.name, result.records):
        print(f"icssim: warning: {warning}", file=sys.stderr)
    if not args.quiet:
        from icssim.report.numbers import waits_in

        with waits_in(scenario.scenario.time_unit):
            print(format_kpis(results.kpi_table(result.summary()), scenario.scenario.name, result))
    print(f"wrote {out}/ ({len(result.replications)} replication(s), seed {result.seed}; {timings(args, wall)})")
    if result.precision:
        print(precision_line(result.precision))
    return 0


def refuse_unknown_arguments(parser: argparse.ArgumentParser, command: str, unknown: list[str]) -> None:
    """Exit 2 naming arguments the command does not take, with the command's own usage (argparse
    gives the top level's) and the option meant for a misspelt one (``--replicatons``: did you mean
    ``--replications``?)."""
    import difflib

    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    own = actions[0].choices[command] if actions and command in actions[0].choices else parser
    options = [o for action in own._actions for o in action.option_strings if o.startswith("--")]
    hints = [f"{arg}: did you mean {close[0]}?" for arg in unknown if arg.startswith("-")
             for close in [difflib.get_close_matches(arg.split("=")[0], options, n=1, cutoff=0.75)] if close]
    own.error(f"unrecognized arguments: {' '.join(unknown)}" + (f" ({'; '.join(hints)})" if hints else ""))


def _warn_implausible(scenarios: list) -> None:
    """Say, before running, each value no English ICS could have (:mod:`icssim.scenario.plausibility`):
    a warning, never a refusal."""
    from icssim.scenario.plausibility import warnings

    for scenario in scenarios:
        for warning in warnings(scenario):
            print(f"icssim: warning: {warning}", file=sys.stderr)


def timings(args: argparse.Namespace, simulation: float) -> str:
    """How long the user waited: the simulation, and the whole command (reading the scenario and
    writing tables, plots and the report included)."""
    total = time.perf_counter() - getattr(args, "started", time.perf_counter() - simulation)
    return f"simulation {simulation:.1f} s, total {total:.1f} s"


def check_size(args: argparse.Namespace, scenarios: list, replications: int) -> None:
    """Say how big a run will be before it starts; above the limits, ask for --yes."""
    from icssim import estimate, experiments

    est = estimate.estimate_run(scenarios, replications, args.workers or experiments.default_workers())
    if est.seconds > 60 and not args.quiet:
        print(f"icssim: this run needs {est.describe()}", file=sys.stderr)
    estimate.confirm_size(est, args.yes)


def _keep_finished(scenario, args: argparse.Namespace, finished: list, out: Path, wall: float,
                   stopped_by: BaseException) -> None:
    """Keep the replications that finished before the run stopped (Ctrl-C, SIGTERM, an error in a
    later replication or in writing the results), in a folder named for how it stopped (keep.py)."""
    from icssim import preload

    how = _keeping(stopped_by, finished)
    if how is None:
        return
    preload.wait()  # before importing here: two threads importing could wait on each other
    from icssim.keep import keep_run

    seed = scenario.scenario.seed if args.seed is None else args.seed
    target = keep_run(scenario, seed, finished, out.with_name(out.name + f"-{how}"), wall, _command(how))
    if target is None:
        print("icssim: the finished replications could not be saved", file=sys.stderr)
        return
    print(f"icssim: kept {len(finished)} finished replication(s) in {target}/", file=sys.stderr)


def _keeping(stopped_by: BaseException, finished: list) -> str | None:
    """How a command stopped, as its kept folder's suffix ('interrupted' or 'incomplete'), or None
    when nothing is worth keeping: nothing finished, or the input was refused (a mistyped --kpi)."""
    from icssim.errors import RunawayPathway

    if isinstance(stopped_by, KeyboardInterrupt):
        guard.mark_stopping()  # (the same Ctrl-C reaching this process again must not stop the keeping)
    if not finished or (isinstance(stopped_by, IcssimError) and not isinstance(stopped_by, RunawayPathway)):
        return None
    return "interrupted" if isinstance(stopped_by, KeyboardInterrupt) else "incomplete"


def _command(how: str) -> str:
    """The command as typed, marked with how it stopped (for the kept folder's metadata)."""
    return " ".join(["icssim", *sys.argv[1:]]) + f"  # {how}"


def _keep_finished_pairs(scenarios: list, args: argparse.Namespace, finished: list, out: Path, wall: float,
                         stopped_by: BaseException) -> None:
    """Keep the replications of a comparison that finished for every scenario before it stopped
    (at least two, for a confidence interval), as a comparison folder named for how it stopped."""
    how = _keeping(stopped_by, finished)
    if how is None:
        return
    from icssim.keep import keep_comparison

    seed = scenarios[0].scenario.seed if args.seed is None else args.seed
    target, pairs = keep_comparison(scenarios, seed, finished, out.with_name(out.name + f"-{how}"), wall,
                                    _command(how))
    if target is None:
        print("icssim: fewer than two replications finished for every scenario; nothing kept" if not pairs
              else "icssim: the finished replications could not be saved", file=sys.stderr)
        return
    print(f"icssim: kept {pairs} finished replication(s) of each scenario in {target}/", file=sys.stderr)


def cmd_compare(args: argparse.Namespace) -> int:
    from icssim import experiments, results
    from icssim.comparability import comparability
    from icssim.file_checks import refuse_other_kind
    from icssim.kpi_check import check_precision_options, comparison_precision_kpis, featured_problems, refuse
    from icssim.scenario import load_scenario

    for f in args.files:
        refuse_other_kind(f, "compare")
    scenarios = [load_scenario(f) for f in args.files]
    refuse([p for s in scenarios for p in featured_problems(s)])
    _warn_implausible(scenarios)
    names = [s.scenario.name for s in scenarios]
    check_precision_options(args, scenarios, comparison_precision_kpis(scenarios))
    if args.equal_budget:
        from icssim.budget import equal_budget_set

        scenarios = equal_budget_set(*scenarios)
    out = args.out or inside(DEFAULT_RESULTS, "compare-" + "-vs-".join(names)
                             + ("-equal-budget" if args.equal_budget else ""))
    check_replaceable(out, args.force)
    before = comparability(scenarios)
    for warning in before:
        print(f"icssim: warning: {warning}", file=sys.stderr)
    check_size(args, scenarios, args.replications if args.precision is None else args.max_replications)
    started = time.perf_counter()
    finished: list = []
    try:
        with progress_bar(args, "replications", args.replications * len(scenarios)
                          if args.precision is None else None) as tick:
            comparison = _run_comparison(args, scenarios, tick, finished)
    except (KeyboardInterrupt, Exception) as exc:  # keep the finished pairs, then report what stopped it
        _keep_finished_pairs(scenarios, args, finished, out, time.perf_counter() - started, exc)
        raise
    wall = time.perf_counter() - started
    for warning in comparison.warnings:
        if warning not in before:  # (what the runs showed: a waiting list that does not settle)
            print(f"icssim: warning: {warning}", file=sys.stderr)
    try:
        results.write_comparison(comparison, out, args.force, wall, " ".join(["icssim", *sys.argv[1:]]),
                                 workers=args.workers or experiments.default_workers())
    except (KeyboardInterrupt, Exception) as exc:  # every pair finished: keep them, as a run keeps its own
        _keep_finished_pairs(scenarios, args, finished, out, wall, exc)
        raise
    if not args.quiet:
        from icssim.report.numbers import waits_in

        with waits_in(comparison.results[0].scenario.scenario.time_unit):
            print(format_differences(comparison))
        value = format_value_for_money(results.comparison_economics(comparison))
        if value:
            print(value)
    print(f"wrote {out}/ ({len(comparison.results[0].replications)} paired replications per scenario, seed "
          f"{comparison.results[0].seed}; {timings(args, wall)})")
    if comparison.precision:
        print(precision_line(comparison.precision))
    return 0


def _run_comparison(args: argparse.Namespace, scenarios: list, tick, finished: list):
    """``compare``'s runs: the replications asked for, or as many as ``--precision`` needs (judged
    on the variant's differences with ``--equal-budget``: the last of its four scenarios)."""
    from icssim import experiments

    if args.precision is None:
        return experiments.compare(scenarios, args.replications, args.seed, args.workers, progress=tick,
                                   dask=args.dask, done=finished)
    from icssim.precision import compare_to_precision

    return compare_to_precision(scenarios, args.precision, args.kpi, args.seed, args.workers,
                                start=max(args.replications, 3), cap=args.max_replications, progress=tick,
                                dask=args.dask, done=finished,
                                judged=[len(scenarios) - 1] if args.equal_budget else None)


def cmd_warmup(args: argparse.Namespace) -> int:
    from icssim import experiments, results, warmup
    from icssim.file_checks import refuse_other_kind
    from icssim.scenario import load_scenario

    refuse_other_kind(args.file, "warmup")
    scenario = load_scenario(args.file)
    out = args.out or inside(DEFAULT_RESULTS, f"{scenario.scenario.name}-warmup")
    check_replaceable(out, args.force)
    check_size(args, [scenario], args.replications)
    started = time.perf_counter()
    with progress_bar(args, "replications", args.replications) as tick:
        result = experiments.run(scenario, args.replications, args.seed, args.workers, progress=tick,
                                 dask=args.dask)
    diagnostic = warmup.diagnose(result.records)
    results.write_warmup(diagnostic, scenario.scenario.name, out, args.force, result,
                         time.perf_counter() - started, " ".join(["icssim", *sys.argv[1:]]))
    from icssim.units import in_days

    current = in_days(scenario.scenario.warmup, scenario.scenario.time_unit)
    for name, days in diagnostic.suggested_days.items():
        print(f"  {name}: MSER-5 suggests {days:.0f} days")
    for name in diagnostic.absent:
        print(f"  {name}: no values in this scenario (no one reached it), so not judged")
    print(f"suggested warm-up: {diagnostic.overall_days:.0f} days; the scenario has {current:.0f} "
          f"day{'' if round(current) == 1 else 's'} "
          f"({diagnostic.verdict(current)})")
    print(f"wrote {out}/ (warmup.png, warmup.csv, metadata.json; seed {result.seed})")
    return 0
