"""Benchmark icssim against Ciw, R simmer (where installed) and a bare heapq event loop (issue 7).

    python benchmarks/run.py            # the full benchmark (about 25 minutes on this 2-core machine)
    python benchmarks/run.py --quick    # a short smoke run: 10x fewer customers

Prints one table. Workloads (the same model in every engine):

* W1: M/M/10, lambda = 9, mu = 1 per server, ~200,000 arrivals (benchmarks/w1_mmc.yaml).
* W2: open Jackson network A -> B/C, B -> A, ~200,000 external arrivals (benchmarks/w2_network.yaml).

Wall and CPU time are medians over ``--runs`` runs (seeds 1..runs) of the simulation call
in this process (icssim: ``simulate(plan)`` with visit records, as ``icssim run`` does;
Ciw: network, simulation, ``get_all_records``; simmer: model, run, ``get_mon_arrivals``, timed
inside R; heapq: the loop). Peak memory is the
peak resident set size (VmHWM) of a fresh subprocess that imports the engine and
runs one replication, shown with its increase over the same process just before the run.
Mean waits (time in queue per visit, queue entries after the warm-up) are averaged over
``--theory-seeds`` seeds per engine and shown with a 95% CI next to Erlang C / Jackson theory.
The 2-worker parts (replications, sweep) each run in a fresh subprocess, as the CLI does.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

WORKLOADS = {
    # name: (scenario file, horizon in hours for ~200,000 external arrivals, warm-up, node names)
    "w1": ("w1_mmc.yaml", 200_000 / 9, 500.0, ("serve",)),
    "w2": ("w2_network.yaml", 200_000 / 5, 2000.0, ("A", "B", "C")),
}
ENGINES = ("icssim", "ciw", "heapq")  # plus "simmer" when R and simmer are installed (simmer_runner.py)


# ----------------------------------------------------------------------------- theory
def erlang_c_wq(lam: float, mu: float, c: int) -> float:
    """Mean time in queue of an M/M/c queue (Erlang C)."""
    a = lam / mu
    rho = a / c
    head = sum(a**k / math.factorial(k) for k in range(c))
    tail = a**c / math.factorial(c) / (1 - rho)
    return tail / (head + tail) / (c * mu - lam)


def theory(workload: str) -> list[float]:
    """Mean wait in queue per visit at each node."""
    if workload == "w1":
        return [erlang_c_wq(9.0, 1.0, 10)]
    lam_a = 5.0 / (1 - 0.7 * 0.2)  # traffic equations: A = 5 + 0.2 B, B = 0.7 A, C = 0.3 A
    return [erlang_c_wq(lam_a, 2.0, 3), erlang_c_wq(0.7 * lam_a, 2.5, 2), erlang_c_wq(0.3 * lam_a, 1.0, 4)]


# ----------------------------------------------------------------------------- engines
def icssim_runner(workload: str, horizon: float):
    from icssim.model import compile_plan, simulate
    from icssim.scenario import load_scenario

    file, _, _, nodes = WORKLOADS[workload]
    plan = compile_plan(load_scenario(HERE / file))
    plan = replace(plan, horizon=horizon)
    index = [next(s.index for s in plan.steps if s.name == n) for n in nodes]

    def run(seed: int):
        rec = simulate(plan, replication=0, seed=seed)
        v = rec.visits
        node = np.full(len(v["step"]), -1)
        for i, step in enumerate(index):
            node[v["step"] == step] = i
        return rec.arrivals, (node, v["t_queue"], v["t_start"] - v["t_queue"])

    return run


def ciw_runner(workload: str, horizon: float):
    import ciw_models

    return lambda seed: ciw_models.run(workload, horizon, seed)


def heapq_runner(workload: str, horizon: float):
    import heapq_models

    return lambda seed: heapq_models.run(workload, horizon, seed)


def simmer_runner(workload: str, horizon: float):
    """simmer in an Rscript subprocess: its own timing (simulation only) and peak RSS come back too."""
    from simmer_runner import run_simmer

    warmup = min(WORKLOADS[workload][2], horizon / 4)
    return lambda seed: SimmerRun(run_simmer(workload, horizon, seed, warmup))


class SimmerRun(tuple):
    """(arrivals, per-node mean waits) of one simmer run, carrying its own seconds and RSS."""

    def __new__(cls, result: dict):
        run = super().__new__(cls, (result["arrivals"], {"node_waits": result["node_waits"]}))
        run.seconds, run.rss_mb = result["sim_seconds"], result["rss_mb"]
        return run


RUNNERS = {"icssim": icssim_runner, "ciw": ciw_runner, "heapq": heapq_runner, "simmer": simmer_runner}


def engines(wanted: list[str] | None = None) -> tuple[str, ...]:
    """The engines to compare (icssim always first): simmer only where R and simmer are installed."""
    from simmer_runner import simmer_available

    found = ENGINES + (("simmer",) if simmer_available() else ())
    return tuple(e for e in found if e == "icssim" or wanted is None or e in wanted)


def node_waits(visits, n_nodes: int, warmup: float) -> list[float]:
    """Mean wait per node over visits that joined the queue after ``warmup``."""
    if isinstance(visits, dict):  # simmer: already averaged in R, with the same warm-up rule
        return list(visits["node_waits"])
    if isinstance(visits, tuple):  # icssim: numpy columns
        node, entered, wait = visits
    else:
        arr = np.array(visits, dtype=float).reshape(-1, 3)
        node, entered, wait = arr[:, 0], arr[:, 1], arr[:, 2]
    keep = entered >= warmup
    return [float(wait[keep & (node == i)].mean()) for i in range(n_nodes)]


# ----------------------------------------------------------------------------- child processes
def child_memory(engine: str, workload: str, horizon: float) -> None:
    """Run one replication; print peak RSS (MB) and RSS just before the run."""
    run = RUNNERS[engine](workload, horizon)
    before = _rss_mb()
    run(1)
    print(json.dumps({"peak_mb": _maxrss_mb(), "before_mb": before}))


def child_million(horizon: float, traced: bool) -> None:
    """W1 with ~1,000,000 patients and record_visits=False: peak memory (and wall time)."""
    from icssim.model import compile_plan, simulate
    from icssim.scenario import load_scenario

    plan = replace(compile_plan(load_scenario(HERE / "w1_mmc.yaml")), horizon=horizon)
    before = _rss_mb()
    if traced:
        import tracemalloc

        tracemalloc.start()
    t = time.perf_counter()
    rec = simulate(plan, seed=1, record_visits=False)
    wall = time.perf_counter() - t
    out = {"patients": int(rec.arrivals), "peak_mb": _maxrss_mb(), "before_mb": before, "wall": wall,
           "record_bytes": int(sum(a.base.nbytes if a.base is not None else a.nbytes
                                   for a in list(rec.patients.values())[:1]))}
    if traced:
        out["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    print(json.dumps(out))


def child_part(name: str, args_json: str) -> None:
    """Run one part of the benchmark (``parallel`` or ``sweep``) in this fresh process and print
    its lines. The 2-worker parts run here, not in the benchmark's own process, because that
    process has by then run everything above and grown: forking it costs the pool more than
    forking the small process of ``icssim run`` or ``icssim sweep`` typed at a shell (item 32)."""
    args = argparse.Namespace(**json.loads(args_json))
    out: list[str] = []
    {"parallel": bench_parallel, "sweep": bench_sweep}[name](args, out)
    print(json.dumps({"lines": out}))


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _maxrss_mb() -> float:
    """Peak RSS of this process (VmHWM). Not ru_maxrss: on Linux that keeps the parent's
    high-water mark across fork + exec, so a child of a big parent would report the parent."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # pragma: no cover


