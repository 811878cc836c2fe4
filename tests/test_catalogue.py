"""Every bad input of the catalogue (tests/catalogue.py) through the command line: the exit
status and message it promises, never a traceback, nothing written but what it must; and
docs/errors.md in step with the catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import run_cli
from catalogue import CASES, Case, markdown

DOCS = Path(__file__).resolve().parents[1] / "docs" / "errors.md"


def _prepare(case: Case, folder: Path) -> Path:
    path = folder / "fuzz.yaml"
    if isinstance(case.text, bytes):
        path.write_bytes(case.text)
    else:
        path.write_text(case.text, encoding="utf-8")
    for name, content in case.files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return path


def test_the_catalogue_has_at_least_100_cases_with_distinct_ids():
    ids = [c.id for c in CASES]
    assert len(CASES) >= 100 and len(set(ids)) == len(ids)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_gets_its_message(case, tmp_path):
    path = _prepare(case, tmp_path)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    args = [a.replace("{file}", str(path)).replace("{dir}", str(tmp_path)) for a in case.command]
    code, err = run_cli(args)
    assert code == case.code, err
    assert "Traceback" not in err and "internal error" not in err, err
    for fragment in case.expect:
        assert fragment in err, f"{fragment!r} not in:\n{err}"
    # a refused input changes nothing that was there, and leaves no results
    after = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    assert after == before, sorted(set(after) ^ set(before))


def test_docs_errors_md_lists_the_catalogue():
    assert DOCS.read_text(encoding="utf-8") == markdown(), \
        "docs/errors.md is out of date: python tests/catalogue.py > docs/errors.md"
