"""Sweep outputs: the plot for each kind of design, the frontier, and area sweeps."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from icssim.cli import main
from icssim.sweep.frontier import frontier

WTE = "services.desk.staff.server.wte"


def test_frontier_keeps_only_non_dominated_points():
    cost = np.array([1.0, 2.0, 3.0, 2.5, 1.0, np.nan])
    wait = np.array([9.0, 5.0, 1.0, 6.0, 10.0, 0.0])
    # 3 is dominated by 1 (dearer and slower); 4 by 0 (as cheap, slower); nan is never on it
    assert frontier(cost, wait).tolist() == [True, True, True, False, False, False]


def test_oat_design_gives_a_tornado_with_the_right_direction(make_sweep, tmp_path):
    path = make_sweep({"design": "oat", "parameters": {WTE: [11, 13], "cohorts.customers.rate": [8, 9.5]},
                       "kpis": ["wait_to_assessment_mean"]})
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "-q"]) == 0
    assert (out / "plots" / "tornado_wait_to_assessment_mean.png").exists()
    table = pd.read_csv(out / "points.csv")
    base = table[table["role"] == "base"]["wait_to_assessment_mean"].iloc[0]
    more_staff = table[(table["varied"] == WTE) & (table["role"] == "high")]["wait_to_assessment_mean"].iloc[0]
    more_demand = table[(table["varied"] == "cohorts.customers.rate") & (table["role"] == "high")][
        "wait_to_assessment_mean"].iloc[0]
    assert more_staff < base < more_demand
    assert len(table) == 5


def test_two_parameter_grid_gives_heatmaps(make_sweep, tmp_path):
    path = make_sweep({"parameters": {WTE: [11, 12, 13], "pathway.steps.service.duration.mean": [0.9, 1.0]},
                       "kpis": ["within_quick"], "sweep": {"name": "hm", "seed": 1, "replications": 2}})
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "2", "-q"]) == 0
    meta = json.loads((out / "metadata.json").read_text())
    assert "plots/heatmap_within_quick.png" in meta["plots"] and "plots/cost_vs_wait.png" in meta["plots"]
    report = (out / "report.html").read_text(encoding="utf-8")
    assert report.count("data:image/png;base64,") >= len(meta["plots"])
    summary = pd.read_parquet(out / "summary.parquet")
    assert len(summary) == 12 and summary["n"].eq(2).all()   # within_quick and waiting_lists_rising, 6 points


def test_area_sweep_scales_demand_per_100k(make_sweep, tmp_path):
    path = make_sweep({"areas": {"table": "areas.csv", "scale": [WTE]},
                       "kpis": ["referrals_per_year", "wait_to_assessment_mean"]}, horizon=200)
    text = (tmp_path / "mmc_small.yaml").read_text()
    text = text.replace("  seed: 7\n", "  seed: 7\n  population: 1000000\n")
    text = text.replace("    rate: 9          # per hour\n", "    rate_per_100k_per_year: 7884\n")
    (tmp_path / "mmc_small.yaml").write_text(text)
    (tmp_path / "areas.csv").write_text("name,population\nSmall ICS,500000\nLarge ICS,2000000\n")
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "-q"]) == 0
    table = pd.read_csv(out / "points.csv").set_index("area")
    ratio = table.loc["Large ICS", "referrals_per_year"] / table.loc["Small ICS", "referrals_per_year"]
    assert 3.6 < ratio < 4.4                          # 4 times the people, 4 times the referrals
    # 78,840 per year per million = 9 per hour at 1 million
    assert abs(table.loc["Small ICS", "referrals_per_year"] / 0.5e6 * 1e6 - 78_840) < 0.1 * 78_840
    assert (out / "plots" / "line_referrals_per_year.png").exists()
    assert json.loads((out / "metadata.json").read_text())["areas"][1] == {"name": "Large ICS",
                                                                           "population": 2000000}


def test_latin_hypercube_gives_scatter_plots(make_sweep, tmp_path):
    path = make_sweep({"design": "lhs", "samples": 5, "kpis": ["within_quick"],
                       "parameters": {WTE: {"low": 10, "high": 14, "integer": True},
                                      "pathway.steps.service.duration.mean": {"low": 0.8, "high": 1.0}}})
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "-q"]) == 0
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["design"] == "lhs" and meta["points"] == 5
    assert "plots/scatter_within_quick.png" in meta["plots"]


def test_plots_drawn_on_two_workers_are_the_plots_drawn_on_one(make_sweep, tmp_path):
    """The plot processes draw the same files, byte for byte, as drawing them one by one here."""
    from icssim.sweep import plots, tables
    from icssim.sweep.runner import execute, prepare

    path = make_sweep({"design": "oat", "parameters": {WTE: [11, 13], "cohorts.customers.rate": [8, 9.5]},
                       "kpis": ["wait_to_assessment_mean", "within_quick", "cost_per_year"]})
    run = prepare(path, out=tmp_path / "out")
    try:
        execute(run, workers=1, yes=True, budget=None, quiet=True)
        summ, frame = tables.summary(run), run.frame()
        drawn = {}
        for workers in (1, 2):
            folder = tmp_path / f"plots{workers}"
            folder.mkdir()
            paths = plots.write_plots(run, summ, folder, frame, workers=workers)
            drawn[workers] = {p.name: p.read_bytes() for p in paths}
    finally:
        run.store.close()
    assert len(drawn[1]) == 4 and list(drawn[1]) == list(drawn[2])  # three tornados, cost against wait
    assert drawn[1] == drawn[2]


def test_the_runs_table_written_a_run_at_a_time_is_the_whole_table(make_sweep, tmp_path):
    """Blocks of one point give the bytes of runs.csv and the frame of runs.parquet that one block
    gives (the OAT's base point, then a point for each move, two replications each)."""
    from icssim.sweep import runner
    from icssim.sweep.store import Store
    from icssim.sweep.tables import tidy_runs, write_runs

    path = make_sweep({"design": "oat", "parameters": {WTE: [11, 13]}, "kpis": ["wait_to_assessment_mean"]})
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "-q"]) == 0
    run = runner.prepare(path, out)
    run.store = Store(out)
    try:
        frame = run.frame()
        whole = tidy_runs(run, frame)
        one_at_a_time = tmp_path / "blocks"
        one_at_a_time.mkdir()
        write_runs(run, frame, one_at_a_time, runs_per_block=1)
    finally:
        run.store.close()
    assert (one_at_a_time / "runs.csv").read_bytes() == (out / "runs.csv").read_bytes()
    blocks = pd.read_parquet(one_at_a_time / "runs.parquet")
    pd.testing.assert_frame_equal(blocks, pd.read_parquet(out / "runs.parquet"))
    assert len(blocks) == len(whole) == 3 * 2 * len(frame.columns.drop(
        ["point", "replication", "seed", "wall_seconds", "worker"]))
    assert not list(one_at_a_time.glob(".*tmp"))


