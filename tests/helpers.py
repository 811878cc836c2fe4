"""Helpers for tests: shipped scenarios with a short horizon, modified by key path; the CLI run
in this process."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

from icssim.cli import main
from icssim.scenario import Scenario, load_scenario, scenario_from_dict
from icssim.scenario.initial_state import anchored_raw

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
SHIPPED = sorted(SCENARIOS.glob("*.yaml"))


def shipped(name: str, horizon: str = "2 years", warmup: str = "6 months", **changes: Any) -> Scenario:
    """A shipped scenario with a shorter run and optional changes given as dotted key paths."""
    raw = anchored_raw(load_scenario(SCENARIOS / f"{name}.yaml"))
    raw["scenario"]["horizon"], raw["scenario"]["warmup"] = horizon, warmup
    for path, value in changes.items():
        node = raw
        keys = path.split(".")
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return scenario_from_dict(raw, name=f"{name} (test)")


def run_cli(args: list[str]) -> tuple[int, str]:
    """Run ``icssim ARGS`` in this process: its exit status (argparse's refusals included) and
    stderr. Any other exception escapes, so a test that calls this fails on a traceback."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(args)
        except SystemExit as stop:  # argparse's own refusals
            code = int(stop.code or 0)
    return code, err.getvalue()
