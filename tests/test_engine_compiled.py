"""The engine compiled by mypyc (setup.py) against its own source, engine.py, run as plain Python.

A normal install imports the compiled engine; an editable one, or ``ICSSIM_PURE_PYTHON=1``, the
source. Both must give the same records, bit for bit, whatever the scenario's features. The pinned
digests of tests/test_engine_backtest.py hold either way; these tests run the two engines side by
side in one process, and are skipped where only the source is installed (nothing to compare).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from helpers import skip_unless_required
from test_engine_backtest import digest

from icssim.model import ENGINE_COMPILED, compile_plan, engine
from icssim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
if not ENGINE_COMPILED:
    skip_unless_required("compiled", "the pure-Python engine is installed (editable or ICSSIM_PURE_PYTHON=1)")


# the engine's modules (setup.py's ENGINE), each importing the ones before it
PARTS = ("entities", "choices", "loop", "recording", "deterioration", "queues", "flow", "service", "engine")


def _source_engine():
    """engine.py and its parts loaded from their sources, as modules of their own (the compiled
    modules stay where they are: each source part is seen by the next under its own name only while
    they load)."""
    saved = {name: sys.modules[f"icssim.model.{name}"] for name in PARTS}
    try:
        for name in PARTS:
            path = Path(engine.__file__).with_name(f"{name}.py")
            spec = importlib.util.spec_from_file_location(f"icssim.model.{name}", path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[f"icssim.model.{name}"] = module
            spec.loader.exec_module(module)
        return module
    finally:
        sys.modules.update(saved)


def test_the_source_is_shipped_beside_the_compiled_engine():
    for name in PARTS:
        assert Path(engine.__file__).with_name(f"{name}.py").is_file()


@pytest.mark.parametrize("scenario", [
    "scenarios/ed_fragmented.yaml",            # hand-offs, bounced referrals, deterioration, monitoring
    "scenarios/ed_projection_2026_2031.yaml",  # calendar, demand profile, initial state, shared caseloads
    "tests/backtest/features.yaml",            # age limits, drop-out, priority queues, delay steps
])
def test_compiled_engine_gives_the_same_records_as_its_source(scenario):
    source = _source_engine()
    assert source.__file__.endswith(".py")
    plan = compile_plan(load_scenario(ROOT / scenario))
    for replication in (0, 1):
        compiled = engine.simulate(plan, replication)
        pure = source.simulate(plan, replication)
        assert compiled.events == pure.events
        assert digest(compiled) == digest(pure)
