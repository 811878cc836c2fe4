"""End-to-end: `icssim run` on every shipped scenario with a short horizon."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from helpers import SHIPPED, read_until_progress


#: a short run for the CLI checks: a year for community pathways, two weeks for a pathway timed in
#: minutes or hours (an emergency department: a year of it is hundreds of thousands of patients)
SHORT_RUNS = {"minutes": ("14 days", "2 days"), "hours": ("14 days", "2 days")}


def _short(tmp_path, scenario_file):
    from icssim.scenario import load_scenario

    path = tmp_path / f"short_{scenario_file.stem}.yaml"
    horizon, warmup = SHORT_RUNS.get(load_scenario(scenario_file).scenario.time_unit, ("1 year", "3 months"))
    text = f"extends: {scenario_file}\nscenario:\n  horizon: {horizon}\n  warmup: {warmup}\n"
    text += _drop_dated_plans(scenario_file)
    path.write_text(text)
    return path


def _drop_dated_plans(scenario_file) -> str:
    """Dated plans beyond a shortened horizon are errors (docs/calendar.md): remove them."""
    from icssim.scenario import load_scenario, provenance

    raw = provenance(load_scenario(scenario_file)).raw
    lines = ["capacity_plan: null"] if raw.get("capacity_plan") else []
    dated = [c for c, v in raw["cohorts"].items() if (v.get("demand") or {}).get("changes")]
    if dated:
        lines.append("cohorts:")
        lines += [f"  {c}: {{demand: {{changes: null}}}}" for c in dated]
    return "\n".join(lines) + "\n" if lines else ""


def _icssim(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "icssim", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


@pytest.mark.parametrize("scenario_file", SHIPPED, ids=lambda p: p.stem)
def test_run_writes_every_output(tmp_path, scenario_file):
    out = tmp_path / "out"
    proc = _icssim("run", _short(tmp_path, scenario_file), "--out", out, "-n", "2", "-w", "1")
    assert proc.returncode == 0, proc.stderr
    # an emergency department whose triage starts the clock on arrival says so (its report.waits)
    treats = not scenario_file.stem.startswith("urgent_mh")
    wait = "Referral to assessment, median" if treats else "Arrival to first clinical assessment"
    assert wait in proc.stdout and "Traceback" not in proc.stderr
    # an emergency department has no treatment step: no row of n/a for a wait it cannot have
    assert ("Referral to treatment, median" in proc.stdout) == treats
    for name in ("kpis.csv", "kpis_by_replication.csv", "patients.csv", "patients.parquet",
                 "visits.parquet", "timeseries.csv", "costs.csv", "metadata.json",
                 "plots/wait_ecdf.png", "plots/waiting_list.png", "plots/costs.png"):
        assert (out / name).is_file(), name
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["seed"] > 0 and len(meta["scenario_sha256"]) == 64 and meta["events_simulated"] > 0
    kpis = pd.read_csv(out / "kpis.csv").set_index("kpi")
    assert kpis.loc["referrals_per_year", "mean"] > 100
    patients = pd.read_parquet(out / "patients.parquet")
    assert set(patients["replication"]) == {0, 1}


def test_run_refuses_to_overwrite_without_force(tmp_path):
    short = _short(tmp_path, SHIPPED[0])
    out = tmp_path / "out"
    assert _icssim("run", short, "--out", out, "-q").returncode == 0
    before = (out / "metadata.json").read_text()
    proc = _icssim("run", short, "--out", out)
    assert proc.returncode == 2 and "already exists" in proc.stderr and "Traceback" not in proc.stderr
    assert (out / "metadata.json").read_text() == before
    assert _icssim("run", short, "--out", out, "--force", "--seed", "5", "-q").returncode == 0
    assert json.loads((out / "metadata.json").read_text())["seed"] == 5


def test_run_rejects_zero_replications(tmp_path):
    proc = _icssim("run", _short(tmp_path, SHIPPED[0]), "--out", tmp_path / "o", "-n", "0")
    assert proc.returncode == 2 and "--replications must be at least 1" in proc.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("extra", [["-n", "1000", "-w", "1"], ["-n", "1000", "-w", "2"],
                                   ["-n", "3", "--precision", "1e-9", "--max-replications", "1000", "-w", "2"]],
                         ids=["1 worker", "2 workers", "precision"])
def test_ctrl_c_keeps_finished_replications(tmp_path, extra):
    """Ctrl-C during a long run (SIGINT to the whole process group, as a terminal sends it, so
    the workers get it too): the command stops within seconds, not after the replications still
    queued, and the finished replications are written to <out>-interrupted, nothing else."""
    import os
    import signal
    import time

    short = tmp_path / "long.yaml"
    short.write_text(f"extends: {SHIPPED[0]}\nscenario:\n  horizon: 2 years\n  warmup: 3 months\n")
    out = tmp_path / "out"
    # the child gets Ctrl-C's default action even where this test runs with SIGINT ignored (a job
    # started in the background by a shell without job control): Python then ignores it too
    proc = subprocess.Popen([sys.executable, "-m", "icssim", "run", str(short), "--out", str(out), *extra],
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # interrupt once the progress bar shows a finished replication (not after a fixed sleep, which
    # a loaded machine can outlast before the first replication ends)
    stderr_seen = read_until_progress(proc, total=1000, timeout=300)
    assert proc.poll() is None, stderr_seen
    os.killpg(proc.pid, signal.SIGINT)
    interrupted = time.perf_counter()
    _, stderr_rest = proc.communicate(timeout=600)
    stderr = stderr_seen + stderr_rest
    assert time.perf_counter() - interrupted < 30, "Ctrl-C waited for the queued replications"
    assert proc.returncode == 130, stderr
    assert not out.exists()
    kept = pd.read_csv(tmp_path / "out-interrupted" / "kpis_by_replication.csv")
    assert 1 <= len(kept) < 1000 and list(kept["replication"]) == list(range(len(kept)))


def test_wrote_line_gives_simulation_and_total_time(tmp_path, capsys):
    """'wrote ...' says how long the simulation took and how long the whole command took, writing
    the tables, plots and report included (issue 23: '(1.4 s)' left out 4 s of writing)."""
    import re

    from icssim.cli import main
    from test_cli_validate import VALID

    path = tmp_path / "small.yaml"
    path.write_text(VALID)
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "-n", "2", "-w", "1", "--quiet"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    match = re.search(r"seed \d+; simulation (\d+\.\d) s, total (\d+\.\d) s\)$", line)
    assert match, line
    assert float(match.group(2)) >= float(match.group(1))
