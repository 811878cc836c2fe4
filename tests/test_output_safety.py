"""Issue 18, the output side: nothing lost, nothing overwritten, never written outside --out.

Each test names the finding it covers: paths built from names stay inside the output folder,
two writers of one folder both keep their results, a sweep's --restart touches only a sweep's
folder, CSV text cannot run as a spreadsheet formula, the same seed gives the same bytes, and
a full disk leaves nothing half-written and says so.
"""

from __future__ import annotations

import errno
import json
import multiprocessing as mp
import os
import re
from pathlib import Path

import pandas as pd
import pytest

from icssim import experiments, output_folder, results, tables
from icssim.errors import IcssimError
from icssim.output_folder import OutputConflict, OutputError, inside
from icssim.results import write_run
from icssim.scenario import load_scenario
from icssim.tables import write_csv
from test_cli_validate import VALID

#: The small scenario of test_cli_validate, dated, with a description a spreadsheet would run.
SCENARIO = VALID.replace("  population: 100000\n", "  population: 100000\n  start_date: 2025-04-01\n"
                         '  description: "=HYPERLINK(\\"http://evil.example\\",\\"click\\")"\n', 1)


def _scenario(tmp_path: Path, name: str = "small.yaml"):
    path = tmp_path / name
    path.write_text(SCENARIO)
    return load_scenario(path)


def _comparison(tmp_path: Path, seed: int = 3):
    a, b = _scenario(tmp_path, "a.yaml"), _scenario(tmp_path, "b.yaml")
    _rename(b, "other")
    return experiments.compare([a, b], 2, seed=seed, workers=1)


def _rename(scenario, name: str) -> None:
    """Give a validated scenario a name the schema might refuse: what reaches the writers if
    a check upstream is ever missed."""
    object.__setattr__(scenario.scenario, "name", name)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return experiments.run(_scenario(tmp_path_factory.mktemp("scn")), 2, seed=7, workers=1)


