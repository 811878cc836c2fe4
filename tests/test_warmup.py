"""Warm-up diagnostic: MSER-5 truncation and the `icssim warmup` command."""

import numpy as np
import pandas as pd

from icssim.cli import main
from icssim.warmup import mser

from helpers import SHIPPED


def test_mser_finds_an_initial_transient():
    rng = np.random.default_rng(1)
    series = np.concatenate([np.linspace(0, 10, 200), 10 + rng.normal(0, 1, 800)])
    d = mser(series)
    assert 150 <= d <= 260


def test_mser_truncates_little_from_a_stationary_series():
    rng = np.random.default_rng(2)
    assert mser(rng.normal(5, 1, 1000)) <= 100


def test_mser_needs_enough_batches():
    assert mser(np.arange(10.0)) == 0


def test_warmup_command_writes_plot_and_suggestion(tmp_path, capsys):
    short = tmp_path / "short.yaml"
    short.write_text(f"extends: {SHIPPED[0]}\nscenario:\n  horizon: 2 years\n  warmup: 2 months\n")
    out = tmp_path / "wu"
    assert main(["warmup", str(short), "--out", str(out), "-n", "3", "-w", "1", "-q"]) == 0
    assert (out / "warmup.png").stat().st_size > 10_000
    table = pd.read_csv(out / "warmup.csv")
    assert len(table) == 2 and (table["suggested_warmup_days"] >= 0).all()
    assert "suggested warm-up" in capsys.readouterr().out
