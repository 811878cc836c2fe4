"""Running sweeps: identical results whatever the executor, nothing lost, resume without duplicates."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import pytest

from icssim.cli import main
from icssim.errors import IcssimError
from icssim.sweep import execute, prepare

WTE = "services.desk.staff.server.wte"
GRID = {"parameters": {WTE: [10, 12]}, "kpis": ["wait_to_assessment_mean", "within_quick"]}


def kpis(out) -> pd.DataFrame:
    """Every stored run's KPIs, without the timing and worker columns."""
    db = sqlite3.connect(out / "sweep.sqlite")
    rows = db.execute("SELECT point, replication, seed, kpis FROM runs ORDER BY point, replication").fetchall()
    db.close()
    return pd.DataFrame([{"point": p, "replication": r, "seed": s, **json.loads(k)} for p, r, s, k in rows])


def test_sweep_writes_tables_plots_and_metadata(make_sweep, tmp_path, capsys):
    path = make_sweep({**GRID, "parameters": {WTE: [10, 11, 12]}})
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1"]) == 0
    assert "wrote" in capsys.readouterr().out
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["kind"] == "sweep" and meta["complete"] and meta["runs_stored"] == 6
    runs = pd.read_parquet(out / "runs.parquet")
    assert set(runs.columns) >= {"point", "replication", "kpi", "value", WTE}
    assert len(runs[runs["kpi"] == "within_quick"]) == 6
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["kpi"]) == {"wait_to_assessment_mean", "within_quick", "waiting_lists_rising"}
    row = summary[(summary["kpi"] == "within_quick") & (summary[WTE] == 12)].iloc[0]
    reps = runs[(runs["kpi"] == "within_quick") & (runs[WTE] == 12)]["value"]
    assert row["mean"] == pytest.approx(reps.mean()) and row["lower"] < row["mean"] < row["upper"]
    plots = sorted(p.name for p in (out / "plots").iterdir())
    assert "line_within_quick.png" in plots and "cost_vs_wait.png" in plots
    assert sorted(meta["plots"]) == sorted(f"plots/{p}" for p in plots)


def test_same_results_with_one_or_two_local_workers_and_common_random_numbers(make_sweep, tmp_path):
    path = make_sweep(GRID)
    assert main(["sweep", str(path), "--out", str(tmp_path / "w1"), "--workers", "1", "-q"]) == 0
    assert main(["sweep", str(path), "--out", str(tmp_path / "w2"), "--workers", "2", "-q"]) == 0
    a, b = kpis(tmp_path / "w1"), kpis(tmp_path / "w2")
    pd.testing.assert_frame_equal(a, b)
    # common random numbers: replication r of every point sees the same arrivals
    assert a.groupby("replication")["referrals_per_year"].nunique().eq(1).all()
    assert a["seed"].eq(3).all()


def test_dask_cluster_gives_identical_results(make_sweep, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    path = make_sweep(GRID)
    assert main(["sweep", str(path), "--out", str(tmp_path / "local"), "--workers", "2", "-q"]) == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        assert main(["sweep", str(path), "--out", str(tmp_path / "dask"), "--dask", cluster.scheduler_address,
                     "-q"]) == 0
    pd.testing.assert_frame_equal(kpis(tmp_path / "local"), kpis(tmp_path / "dask"))
    meta = json.loads((tmp_path / "dask" / "metadata.json").read_text())
    assert meta["executor"] == "dask" and meta["workers"] == 2


def test_unreachable_dask_scheduler_fails_fast_and_writes_nothing(make_sweep, tmp_path, capsys):
    pytest.importorskip("dask.distributed")
    path = make_sweep(GRID)
    started = time.perf_counter()
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--dask", "tcp://127.0.0.1:9", "-q"]) == 2
    assert time.perf_counter() - started < 15
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_resume_runs_only_what_is_missing(make_sweep, tmp_path):
    path = make_sweep(GRID)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "-q"]) == 0
    full = kpis(out)
    db = sqlite3.connect(out / "sweep.sqlite")
    db.execute("DELETE FROM runs WHERE replication = 1")
    db.commit()
    db.close()
    run = prepare(path, out)
    assert len(run.done) == 2
    execute(run, workers=1, quiet=True)
    run.store.close()
    assert run.ran_now == 2
    pd.testing.assert_frame_equal(kpis(out), full)


def test_changed_sweep_or_scenario_is_refused_unless_restart(make_sweep, tmp_path, capsys):
    path = make_sweep(GRID)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "-q"]) == 0
    make_sweep({**GRID, "parameters": {WTE: [10, 13]}})
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "-q"]) == 2
    assert "the sweep file has changed" in capsys.readouterr().err
    # summaries may change freely: the finished runs are kept
    make_sweep({**GRID, "kpis": ["within_quick"]})
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "-q"]) == 0
    assert set(pd.read_csv(out / "summary.csv")["kpi"]) == {"within_quick", "waiting_lists_rising"}
    make_sweep(GRID, horizon=250)
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "-q"]) == 2
    assert "base scenario 'mmc_small' has changed" in capsys.readouterr().err
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "-q", "--restart"]) == 0
    assert len(kpis(out)) == 4