def in_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- parts
def timed(fn, seeds):
    """Wall and CPU seconds of ``fn(seed)`` per seed, and the results. A simmer run reports its own
    elapsed time (the simulation without R's start-up) and has no CPU time here."""
    walls, cpus, results = [], [], []
    for seed in seeds:
        w, c = time.perf_counter(), time.process_time()
        result = fn(seed)
        results.append(result)
        own = getattr(result, "seconds", None)
        walls.append(time.perf_counter() - w if own is None else own)
        cpus.append(time.process_time() - c if own is None else math.nan)
    return walls, cpus, results


def _num(x: float, width: int, digits: int) -> str:
    """``x`` right-aligned in ``width``, or a dash when it was not measured (NaN)."""
    return f"{'-':>{width}}" if math.isnan(x) else f"{x:>{width}.{digits}f}"


def mean_ci(xs: list[float]) -> tuple[float, float]:
    m = statistics.fmean(xs)
    if len(xs) < 2:
        return m, float("nan")
    from scipy.stats import t

    return m, t.ppf(0.975, len(xs) - 1) * statistics.stdev(xs) / math.sqrt(len(xs))


def bench_workloads(args, out) -> None:
    rows = []
    waits = {}
    names = engines(args.engines)
    for workload, (_, horizon, warmup, nodes) in WORKLOADS.items():
        horizon *= args.scale
        warmup = min(warmup, horizon / 4)
        stats = {}
        runners = {engine: RUNNERS[engine](workload, horizon) for engine in names}
        timings = {engine: ([], [], []) for engine in names}
        for run in runners.values():
            run(1000)  # warm caches and imports (not timed, not used)
        for seed in range(1, args.runs + 1):  # engines take turns: a change in the host's speed hits all
            for engine in names:
                for kept, new in zip(timings[engine], timed(runners[engine], [seed])):
                    kept.extend(new)
        for engine in names:
            run = runners[engine]
            walls, cpus, results = timings[engine]
            extra = range(args.runs + 1, args.theory_seeds + 1)
            results += [run(seed) for seed in extra]
            per_seed = [node_waits(v, len(nodes), warmup) for _, v in results]
            customers = statistics.median(n for n, _ in results[:args.runs])
            mem = (in_child("memory", engine, workload, str(horizon)) if engine != "simmer"
                   else {"peak_mb": results[0].rss_mb, "before_mb": math.nan})
            stats[engine] = dict(wall=statistics.median(walls), cpu=statistics.median(cpus),
                                 customers=customers, mem=mem)
            waits[(workload, engine)] = [mean_ci([w[i] for w in per_seed]) for i in range(len(nodes))]
            print(f"  {workload} {engine}: median wall {stats[engine]['wall']:.3f} s, "
                  f"cpu {stats[engine]['cpu']:.3f} s, peak RSS {mem['peak_mb']:.0f} MB", file=sys.stderr)
        for engine in names:
            s = stats[engine]
            rows.append((workload.upper(), engine, s["wall"], s["cpu"], s["customers"] / s["wall"],
                         s["mem"]["peak_mb"], s["mem"]["peak_mb"] - s["mem"]["before_mb"],
                         s["wall"] / stats["icssim"]["wall"] if engine != "icssim" else None,
                         stats["icssim"]["wall"] / s["wall"]))
    out.append(f"Speed and memory ({args.runs} runs each, seeds 1..{args.runs}; "
               f"~{200_000 * args.scale:,.0f} external arrivals per run)")
    out.append(f"{'work':<5}{'engine':<8}{'wall s':>8}{'cpu s':>8}{'cust/s':>10}{'RSS MB':>8}"
               f"{'+run MB':>9}{'x faster':>10}{'icssim/x':>10}")
    for w, e, wall, cpu, cps, rss, drss, faster, ratio in rows:
        out.append(f"{w:<5}{e:<8}{wall:>8.3f}{_num(cpu, 8, 3)}{cps:>10,.0f}{rss:>8.0f}{_num(drss, 9, 0)}"
                   f"{'' if faster is None else f'{faster:.2f}':>10}{ratio:>10.2f}")
    out.append("  wall/cpu: medians. RSS MB: peak resident set (VmHWM) of a fresh subprocess running one"
               " replication;")
    out.append("  +run MB: its increase over the RSS just before the run. x faster: engine wall / icssim wall"
               " (icssim's speed-up over it).")
    out.append("  icssim/x: icssim wall / engine wall (the issue's ratio; < 1 means icssim is faster).")
    if "simmer" in names:
        from simmer_runner import simmer_available

        out.append(f"  simmer {simmer_available()}: Rscript subprocess per run; wall = the simulation's own elapsed"
                   " time (model, run, get_mon_arrivals), without R's start-up; RSS MB = the R process's peak.")
    out.append("")
    out.append(f"Mean wait in queue per visit, hours (mean over {args.theory_seeds} seeds, 95% CI), "
               "queue entries after the warm-up")
    for workload, (_, _, _, nodes) in WORKLOADS.items():
        th = theory(workload)
        for i, name in enumerate(nodes):
            label = "Erlang C" if workload == "w1" else "Jackson"
            cells = "".join(f"{waits[(workload, e)][i][0]:>9.4f} ±{waits[(workload, e)][i][1]:<7.4f}"
                            for e in names)
            out.append(f"  {workload.upper()} node {name:<6}{label} {th[i]:.4f} | {', '.join(names)}:{cells}")


