"""Shared fixtures: paths to shipped and verification scenarios; one small PSA of the ED pathways."""

import atexit
import contextlib
import io
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

# the cache of read scenario files (icssim.scenario.yaml_cache) goes to a folder of this test
# session, not the user's ~/.cache; subprocesses started by the tests (and pytest-xdist's workers)
# inherit it, and the process that made it removes it when it exits
if "ICSSIM_CACHE_DIR" not in os.environ:
    _CACHE_DIR = tempfile.mkdtemp(prefix="icssim-test-cache-")
    os.environ["ICSSIM_CACHE_DIR"] = _CACHE_DIR
    atexit.register(shutil.rmtree, _CACHE_DIR, ignore_errors=True)

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
VERIFICATION = Path(__file__).resolve().parent / "verification"


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto`` (the README's test command): as many test workers as the cores this process may
    use, as icssim's own pools count them, not the machine's count psutil would give a container."""
    from icssim.executor_base import default_workers

    return default_workers()


@pytest.fixture
def client(workdir: Path):
    """The app on the requesting module's ``workdir`` fixture (its scenarios), as a Starlette test
    client (the app tests; they skip without the app's extra)."""
    import warnings

    with warnings.catch_warnings():   # Starlette 1.x prefers httpx2 for its test client; httpx still works
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

        from icssim.app.server import create_app

        yield TestClient(create_app(workdir, workers=1, hosts=["testserver"]))


@pytest.fixture
def scenarios_dir() -> Path:
    return SCENARIOS


@pytest.fixture
def verification_dir() -> Path:
    return VERIFICATION


@dataclass(frozen=True)
class TinyPsa:
    """A finished ``icssim psa`` run: its sweep file, output folder and what it printed."""

    sweep: Path
    out: Path
    printed: list[str]


#: 3 draws of 3 parameters, both shipped ED strategies, 1 replication each: 6 runs
TINY_PSA = """
sweep: {{name: tiny_psa, seed: 5, replications: 1}}
base: {{fragmented: {scenarios}/ed_fragmented.yaml, integrated: {scenarios}/ed_integrated.yaml}}
design: psa
samples: 3
parameters:
  health.states.ill_moderate.utility: {{dist: beta, mean: 0.75, sd: 0.05, label: Utility of moderate illness}}
  services.adult_inpatient.cost_per_bed_day: {{dist: gamma, mean: 1264, sd: 126, label: Adult bed-day cost}}
  health.transitions.2.rate.treated:
    {{dist: gamma, mean: 0.024, sd: 0.008, unit: per month, label: Adult remission in treatment}}
kpis: [qalys_per_person, cost_per_person]
"""


@pytest.fixture(scope="session")
def tiny_psa(tmp_path_factory) -> TinyPsa:
    """The 3-draw PSA of the ED pathways, run once per test session on 2 local workers; tests
    read its files and printed lines and must not change them."""
    from icssim.cli import main

    folder = tmp_path_factory.mktemp("tiny_psa")
    sweep = folder / "psa.yaml"
    sweep.write_text(TINY_PSA.format(scenarios=SCENARIOS))
    out = folder / "out"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["psa", str(sweep), "--out", str(out), "--yes", "-w", "2"])
    assert code == 0
    return TinyPsa(sweep, out, printed.getvalue().splitlines())
