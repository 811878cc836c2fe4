"""Print the theory-vs-simulation tables of docs/verification.md (Markdown) from the test cases.

    .venv/bin/python tests/verification/make_table.py

Runs exactly what the tests run (same scenarios, seeds and replications), so the numbers
pasted into the docs are the ones the tests check.
"""

from __future__ import annotations

import time
from pathlib import Path

from icssim.model import compile_plan, simulate
from icssim.scenario import load_scenario

import cases
from little import flow_problems, window_little
from test_littles_law import REPLICATIONS, SCENARIOS


def queueing_table() -> str:
    rows = ["| case | measure | theory | simulation mean | 99% CI | half-width (allowed) | n | pass |",
            "|---|---|---:|---:|---|---|---:|:---:|"]
    for c in cases.all_checks():
        mean, lo, hi = c.interval
        rows.append(f"| {c.case} | {c.measure} | {c.theory:.4g} | {mean:.4g} | {lo:.4g} to {hi:.4g} | "
                    f"{c.half_width:.2g} ({c.max_half_width:.2g}) | {len(c.values)} | "
                    f"{'yes' if c.ok else '**NO**'} |")
    return "\n".join(rows)


def little_table() -> str:
    rows = ["| scenario | rep | arrivals | exits | in system at end | L (engine) | lambda | W (cut at T) "
            "| S0/tau | lambda W + S0/tau | relative residual | naive gap | flow |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|"]
    for path in SCENARIOS:
        sc = load_scenario(path)
        plan = compile_plan(sc)
        unit = sc.scenario.time_unit
        for rep in range(REPLICATIONS):
            rec = simulate(plan, rep, record_visits=False)
            t = window_little(rec)
            rows.append(
                f"| {path.stem} | {rep} | {rec.arrivals} | {rec.exits} | {rec.in_system_end} | {t['L']:.2f} | "
                f"{t['lambda']:.4g}/{unit[:-1]} | {t['W']:.1f} {unit} | {t['S0_over_tau']:.2f} | "
                f"{t['lambda_W_plus_S0']:.2f} | {t['residual'] / t['L']:.1e} | {t['naive_gap']:+.1%} | "
                f"{'ok' if not flow_problems(rec) else '**NO**'} |")
    return "\n".join(rows)


if __name__ == "__main__":
    started = time.perf_counter()
    print(queueing_table())
    print()
    print(little_table())
    print(f"\n(generated in {time.perf_counter() - started:.0f} s)")