# The issue's machine ran W1 through the bare heapq loop in about this many seconds; its target of
# < 1 s per ED replication is then < 1 / 0.17 = 5.9 heapq-W1 runs of that machine.
ISSUE_HEAPQ_W1_SECONDS = 0.17


def bench_ed(args, out) -> None:
    """One replication of each shipped ED scenario, each run followed by a heapq W1 run (the same
    pure-Python floor as in the workloads table) so that the ratio of the two, measured seconds
    apart, says how fast the engine is whatever this host's speed that minute."""
    from icssim.model import compile_plan, simulate
    from icssim.scenario import load_scenario

    floor = heapq_runner("w1", WORKLOADS["w1"][1])  # full size even with --quick: the issue's reference
    floor(1000)
    out.append("")
    out.append(f"Shipped ICS scenarios: one replication each (median of {args.runs}, replications 0..{args.runs - 1}, "
               "visit records on); each run followed by a heapq W1 run, the ratio per pair")
    for path in sorted((ROOT / "scenarios").glob("ed_*.yaml")):
        plan = compile_plan(load_scenario(path))
        simulate(plan, replication=99)
        walls, cpus, floors, rates, recs = [], [], [], [], []
        for r in range(args.runs):
            w, c, rec = timed(lambda rep: simulate(plan, replication=rep), [r])
            walls += w
            cpus += c
            recs += rec
            rates.append(rec[0].events / w[0])
            floors += timed(floor, [r + 1])[0]
        rec = recs[0]
        ratio = statistics.median(w / f for w, f in zip(walls, floors))
        out.append(f"  {path.name:<22} horizon {plan.horizon:g} {plan.time_unit}: "
                   f"{statistics.median(walls):.3f} s wall (fastest {min(walls):.3f}), "
                   f"{statistics.median(cpus):.3f} s cpu, "
                   f"{rec.arrivals:,} patients, {rec.events:,} events "
                   f"({statistics.median(rates):,.0f} events/s); "
                   f"{ratio:.2f}x heapq W1 ({statistics.median(floors):.3f} s)")
    out.append(f"  The issue's machine ran heapq W1 in ~{ISSUE_HEAPQ_W1_SECONDS} s: its < 1 s target is "
               f"< {1 / ISSUE_HEAPQ_W1_SECONDS:.1f}x heapq W1.")


