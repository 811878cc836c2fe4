"""``icssim report DIR --out X``: X a folder gets report.html in it (and says so), a folder along the
way that does not exist yet is made, and X inside a file is refused (exit 2) naming the file. Each
crashed (IsADirectoryError, FileNotFoundError, NotADirectoryError: exit 70)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from helpers import run_cli
from icssim.cli import main


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    """A results folder the report can be built from (a generic one: nothing to simulate)."""
    out = tmp_path / "res"
    out.mkdir()
    (out / "metadata.json").write_text(json.dumps({"kind": "warmup", "scenario": "s"}))
    return out


def _report(args: list[str]) -> tuple[int, str]:
    said = io.StringIO()
    with contextlib.redirect_stdout(said), contextlib.redirect_stderr(io.StringIO()):
        code = main(["report", *args])
    return code, said.getvalue()


@pytest.mark.parametrize("slash", ["", "/"])
def test_out_an_existing_folder_gets_report_html_in_it(folder, tmp_path, slash):
    (tmp_path / "reports").mkdir()
    code, said = _report([str(folder), "--out", f"{tmp_path / 'reports'}{slash}"])
    assert code == 0
    assert (tmp_path / "reports" / "report.html").is_file()
    assert "is a folder: the report is report.html in it" in said


def test_out_ending_in_a_slash_is_a_folder_made_for_it(folder, tmp_path):
    code, _ = _report([str(folder), "--out", f"{tmp_path / 'new'}/"])
    assert code == 0 and (tmp_path / "new" / "report.html").is_file()


def test_out_in_a_folder_not_made_yet_makes_it(folder, tmp_path):
    code, said = _report([str(folder), "--out", str(tmp_path / "a" / "b" / "r.html")])
    assert code == 0 and (tmp_path / "a" / "b" / "r.html").is_file()
    assert said.strip() == f"wrote {tmp_path / 'a' / 'b' / 'r.html'}"


@pytest.mark.parametrize("inside", ["x.html", "deeper/x.html"])
def test_out_inside_a_file_is_refused_and_writes_nothing(folder, tmp_path, inside):
    (tmp_path / "afile.txt").write_text("keep me")
    code, err = run_cli(["report", str(folder), "--out", str(tmp_path / "afile.txt" / inside)])
    assert code == 2, err
    assert f"{tmp_path / 'afile.txt'} is a file, so it cannot hold x.html" in err
    assert (tmp_path / "afile.txt").read_text() == "keep me"
    assert not (folder / "report.html").exists()
