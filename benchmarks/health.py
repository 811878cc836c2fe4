"""What the course of illness adds to a replication: ed_fragmented with and without its health:
block, median and fastest of 15 replications each (same seed and replication numbers), plus the time of the
follow-up after the run alone, in CPU seconds of this process (a shared machine's other work
slows the wall clock, not these). With health, the engine starts a person's course only if they are
still in the pathway when a death could first be due (health events in its heap from then on), and
the follow-up runs the rest from the records, for the people the KPIs measure (those who asked
for help after the warm-up). Run: ``python benchmarks/health.py``. Issue 20 asks
for at most +30%.

CPU seconds on a shared virtual machine move by 10 points or more of the ratio between runs of
the same build. Other work only ever adds time, so the fastest of the replications is reported
beside the median: it moves less between runs. ``python benchmarks/health.py --instructions``
counts instead the instructions a replication executes (valgrind's callgrind, a few minutes):
the same on every run, so it shows what a change saves. It does not see memory stalls, which the
CPU seconds do: report both."""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from icssim.experiments import run_replication
from icssim.health.follow import follow_records
from icssim.health.plan import compile_health
from icssim.kpi_base import window_people
from icssim.model import ENGINE_COMPILED
from icssim.scenario import Scenario, load_scenario, scenario_from_dict
from icssim.scenario.initial_state import anchored_raw

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 15


def variants() -> dict[str, Scenario]:
    """ed_fragmented without its health: block, with it but without returns, and as shipped."""
    with_health = load_scenario(ROOT / "scenarios" / "ed_fragmented.yaml")
    raw = anchored_raw(with_health)
    raw.pop("health")
    without = scenario_from_dict(raw, name="ed_fragmented without health")
    raw = anchored_raw(with_health)
    raw["health"].pop("returns", None)
    no_returns = scenario_from_dict(raw, name="ed_fragmented with health, without returns")
    return {"without health": without, "with health, without returns": no_returns, "with health": with_health}


def main() -> None:
    scenarios = variants()
    without, no_returns, with_health = scenarios.values()
    run_replication(with_health, 0, keep_records=False)  # warm caches and imports
    seconds: dict[str, list[float]] = {"without health": [], "with health, without returns": [], "with health": []}
    for r in range(REPEATS):  # interleaved, so that a busy machine slows all alike
        for label, scenario in (("without health", without), ("with health, without returns", no_returns),
                                ("with health", with_health)):
            start = time.process_time()
            run_replication(scenario, r, keep_records=False, record_visits=False)
            seconds[label].append(time.process_time() - start)
    times = {label: statistics.median(s) for label, s in seconds.items()}
    fastest = {label: min(s) for label, s in seconds.items()}
    plan = compile_health(with_health)
    rec = run_replication(with_health, 0).records
    measured = window_people(rec)
    course = []
    for _ in range(REPEATS):
        start = time.process_time()
        follow_records(rec, plan, measured)
        course.append(time.process_time() - start)
    extra = statistics.median(course) / times["without health"]
    print(f"engine compiled: {ENGINE_COMPILED}; {int(measured.sum())} of {len(rec.patients['pid'])} people (those "
          f"who asked for help after the warm-up) followed for 10 years; the engine started {len(rec.course)} courses")
    for label, t in times.items():
        print(f"  replication {label}: median {t:.3f} s of CPU, fastest {fastest[label]:.3f} s")
    for name, of in (("median", times), ("fastest", fastest)):
        added = of["with health"] / of["without health"] - 1
        returns = (of["with health"] - of["with health, without returns"]) / of["without health"]
        print(f"  {name}: health adds {added:+.0%} to a replication (in the engine and after it), of which "
              f"re-referral after a relapse (health.returns: the courses of leavers who may come back, and the "
              f"pathway work of those who do) {returns:+.0%}")
    print(f"  follow-up after the run alone: median {statistics.median(course):.3f} s, {extra:.0%} of a replication "
          f"without health")


#: replications counted per variant (after one that warms caches and imports, which the count
#: without them subtracts)
COUNTED = 2


def run_variant(label: str, replications: int) -> None:
    """(In the child process valgrind runs.) One replication to warm up, then ``replications``."""
    scenario = variants()[label]
    run_replication(scenario, 99, keep_records=False, record_visits=False)
    for r in range(replications):
        run_replication(scenario, r, keep_records=False, record_visits=False)


def instructions(label: str, replications: int) -> int:
    """The instructions a child process running ``run_variant`` executes, by callgrind."""
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                          __file__, "--child", label, str(replications)], capture_output=True, text=True, check=True)
    return int(re.findall(r"Collected : (\d+)", out.stderr)[-1])


def main_instructions() -> None:
    if shutil.which("valgrind") is None:
        sys.exit("--instructions needs valgrind (apt-get install valgrind)")
    labels = list(variants())
    jobs = [(label, n) for label in labels for n in (0, COUNTED)]
    with ThreadPoolExecutor() as pool:
        counts = dict(zip(jobs, pool.map(lambda job: instructions(*job), jobs)))
    per_rep = {label: (counts[label, COUNTED] - counts[label, 0]) / COUNTED for label in labels}
    print(f"engine compiled: {ENGINE_COMPILED}; instructions per replication (callgrind, mean of {COUNTED})")
    for label, n in per_rep.items():
        print(f"  replication {label}: {n / 1e6:,.0f} M")
    base = per_rep["without health"]
    print(f"  health adds {per_rep['with health'] / base - 1:+.1%} to a replication (in the engine and after it)")
    returns = per_rep["with health"] - per_rep["with health, without returns"]
    print(f"  of which re-referral after a relapse {returns / base:+.1%}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        run_variant(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1:2] == ["--instructions"]:
        main_instructions()
    else:
        main()
