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
