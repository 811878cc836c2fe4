"""Read scenario YAML safely, merge ``extends`` chains, validate, and report mistakes by line.

YAML is parsed with ruamel's round-trip loader so that every key keeps its file and
line (for error messages) and its comment (each default's cited source, shown in
reports). Explicit YAML tags are refused outright, so nothing in a file can run code.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from dataclasses import replace
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
    Override,
    Provenance,
    dotted,
    read_document,
)

# MAX_* and the messages are re-exported: tests and the docs' catalogue import them from here.
__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "MAX_NODES", "KeyPath", "Provenance", "data_path", "deep_merge",
           "error_message", "load_scenario", "provenance", "scenario_from_dict", "validate_data"]


def load_scenario(path: str | Path) -> Scenario:
    """Load, merge and validate a scenario file; raise :class:`ScenarioError` on any mistake (one
    that a file further down the ``extends`` chain caused at a base's line names that file's key)."""
    path = Path(path)
    raw, prov = _load_merged(path, chain=())
    prov.raw = raw
    prov.sha256 = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
    try:
        return validate_data(raw, prov)
    except ScenarioError as exc:
        raise ScenarioError(_with_overrides(exc.problems, raw, prov)) from None


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
    overrides = list(_overrides(base, data, (), prov))
    base_prov.overrides = [*(old for old in base_prov.overrides if not any(old.path[:len(new.path)] == new.path
                                                                           for new in overrides)), *overrides]
    _forget_replaced(base_prov, overrides)
    _forget_rewritten(base_prov, prov, data)
    base_prov.lines.update(prov.lines)
    base_prov.comments.update(prov.comments)
    return deep_merge(base, data), base_prov


def _forget_rewritten(base: Provenance, own: Provenance, data: dict[str, Any]) -> None:
    """Drop the base's comment on each key this file writes again on a line of its own with its value
    (a value, a list, a mapping in braces), without a comment: a comment is the source of what its
    line says, and that line is now this file's. A block mapping's key (``team:`` opening the lines
    below it) only leads to the keys it holds, and keeps the base's comment."""
    for key, at in own.lines.items():
        if key in base.comments and key not in own.comments:
            value: Any = data
            for part in key:
                value = value.get(part) if isinstance(value, dict) else None
            if not isinstance(value, dict) or any(own.lines.get((*key, sub)) == at for sub in value):
                del base.comments[key]


def _forget_replaced(prov: Provenance, overrides: list[Override]) -> None:
    """Drop the lines and comments the base recorded under keys this file replaced or removed: a
    replaced list's items are this file's, and the base's comment on them (the source of a value
    that is gone) must not be shown as the new value's."""
    replaced = [o.path for o in overrides]
    for table in (prov.lines, prov.comments):
        for key in [k for k in table if any(k[:len(r)] == r for r in replaced)]:
            del table[key]


def _overrides(base: dict[str, Any], data: dict[str, Any], at: KeyPath, prov: Provenance) -> Iterator[Override]:
    """The keys of ``data`` (a file that extends ``base``, its lines in ``prov``) that remove or
    replace a value of ``base`` as :func:`deep_merge` merges them: a ``null``, or a new value that is
    not a mapping merged into a mapping. Keys the base lacks add to it and override nothing."""
    for key, value in data.items():
        if key not in base:
            continue
        old, path = base[key], (*at, key)
        if isinstance(value, dict) and isinstance(old, dict):
            yield from _overrides(old, value, path, prov)
        elif value != old:
            file, line = prov.lines.get(path, (prov.files[-1], None))
            yield Override(path, file, line, old, removed=value is None)


#: Most overrides of an ``extends`` chain undone, one at a time, to find the problems each caused
#: (a validation each, a few milliseconds; a child file sets a handful)
MAX_UNDONE = 200


def _with_overrides(problems: list[Problem], raw: dict[str, Any], prov: Provenance) -> list[Problem]:
    """``problems`` of the merged scenario ``raw``, each one that a file further down the ``extends``
    chain caused by removing or replacing a base's key noted with that key and line:
    ``... staff role 'nurse' is not defined in service 'pmhs'; defined: none (services.pmhs.staff is
    set to null at child.yaml:6)``. Without the note such a problem names only the base's line.

    An override caused a problem when putting the base's value back (that override alone) makes
    the problem go and brings none of its own; this judges every kind of problem alike, whatever
    its message says. A problem inside what the override itself wrote already names its line."""
    notes: dict[int, list[str]] = {}
    now = {_gist(p) for p in problems}
    for override in prov.overrides[-MAX_UNDONE:]:
        left = _problems_without(override, raw, prov)
        if left is None or not left <= now:
            continue
        for i, problem in enumerate(problems):
            if _gist(problem) not in left and not _written_by(problem, override):
                notes.setdefault(i, []).append(str(override))
    return [replace(p, message=f"{p.message} ({'; '.join(notes[i])})") if i in notes else p
            for i, p in enumerate(problems)]


def _problems_without(override: Override, raw: dict[str, Any], prov: Provenance) -> set[tuple[str, str]] | None:
    """The gists of the problems ``raw`` has with ``override`` undone (the base's value put back);
    None when it cannot be undone or checked (a best-effort second look must never hide the first)."""
    undone = copy.deepcopy(raw)
    node: Any = undone
    for part in override.path[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        return None
    node[override.path[-1]] = copy.deepcopy(override.before)
    try:
        validate_data(undone, prov)
    except ScenarioError as exc:
        return {_gist(p) for p in exc.problems}
    except Exception:  # noqa: BLE001
        return None
    return set()


def _gist(problem: Problem) -> tuple[str, str]:
    """A problem's key path and message up to its hint (``; defined: ...`` lists what the file
    defines, which an undone override changes without the problem going)."""
    return problem.path, problem.message.split(";")[0]


def _written_by(problem: Problem, override: Override) -> bool:
    """Whether ``problem`` lies in what ``override`` wrote, in its own file: it names that line already."""
    key = dotted(override.path)
    return problem.file == override.file and (problem.path == key or problem.path.startswith(key + "."))


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
