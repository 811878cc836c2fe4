"""The ``icssim`` command line: validate and run scenario files.

User mistakes (:class:`~icssim.errors.IcssimError`) are printed as one clear message
and exit with status 2; Ctrl-C exits with 130 and leaves nothing half-written.
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
from icssim.console_text import format_differences, format_kpis, format_value_for_money, progress_bar
from icssim.output_folder import check_replaceable, inside

DEFAULT_RESULTS = Path("results")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``icssim`` console script.

    Every way a command can end is one line on stderr and an exit status: 0 done, 2 a mistake
    in the input or command, 1 the machine refused (disk full, no permission), 130 Ctrl-C and
    143 SIGTERM (finished replications kept), 70 a bug in icssim (its traceback saved to a file).
    """
    started = time.perf_counter()
    parser = build_parser()
    args = parser.parse_args(argv)
    args.started = started
    with guard.terminate_as_interrupt():
        try:
            return args.handler(args)
        except ScenarioError as exc:
            for problem in exc.problems:
                print(f"icssim: error: {problem}", file=sys.stderr)
            return 2
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
    p.add_argument("--precision", type=float, default=None,
                   help="add replications until each --kpi's 95%% CI half-width is within this share "
                        "of its mean (e.g. 0.05)")
    p.add_argument("--kpi", action="append", default=None,
                   help="KPI(s) for --precision (default: wait_to_treatment_mean, cost_per_year)")
    p.add_argument("--max-replications", type=positive_number, default=100, help="cap for --precision")
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


def about(description: str, example: str, outputs: str) -> dict:
    """``add_parser`` arguments that make a subcommand's --help say what it does, show an example
    and name its outputs."""
    return {"description": description, "formatter_class": argparse.RawDescriptionHelpFormatter,
            "epilog": f"example:\n  {example}\n\nwrites:\n  {outputs}"}


def add_run_options(p: argparse.ArgumentParser, out: str = "results/<name>") -> None:
    """Options shared by commands that run simulations (``out``: the default folder, in words)."""
    p.add_argument("--seed", type=seed_value, default=None, help="seed (default: the scenario's)")
    p.add_argument("--replications", "-n", type=whole_number, default=1, help="number of replications")
    p.add_argument("--workers", "-w", type=positive_number, default=None,
                   help="worker processes (default: all cores); with --dask local, the number of Dask workers")
    p.add_argument("--dask", metavar="ADDRESS|local", default=None,
                   help="run on a Dask distributed scheduler (e.g. tcp://host:8786), or 'local' for a "
                        "LocalCluster (needs: pip install 'icssim[dask]')")
    p.add_argument("--out", type=output_path, default=None, help=f"output folder (default: {out})")
    p.add_argument("--force", action="store_true", help="replace an existing output folder")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or table")
    p.add_argument("--yes", "-y", action="store_true",
                   help="run even if the estimated time or memory is over the limits (15 minutes, half "
                        "the machine's memory)")


#: Largest seed numpy's SeedSequence takes as one 64-bit word (so a seed fits every store).
MAX_SEED = 2**63 - 1


def seed_value(text: str) -> int:
    """A seed on the command line: a whole number from 0 to 2**63 - 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to {MAX_SEED}, found {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to {MAX_SEED}, found {value}")
    return value


def whole_number(text: str) -> int:
    """A count on the command line (replications): a whole number (checked >= 1 by the command)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, found {text!r}") from None


def positive_number(text: str) -> int:
    """A whole number of at least 1 (workers)."""
    value = whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, found {value}")
    return value