def test_a_design_over_budget_is_refused_without_a_terminal(make_sweep, tmp_path, capsys):
    path = make_sweep(GRID)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "--budget", "0.00001"]) == 2
    err = capsys.readouterr().err
    assert "more than the time budget" in err and "--yes" in err
    assert not out.exists()
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "--budget", "0.00001", "--yes",
                 "-q"]) == 0


def test_a_design_far_over_budget_is_refused_before_its_points_are_validated(make_sweep, tmp_path, monkeypatch):
    """Validating takes milliseconds a point (minutes for a PSA of 100,000 draws), so a design the
    rough estimate puts more than RoughSize.MARGIN times over the budget is refused first; one
    nearer the budget is left to the pilot run's estimate, and --yes or a finished sweep skip it."""
    from icssim.sweep import runner

    validated = []
    real = runner.validate_points
    monkeypatch.setattr(runner, "validate_points", lambda sweep, points: validated.append(len(points)) or
                        real(sweep, points))
    path = make_sweep(GRID)   # 2 points x 2 replications of mmc_small: 300 hours at 9 arrivals an hour
    patients = 4 * 300 * 9
    seconds = patients / runner.patients_per_second(lean=True) / 2
    out = tmp_path / "out"
    far = runner.RoughSize(2, None, seconds / (runner.RoughSize.MARGIN * 1.1), yes=False)
    rate = (f"{runner.patients_per_second(lean=True):,} patients a second a worker, "
            f"the {runner.engine_name()} engine's rate")
    with pytest.raises(IcssimError, match=rf"\(a first estimate, at {rate}\).*--yes"):
        prepare(path, out, size_check=far)
    assert validated == [] and not out.exists()
    near = runner.RoughSize(2, None, seconds / (runner.RoughSize.MARGIN * 0.9), yes=False)
    assert prepare(path, out, size_check=near).points and validated == [2] and not near.confirmed
    said_yes = runner.RoughSize(2, None, 1e-9, yes=True)
    prepare(path, out, size_check=said_yes)
    assert said_yes.confirmed
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "-q"]) == 0
    finished = runner.RoughSize(2, None, 1e-9, yes=False)   # nothing left to run: nothing to refuse
    assert prepare(path, out, size_check=finished).done
    dask = runner.RoughSize(2, "local", 1e-9, yes=False)   # a cluster's size is known only once it is up
    prepare(path, tmp_path / "other", size_check=dask)


class CountingExecutor:
    """An in-process executor that records every task it is asked to run and how many it ran."""

    name, workers = "counting", 2

    def __init__(self) -> None:
        self.given: list = []
        self.ran = 0

    def run(self, tasks):
        from icssim.sweep.executors import run_task

        for task in tasks:
            self.given.append((task.point, task.replication))
            self.ran += 1
            yield run_task(task)

    def close(self) -> None:
        pass


def test_the_pilot_is_the_executors_first_run_not_one_run_alone(make_sweep, tmp_path):
    """The time estimate comes from the first run the executor finishes, with the others under way
    on its other workers: every run, pilot included, goes to the executor, once."""
    run = prepare(make_sweep(GRID), tmp_path / "out")
    executor = CountingExecutor()
    execute(run, quiet=True, yes=True, executor=executor)
    run.store.close()
    assert sorted(executor.given) == [(0, 0), (0, 1), (1, 0), (1, 1)] and run.ran_now == 4
    assert len(kpis(tmp_path / "out")) == 4


def test_a_refused_sweep_stops_the_runs_under_way_and_writes_nothing(make_sweep, tmp_path):
    run = prepare(make_sweep(GRID), tmp_path / "out")
    executor = CountingExecutor()
    with pytest.raises(IcssimError, match="more than the time budget"):
        execute(run, quiet=True, budget=1e-9, executor=executor)
    assert executor.ran == 1   # the pilot; nothing more was asked of the executor
    assert not (tmp_path / "out").exists()


def test_kill_9_mid_sweep_then_resume_keeps_every_run_exactly_once(make_sweep, tmp_path):
    path = make_sweep({"parameters": {WTE: [10, 11, 12, 13, 14, 15]}, "sweep": {"name": "k", "seed": 3,
                                                                            "replications": 4}})
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "icssim", "sweep", str(path), "--out", str(out), "--workers", "2", "-q", "--yes"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stored = 0
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if (out / "sweep.sqlite").exists():
            try:
                db = sqlite3.connect(out / "sweep.sqlite", timeout=5)
                stored = db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
                db.close()
            except sqlite3.OperationalError:
                stored = 0
            if stored >= 4:
                break
        time.sleep(0.05)
    assert proc.poll() is None, f"the sweep ended before it could be killed: {proc.stderr.read().decode()}"
    os.killpg(proc.pid, signal.SIGKILL)        # the command and its worker processes
    proc.wait()
    proc.stderr.close()
    partial = kpis(out)
    assert 4 <= len(partial) < 24
    assert main(["sweep", str(path), "--out", str(out), "--workers", "2", "-q"]) == 0
    resumed = kpis(out)
    assert len(resumed) == 24
    assert not resumed.duplicated(["point", "replication"]).any()
    pd.testing.assert_frame_equal(resumed.merge(partial[["point", "replication"]]), partial)
    # the same as a sweep that was never interrupted
    assert main(["sweep", str(path), "--out", str(tmp_path / "clean"), "--workers", "1", "-q"]) == 0
    pd.testing.assert_frame_equal(resumed, kpis(tmp_path / "clean"))


