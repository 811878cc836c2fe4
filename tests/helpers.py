"""Helpers for tests: shipped scenarios with a short horizon, modified by key path; the CLI run
in this process."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import threading
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
        set_key(raw, path.split("."), value)
    return scenario_from_dict(raw, name=f"{name} (test)")


def set_key(raw: dict, keys: list[str], value: Any) -> None:
    """Set the value at the key path ``keys`` of scenario data ``raw`` (its mappings must exist)."""
    node = raw
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value


def precision_needing_more(s: Scenario, kpi: str, start: int = 3) -> float:
    """A relative precision target for ``run_to_precision`` that ``start`` replications do not reach
    (60% of the relative half-width they give), whatever the scenario's numbers: tests of the
    stopping rule then see it add replications."""
    from icssim.precision import run_to_precision
    first = run_to_precision(s, 1.0, [kpi], start=start, cap=start, workers=1, keep_records=False)
    return 0.6 * first.precision["relative_half_width"][kpi]


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


def read_until_progress(proc: subprocess.Popen, total: int, timeout: float, at_least: int = 1) -> str:
    """Read ``proc``'s stderr until its progress bar counts at least ``at_least`` finished
    replications (``N/total``, or ``Nreplications [`` where precision sets no total); return what
    was read. Signal tests wait for this rather than sleeping a fixed time, which a loaded machine
    can outlast before the first replication ends. Fails the test after ``timeout`` seconds."""
    counted = re.compile(rf"(?<![\d.])(\d+)(?:/{total}\b|replications \[)")
    seen: list[str] = []
    progress, stopped = threading.Event(), threading.Event()

    def read() -> None:
        while not progress.is_set():
            char = proc.stderr.read(1)
            if not char:  # the command ended (or closed stderr) before any replication finished
                break
            seen.append(char)
            if char == "]" and any(int(n) >= at_least for n in counted.findall("".join(seen[-200:]))):
                progress.set()
        stopped.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    stopped.wait(timeout)
    assert progress.is_set(), (f"no replication finished within {timeout} s (exit status {proc.poll()}): "
                               f"{''.join(seen)[-500:]}")
    return "".join(seen)


def skip_unless_required(need: str, reason: str) -> None:
    """Skip the test for want of ``need`` ("browser" or "compiled"), unless the environment variable
    ICSSIM_REQUIRE names it: .ci/run sets it for what it installed, so that a test which should
    run there fails rather than skips without a word (a skipped test cannot fail)."""
    import os

    import pytest

    if need in os.environ.get("ICSSIM_REQUIRE", "").split(","):
        pytest.fail(f"{reason} (ICSSIM_REQUIRE={os.environ['ICSSIM_REQUIRE']} asks for {need})")
    pytest.skip(reason, allow_module_level=True)


def wait_for(client: Any, location: str, timeout: float = 60) -> dict:
    """The status of the app's job at ``location`` (a job's page) once it has stopped running,
    asked of a Starlette test ``client`` every 0.1 s for at most ``timeout`` seconds."""
    import time

    job_id = location.rstrip("/").rsplit("/", 1)[-1]
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = client.get(f"/jobs/{job_id}/status").json()
        if status["state"] != "running":
            return status
        time.sleep(0.1)
    raise AssertionError(f"the run did not finish in {timeout} s")
