"""End-to-end: `icssim compare` writes each scenario's run, the paired differences, their plots
and a report, the same on one worker or two."""

import pandas as pd

from helpers import SCENARIOS
from test_cli_run import _icssim, _short


def _png(folder) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.png"))}


def test_compare_writes_both_runs_their_differences_and_a_report(tmp_path):
    base, variant = (_short(tmp_path, SCENARIOS / f"{name}.yaml") for name in ("ed_fragmented", "ed_integrated"))
    written = {}
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}" / "cmp"
        proc = _icssim("compare", base, variant, "-n", "2", "-w", workers, "--out", out, "-q")
        assert proc.returncode == 0, proc.stderr
        written[workers] = out
    out = written["2"]
    names = ["ed_fragmented", "ed_integrated"]  # the scenarios' own names, not their files'
    diffs = pd.read_csv(out / "differences.csv")
    assert set(diffs["scenario"]) == {names[1]} and set(diffs["baseline"]) == {names[0]}
    assert {"wait_to_treatment_mean", "cost_per_year"} <= set(diffs["kpi"])
    assert sorted(p.name for p in (out / "plots").glob("*.png")) == ["ce_plane.png", "costs.png", "forest.png",
                                                                     "wait_ecdf.png"]
    assert (out / "report.html").read_text().count('src="data:image/png;base64,') == 4
    economics = pd.read_csv(out / "cost_effectiveness.csv")
    assert list(economics["scenario"]) == [names[1]] and "nmb_20000" in economics
    assert "Value for money" in (out / "report.html").read_text()
    for name in names:
        report = (out / name / "report.html").read_text()
        assert report.count('src="data:image/png;base64,') == len(list((out / name / "plots").glob("*.png"))) == 3
    assert _png(written["1"]) == _png(out) and len(_png(out)) == 10
    assert (written["1"] / "summary.csv").read_bytes() == (out / "summary.csv").read_bytes()


def test_ctrl_c_keeps_the_replications_finished_for_every_scenario(tmp_path):
    """Ctrl-C during a long comparison (SIGINT to the whole process group, as a terminal sends it):
    the command stops within seconds and keeps, as a comparison, the replications that finished
    for both scenarios (they run replication by replication, so these are whole pairs)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from helpers import read_until_progress

    base, variant = (_short(tmp_path, SCENARIOS / f"{name}.yaml") for name in ("ed_fragmented", "ed_integrated"))
    out = tmp_path / "cmp"
    proc = subprocess.Popen([sys.executable, "-m", "icssim", "compare", str(base), str(variant), "-n", "1000",
                             "-w", "2", "--yes", "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = read_until_progress(proc, total=2000, timeout=300, at_least=5)  # two whole pairs at least
    assert proc.poll() is None, seen
    os.killpg(proc.pid, signal.SIGINT)
    interrupted = time.perf_counter()
    _, rest = proc.communicate(timeout=600)
    assert time.perf_counter() - interrupted < 60, "Ctrl-C waited for the queued replications"
    assert proc.returncode == 130, seen + rest
    assert not out.exists()
    kept = tmp_path / "cmp-interrupted"
    first, second = (pd.read_csv(kept / name / "kpis_by_replication.csv") for name in ("ed_fragmented",
                                                                                         "ed_integrated"))
    pairs = list(first["replication"])
    assert len(pairs) >= 2 and pairs == list(range(len(pairs))) == list(second["replication"])
    differences = pd.read_csv(kept / "differences.csv")
    assert set(differences["scenario"]) == {"ed_integrated"} and (kept / "report.html").exists()
    assert f"kept {len(pairs)} finished replication(s) of each scenario" in rest


def test_ctrl_c_while_the_results_are_written_keeps_every_pair(tmp_path, monkeypatch):
    """Every replication finished, and Ctrl-C comes while the comparison's folder is being written:
    the pairs are kept, as a comparison in ``<out>-interrupted`` (it used to say that nothing was
    written, and keep nothing)."""
    from helpers import run_cli

    from icssim import results

    real = results.write_comparison
    calls = []

    def interrupted_once(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == 1:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(results, "write_comparison", interrupted_once)
    base, variant = (_short(tmp_path, SCENARIOS / f"{name}.yaml") for name in ("ed_fragmented", "ed_integrated"))
    out = tmp_path / "cmp"
    code, text = run_cli(["compare", str(base), str(variant), "-n", "2", "-w", "1", "--out", str(out)])
    assert code == 130, text
    assert not out.exists()
    kept = tmp_path / "cmp-interrupted"
    assert calls == [out, kept] and (kept / "differences.csv").exists() and (kept / "report.html").exists()
    assert "kept 2 finished replication(s) of each scenario" in text