def _everything(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial" in p.name or ".old-" in p.name)


# ----------------------------------------------------------------------------- 1. paths stay inside
@pytest.mark.parametrize("name", [".", "..", "a/b", "", "x\\y"])
def test_inside_refuses_names_that_are_not_one_plain_component(tmp_path, name):
    with pytest.raises(IcssimError, match="cannot name a file or folder inside"):
        inside(tmp_path, name)


def test_inside_refuses_a_symbolic_link_out_of_the_folder(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "link").symlink_to(tmp_path)
    with pytest.raises(IcssimError, match="is not inside"):
        inside(tmp_path / "out", "link")
    assert inside(tmp_path / "out", "fine") == tmp_path / "out" / "fine"


@pytest.mark.parametrize("name", [".", "..", "a/b", "plots", "metadata.json"])
def test_compare_with_a_dangerous_scenario_name_writes_nothing_anywhere(tmp_path, name):
    root = tmp_path / "root"
    (root / "results" / "earlier").mkdir(parents=True)
    (root / "results" / "earlier" / "kpis.csv").write_text("precious\n")
    (root / "kpis.csv").write_text("parent's own\n")
    comparison = _comparison(tmp_path)
    _rename(comparison.results[1].scenario, name)
    before = _everything(root)
    with pytest.raises(IcssimError, match="cannot name a file or folder|cannot have its own folder"):
        results.write_comparison(comparison, root / "results" / "cmp", force=True, workers=1)
    assert _everything(root) == before
    assert (root / "kpis.csv").read_text() == "parent's own\n"


def test_compare_refuses_two_scenarios_with_one_name(tmp_path):
    comparison = _comparison(tmp_path)
    _rename(comparison.results[0].scenario, "Same")
    _rename(comparison.results[1].scenario, "same")
    with pytest.raises(IcssimError, match="two scenarios are named 'Same' and 'same'"):
        results.write_comparison(comparison, tmp_path / "cmp", workers=1)
    assert not (tmp_path / "cmp").exists()


@pytest.mark.parametrize("name", [".", ".."])
def test_run_named_dot_or_dotdot_cannot_replace_the_results_folder_or_its_parent(tmp_path, result, name):
    """The CLI's default --out is results/<name>: results/. is results/ itself, results/.. its parent."""
    results_dir = tmp_path / "results"
    (results_dir / "colleague").mkdir(parents=True)
    (results_dir / "colleague" / "metadata.json").write_text('{"kind": "run"}')
    before = _everything(tmp_path)
    _rename(result.scenario, name)
    try:
        with pytest.raises(IcssimError, match="not an icssim results folder|does not name a results folder"):
            write_run(result, results_dir / name, force=True)
    finally:
        _rename(result.scenario, "small")
    assert _everything(tmp_path) == before


def test_warmup_into_dotdot_is_refused(tmp_path):
    with pytest.raises(IcssimError, match="does not name a results folder"):
        results.write_warmup(None, "x", tmp_path / "results" / "..", force=True)


def test_sweep_named_dotdot_cannot_default_its_output_outside_results(tmp_path, monkeypatch):
    from icssim.sweep.runner import prepare

    (tmp_path / "small.yaml").write_text(SCENARIO)
    (tmp_path / "sweep.yaml").write_text(json.dumps({
        "sweep": {"name": "..", "seed": 3, "replications": 2}, "base": "small.yaml",
        "parameters": {"services.team.staff.clinician.wte": {"values": [2, 3]}}}))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(IcssimError, match=r"sweep.name: expected a name .* \(it names the results folder\), found '..'"):
        prepare(tmp_path / "sweep.yaml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.yaml", "sweep.yaml"]


# ----------------------------------------------------------------------------- 2. two writers
def _write_in_child(args):
    out, force, barrier, queue = args
    try:
        barrier.wait(timeout=60)
        write_run(_RESULT, Path(out), force=force)
        queue.put(("ok", os.getpid(), ""))
    except IcssimError as exc:
        queue.put((type(exc).__name__, os.getpid(), str(exc)))
    except BaseException as exc:  # pragma: no cover - the test reports it
        queue.put(("crash", os.getpid(), repr(exc)))


_RESULT = None


def _two_writers(result, out: Path, force: bool, watch: bool = False):
    global _RESULT
    _RESULT = result
    ctx = mp.get_context("fork")
    barrier, queue = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_write_in_child, args=((str(out), force, barrier, queue),)) for _ in range(2)]
    for p in procs:
        p.start()
    missing_metadata = 0
    while any(p.is_alive() for p in procs):
        if watch and out.exists() and not (out / "metadata.json").exists():
            missing_metadata += 1
    for p in procs:
        p.join(timeout=120)
    answers = sorted(queue.get(timeout=10) for _ in procs)
    return answers, missing_metadata


def test_two_runs_into_one_folder_both_keep_their_results(tmp_path, result):
    out = tmp_path / "results" / "same"
    (tmp_path / "results").mkdir()
    stale = tmp_path / "results" / ".same.partial-999999-deadbeef"   # left by a killed run
    stale.mkdir()
    answers, _ = _two_writers(result, out, force=False)
    kinds = [a[0] for a in answers]
    assert kinds == ["OutputConflict", "ok"], answers
    message = answers[0][2]
    kept = tmp_path / "results" / "same-2"
    assert f"results were kept in {kept}/" in message and "another process" in message
    for folder in (out, kept):
        assert (folder / "metadata.json").is_file() and (folder / "kpis.csv").is_file()
        assert (folder / "report.html").is_file() and (folder / "plots" / "wait_ecdf.png").is_file()
    assert _temporaries(tmp_path / "results") == [stale.name]   # never blocks, never another's to delete


