"""Warm-up diagnostic: MSER-5 truncation and the `icssim warmup` command."""

import numpy as np
import pandas as pd

from icssim.cli import main
from icssim.warmup import from_series, mser, trend

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


def _replications(make, n=5, days=2000, every=10):
    """``n`` replications of ``make(t, rng)`` sampled every ``every`` days, as warmup's series are."""
    t = np.arange(0, days, every, dtype=float)
    return pd.DataFrame({r: make(t, np.random.default_rng(r)) for r in range(n)}, index=t)


def test_a_growing_series_does_not_settle():
    growing = _replications(lambda t, rng: 5 + t / 100 + rng.normal(0, 2, len(t)))   # +3.65 a year
    d = from_series({"waiting (patients)": growing})
    t = d.trends["waiting (patients)"]
    assert not t.settles and t.low > 0 and 2.5 < t.per_year < 4.5
    verdict = d.verdict(current_days=10_000)
    assert verdict.startswith("does NOT settle") and "waiting (patients) rises" in verdict and "(enough)" not in verdict


def test_a_series_that_fills_then_settles_is_enough_after_its_warmup():
    filling = _replications(lambda t, rng: 20 * (1 - np.exp(-t / 150)) + rng.normal(0, 1, len(t)))
    d = from_series({"waiting (patients)": filling})
    assert d.trends["waiting (patients)"].settles
    assert d.verdict(current_days=d.overall_days) == "enough"
    assert d.verdict(current_days=0) == "SHORTER than suggested"


def test_one_growing_waiting_list_is_named_even_when_the_total_settles():
    flat = _replications(lambda t, rng: 30 + rng.normal(0, 2, len(t)))
    beds = _replications(lambda t, rng: t / 200 + rng.normal(0, 0.5, len(t)))
    d = from_series({"all (patients)": flat}, {"waiting list at adult_inpatient": beds})
    assert list(d.unsettled) == ["waiting list at adult_inpatient"]
    assert "adult_inpatient rises" in d.verdict(10_000)


def _stationary_lists(seed, lists=20, n=4, days=1800, every=10):
    """``lists`` waiting lists in steady state (about 3.5 patients, autocorrelated as a queue's are)."""
    rng = np.random.default_rng(seed)
    t = np.arange(0, days, every, dtype=float)

    def ar1():
        x = np.empty(len(t))
        x[0] = rng.normal(0, 1)
        for i in range(1, len(t)):
            x[i] = 0.9 * x[i - 1] + rng.normal(0, np.sqrt(1 - 0.81))
        return 3.5 + x

    return {f"waiting list at step{i}": pd.DataFrame({r: ar1() for r in range(n)}, index=t) for i in range(lists)}


def test_many_stationary_lists_raise_few_false_alarms():
    # tested one by one at 5%, one of 20 steady lists is flagged in most runs; the family-wise
    # interval keeps the chance of any false alarm near 5%
    alarms = sum(bool(from_series({}, _stationary_lists(seed)).unsettled) for seed in range(40))
    assert alarms <= 6


def test_a_trend_too_small_to_matter_settles():
    # significant with many points, but it moves the series by under 10% of its mean
    drift = _replications(lambda t, rng: 100 + t / 2000 + rng.normal(0, 0.2, len(t)), days=2000)
    assert trend(drift, 0).settles


def test_warmup_command_writes_plot_and_suggestion(tmp_path, capsys):
    short = tmp_path / "short.yaml"
    short.write_text(f"extends: {SHIPPED[0]}\nscenario:\n  horizon: 2 years\n  warmup: 2 months\n")
    out = tmp_path / "wu"
    assert main(["warmup", str(short), "--out", str(out), "-n", "3", "-w", "1", "-q"]) == 0
    assert (out / "warmup.png").stat().st_size > 10_000
    table = pd.read_csv(out / "warmup.csv")
    series = table.dropna(subset=["suggested_warmup_days"])
    assert len(series) == 2 and (series["suggested_warmup_days"] >= 0).all()
    assert table["series"].str.startswith("waiting list at ").sum() >= 3 and table["settles"].dtype == bool
    assert "suggested warm-up" in capsys.readouterr().out
