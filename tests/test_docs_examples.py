"""Every complete scenario in docs/scenario-format.md loads, validates, compiles and runs briefly.

A block counts as complete when its first line is ``# complete scenario: <file>.yaml``; blocks are
written to one folder under those names (so an ``extends`` example can name an earlier block).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from icssim.model import compile_plan, simulate
from icssim.scenario import load_scenario, provenance, scenario_from_dict

DOC = Path(__file__).resolve().parents[1] / "docs" / "scenario-format.md"
BLOCK = re.compile(r"```yaml\n(.*?)```", re.S)
MARK = re.compile(r"^# complete scenario: (\S+\.yaml)\s*$")


def _blocks() -> list[str]:
    return BLOCK.findall(DOC.read_text(encoding="utf-8"))


def _complete() -> dict[str, str]:
    found = {}
    for block in _blocks():
        match = MARK.match(block.splitlines()[0])
        if match:
            found[match.group(1)] = block
    return found


def test_the_doc_has_complete_examples():
    names = list(_complete())
    assert {"minimal.yaml", "example.yaml", "example_integrated.yaml"} <= set(names)


@pytest.mark.parametrize("name", list(_complete()))
def test_complete_example_validates_and_runs(name, tmp_path):
    for other, text in _complete().items():
        (tmp_path / other).write_text(text, encoding="utf-8")
    scenario = load_scenario(tmp_path / name)
    raw = provenance(scenario).raw
    short = {**raw, "scenario": {**raw["scenario"], "horizon": 120, "warmup": 20}}
    short["scenario"].pop("sample_every", None)
    if scenario.scenario.time_unit == "hours":
        short["scenario"].update(horizon=2000, warmup=100)
    records = simulate(compile_plan(scenario_from_dict(short)))
    assert records.arrivals > 0
    assert records.arrivals == records.exits + records.in_system_end


def test_every_fragment_is_yaml():
    """Fragments are not whole scenarios, but they must at least parse (and carry no tags)."""
    for block in _blocks():
        YAML(typ="safe").load(block)


def test_every_schema_key_is_documented():
    from icssim.scenario.schema import known_keys

    # calendar keys (start dates, demand profiles, capacity plans, panels, initial state) are in
    # calendar.md, the course of illness (health:) in health.md
    text = "".join((DOC.parent / name).read_text(encoding="utf-8")
                   for name in (DOC.name, "calendar.md", "health.md"))
    missing = sorted(k for k in known_keys() if f"`{k}`" not in text)
    assert not missing, f"keys not documented in {DOC.name}, calendar.md or health.md: {missing}"