def output_path(text: str) -> Path:
    """An output folder: a path this system can encode as UTF-8 text (it is written into the
    metadata and the report), not an existing file."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        raise argparse.ArgumentTypeError(f"expected a folder name in UTF-8 text, found {shown!r} "
                                         f"(it holds bytes that are not UTF-8)") from None
    path = Path(text)
    if path.name in ("", ".", ".."):
        raise argparse.ArgumentTypeError(f"{text} does not name a results folder: give --out a folder name")
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder; choose a folder for the results")
    return path


def cmd_validate(args: argparse.Namespace) -> int:
    """Check each file without running it: a scenario, or a sweep/PSA or calibration file (told
    apart by its top-level ``sweep:`` or ``calibration:`` key), checked as ``icssim sweep``/``psa``
    or ``icssim calibrate`` check it before running. Every file is checked, however many fail."""
    failed = 0
    for path in args.files:
        try:
            summary = _validate_file(path)
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
    return 2 if failed else 0


def _validate_file(path: Path) -> str:
    """Validate one file as what its top-level keys say it is; return what it holds, in words."""
    kind = _file_kind(path)
    if kind == "sweep":
        return _validate_sweep(path)
    if kind == "calibration":
        return _validate_calibration(path)
    from icssim.scenario import load_scenario

    s = load_scenario(path)
    return (f"{s.scenario.name}: {len(s.cohorts)} cohorts, {len(s.services)} services, "
            f"{len(s.pathway.steps)} steps")


def _file_kind(path: Path) -> str:
    """``sweep`` or ``calibration`` when the file's mapping has that top-level key, else ``scenario``
    (also for a file that cannot be read: the scenario loader then names what is wrong with it)."""
    from icssim.scenario.yaml_reader import Provenance, read_document

    try:
        data = read_document(path, Provenance(files=[str(path)], sha256="", raw={}))
    except ScenarioError:
        return "scenario"
    return next((kind for kind in ("sweep", "calibration") if kind in data), "scenario")


def _validate_sweep(path: Path) -> str:
    """Check a sweep or PSA file as ``icssim sweep``/``psa`` does before its first run: the file, its
    base scenarios, every point's scenario (and, for a PSA, that its bases measure QALYs). A
    national file (areas, several bases each scaling its own teams) is checked as
    ``python -m icssim.national run`` runs it: one sweep per base."""
    from icssim.sweep.spec import load_sweep

    sweep = load_sweep(path)
    try:
        points = _checked_points(sweep, path)
    except IcssimError:
        if sweep.areas is None or len(sweep.bases) < 2:
            raise
        return _validate_national(path, sweep.name)
    bases = len(sweep.running)
    return (f"{sweep.name}: a sweep file, {points} points on {bases} base scenario{'s' if bases != 1 else ''}, "
            f"design {sweep.spec.design}")


def _checked_points(sweep, path: Path) -> int:
    """How many points ``sweep`` has, each checked to be a valid scenario."""
    from icssim.sweep.design import design_points, validate_points

    points = design_points(sweep)
    validate_points(sweep, points)
    if sweep.spec.is_psa:
        from icssim.health.psa_outputs import refuse_without_health

        refuse_without_health(sweep, path)
    return len(points)


def _validate_national(path: Path, name: str) -> str:
    """A national sweep file split, as the national run splits it, into one sweep per base, each checked."""
    import tempfile

    from icssim.national import split_sweep
    from icssim.sweep.spec import load_sweep

    with tempfile.TemporaryDirectory(prefix="icssim-validate-") as specs:
        files = split_sweep(path, Path(specs))
        points = sum(_checked_points(load_sweep(file), file) for file in files.values())
    return (f"{name}: a national sweep file for 'python -m icssim.national run', {points} points on "
            f"{len(files)} base scenarios, one sweep each")


def _validate_calibration(path: Path) -> str:
    """Check a calibration file as ``icssim calibrate`` does: the file, its scenario, every
    parameter's key path, and the scenario at both ends of every prior."""
    from icssim.calibrate.spec import load_calibration

    cal = load_calibration(path)
    return (f"{cal.name}: a calibration file, {len(cal.spec.parameters)} parameters fitted to "
            f"{len(cal.fitted)} targets of {cal.scenario_file}")


