"""Property-based attack on the command line (hypothesis): mutate a valid scenario's keys,
types, values, nesting, dates and names, and ask of every result that ``icssim validate``
exits 0 or gives a clear error (exit 2, every line naming the file), never a traceback, within
a time bound; and that ``icssim run`` of whatever validates exits 0 or 2, writing nothing
outside its output folder.

CI runs a fixed, bounded set of examples (``derandomize``); set ``ICSSIM_FUZZ_EXAMPLES`` to
explore more (e.g. 2000) with fresh random examples.
"""

from __future__ import annotations

import copy
import os
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from helpers import run_cli
from test_cli_validate import VALID

EXPLORE = int(os.environ.get("ICSSIM_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=EXPLORE or 120, derandomize=not EXPLORE, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
FUZZ_RUNS = settings(FUZZ, max_examples=EXPLORE // 10 or 12)

#: Values an attacker or a careless user might put anywhere.
HOSTILE: list[Any] = [
    None, True, False, 0, -1, 1, 0.5, -0.5, 1e308, -1e308, 1e-300, 10**30, -(10**30), float("nan"),
    float("inf"), "", " ", "x" * 300, ".", "..", "../..", "/etc/passwd", "a/b", "=cmd|' /C calc'!A0",
    "+1", "-1", "@SUM(A1)", "nan", ".inf", "-.inf", "1e308 days", "-1 days", "0 days", "1e-12 days",
    "3 per day", "10 fortnights", "2026-02-30", "9999-12-01", "0001-01-01", "2026-04-01", "ünïcødé",
    "\u202e", "routine", "assess", "done", "team", "clinician", [], {}, [None], [[[[[]]]]],
    {"dist": "gamma", "mean": 1, "sd": 1e-300}, {"dist": "empirical", "values": [1, 2], "weights": [1e308, 1e308]},
    {"dist": "exponential", "mean": "1e-12 days"}, {"dist": "nope"}, {"values": []}, {"to": "done", "p": 2},
    [{"to": "assess", "p": 0.999999999}, {"to": "done", "p": 1e-9}],
]

ROOT_KEYS = ["scenario", "attributes", "cohorts", "services", "pathway", "calendar", "capacity_plan",
             "initial_state", "deterioration", "extends", "name", "horizon", "seed", "rate", "kind", "next"]


def _base() -> dict[str, Any]:
    return YAML(typ="safe").load(VALID)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path in ``node`` (mappings and lists)."""
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _parent(doc: Any, path: tuple) -> tuple[Any, Any]:
    node = doc
    for part in path[:-1]:
        node = node[part]
    return node, path[-1]


@st.composite
def mutated(draw) -> dict[str, Any]:
    """The valid scenario with one to four mutations at random places."""
    doc = _base()
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _parent(doc, path)
        action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add", "rename", "nest",
                                       "number"]))
        if action == "replace":
            parent[key] = copy.deepcopy(draw(st.sampled_from(HOSTILE)))
        elif action == "delete":
            del parent[key]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(ROOT_KEYS))] = copy.deepcopy(draw(st.sampled_from(HOSTILE)))
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.sampled_from(ROOT_KEYS))] = parent.pop(key)
        elif action == "nest":
            parent[key] = {"nested": [parent[key]]}
        elif action == "number":
            parent[key] = draw(st.one_of(st.integers(-(10**20), 10**20),
                                         st.floats(allow_nan=True, allow_infinity=True)))
    return doc


#: Valid additions to the scenario's one assessment step, so that runs reach more of the engine.
STEP_EXTRAS: list[dict[str, Any]] = [
    {"dropout": {"mean_time": "8 weeks"}}, {"missed": {"probability": 0.2}},
    {"queue": "fifo"}, {"duration": {"dist": "gamma", "mean": "2 hours", "sd": "1 hour"}},
    {"duration": {"dist": "lognormal", "mean": "1 hour", "sd": "3 hours"}},
    {"duration": {"dist": "empirical", "values": [1, 2, 3], "weights": [1, 0, 5]}},
    {"next": [{"to": "done", "when": "age < 12"}, {"to": "other"}]},
    {"next": [{"to": "assess", "p": 0.5}, {"to": "done", "p": 0.5}]},
]


@st.composite
def plausible(draw) -> dict[str, Any]:
    """The valid scenario with its numbers scaled (to 0, tiny or huge) and valid features added:
    mostly files that validate, so that runs exercise the engine and the writers."""
    doc = _base()
    for path in _paths(doc):
        if not path:
            continue
        parent, key = _parent(doc, path)
        value = parent[key]
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if numeric and key not in ("p", "low", "high", "weights") and draw(st.booleans()):
            factor = draw(st.sampled_from([0, 1e-6, 0.01, 0.5, 2, 10, 1000]))
            parent[key] = type(value)(value * factor) if isinstance(value, float) else int(value * factor)
    step = doc["pathway"]["steps"]["assess"]
    for extra in draw(st.lists(st.sampled_from(STEP_EXTRAS), max_size=3)):
        step.update(copy.deepcopy(extra))
    doc["scenario"]["name"] = draw(st.sampled_from(["small"] * 6 + ["a.b", "x-1", "=cmd", ".", ".."]))
    return doc


def _write(folder: Path, doc: Any) -> Path:
    path = folder / "fuzz.yaml"
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    with path.open("w", encoding="utf-8") as f:
        yaml.dump(doc, f)
    return path


def _check_clear(code: int, err: str, path: Path) -> None:
    assert code in (0, 2), f"exit {code}:\n{err}"
    assert "Traceback" not in err and "internal error" not in err, err
    if code == 2:
        lines = [line.strip() for line in err.splitlines() if line.strip()]
        assert lines, "exit 2 without a message"
        assert all(str(path) in line or line.startswith(str(path)) or "INVALID" in line for line in lines), err


@FUZZ
@given(doc=mutated())
def test_validate_never_crashes(tmp_path_factory, doc):
    folder = tmp_path_factory.mktemp("fuzz")
    path = _write(folder, doc)
    started = time.perf_counter()
    code, err = run_cli(["validate", str(path)])
    assert time.perf_counter() - started < 20, "validation took too long"
    _check_clear(code, err, path)


@FUZZ_RUNS
@given(doc=st.one_of(plausible(), plausible(), plausible(), mutated()))
def test_run_never_crashes_or_writes_outside(tmp_path_factory, doc):
    folder = tmp_path_factory.mktemp("fuzzrun")
    path = _write(folder, doc)
    work = folder / "work"
    work.mkdir()
    out = work / "out"
    started = time.perf_counter()
    code, err = run_cli(["run", str(path), "--out", str(out), "-n", "2", "-w", "1", "-q"])
    assert time.perf_counter() - started < 120, "the run took too long"
    assert code in (0, 2), f"exit {code}:\n{err}"
    assert "Traceback" not in err and "internal error" not in err, err
    assert sorted(p.name for p in folder.iterdir()) == ["fuzz.yaml", "work"]
    written = {p.name for p in work.iterdir()}
    assert written <= {"out", "out-incomplete"}, written
    if code == 0:
        assert (out / "metadata.json").is_file()
    else:
        assert not out.exists()


@pytest.mark.parametrize("name", [".", "..", "../escape", "a/b", "-rf", "x" * 300, "=cmd", "ünï", ""])
def test_hostile_scenario_names(tmp_path, name):
    """The names that once wrote outside --out or crashed: refused or kept inside, never a traceback."""
    doc = _base()
    doc["scenario"]["name"] = name
    work = tmp_path / "work"
    work.mkdir()
    path = _write(tmp_path, doc)
    code, err = run_cli(["run", str(path), "--out", str(work / "out"), "-n", "2", "-w", "1", "-q"])
    assert code in (0, 2) and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fuzz.yaml", "work"]
    assert {p.name for p in work.iterdir()} <= {"out"}
