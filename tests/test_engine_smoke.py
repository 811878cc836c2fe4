"""The engine runs a simple queue and gives the same records for the same seed."""

import numpy as np

from icssim.model import compile_plan, simulate
from icssim.scenario import load_scenario


def test_same_seed_same_records(verification_dir):
    plan = compile_plan(load_scenario(verification_dir / "mmc.yaml"))
    a = simulate(plan, replication=3)
    b = simulate(plan, replication=3)
    for key in a.patients:
        np.testing.assert_array_equal(a.patients[key], b.patients[key])
    c = simulate(plan, replication=4)
    assert not np.array_equal(a.patients["arrival"][:100], c.patients["arrival"][:100])


def test_flow_is_conserved(verification_dir):
    rec = simulate(compile_plan(load_scenario(verification_dir / "mmc.yaml")))
    assert rec.arrivals == rec.exits + rec.in_system_end
    assert rec.arrivals > 100_000