def test_independent_seeds_per_point_when_asked(make_sweep):
    from icssim.sweep.design import build_points
    from icssim.sweep.runner import run_seed
    from icssim.sweep.spec import load_sweep

    path = make_sweep({**GRID, "sweep": {"name": "ind", "seed": 3, "replications": 2,
                                         "common_random_numbers": False}})
    sweep = load_sweep(path)
    seeds = [run_seed(sweep, p) for p in build_points(sweep)]
    assert len(set(seeds)) == 2 and seeds == [run_seed(sweep, p) for p in build_points(load_sweep(path))]


def test_missing_dask_extra_is_a_clear_message(make_sweep, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)     # as if dask were not installed
    path = make_sweep(GRID)
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--dask", "local", "-q"]) == 2
    assert "pip install 'icssim[dask]'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("restart", [False, True])
def test_another_sweep_s_folder_is_refused_without_offering_restart(make_sweep, tmp_path, capsys, restart):
    """--out naming the folder of a sweep of another name: refused, naming that sweep, and --restart
    (which would delete its results) is neither offered nor obeyed."""
    first = make_sweep(GRID, name="first.yaml")
    out = tmp_path / "out"
    assert main(["sweep", str(first), "--out", str(out), "--workers", "1", "-q"]) == 0
    before = kpis(out)
    second = make_sweep({**GRID, "sweep": {"name": "other", "seed": 3, "replications": 2}}, name="second.yaml")
    assert main(["sweep", str(second), "--out", str(out), "--workers", "1", "-q",
                 *(["--restart"] if restart else [])]) == 2
    err = capsys.readouterr().err
    assert f"{out} holds the results of a different sweep, 't', not of 'other'" in err, err
    assert "Pass --restart" not in err and "Traceback" not in err
    pd.testing.assert_frame_equal(kpis(out), before)    # nothing deleted


def test_another_sweep_s_folder_is_known_by_its_metadata_without_a_name_in_its_store(make_sweep, tmp_path, capsys):
    """A folder a sweep wrote before its store kept the sweep's name: metadata.json names it."""
    first = make_sweep(GRID, name="first.yaml")
    out = tmp_path / "out"
    assert main(["sweep", str(first), "--out", str(out), "--workers", "1", "-q"]) == 0
    db = sqlite3.connect(out / "sweep.sqlite")
    db.execute("DELETE FROM meta WHERE key = 'name'")
    db.commit()
    db.close()
    second = make_sweep({**GRID, "sweep": {"name": "other", "seed": 3, "replications": 2}}, name="second.yaml")
    with pytest.raises(IcssimError, match="holds the results of a different sweep, 't'"):
        prepare(second, out, restart=True)


def test_metadata_names_the_timing_as_the_terminal_says_it(make_sweep, tmp_path, capsys):
    """"N run(s) now on W <executor> worker(s) in S s, R runs a minute": metadata.json's runs_now,
    workers, executor, seconds_now and runs_a_minute, the same numbers; the earlier names are kept."""
    import re

    path = make_sweep(GRID)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "-q"]) == 0
    said = re.search(r"(\d+) run\(s\) now on (\d+) (.+) worker\(s\) in ([\d.]+) s, ([\d,]+) runs a minute",
                     capsys.readouterr().out)
    assert said is not None
    meta = json.loads((out / "metadata.json").read_text())
    assert (str(meta["runs_now"]), str(meta["workers"]), meta["executor"]) == said.group(1, 2, 3)
    assert f"{meta['seconds_now']:.1f}" == said.group(4) and f"{meta['runs_a_minute']:,.0f}" == said.group(5)
    assert (meta["runs_this_invocation"], meta["wall_seconds_this_invocation"],
            meta["runs_per_minute_this_invocation"]) == (meta["runs_now"], meta["seconds_now"], meta["runs_a_minute"])


def test_another_sweep_s_tables_without_its_store_are_not_deleted_by_restart(make_sweep, tmp_path):
    first = make_sweep(GRID, name="first.yaml")
    out = tmp_path / "out"
    assert main(["sweep", str(first), "--out", str(out), "--workers", "1", "-q"]) == 0
    for name in ("sweep.sqlite", "sweep.sqlite-wal", "sweep.sqlite-shm"):
        (out / name).unlink(missing_ok=True)
    second = make_sweep({**GRID, "sweep": {"name": "other", "seed": 3, "replications": 2}}, name="second.yaml")
    with pytest.raises(IcssimError, match="holds the results of a different sweep, 't'"):
        prepare(second, out, restart=True)
    assert (out / "summary.csv").is_file()
