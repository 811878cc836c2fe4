"""Shared fixtures: paths to shipped and verification scenarios."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
VERIFICATION = Path(__file__).resolve().parent / "verification"


@pytest.fixture
def scenarios_dir() -> Path:
    return SCENARIOS


@pytest.fixture
def verification_dir() -> Path:
    return VERIFICATION