def bench_million(args, out) -> None:
    horizon = 1_000_000 / 9 * args.scale
    plain = in_child("million", str(horizon), "0")
    traced = in_child("million", str(horizon), "1")
    out.append("")
    out.append(f"Memory for {plain['patients']:,} patients (W1, record_visits=False): "
               f"peak RSS {plain['peak_mb']:.0f} MB (+{plain['peak_mb'] - plain['before_mb']:.0f} MB over "
               f"the process before the run), tracemalloc peak {traced['traced_peak_mb']:.0f} MB; "
               f"{plain['wall']:.2f} s wall; patient records {plain['record_bytes'] / 2**20:.0f} MB")


def bench_parallel(args, out) -> None:
    """experiments.run on 1 and 2 workers for ``--parallel-rounds`` rounds, in the order 1-2, 2-1,
    1-2, ... (so that a steady drift in the host's speed favours neither), and the speed-up of
    each round: its median, and the geometric mean with a 95% CI over the rounds, which says how
    far this host's noise leaves the figure uncertain.

    Also the CPU time the replications themselves took (the sum of their simulation times): on 2
    workers it should equal 1 worker's. When it is higher, the two CPUs ran the same work slower
    side by side, which no pool can win back. And the share of the wall time spent simulating on
    1 worker and on 2: their ratio, times two, is the speed-up the pool gives when both run the
    replications at the same speed (what the pool and the uneven end cost, free of the host)."""
    from icssim.experiments import run
    from icssim.intervals import half_width
    from icssim.scenario import load_scenario

    scenario = load_scenario(ROOT / "scenarios" / "ed_fragmented.yaml")
    run(scenario, replications=1, workers=1, keep_records=False)  # imports done: the size forked below
    parent_mb = _rss_mb()
    reps = args.parallel_reps
    times: dict[int, list[float]] = {1: [], 2: []}
    work: dict[int, list[float]] = {1: [], 2: []}
    for round_ in range(args.parallel_rounds):
        for workers in ((1, 2) if round_ % 2 == 0 else (2, 1)):
            t = time.perf_counter()
            result = run(scenario, replications=reps, workers=workers, keep_records=False)
            times[workers].append(time.perf_counter() - t)
            work[workers].append(sum(r.kpis["wall_seconds"] for r in result.replications))
    ratios = [a / b for a, b in zip(times[1], times[2])]
    logs = np.log(ratios)
    spread = half_width(float(np.std(logs, ddof=1)), len(logs), 0.95) if len(logs) > 1 else float("nan")
    geo = math.exp(float(np.mean(logs)))
    busy1 = [w / t for w, t in zip(work[1], times[1])]
    busy2 = [w / (2 * t) for w, t in zip(work[2], times[2])]
    pool = statistics.median(2 * b2 / b1 for b1, b2 in zip(busy1, busy2))
    out.append("")
    out.append(f"Parallel replications (ed_fragmented, {reps} replications, experiments.run, keep_records=False, "
               f"{args.parallel_rounds} rounds, 1-2 and 2-1 in turn): 1 worker {statistics.median(times[1]):.2f} s, "
               f"2 workers {statistics.median(times[2]):.2f} s (medians); speed-up by round: median "
               f"{statistics.median(ratios):.2f}x, geometric mean {geo:.2f}x "
               f"(95% CI {geo * math.exp(-spread):.2f}-{geo * math.exp(spread):.2f}x); "
               f"rounds {', '.join(f'{r:.2f}x' for r in ratios)}")
    out.append(f"  run in a fresh process, as `icssim run` typed at a shell; its RSS when the rounds began: "
               f"{parent_mb:.0f} MB")
    out.append("  simulation CPU time on 2 workers / on 1, by round: "
               + ", ".join(f"{b / a:.2f}" for a, b in zip(work[1], work[2]))
               + " (1.00: the two CPUs ran side by side as fast as one alone)")
    out.append("  share of the wall time (x CPUs) spent in simulate(), 1 worker/2 workers, by round: "
               + ", ".join(f"{a:.0%}/{b:.0%}" for a, b in zip(busy1, busy2))
               + f"; speed-up at equal simulation speed (2 x the ratio of the shares; the pool's and "
               f"the uneven end's cost alone): {pool:.2f}x (median)")


