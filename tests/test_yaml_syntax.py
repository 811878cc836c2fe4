"""YAML syntax errors named at the line of the mistake, with the key path and plain words."""

from __future__ import annotations

import pytest

from icssim.errors import ScenarioError
from icssim.scenario.yaml_reader import read_yaml
from icssim.scenario.yaml_syntax import key_path_at

BASE = """\
scenario:
  name: demo
services:
  team:
    label: Team
    staff:
      nurse: {wte: 2}
pathway:
  steps:
    triage:
      kind: triage
      service: team
      duration: 20 minutes
      next:
        - {p: 0.5, to: done}
        - p: 0.5
          to: done
    done: {kind: discharge}
"""


def _problem(tmp_path, old: str, new: str):
    assert old in BASE
    path = tmp_path / "s.yaml"
    path.write_text(BASE.replace(old, new, 1))
    with pytest.raises(ScenarioError) as err:
        read_yaml(path)
    [problem] = err.value.problems
    return problem


@pytest.mark.parametrize("old, new, line, path, words", [
    ("    label: Team", "\tlabel: Team", 5, "services.team.label", ["a tab character", "spaces"]),
    ("      duration: 20 minutes", "      duration:20 minutes\n      next2: x", 13, "pathway.steps.triage.duration",
     ["a key without ': '", "space after the colon"]),
    ("      service: team", "     service: team", 12, "pathway.steps.triage.service",
     ["indented by 5 spaces", "indented by 4 or 6"]),
    ("      duration: 20 minutes", "    duration: 20 minutes", 14, "pathway.steps.triage.next",
     ["indented deeper than line 13", "which already has a value"]),
    ("      duration: 20 minutes", "      duration: 20 minutes\n      duration: 30 minutes", 14,
     "pathway.steps.triage.duration", ["a duplicate key", "'duration' is given twice", "first at line 13"]),
    # a quote or bracket left open: the line that opened it, not where the parser gave up
    ("      service: team", '      service: "team\n      label: x', 12, "pathway.steps.triage.service",
     ["a quote opened on this line is never closed"]),
    ("      service: team\n      duration: 20 minutes", '      service: "team\n      duration: 20 minutes\n'
     '      label: "Triage"', 12, "pathway.steps.triage.service",
     ["a quote opened on this line is not closed on it", "the parser gave up at line 14"]),
    ("        - {p: 0.5, to: done}", "        - {p: 0.5, to: done\n", 15, "pathway.steps.triage.next.0",
     ["the '{' opened on this line is not closed before line", "expected '}'"]),
    ("      nurse: {wte: 2}", "      nurse: [2, 3", 7, "services.team.staff.nurse",
     ["the '[' opened on this line is not closed", "expected ']'"]),
], ids=["tab", "no_space", "under_indented", "dedented_key", "duplicate", "quote_to_the_end", "quote_to_a_later_quote",
        "open_brace", "open_bracket"])
def test_syntax_error_names_line_path_and_fix(tmp_path, old, new, line, path, words):
    problem = _problem(tmp_path, old, new)
    assert (problem.line, problem.path) == (line, path)
    assert problem.message.startswith("not valid YAML: ")
    for word in words:
        assert word in problem.message


def test_key_path_counts_list_items():
    lines = BASE.splitlines()
    assert key_path_at(lines, 15) == "pathway.steps.triage.next.0"
    assert key_path_at(lines, 16) == "pathway.steps.triage.next.1.p"
    assert key_path_at(lines, 17) == "pathway.steps.triage.next.1.to"
    assert key_path_at(lines, 18) == "pathway.steps.done"
    assert key_path_at(lines, 99) == ""