def test_two_forced_runs_into_one_folder_never_leave_it_without_metadata(tmp_path, result):
    out = tmp_path / "same"
    write_run(result, out)
    answers, missing = _two_writers(result, out, force=True, watch=True)
    assert [a[0] for a in answers] == ["ok", "ok"], answers
    assert missing == 0
    assert (out / "metadata.json").is_file() and (out / "kpis.csv").is_file()
    assert _temporaries(tmp_path) == [] and not (tmp_path / "same-2").exists()


def test_a_folder_that_appears_while_writing_is_left_alone(tmp_path, result, monkeypatch):
    """Without --force: whoever made ``out`` meanwhile (another tool, an empty mkdir) keeps it."""
    out = tmp_path / "out"
    real = results._write_run_files

    def slow(res, folder, **kw):
        real(res, folder, **kw)
        out.mkdir()
        (out / "notes.txt").write_text("mine")

    monkeypatch.setattr(results, "_write_run_files", slow)
    with pytest.raises(OutputConflict, match=f"kept in {tmp_path / 'out-2'}/"):
        write_run(result, out)
    assert (out / "notes.txt").read_text() == "mine" and sorted(os.listdir(out)) == ["notes.txt"]
    assert (tmp_path / "out-2" / "metadata.json").is_file()


def test_the_command_whose_folder_was_taken_ends_done_with_a_warning(tmp_path, monkeypatch, capsys):
    """Its results are complete, only elsewhere: exit 0 (not 2, "a mistake in the input"), and the
    warning names the folder they went to."""
    from icssim.cli import main

    out = tmp_path / "out"
    real = results._write_run_files

    def taken_meanwhile(res, folder, **kw):
        real(res, folder, **kw)
        out.mkdir()

    monkeypatch.setattr(results, "_write_run_files", taken_meanwhile)
    scenario = tmp_path / "s.yaml"
    scenario.write_text(VALID)
    assert main(["run", str(scenario), "--out", str(out), "-n", "2", "-w", "1", "-q"]) == 0
    err = capsys.readouterr().err
    assert f"icssim: warning: {out} was written by another process while this one was writing" in err
    assert f"kept in {tmp_path / 'out-2'}/" in err
    assert (tmp_path / "out-2" / "metadata.json").is_file()


# ----------------------------------------------------------------------------- 3. --force, --restart
def test_force_refuses_to_replace_a_folder_that_is_not_a_run(tmp_path, result):
    mine = tmp_path / "documents"
    mine.mkdir()
    (mine / "thesis.docx").write_text("years of work")
    with pytest.raises(IcssimError, match="not an icssim results folder.*refusing to replace it with --force"):
        write_run(result, mine, force=True)
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "metadata.json").write_text('{"kind": "sweep"}')
    with pytest.raises(IcssimError, match="is a sweep folder: refusing to replace it with --force"):
        write_run(result, sweep, force=True)
    assert (mine / "thesis.docx").read_text() == "years of work" and (sweep / "metadata.json").is_file()
    write_run(result, tmp_path / "run", force=True)
    write_run(result, tmp_path / "run", force=True)   # a run's folder: --force replaces it
    assert _temporaries(tmp_path) == []


def _sweep_file(tmp_path: Path) -> Path:
    (tmp_path / "small.yaml").write_text(SCENARIO)
    path = tmp_path / "sweep.yaml"
    path.write_text(json.dumps({"sweep": {"name": "t", "seed": 3, "replications": 2}, "base": "small.yaml",
                                "parameters": {"services.team.staff.clinician.wte": {"values": [2, 3]}}}))
    return path


@pytest.mark.parametrize("restart", [True, False])
def test_sweep_restart_into_a_run_folder_deletes_nothing(tmp_path, result, restart):
    from icssim.sweep.runner import prepare

    run_folder = write_run(result, tmp_path / "run")
    before = {p: p.read_bytes() for p in run_folder.rglob("*") if p.is_file()}
    with pytest.raises(IcssimError, match="is a run folder, not a sweep's: refusing"):
        prepare(_sweep_file(tmp_path), out=run_folder, restart=restart)
    assert {p: p.read_bytes() for p in run_folder.rglob("*") if p.is_file()} == before


