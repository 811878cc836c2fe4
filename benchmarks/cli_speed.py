"""How long the user waits for the README's commands (issue 23): `icssim validate` on each shipped
scenario and the main job, `icssim run scenarios/ed_integrated.yaml --replications 10`.

    python benchmarks/cli_speed.py                       # this checkout, 5 timings of each, medians
    python benchmarks/cli_speed.py --runs 3 --skip validate
    python benchmarks/cli_speed.py --root /tmp/before --root /tmp/after   # checkouts taking turns
    python benchmarks/cli_speed.py --python /tmp/before/bin/python --python /tmp/after/bin/python

Each command runs in a fresh process, as a user runs it: with --root, from that checkout's root
with its src/ on PYTHONPATH (the pure-Python engine: the source is imported, not an install);
with --python, that interpreter's installed icssim (a normal install compiles the engine) from
this checkout's root. With several, they take turns run by run, so a change in the machine's
load hits them alike. For `run`, the simulation time is the run's own `wall_seconds` in
metadata.json (the replications on all cores, first to last); the rest of the total is starting
Python, importing, reading the scenario and writing tables, plots and the report. The targets: the
whole run within 2x its simulation time, `validate` under 0.3 s. CPU time (user + system, worker
processes included) varies less with the load of a shared machine than wall time. Not a test:
timings depend on the machine and its load, which is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAIN_JOB = ["scenarios/ed_integrated.yaml", "--replications", "10"]


class Target:
    """What is timed: a checkout's source (``--root``) or an interpreter's installed icssim (``--python``)."""

    def __init__(self, root: Path | None = None, python: Path | None = None) -> None:
        self.root = root or ROOT
        self.python = python
        self.name = str(python) if python else str(self.root)

    def __str__(self) -> str:
        return self.name

    def command(self) -> tuple[list[str], dict[str, str]]:
        if self.python is not None:
            env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            return [str(self.python), "-m", "icssim"], env
        return [sys.executable, "-m", "icssim"], {**os.environ, "PYTHONPATH": str(self.root / "src")}


def timed(target: Target, command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh ``python -m icssim`` process of ``target``, output discarded."""
    icssim, env = target.command()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([*icssim, *command], cwd=target.root, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def validate_times(roots: list[Target], runs: int) -> dict[Target, list[tuple[str, float, float, float]]]:
    """Per target: (file, first wall time, median wall and CPU time of the others) per shipped
    scenario (the first reads the file afresh; later ones may read it from the cache)."""
    out: dict[Target, list[tuple[str, float, float, float]]] = {root: [] for root in roots}
    for path in sorted((roots[0].root / "scenarios").glob("*.yaml")):
        name = str(path.relative_to(roots[0].root))
        times: dict[Target, list[tuple[float, float]]] = {root: [] for root in roots}
        for _ in range(runs):
            for root in roots:
                times[root].append(timed(root, ["validate", name]))
        for root in roots:
            rest = times[root][1:] or times[root]
            out[root].append((name, times[root][0][0], statistics.median(w for w, _ in rest),
                              statistics.median(c for _, c in rest)))
    return out


def run_times(roots: list[Target], runs: int) -> dict[Target, list[tuple[float, float, float]]]:
    """Per target: (total wall, simulation wall, CPU) seconds of each run of the main job."""
    out: dict[Target, list[tuple[float, float, float]]] = {root: [] for root in roots}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            for k, root in enumerate(roots):
                folder = Path(tmp) / f"run{i}-{k}"
                total, cpu = timed(root, ["run", *MAIN_JOB, "--out", str(folder), "--quiet"])
                meta = json.loads((folder / "metadata.json").read_text())
                out[root].append((total, float(meta["wall_seconds"]), cpu))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip", nargs="*", default=[], choices=["validate", "run"])
    parser.add_argument("--root", type=Path, action="append", default=None,
                        help="a checkout to time (its src/ is imported, its scenarios run); repeat to "
                             "compare checkouts (default: this one)")
    parser.add_argument("--python", type=Path, action="append", default=None,
                        help="an interpreter whose installed icssim to time, on this checkout's scenarios "
                             "(a venv's bin/python: a normal install has the compiled engine); repeatable")
    args = parser.parse_args()
    roots = [Target(root=r.resolve()) for r in args.root or ([] if args.python else [ROOT])]
    roots += [Target(python=p.absolute()) for p in args.python or []]
    # a cache of read scenario files of its own, empty at the start: a file's first validation reads it
    os.environ["ICSSIM_CACHE_DIR"] = tempfile.mkdtemp(prefix="icssim-bench-cache-")
    print(f"icssim CLI timings, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")
    if "validate" not in args.skip:
        print("\nicssim validate FILE (target under 0.3 s): wall time of the first, then median wall and CPU "
              "time of the rest")
        for root, rows in validate_times(roots, args.runs).items():
            print(f" {root}")
            for name, first, median, cpu in rows:
                print(f"  {name:<45} {first:5.2f} s  {median:5.2f} s  CPU {cpu:5.2f} s")
    if "run" not in args.skip:
        print(f"\nicssim run {' '.join(MAIN_JOB)} (target: total within 2x the simulation), {args.runs} runs")
        for root, rows in run_times(roots, args.runs).items():
            total = statistics.median(t for t, _, _ in rows)
            sim = statistics.median(s for _, s, _ in rows)
            cpu = statistics.median(c for _, _, c in rows)
            ratio = statistics.median(t / s for t, s, _ in rows)
            print(f" {root}")
            print("  each run: " + ", ".join(f"{t:.2f} s ({s:.2f} s simulating)" for t, s, _ in rows))
            print(f"  median total {total:.2f} s, simulation {sim:.2f} s, total / simulation {ratio:.2f}, "
                  f"CPU {cpu:.2f} s (workers included)")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
