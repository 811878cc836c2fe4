"""``icssim report`` on a results folder one of whose files is damaged (a sync conflict, a copy cut
short, an emptied file): one message naming the file, exit status 2, never a parser's exception
(exit 70). Reading the folder back is :mod:`icssim.report.stored`'s alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from helpers import run_cli
from icssim import experiments
from icssim.errors import IcssimError
from icssim.report.stored import DamagedFile, check_recorded, read_object, read_table
from icssim.results import write_comparison, write_run
from icssim.scenario import load_scenario
from icssim.tables import RECORD_KEY
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


# ----------------------------------------------------------------------------- cut at a line break
def _cut_lines(path: Path, keep: int) -> None:
    """Keep the first ``keep`` lines of ``path``, each whole: a CSV cut so still parses, as fewer rows."""
    lines = path.read_bytes().splitlines(keepends=True)
    assert len(lines) > keep
    path.write_bytes(b"".join(lines[:keep]))


def _recorded(folder: Path, name: str) -> dict:
    return json.loads((folder / "metadata.json").read_text())[RECORD_KEY][name]


def test_every_table_written_is_recorded_as_it_reads_back(run_folder):
    """metadata.json records each table of a run with the rows a reader gets and its size."""
    record = json.loads((run_folder / "metadata.json").read_text())[RECORD_KEY]
    assert {"kpis.csv", "kpis_by_replication.csv", "parameters.csv", "patients.csv", "patients.parquet",
            "visits.parquet", "timeseries.csv", "timeseries.parquet", "costs.csv", "costs.parquet"} <= set(record)
    for name, entry in record.items():
        path = run_folder / name
        table = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        assert entry == {"rows": len(table), "bytes": path.stat().st_size}, name
        check_recorded(path, table)   # (no complaint)


@pytest.mark.parametrize(("name", "drop"), [("kpis.csv", 3), ("parameters.csv", 1), ("timeseries.csv", 1)])
def test_a_table_cut_at_a_line_break_is_named_with_the_rows_written(run_folder, tmp_path, name, drop):
    """It parsed as a shorter table: the report showed fewer measures, parameters or days without a word."""
    folder = tmp_path / "out1"
    shutil.copytree(run_folder, folder)
    (folder / "timeseries.parquet").unlink()   # (read before its CSV)
    rows = _recorded(folder, name)["rows"]
    _cut_lines(folder / name, rows + 1 - drop)   # the header and all but ``drop`` rows
    before = (folder / "report.html").read_bytes()
    code, err = run_cli(["report", str(folder)])
    assert code == 2, err
    assert (f"{folder / name} cannot be read ({rows - drop:,} rows where icssim wrote {rows:,}, as metadata.json "
            f"records): {DAMAGED}") in err
    assert (folder / "report.html").read_bytes() == before


def test_a_table_cut_inside_its_last_row_or_a_parquet_cut_short_is_named_with_its_size(run_folder, tmp_path):
    folder = tmp_path / "out1"
    shutil.copytree(run_folder, folder)
    text = (folder / "kpis.csv").read_bytes()
    (folder / "kpis.csv").write_bytes(text[: text.rstrip(b"\n").rfind(b",")])   # the last row lacks its last field
    code, err = run_cli(["report", str(folder)])
    size = _recorded(folder, "kpis.csv")["bytes"]
    assert code == 2 and (f"kpis.csv cannot be read ({(folder / 'kpis.csv').stat().st_size:,} bytes where icssim "
                          f"wrote {size:,}, as metadata.json records)") in err, err
    (folder / "kpis.csv").write_bytes(text)
    visits = (folder / "visits.parquet").read_bytes()
    (folder / "visits.parquet").write_bytes(visits[: len(visits) // 2])   # (was skipped without a word)
    code, err = run_cli(["report", str(folder)])
    assert code == 2 and f"{folder / 'visits.parquet'} cannot be read ({len(visits) // 2:,} bytes where" in err, err


def test_a_folder_written_before_the_record_still_reads(run_folder, tmp_path):
    folder = tmp_path / "out1"
    shutil.copytree(run_folder, folder)
    meta = json.loads((folder / "metadata.json").read_text())
    del meta[RECORD_KEY]
    (folder / "metadata.json").write_text(json.dumps(meta, indent=2))
    _cut_lines(folder / "kpis.csv", 10)   # (nothing to tell it from a shorter table)
    code, err = run_cli(["report", str(folder)])
    assert code == 0, err
    assert len(read_table(folder / "kpis.csv")) == 9


def test_a_record_that_is_not_one_is_ignored(tmp_path):
    (tmp_path / "metadata.json").write_text(json.dumps({"kind": "run", RECORD_KEY: {"t.csv": "3 rows"}}))
    (tmp_path / "t.csv").write_text("a,b\n1,2\n")
    assert len(read_table(tmp_path / "t.csv")) == 1
    (tmp_path / "metadata.json").write_text(json.dumps({"kind": "run", RECORD_KEY: {"t.csv": {"rows": 2}}}))
    with pytest.raises(DamagedFile, match=r"t.csv cannot be read \(1 row where icssim wrote 2"):
        read_table(tmp_path / "t.csv")


def test_a_comparison_and_its_scenarios_record_their_tables(tmp_path):
    root = tmp_path / "cmp"
    root.mkdir()
    (root / "a.yaml").write_text(VALID)
    (root / "b.yaml").write_text(VALID.replace("name: small", "name: more").replace("wte: 3", "wte: 4"))
    scenarios = [load_scenario(root / "a.yaml"), load_scenario(root / "b.yaml")]
    folder = write_comparison(experiments.compare(scenarios, 2, seed=5, workers=1), root / "out")
    assert set(json.loads((folder / "metadata.json").read_text())[RECORD_KEY]) >= {"summary.csv", "differences.csv"}
    assert "kpis.csv" in json.loads((folder / "more" / "metadata.json").read_text())[RECORD_KEY]
    for name in ("differences.csv", "more/kpis.csv"):
        shutil.copytree(folder, tmp_path / "cut", dirs_exist_ok=False)
        _cut_lines(tmp_path / "cut" / name, 3)
        code, err = run_cli(["report", str(tmp_path / "cut")])
        assert code == 2 and f"{tmp_path / 'cut' / name} cannot be read (2 rows where icssim wrote" in err, err
        shutil.rmtree(tmp_path / "cut")


def test_a_sweep_records_the_tables_its_report_reads(tmp_path):
    (tmp_path / "small.yaml").write_text(VALID)
    (tmp_path / "sweep.yaml").write_text("sweep: {name: s, replications: 2}\nbase: small.yaml\nkpis: [cost_per_year]\n"
                                         "parameters:\n  services.team.staff.clinician.wte: {values: [2, 3]}\n")
    folder = tmp_path / "sw"
    code, err = run_cli(["sweep", str(tmp_path / "sweep.yaml"), "--out", str(folder), "-q", "-w", "1"])
    assert code == 0, err
    record = json.loads((folder / "metadata.json").read_text())[RECORD_KEY]
    assert {"summary.csv", "summary.parquet", "points.csv"} <= set(record)
    rows = record["summary.csv"]["rows"]
    _cut_lines(folder / "summary.csv", rows)   # the header and all rows but the last
    code, err = run_cli(["report", str(folder)])
    assert code == 2 and f"summary.csv cannot be read ({rows - 1:,} rows where icssim wrote {rows:,}" in err, err