def bench_sweep(args, out) -> None:
    """A whole sweep (scenarios/sweeps/ed_sensitivity.yaml, fewer replications) on 1 and 2 local
    workers, as ``icssim sweep`` runs it: the runs, then the outputs (tables, plots, report)."""
    import tempfile

    from ruamel.yaml import YAML

    from icssim.sweep.outputs import write_outputs
    from icssim.sweep.runner import execute, prepare

    source = ROOT / "scenarios" / "sweeps" / "ed_sensitivity.yaml"
    yaml = YAML()
    spec = yaml.load(source)
    spec["base"] = str((source.parent / spec["base"]).resolve())
    spec["sweep"]["replications"] = 1 if args.quick else 2
    phases: dict[int, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / source.name
        with path.open("w") as f:
            yaml.dump(spec, f)
        for workers in (1, 2):
            run = prepare(path, out=Path(tmp) / f"out{workers}")
            try:
                t = time.perf_counter()
                execute(run, workers, None, False, yes=True, budget=None, quiet=True)
                t_runs = time.perf_counter() - t
                write_outputs(run)
                phases[workers] = (t_runs, time.perf_counter() - t - t_runs)
            finally:
                run.store.close()
    runs = len(run.points) * spec["sweep"]["replications"]
    total = {w: sum(p) for w, p in phases.items()}
    out.append(f"Parallel sweep (ed_sensitivity, {len(run.points)} points x {spec['sweep']['replications']} "
               f"replications = {runs} runs, local executor, outputs written): 1 worker {total[1]:.2f} s, "
               f"2 workers {total[2]:.2f} s, speed-up {total[1] / total[2]:.2f}x")
    out.append(f"  runs {phases[1][0]:.2f} -> {phases[2][0]:.2f} s ({phases[1][0] / phases[2][0]:.2f}x); "
               f"outputs {phases[1][1]:.2f} -> {phases[2][1]:.2f} s ({phases[1][1] / phases[2][1]:.2f}x)")


def bench_main_job(args, out) -> None:
    """The README's main job, ``icssim run scenarios/ed_integrated.yaml --replications 10``, as a
    user runs it: a fresh interpreter, all cores, every table, plot and the report written.
    Wall time of the whole command (median of 3), and the simulation's share from metadata.json."""
    import tempfile

    reps = 2 if args.quick else 10
    walls, sims = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(3):
            folder = Path(tmp) / f"run{i}"
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", "from icssim.cli import console; console()",  # the icssim script
                            "run", str(ROOT / "scenarios" / "ed_integrated.yaml"), "--replications", str(reps),
                            "--out", str(folder), "--quiet"], check=True, capture_output=True)
            walls.append(time.perf_counter() - t)
            sims.append(json.loads((folder / "metadata.json").read_text())["wall_seconds"])
    out.append(f"README main job (icssim run scenarios/ed_integrated.yaml --replications {reps}, fresh process, "
               f"outputs written): {statistics.median(walls):.2f} s for the command, of which "
               f"{statistics.median(sims):.2f} s running the replications (medians of 3)")


