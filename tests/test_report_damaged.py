"""``icssim report`` on a results folder one of whose files is damaged (a sync conflict, a copy cut
short, an emptied file): one message naming the file, exit status 2, never a parser's exception
(exit 70). Reading the folder back is :mod:`icssim.report.stored`'s alone."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers import run_cli
from icssim import experiments
from icssim.errors import IcssimError
from icssim.report.stored import DamagedFile, read_object, read_table
from icssim.results import write_run
from icssim.scenario import load_scenario
from test_cli_validate import VALID

DAMAGED = "the folder is damaged; run the command again"


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("run")
    (root / "small.yaml").write_text(VALID)
    result = experiments.run(load_scenario(root / "small.yaml"), 2, seed=5, workers=1)
    return write_run(result, root / "out1", command="icssim run small.yaml")


def _damaged_copy(run_folder: Path, tmp_path: Path, name: str, content: bytes) -> Path:
    folder = tmp_path / "out1"
    shutil.copytree(run_folder, folder)
    (folder / name).write_bytes(content)
    return folder


@pytest.mark.parametrize(("name", "content", "said"), [
    ("metadata.json", b"garbage", "not JSON"),
    ("metadata.json", b"[]", "not a JSON object"),
    ("metadata.json", b"", "empty"),
    ("metadata.json", b"\xff\xfe{", "not UTF-8 text"),
    ("scenario.json", b"", "empty"),
    ("kpis.csv", b"", "empty"),
    ("parameters.csv", b"", "empty"),
])
def test_a_damaged_file_is_named_with_exit_2(run_folder, tmp_path, name, content, said):
    folder = _damaged_copy(run_folder, tmp_path, name, content)
    before = (folder / "report.html").read_bytes()
    code, err = run_cli(["report", str(folder)])
    assert code == 2, err
    assert f"{folder / name} cannot be read ({said}): {DAMAGED}" in err
    assert (folder / "report.html").read_bytes() == before   # nothing rewritten


def test_a_kpi_table_cut_short_is_named(run_folder, tmp_path):
    text = (run_folder / "kpis.csv").read_bytes()
    folder = _damaged_copy(run_folder, tmp_path, "kpis.csv", text[:100])
    code, err = run_cli(["report", str(folder)])
    assert code == 2 and f"{folder / 'kpis.csv'} cannot be read (not a complete CSV table)" in err, err


def test_a_sweep_folder_whose_metadata_is_cut_short_is_named(tmp_path):
    folder = tmp_path / "sw"
    folder.mkdir()
    (folder / "metadata.json").write_text("{")
    (folder / "summary.csv").write_text("point,kpi,mean\n0,cost_per_year,1\n")
    code, err = run_cli(["report", str(folder)])
    assert code == 2 and f"{folder / 'metadata.json'} cannot be read (not JSON): {DAMAGED}" in err, err


def test_any_file_cut_or_emptied_is_read_or_refused_never_a_crash(run_folder, tmp_path):
    """Every table and JSON file of a run folder, emptied, replaced or cut at a third: the report
    is built (an optional table read as absent) or refused, exit 0 or 2, never 70."""
    names = sorted(str(p.relative_to(run_folder)) for p in run_folder.rglob("*")
                   if p.suffix in (".csv", ".json", ".parquet"))
    assert "kpis.csv" in names and "metadata.json" in names
    for i, name in enumerate(names):
        data = (run_folder / name).read_bytes()
        for j, content in enumerate((b"", b"garbage\n", data[: len(data) // 3])):
            folder = _damaged_copy(run_folder, tmp_path / f"{i}-{j}", name, content)
            code, err = run_cli(["report", str(folder)])
            assert code in (0, 2) and (code == 0 or DAMAGED in err), (name, content[:40], err)


def test_the_readers_say_what_is_missing(tmp_path):
    assert read_object(tmp_path / "none.json") is None and read_table(tmp_path / "none.csv") is None
    (tmp_path / "t.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DamagedFile, match=r"t.csv cannot be read \(no columns 'kpi' and 'mean'\)"):
        read_table(tmp_path / "t.csv", required=("kpi", "mean", "a"))
    (tmp_path / "h.csv").write_text("a,b\n")
    with pytest.raises(DamagedFile, match="a header without rows"):
        read_table(tmp_path / "h.csv", rows=True)
    assert issubclass(DamagedFile, IcssimError)   # exit status 2
