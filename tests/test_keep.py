"""What survives a stopped run (keep.py): the finished replications, never lost to a failure in
writing them."""

from __future__ import annotations

import pytest

from icssim import experiments, results
from icssim.keep import keep_comparison, keep_run

from helpers import shipped


@pytest.fixture(scope="module")
def scenario():
    return shipped("ed_fragmented", horizon="6 months", warmup="1 month")


def test_a_run_that_cannot_be_written_keeps_its_kpis_as_a_bare_csv(tmp_path, scenario, monkeypatch):
    finished = experiments.run(scenario, 2, workers=1, keep_records=False).replications

    def disk_full(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(results, "write_run", disk_full)
    (tmp_path / "demo-interrupted").mkdir()  # taken: the kept folder takes the next free name
    folder = keep_run(scenario, scenario.scenario.seed, finished, tmp_path / "demo-interrupted", 1.0, "icssim run")
    assert folder is not None and folder.name != "demo-interrupted"
    rows = (folder / "kpis_by_replication.csv").read_text().splitlines()
    assert len(rows) == 3  # a header and the two replications


def test_a_comparison_keeps_only_replications_finished_for_every_scenario(tmp_path, scenario):
    other = shipped("ed_integrated", horizon="6 months", warmup="1 month")
    comparison = experiments.compare([scenario, other], 3, workers=1)
    # in the order compare finishes them: each replication of every scenario in turn
    done = [res.replications[r] for r in range(3) for res in comparison.results]
    target, pairs = keep_comparison([scenario, other], scenario.scenario.seed, done[:-1], tmp_path / "kept", 1.0,
                                    "icssim compare")
    assert pairs == 2 and target is not None and (target / "summary.csv").exists()
    assert keep_comparison([scenario, other], scenario.scenario.seed, done[:3], tmp_path / "none", 1.0, "") == (None, 0)
