"""A results folder asked for inside a file (``--out afile.txt/x``, or a file named ``results`` where
the default folder goes) is refused before anything is simulated, exit 2, naming the file: it
ended in "File exists" (exit 1, as if the machine had refused) or a crash after the simulation
(sweep, psa, calibrate: exit 70). The cases with --out are in tests/catalogue.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalogue import CALIBRATION_FILE, SWEEP_FILE
from helpers import run_cli
from icssim.errors import IcssimError
from icssim.output_folder import check_holder, prepare_output
from test_cli_validate import VALID


def test_check_holder_names_the_file_in_the_way(tmp_path):
    (tmp_path / "afile.txt").write_text("x")
    check_holder(tmp_path / "new" / "deeper" / "out")   # folders not made yet are fine
    with pytest.raises(IcssimError, match=r"afile.txt is a file, so it cannot hold the results folder .*/x/y$"):
        check_holder(tmp_path / "afile.txt" / "x" / "y")
    with pytest.raises(IcssimError, match=r"afile.txt is a file, so it cannot hold x.html$"):
        check_holder(tmp_path / "afile.txt" / "x.html", "x.html")


def test_prepare_output_refuses_a_folder_inside_a_file(tmp_path):
    (tmp_path / "afile.txt").write_text("x")
    with pytest.raises(IcssimError, match="is a file, so it cannot hold"):
        prepare_output(tmp_path / "afile.txt" / "x", force=False, check=False)


@pytest.mark.parametrize(("command", "folder"), [
    (["run", "fuzz.yaml", "-q"], "results/small"),
    (["warmup", "fuzz.yaml", "-q"], "results/small-warmup"),
    (["sweep", "sweep.yaml", "--yes", "-q"], "results/s"),
    (["calibrate", "cal.yaml", "--yes", "-q"], "results/calibration/c"),
])
def test_a_file_named_results_refuses_the_default_folder(tmp_path, monkeypatch, command, folder):
    monkeypatch.chdir(tmp_path)
    Path("fuzz.yaml").write_text(VALID)
    Path("sweep.yaml").write_text(SWEEP_FILE)
    Path("cal.yaml").write_text(CALIBRATION_FILE)
    Path("results").write_text("keep me")
    before = sorted(p.name for p in tmp_path.iterdir())
    code, err = run_cli(command)
    assert code == 2, err
    assert f"results is a file, so it cannot hold the results folder {folder}" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before and Path("results").read_text() == "keep me"