def _import_pyplot() -> None:
    from icssim.plots import import_pyplot

    import_pyplot()


#: What writing a run's outputs imports, imported while its workers simulate (:mod:`icssim.preload`).
OUTPUT_IMPORTS = ("pandas", "scipy.special", "icssim.results", "pyarrow.parquet", "pyarrow.csv", "pyarrow.compute",
                  _import_pyplot, "icssim.report.run", "icssim.diagram", "icssim.calendar_metrics",
                  "icssim.calendar_plots")


def cmd_run(args: argparse.Namespace) -> int:
    from icssim import experiments, preload
    from icssim.scenario import load_scenario

    scenario = load_scenario(args.file)
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
                kpis = args.kpi or ["wait_to_treatment_mean", "cost_per_year"]
                result = experiments.run_to_precision(scenario, args.precision, kpis, args.seed,
                                                      start=max(args.replications, 3),
                                                      cap=args.max_replications, progress=tick,
                                                      done=finished, executor=ex)
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
        pr = result.precision
        status = "reached" if pr["reached"] else "NOT reached (cap hit)"
        print(f"precision {pr['target']:g} {status} after {pr['replications']} replications")
    return 0


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
    from icssim.scenario import load_scenario

    scenarios = [load_scenario(f) for f in args.files]
    names = [s.scenario.name for s in scenarios]
    if args.equal_budget:
        scenarios = _equal_budget(scenarios)
    out = args.out or inside(DEFAULT_RESULTS, "compare-" + "-vs-".join(names)
                             + ("-equal-budget" if args.equal_budget else ""))
    check_replaceable(out, args.force)
    before = comparability(scenarios)
    for warning in before:
        print(f"icssim: warning: {warning}", file=sys.stderr)
    check_size(args, scenarios, args.replications)
    started = time.perf_counter()
    finished: list = []
    try:
        with progress_bar(args, "replications", args.replications * len(scenarios)) as tick:
            comparison = experiments.compare(scenarios, args.replications, args.seed, args.workers, progress=tick,
                                             dask=args.dask, done=finished)
    except (KeyboardInterrupt, Exception) as exc:  # keep the finished pairs, then report what stopped it
        _keep_finished_pairs(scenarios, args, finished, out, time.perf_counter() - started, exc)
        raise
    wall = time.perf_counter() - started
    for warning in comparison.warnings:
        if warning not in before:  # (what the runs showed: a waiting list that does not settle)
            print(f"icssim: warning: {warning}", file=sys.stderr)
    results.write_comparison(comparison, out, args.force, wall, " ".join(["icssim", *sys.argv[1:]]),
                             workers=args.workers or experiments.default_workers())
    if not args.quiet:
        from icssim.report.numbers import waits_in

        with waits_in(comparison.results[0].scenario.scenario.time_unit):
            print(format_differences(comparison))
        value = format_value_for_money(results.comparison_economics(comparison))
        if value:
            print(value)
    print(f"wrote {out}/ ({args.replications} paired replications per scenario, seed "
          f"{comparison.results[0].seed}; {timings(args, wall)})")
    return 0


def _equal_budget(scenarios: list) -> list:
    """The four scenarios of ``compare --equal-budget`` (:mod:`icssim.budget`)."""
    from icssim.budget import equal_budget_set

    if len(scenarios) != 2:
        raise IcssimError(f"--equal-budget compares exactly two scenarios (a baseline and a variant), "
                          f"found {len(scenarios)}")
    return equal_budget_set(*scenarios)


def cmd_warmup(args: argparse.Namespace) -> int:
    from icssim import experiments, results, warmup
    from icssim.scenario import load_scenario

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
    print(f"suggested warm-up: {diagnostic.overall_days:.0f} days; the scenario has {current:.0f} days "
          f"({diagnostic.verdict(current)})")
    print(f"wrote {out}/ (warmup.png, warmup.csv, metadata.json; seed {result.seed})")
    return 0