def test_a_setting_missing_from_a_whole_block_keeps_its_type_in_runs_parquet(tmp_path):
    """A setting of True at one point and of nothing at another is an object column: Arrow reads
    the first point's block alone as all null, and the file still holds it as a boolean."""
    from types import SimpleNamespace

    from icssim.sweep.tables import write_runs

    rows = [{"point": 0, "base": "b", "flag": None}, {"point": 1, "base": "b", "flag": True}]
    run = SimpleNamespace(points=[SimpleNamespace(row=lambda r=r: r) for r in rows])
    frame = pd.DataFrame({"point": [0, 0, 1, 1], "replication": [0, 1, 0, 1], "seed": 5,
                          "wall_seconds": 0.1, "worker": "w", "k": [1.0, 2.0, 3.0, 4.0]})
    write_runs(run, frame, tmp_path, runs_per_block=1)
    table = pd.read_parquet(tmp_path / "runs.parquet")
    assert table["flag"].tolist() == [None, None, True, True]
    assert table["value"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert (tmp_path / "runs.csv").read_text().splitlines()[0] == "point,base,flag,replication,seed,kpi,value"


def test_a_runs_table_that_fails_half_way_leaves_nothing_behind(tmp_path, monkeypatch):
    """An error in the second block leaves neither a runs table nor a temporary file."""
    from types import SimpleNamespace

    from icssim.sweep import tables

    rows = [{"point": 0, "base": "b"}, {"point": 1, "base": "b"}]
    run = SimpleNamespace(points=[SimpleNamespace(row=lambda r=r: r) for r in rows])
    frame = pd.DataFrame({"point": [0, 1], "replication": [0, 0], "seed": 5, "wall_seconds": 0.1,
                          "worker": "w", "k": [1.0, 2.0]})
    whole = tables.tidy_runs

    def second_fails(run, part, points):
        if (part["point"] == 1).any():
            raise KeyboardInterrupt
        return whole(run, part, points)

    monkeypatch.setattr(tables, "tidy_runs", second_fails)
    with pytest.raises(KeyboardInterrupt):
        tables.write_runs(run, frame, tmp_path, runs_per_block=1)
    assert list(tmp_path.iterdir()) == []
