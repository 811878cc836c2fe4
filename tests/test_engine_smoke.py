"""The engine runs a simple queue and gives the same records for the same seed."""

from pathlib import Path

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


def test_simpy_processes_run_beside_engine_events(verification_dir):
    """The engine's loop also runs ordinary simpy events, on the same clock, stopping before the horizon."""
    from icssim.model.engine import Simulation

    plan = compile_plan(load_scenario(verification_dir / "mmc.yaml"))
    sim = Simulation(plan, replication=0)
    seen = []

    def ticker(env):
        while True:
            yield env.timeout(1000.0)
            seen.append((env.now, sim.now, sim.arrivals))

    sim.env.process(ticker(sim.env))
    rec = sim.run()
    times = [t for t, _, _ in seen]
    assert times == [1000.0 * k for k in range(1, len(times) + 1)]
    assert times[-1] < plan.horizon <= times[-1] + 1000.0  # nothing at or after the horizon
    assert all(env_now == engine_now for env_now, engine_now, _ in seen)  # one clock
    arrivals = [n for _, _, n in seen]
    assert arrivals == sorted(arrivals) and 0 < arrivals[0] < arrivals[-1] <= rec.arrivals


def test_a_run_creates_no_reference_cycles_and_restores_the_collector():
    """The engine pauses Python's cyclic garbage collector for a run (model/engine.py). That is only
    safe while the run creates no reference cycles: checked here on the back-test scenario (nearly
    every engine feature) and the calendar projection, with the Simulation still alive. The caller's
    collector is kept off around the run, so that nothing collects the cycles before we count them."""
    import gc

    from helpers import SCENARIOS

    from icssim.model.engine import Simulation

    features = load_scenario(Path(__file__).parent / "backtest" / "features.yaml")
    for scenario in (features, load_scenario(SCENARIOS / "ed_projection_2026_2031.yaml")):
        sim = Simulation(compile_plan(scenario), replication=1)
        gc.collect()  # what building the Simulation left behind is not the run's
        gc.disable()
        try:
            rec = sim.run()
            assert not gc.isenabled()  # a collector the caller had switched off stays off
            assert gc.collect() == 0 and rec.arrivals > 0
        finally:
            gc.enable()
    simulate(compile_plan(features), replication=1)
    assert gc.isenabled()



def test_events_due_at_or_after_the_horizon_never_enter_the_heap():
    """They could never run, so the engine does not push them (model/engine.py, ``Simulation._at``):
    they would only deepen the heap every other event goes through. Once the loop has ended, no
    engine event is left in the heap. Back-test scenario: age limits, deterioration, drop-out,
    hand-off and calendar timers are all there."""
    from icssim.model.engine import Simulation

    plan = compile_plan(load_scenario(Path(__file__).parent / "backtest" / "features.yaml"))
    sim = Simulation(plan, replication=1)
    sim._schedule_start()  # Simulation.run, step by step, to look at the heap before it is released
    sim._loop(plan.horizon)
    left_in_heap = [e for e in sim._queue if len(e) == 5]  # engine events (simpy's are 4-tuples)
    rec = sim._records()
    assert rec.events > 10_000 and rec.in_system_end > 0
    assert left_in_heap == []


def test_engine_codes_follow_the_record_vocabularies():
    """The engine's integer codes (literal constants, so compiled code inlines them) index the
    names the records and costs are read with."""
    from icssim.model import engine
    from icssim.model.plan import COST_CATEGORIES
    from icssim.model.records import VISIT_OUTCOMES

    outcomes = ("SERVED", "REJECTED", "DROPPED", "EMERGENCY", "MISSED", "DISCHARGED_MISSED", "AGED_OUT",
                "ESCALATED", "DIED")
    assert [getattr(engine, name) for name in outcomes] == list(range(len(VISIT_OUTCOMES)))
    assert [name.lower() for name in outcomes] == [o.replace("dropped_out", "dropped") for o in VISIT_OUTCOMES]
    categories = ("STAFF", "CONTACTS", "BED_DAYS", "MONITORING")
    assert [getattr(engine, name) for name in categories] == list(range(len(COST_CATEGORIES)))
    assert [name.lower() for name in categories] == list(COST_CATEGORIES)
