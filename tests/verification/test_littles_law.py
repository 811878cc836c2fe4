"""Flow conservation and Little's law on every shipped scenario (scenarios/*.yaml).

See little.py and docs/verification.md for why the finite-window form of Little's law
is checked exactly (to rounding error) rather than with a statistical tolerance.
"""

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from icssim.experiments import default_workers
from icssim.model import compile_plan, simulate
from icssim.scenario import load_scenario
from little import flow_problems, window_little

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))
REPLICATIONS = 2


def test_there_are_shipped_scenarios():
    assert SCENARIOS, "no scenarios/*.yaml found: Little's law and flow conservation checked nothing"


def _simulate(path, rep):
    return simulate(compile_plan(load_scenario(path)), rep, record_visits=False)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_flow_conservation_and_littles_law(path):
    with ProcessPoolExecutor(max_workers=min(REPLICATIONS, default_workers())) as pool:
        records = list(pool.map(_simulate, [path] * REPLICATIONS, range(REPLICATIONS)))
    for rep, rec in enumerate(records):
        assert rec.arrivals > 0
        problems = flow_problems(rec)
        assert not problems, f"{path.name} replication {rep}: " + "; ".join(problems)
        t = window_little(rec)
        assert t["L"] > 0
        assert abs(t["residual"]) <= 1e-9 * t["L"], (
            f"{path.name} replication {rep}: L = {t['L']!r} from the engine's running integral, but "
            f"lambda W + S0/tau = {t['lambda_W_plus_S0']!r} from the patient records")


def test_littles_law_check_detects_a_lost_patient(verification_dir):
    """The checks fail when one patient's exit time is wrong or a patient goes missing."""
    rec = simulate(compile_plan(load_scenario(verification_dir / "mm1.yaml")), 0, record_visits=False)
    assert not flow_problems(rec) and abs(window_little(rec)["residual"]) <= 1e-9 * window_little(rec)["L"]
    P = rec.patients
    i = int(np.flatnonzero((P["arrival"] > rec.warmup) & ~np.isnan(P["exit"]))[0])
    P["exit"] = P["exit"].copy()
    P["exit"][i] += 0.5
    assert abs(window_little(rec)["residual"]) > 1e-6
    rec.exits -= 1
    assert flow_problems(rec)
