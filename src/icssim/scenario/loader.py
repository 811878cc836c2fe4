"""Read scenario YAML safely, merge ``extends`` chains, validate, and report mistakes by line.

YAML is parsed with ruamel's round-trip loader so that every key keeps its file and
line (for error messages) and its comment (each default's cited source, shown in
reports). Explicit YAML tags are refused outright, so nothing in a file can run code.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from icssim.errors import Problem, ScenarioError
from icssim.scenario.schema import Scenario
from icssim.scenario.messages import data_path, error_message, problems_from_validation
from icssim.scenario.partial_checks import findings_despite
from icssim.scenario.yaml_reader import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NODES,
    SCENARIO_FILE,
    KeyPath,
    Provenance,
    dotted,
    read_document,
)

# MAX_* and the messages are re-exported: tests and the docs' catalogue import them from here.
__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "MAX_NODES", "KeyPath", "Provenance", "data_path", "deep_merge",
           "error_message", "load_scenario", "provenance", "scenario_from_dict", "validate_data"]


def load_scenario(path: str | Path) -> Scenario:
    """Load, merge and validate a scenario file; raise :class:`ScenarioError` on any mistake."""
    path = Path(path)
    raw, prov = _load_merged(path, chain=())
    prov.raw = raw
    prov.sha256 = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
    return validate_data(raw, prov)


def validate_data(raw: dict[str, Any], prov: Provenance) -> Scenario:
    """Validate merged scenario data (from a file or built in code) against schema and checks."""
    from icssim.scenario.checks import check_scenario

    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:  # every problem in one pass: the schema's, then the references'
        problems = problems_from_validation(exc, raw, prov)
        seen = {p.path for p in problems}
        problems += [Problem(*prov.where(path), dotted(path), message)
                     for path, message in findings_despite(exc, raw, prov) if dotted(path) not in seen]
        raise ScenarioError(sorted(problems, key=_in_file_order)) from None
    scenario._provenance = prov  # before the checks: they resolve files named relative to the scenario
    problems = [
        Problem(*prov.where(path), dotted(path), message) for path, message in check_scenario(scenario)
    ]
    if problems:
        raise ScenarioError(problems)
    scenario._provenance = prov
    return scenario


def _in_file_order(problem: Problem) -> tuple[str, int]:
    return problem.file, problem.line if problem.line is not None else 1 << 30


def scenario_from_dict(raw: dict[str, Any], name: str = "<dict>") -> Scenario:
    """Validate a scenario given as a Python dict (as a notebook or a sweep builds it)."""
    raw = copy.deepcopy(raw)
    digest = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
    return validate_data(raw, Provenance(files=[name], sha256=digest, raw=raw))


def provenance(scenario: Scenario) -> Provenance:
    """The provenance recorded when ``scenario`` was loaded."""
    prov = scenario._provenance
    if prov is None:
        raw = scenario.model_dump(mode="json")
        digest = hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()
        prov = Provenance(files=["<memory>"], sha256=digest, raw=raw)
    return prov


def _load_merged(path: Path, chain: tuple[Path, ...]) -> tuple[dict[str, Any], Provenance]:
    resolved = path.resolve()
    prov = Provenance(files=[str(path)], sha256="", raw={})
    data = read_document(path, prov)
    extends_line = prov.lines.get(("extends",), ("", None))[1]
    base_name = data.pop("extends", None)
    if base_name is None:
        return data, prov
    if not isinstance(base_name, str):
        raise ScenarioError([Problem(str(path), extends_line, "extends",
                                     f"expected the path of a base scenario file, found {base_name!r}")])
    base_path = path.parent / base_name
    if not base_path.is_file():
        raise ScenarioError([Problem(str(path), extends_line, "extends",
                                     f"base scenario {str(base_path)!r} does not exist "
                                     f"(found {base_name!r}; expected a path relative to this file)")])
    if base_path.resolve() in (*chain, resolved):
        cycle = " -> ".join(p.name for p in (*chain, resolved, base_path.resolve()))
        raise ScenarioError([Problem(str(path), extends_line, "extends",
                                     f"'extends' goes round in a cycle ({cycle}); "
                                     f"expected a chain of base files that ends")])
    try:
        base, base_prov = _load_merged(base_path, (*chain, resolved))
    except ScenarioError as exc:
        if any(p.file == str(base_path) and not p.path for p in exc.problems):  # not a scenario at all
            raise ScenarioError([Problem(str(path), extends_line, "extends",
                                         f"{base_name!r} is not a usable base scenario: expected {SCENARIO_FILE} "
                                         f"(see the next line)"), *exc.problems]) from None
        raise
    base_prov.files.append(str(path))
    base_prov.lines.update(prov.lines)
    base_prov.comments.update(prov.comments)
    return deep_merge(base, data), base_prov


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into ``base``: mappings merge key by key, anything else replaces,
    and ``null`` removes the key."""
    merged = dict(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


#: Largest scenario file accepted, in bytes: scenarios are a few KB; beyond this a file is not one.