def test_sweep_restart_refuses_any_folder_without_a_sweep(tmp_path):
    from icssim.sweep.runner import prepare

    folder = tmp_path / "other"
    folder.mkdir()
    (folder / "metadata.json").write_text("{}")
    (folder / "report.html").write_text("keep")
    with pytest.raises(IcssimError, match="is not a sweep output folder.*refusing to delete anything"):
        prepare(_sweep_file(tmp_path), out=folder, restart=True)
    assert (folder / "report.html").read_text() == "keep"


# ----------------------------------------------------------------------------- 4. CSV injection
EVIL = '=HYPERLINK("http://evil.example","click")'


def test_csv_text_that_a_spreadsheet_would_run_is_neutralised_and_numbers_are_not(tmp_path):
    df = pd.DataFrame({
        "label": [EVIL, "+1+2", "-2+A1", "@SUM(A1)", "\tx", "\rx", "'=x", "-5", "+3.5", "1e-4", "plain", None],
        "value": [-5.5, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        "cat": pd.Categorical(["=1+1", "ok"] * 6),
        "=name": range(12),
    })
    write_csv(df, tmp_path / "t.csv")
    back = pd.read_csv(tmp_path / "t.csv", dtype=str, keep_default_na=False)
    assert back["label"].tolist() == ["'" + EVIL, "'+1+2", "'-2+A1", "'@SUM(A1)", "'\tx", "'\rx", "''=x",
                                      "-5", "+3.5", "1e-4", "plain", ""]
    assert back["cat"].tolist()[:2] == ["'=1+1", "ok"]
    assert list(back.columns) == ["label", "value", "cat", "'=name"]
    numbers = pd.read_csv(tmp_path / "t.csv")
    assert numbers["value"].tolist()[:2] == [-5.5, -1] and numbers["value"].dtype.kind == "f"
    # and icssim reads its own CSVs back as they were
    restored = tables.read_csv(tmp_path / "t.csv", dtype=str, keep_default_na=False)
    assert restored["label"].tolist()[:7] == [EVIL, "+1+2", "-2+A1", "@SUM(A1)", "\tx", "\rx", "'=x"]
    assert "=name" in restored.columns


def test_csv_of_mixed_objects_is_neutralised_too(tmp_path):
    df = pd.DataFrame({"value": [1, EVIL, 3.5, None, -2]})
    write_csv(df, tmp_path / "m.csv")
    assert pd.read_csv(tmp_path / "m.csv", dtype=str)["value"].tolist()[:2] == ["1", "'" + EVIL]


def test_a_run_writes_no_formula_into_any_csv(tmp_path, result):
    out = write_run(result, tmp_path / "run")
    params = pd.read_csv(out / "parameters.csv", dtype=str, keep_default_na=False).set_index("path")
    assert params.loc["scenario.description", "value"] == "'" + EVIL
    for csv in out.rglob("*.csv"):
        text = pd.read_csv(csv, dtype=str, keep_default_na=False)
        for col in text.columns:
            cells = text[col]
            risky = cells.str.match(r"^[=+\-@\t\r]") & ~cells.str.fullmatch(r"[+-]?[0-9.]+([eE][+-]?[0-9]+)?")
            assert not risky.any(), (csv.name, col, cells[risky].tolist()[:3])
    report = (out / "report.html").read_text()
    assert "&#x27;=HYPERLINK" not in report and "'=HYPERLINK" not in report   # shown as written


def test_compare_of_a_scenario_named_like_a_formula_neutralises_and_reports_it(tmp_path):
    a, b = _scenario(tmp_path, "a.yaml"), _scenario(tmp_path, "b.yaml")
    _rename(b, "-cheaper")
    comparison = experiments.compare([a, b], 2, seed=3, workers=1)
    out = results.write_comparison(comparison, tmp_path / "cmp", workers=1)
    summary = pd.read_csv(out / "summary.csv", dtype=str)
    assert set(summary["scenario"]) == {"small", "'-cheaper"}
    assert (out / "-cheaper" / "kpis.csv").is_file()
    assert "-cheaper" in (out / "report.html").read_text()


# ----------------------------------------------------------------------------- 5. same seed, same bytes
def test_same_seed_gives_byte_identical_tables(tmp_path):
    scenario = _scenario(tmp_path)
    first = write_run(experiments.run(scenario, 2, seed=11, workers=1), tmp_path / "first")
    second = write_run(experiments.run(scenario, 2, seed=11, workers=1), tmp_path / "second")
    tables = sorted(str(p.relative_to(first)) for p in first.rglob("*") if p.suffix in (".csv", ".parquet"))
    assert {"kpis.csv", "kpis_by_replication.csv", "patients.csv", "patients.parquet", "timeseries.csv",
            "costs.csv", "parameters.csv", "monthly.csv", "visits.parquet"} <= set(tables), tables
    assert tables == sorted(str(p.relative_to(second)) for p in second.rglob("*")
                            if p.suffix in (".csv", ".parquet"))
    different = [t for t in tables if (first / t).read_bytes() != (second / t).read_bytes()]
    assert different == []
    assert "wall_seconds" not in (first / "kpis.csv").read_text()
    assert "wall_seconds" not in (first / "kpis_by_replication.csv").read_text()
    meta = json.loads((first / "metadata.json").read_text())
    assert len(meta["replication_wall_seconds"]) == 2 and meta["simulation_seconds"] >= 0


def test_same_seed_gives_byte_identical_comparison_tables(tmp_path):
    outs = [results.write_comparison(_comparison(tmp_path, seed=5), tmp_path / f"c{i}", workers=1)
            for i in (1, 2)]
    tables = sorted(str(p.relative_to(outs[0])) for p in outs[0].rglob("*") if p.suffix in (".csv", ".parquet"))
    assert "summary.csv" in tables and "differences.csv" in tables and "other/kpis.csv" in tables
    assert [t for t in tables if (outs[0] / t).read_bytes() != (outs[1] / t).read_bytes()] == []
    assert "wall_seconds" not in (outs[0] / "summary.csv").read_text()


# ----------------------------------------------------------------------------- 6. disk full
def _full_disk(monkeypatch, when=lambda path: True):
    real = tables.write_csv

    def write_csv(df, path):
        if when(Path(path)):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(df, path)

    monkeypatch.setattr(tables, "write_csv", write_csv)


def test_a_full_disk_leaves_nothing_half_written_and_says_so(tmp_path, result, monkeypatch):
    out = tmp_path / "results" / "run"
    _full_disk(monkeypatch)
    monkeypatch.setattr(output_folder, "_other_disk", lambda out: None)
    with pytest.raises(OutputError, match=rf"could not write the results to {out}/: the disk is full") as caught:
        write_run(result, out)
    assert "nothing was left half-written" in str(caught.value) and "free some space" in str(caught.value)
    assert not out.exists() and _temporaries(tmp_path / "results") == []


def test_a_full_disk_keeps_the_results_on_another_disk_when_it_can(tmp_path, result, monkeypatch):
    out = tmp_path / "results" / "run"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _full_disk(monkeypatch, when=lambda path: str(tmp_path / "results") in str(path))
    monkeypatch.setattr(output_folder, "_other_disk", lambda out: elsewhere)
    with pytest.raises(OutputError, match="the disk is full") as caught:
        write_run(result, out)
    kept = [p for p in elsewhere.iterdir()]
    assert len(kept) == 1 and f"the results were written to {kept[0]}/ instead" in str(caught.value)
    assert (kept[0] / "kpis.csv").is_file() and (kept[0] / "metadata.json").is_file()
    assert not out.exists() and _temporaries(tmp_path / "results") == []


def test_a_full_disk_ends_the_command_with_status_1(tmp_path, monkeypatch, capsys):
    """The machine refused, not the user erred: status 1, as the README's exit statuses say."""
    from icssim.cli import main

    _full_disk(monkeypatch)
    monkeypatch.setattr(output_folder, "_other_disk", lambda out: None)
    scenario = tmp_path / "s.yaml"
    scenario.write_text(VALID)
    assert main(["run", str(scenario), "--out", str(tmp_path / "run"), "-n", "2", "-w", "1", "-q"]) == 1
    err = capsys.readouterr().err
    assert "icssim: error: could not write the results to" in err and "the disk is full" in err


def test_an_interrupted_write_leaves_nothing(tmp_path, result, monkeypatch):
    def interrupted(df, path):
        raise KeyboardInterrupt

    monkeypatch.setattr(tables, "write_csv", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_run(result, tmp_path / "run")
    assert os.listdir(tmp_path) == []


def _locked(tmp_path: Path, monkeypatch, how: str) -> Path:
    """A folder nothing can be made in. ``real``: its permissions say so (read and enter only),
    which binds everyone but root (skipped as root: root may write anywhere). ``simulated``: the
    system calls that make a folder or move one into it fail as they do there without root,
    PermissionError EACCES, so that root (CI) checks the same behaviour."""
    locked = tmp_path / "locked"
    if how == "real":
        if os.geteuid() == 0:
            pytest.skip("root may write anywhere")
        locked.mkdir(mode=0o500)
        return locked
    locked.mkdir()

    def refused(path) -> bool:
        return Path(os.fsdecode(path)).absolute().parent == locked

    def no(path):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(path))

    real_mkdir, real_rename, real_replace = os.mkdir, os.rename, os.replace

    def mkdir(path, mode=0o777, *, dir_fd=None):
        return no(path) if refused(path) else real_mkdir(path, mode, dir_fd=dir_fd)

    def rename(src, dst, **kw):
        return no(dst) if refused(dst) else real_rename(src, dst, **kw)

    def replace(src, dst, **kw):
        return no(dst) if refused(dst) else real_replace(src, dst, **kw)

    monkeypatch.setattr(os, "mkdir", mkdir)   # (pathlib's Path.mkdir and tempfile call os.mkdir)
    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(os, "replace", replace)
    return locked


@pytest.mark.parametrize("how", ["real", "simulated"])
def test_an_unwritable_parent_is_a_message(tmp_path, result, monkeypatch, how):
    locked = _locked(tmp_path, monkeypatch, how)
    out = locked / "run"
    with pytest.raises(OutputError, match=rf"^could not write the results to {re.escape(str(out))}/: permission denied") as caught:
        write_run(result, out)
    assert "\n" not in str(caught.value)
    assert os.listdir(locked) == []   # nothing half-written, no temporary folder left


@pytest.mark.parametrize("how", ["real", "simulated"])
def test_an_unwritable_parent_ends_the_command_with_status_1(tmp_path, monkeypatch, capsys, how):
    """One sentence on stderr (no traceback), status 1 (the machine refused: README's exit
    statuses), and nothing written in the folder."""
    from icssim.cli import main

    locked = _locked(tmp_path, monkeypatch, how)
    scenario = tmp_path / "s.yaml"
    scenario.write_text(VALID)
    assert main(["run", str(scenario), "--out", str(locked / "run"), "-n", "2", "-w", "1", "-q"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"icssim: error: could not write the results to {locked / 'run'}/: permission denied")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert os.listdir(locked) == []


def test_a_report_built_in_the_temporary_folder_names_the_final_one(tmp_path, result):
    out = write_run(result, tmp_path / "my-run")
    assert "icssim report my-run<" in (out / "report.html").read_text()   # outside the current folder: its name
