"""Fixtures for sweep tests: a tiny M/M/c base scenario and a helper to write sweep files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def dump(data: dict) -> str:
    """YAML text of ``data`` (JSON is YAML, and keeps the key order)."""
    return json.dumps(data, indent=1)


@pytest.fixture
def make_sweep(tmp_path):
    """Write the base scenario (horizon in hours) and a sweep file into tmp_path; return its path."""

    def make(sweep: dict, horizon: float = 300, name: str = "sweep.yaml") -> Path:
        base = (HERE / "mmc_small.yaml").read_text().replace("horizon: 1200", f"horizon: {horizon:g}")
        (tmp_path / "mmc_small.yaml").write_text(base)
        data = {"sweep": {"name": "t", "seed": 3, "replications": 2}, "base": "mmc_small.yaml"}
        data.update(sweep)
        path = tmp_path / name
        path.write_text(dump(data))
        return path

    return make


@pytest.fixture
def mmc_small() -> Path:
    return HERE / "mmc_small.yaml"


def copy_base(folder: Path) -> Path:
    return Path(shutil.copy(HERE / "mmc_small.yaml", folder / "mmc_small.yaml"))
