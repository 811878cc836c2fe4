"""Shared fixtures: paths to shipped and verification scenarios."""

import os
import tempfile
from pathlib import Path

import pytest

# the cache of read scenario files (icssim.scenario.yaml_cache) goes to a folder of this test
# session, not the user's ~/.cache; subprocesses started by the tests inherit it
os.environ.setdefault("ICSSIM_CACHE_DIR", tempfile.mkdtemp(prefix="icssim-test-cache-"))

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
VERIFICATION = Path(__file__).resolve().parent / "verification"


@pytest.fixture
def scenarios_dir() -> Path:
    return SCENARIOS


@pytest.fixture
def verification_dir() -> Path:
    return VERIFICATION