def engine_build() -> str:
    """Which icssim engine this process imports: compiled by mypyc at install, or the source
    (an editable install, or ICSSIM_PURE_PYTHON=1; see setup.py)."""
    from icssim.model import ENGINE_COMPILED

    return "engine compiled (mypyc)" if ENGINE_COMPILED else "engine pure Python"


def python_probe() -> float:
    """Seconds for a bare 10-million-step Python loop (best of 3): how fast this host runs Python
    today, so that tables measured on different days (or hosts) can be put side by side."""
    best = math.inf
    for _ in range(3):
        t = time.perf_counter()
        total = 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.perf_counter() - t)
    return best


def main(argv=None) -> None:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, *rest = sys.argv[2:]
        if kind == "memory":
            child_memory(rest[0], rest[1], float(rest[2]))
        elif kind == "part":
            child_part(rest[0], rest[1])
        else:
            child_million(float(rest[0]), rest[1] == "1")
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10x fewer customers, 5 runs, 5 theory seeds")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per engine and workload (default 5)")
    ap.add_argument("--theory-seeds", type=int, default=20,
                    help="seeds per engine for the mean waits (default 20, at least --runs)")
    ap.add_argument("--parallel-reps", type=int, default=20,
                    help="replications for the 2-worker speed-up (default 20: enough work to amortise "
                         "starting the worker processes)")
    ap.add_argument("--parallel-rounds", type=int, default=8,
                    help="rounds of 1 and 2 workers (1-2, then 2-1, in turn) for the replication "
                         "speed-up (default 8)")
    ap.add_argument("--engines", nargs="*", default=None, choices=["ciw", "heapq", "simmer"],
                    help="compare icssim with only these (default: every one installed)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["workloads", "ed", "million", "parallel", "sweep", "main"])
    args = ap.parse_args(argv)
    args.scale = 0.1 if args.quick else 1.0
    if args.quick:
        args.theory_seeds = min(args.theory_seeds, 5)
        args.parallel_reps = min(args.parallel_reps, 4)
    args.theory_seeds = max(args.theory_seeds, args.runs)
    out = [f"icssim benchmark  ({'quick' if args.quick else 'full'}; {engine_build()}; python {sys.version.split()[0]}, "
           f"{os.cpu_count()} CPUs, load average at start {os.getloadavg()[0]:.1f}; Python probe: a 10-million-step "
           f"loop takes {python_probe():.2f} s)", ""]
    started = time.perf_counter()
    if "workloads" not in args.skip:
        bench_workloads(args, out)
    if "ed" not in args.skip:
        bench_ed(args, out)
    if "million" not in args.skip:
        bench_million(args, out)
    if "parallel" not in args.skip:
        out += in_child("part", "parallel", json.dumps(vars(args)))["lines"]
        out.append(f"  (the benchmark's own process, which ran the parts above, holds {_rss_mb():.0f} MB)")
    if "sweep" not in args.skip:
        out += in_child("part", "sweep", json.dumps(vars(args)))["lines"]
    if "main" not in args.skip:
        bench_main_job(args, out)
    out.append("")
    out.append(f"(benchmark took {time.perf_counter() - started:.0f} s; load average at end "
               f"{os.getloadavg()[0]:.1f})")
    print("\n".join(out))


if __name__ == "__main__":
    main()
