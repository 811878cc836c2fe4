"""The terminal output of ``icssim sweep`` and ``icssim psa`` (issue 23): the sweep file's labels,
not key paths; lines of at most 100 characters; no hundreds of rows; a PSA prints its answer and
where the files are, not each draw's parameters."""

from __future__ import annotations

import json
import shutil
from pathlib import Path


from icssim.cli import main

SWEEP_DIR = Path(__file__).resolve().parent / "sweep"


def _sweep(tmp_path: Path, sweep: dict) -> Path:
    base = (SWEEP_DIR / "mmc_small.yaml").read_text().replace("horizon: 1200", "horizon: 200")
    (tmp_path / "mmc_small.yaml").write_text(base)
    data = {"sweep": {"name": "t", "seed": 3, "replications": 2}, "base": "mmc_small.yaml", **sweep}
    path = tmp_path / "sweep.yaml"
    path.write_text(json.dumps(data, indent=1))
    return path


def _printed(path: Path, tmp_path: Path, capsys, command: str = "sweep") -> list[str]:
    out = tmp_path / "out"
    shutil.rmtree(out, ignore_errors=True)
    assert main([command, str(path), "--out", str(out), "--workers", "1", "--yes"]) == 0
    return capsys.readouterr().out.splitlines()


def test_a_small_grid_shows_labels_ranges_and_a_keyed_table(tmp_path, capsys):
    path = _sweep(tmp_path, {"design": "grid", "parameters": {
        "services.desk.staff.server.wte": {"values": [10, 11, 12], "label": "Desk servers"},
        "pathway.steps.service.duration.mean": {"values": [0.9, 1.0], "label": "Mean service time"}},
        "kpis": ["within_quick", "wait_to_assessment_mean", "cost_per_year"]})
    lines = _printed(path, tmp_path, capsys)
    text = "\n".join(lines)
    assert all(len(line) <= 100 for line in lines if not line.startswith("wrote")), max(lines, key=len)
    assert "services.desk" not in text and "within_quick" not in text  # labels, not ids or key paths
    assert "6 points x 2 replications" in lines[0]
    assert any(line.startswith("  - Referral to assessment, mean: from ") for line in lines)
    header = next(line for line in lines if line.strip().startswith("point"))
    assert header.split() == ["point", "[1]", "[2]", "[3]", "[4]", "[5]"]
    assert "  [1] Desk servers" in lines and "  [2] Mean service time" in lines
    assert any(line.startswith("  [5] Total cost") for line in lines)
    assert sum(1 for line in lines if line.strip()[:1].isdigit()) == 6
    assert "%" in text  # the standard as a percentage


def test_a_large_sweep_prints_no_rows(tmp_path, capsys):
    path = _sweep(tmp_path, {"design": "grid", "parameters": {
        "services.desk.staff.server.wte": {"values": list(range(10, 35)), "label": "Desk servers"}},
        "kpis": ["wait_to_assessment_mean"]})
    lines = _printed(path, tmp_path, capsys)
    assert len(lines) < 10 and all(len(line) <= 100 for line in lines if not line.startswith("wrote"))
    assert "points.csv and report.html (25 points)" in "\n".join(lines)


def test_a_psa_prints_its_answer_and_where_the_files_are_not_its_draws(tiny_psa):
    lines = tiny_psa.printed
    assert lines[0].startswith("tiny_psa: 3 parameter draws x 2 strategies x 1 replication;")
    assert [i for i, line in enumerate(lines) if line.startswith("PSA over 3 parameter draws:")] in ([1], [2])
    assert any(line.startswith("  integrated against fragmented, mean over the draws: ") for line in lines)
    assert all(len(line) <= 100 for line in lines if not line.startswith("wrote"))
    assert not any("health.states" in line or "cost_per_bed_day" in line for line in lines)
    assert len(lines) < 15


def test_psa_answer_lines_fit_100_columns():
    from icssim.health.psa_outputs import answer_text

    long = "a strategy with a very long name indeed, as a planner might write it"
    answer = {"draws": 1000, "variance": [{"strategy": long, "share_parameters": 0.4}], "evppi": [],
              "incremental": [{"strategy": long, "baseline": "another", "delta_cost": -1523.4,
                               "delta_qalys": 0.098, "icer": -15545.0}],
              "at_thresholds": [{"wtp": 20000, "best": long, "evpi_per_person": 12.0,
                                 "probability_best": {long: 0.6, "another": 0.4}}]}
    lines = answer_text(answer).splitlines()
    assert all(len(line) <= 100 for line in lines) and len(lines) > 4
    text = " ".join(" ".join(lines).split())
    assert text.count(long) == 4 and "−£1,520 and +0.098 QALYs per help-seeker; dominant" in text


def test_psa_answer_names_the_evppi_groups_left_out_and_counts_the_parameters():
    """A 4-draw PSA leaves out every parameter's EVPPI: the console counts them rather than listing
    36 names, and names the groups (with the draws each needs)."""
    from icssim.health.psa_outputs import answer_text

    skipped = [{"group": f"Parameter {i}", "draws_needed": 40} for i in range(36)]
    skipped.append({"group": "all columns of post.csv", "draws_needed": 760})
    answer = {"draws": 4, "variance": [], "evppi": [], "incremental": [], "at_thresholds": [],
              "evppi_groups": {"all columns of post.csv": ["Beds", "Hand-off"]}, "evppi_not_estimated": skipped}
    text = " ".join(" ".join(answer_text(answer).splitlines()).split())
    assert ("EVPPI not estimated with 4 draws: all columns of post.csv (needs 760); each of 36 parameters alone "
            "(needs 40 draws each)") in text
    assert "Parameter 3" not in text


def _equal_as_written() -> object:
    """A sweep's findings where a share's means differ only beyond the percent (69.2%, 69.4%, 69.3%)."""
    from types import SimpleNamespace

    import pandas as pd

    summary = pd.DataFrame({"kpi": ["share_treated"] * 3 + ["wait_to_treatment_median"] * 3, "point": [0, 1, 2] * 2,
                            "mean": [0.692, 0.694, 0.693, 12.6, 12.1, 12.1], "lower": 0.5, "upper": 0.9, "n": 2,
                            "wte": [1, 2, 4] * 2})
    return SimpleNamespace(summary=summary, kpis=["share_treated", "wait_to_treatment_median"], params=["wte"],
                           label=lambda k: {"share_treated": "Share treated"}.get(k, "Wait"),
                           settings=lambda row: f"Therapists {row['wte']}", param_label=lambda p: "Therapists",
                           meta={"replications": 2}, level=0.95)


def test_a_measure_equal_at_every_point_as_written_is_not_a_range():
    """The terminal (and the report) said "from 69% (Therapists 1) to 69% (Therapists 2)"."""
    from icssim.report.sweep import findings_html
    from icssim.sweep.console import _ranges

    lines = _ranges(_equal_as_written())
    assert "  - Share treated: 69% at every point" in lines, lines
    assert any(line.startswith("  - Wait: from 12.1 days (Therapists 2) to 12.6 days (Therapists 1)") for line in lines)
    html = findings_html(_equal_as_written())
    assert "<strong>Share treated</strong>: 69% at every point." in html and "to 69%" not in html, html
    assert "from 12.1 days" in html
