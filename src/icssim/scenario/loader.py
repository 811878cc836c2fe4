"""Read scenario YAML safely, merge ``extends`` chains, validate, and report mistakes by line.

YAML is parsed with ruamel's round-trip loader so that every key keeps its file and
line (for error messages) and its comment (each default's cited source, shown in
reports). Explicit YAML tags are refused outright, so nothing in a file can run code.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from icssim.errors import Problem, ScenarioError
from icssim.scenario.schema import Scenario, known_keys

KeyPath = tuple[Any, ...]


@dataclass
class Provenance:
    """Where a scenario came from: files, content hash, merged data, and per-key lines and comments."""

    files: list[str]
    sha256: str
    raw: dict[str, Any]
    lines: dict[KeyPath, tuple[str, int]] = field(default_factory=dict)
    comments: dict[KeyPath, str] = field(default_factory=dict)

    def where(self, path: KeyPath) -> tuple[str, int | None]:
        """File and line of the deepest known key on ``path``."""
        for cut in range(len(path), 0, -1):
            if path[:cut] in self.lines:
                return self.lines[path[:cut]]
        return self.files[-1], None


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
    except ValidationError as exc:
        raise ScenarioError(_problems_from_validation(exc, raw, prov)) from None
    scenario._provenance = prov  # before the checks: they resolve files named relative to the scenario
    problems = [
        Problem(*prov.where(path), _dotted(path), message) for path, message in check_scenario(scenario)
    ]
    if problems:
        raise ScenarioError(problems)
    scenario._provenance = prov
    return scenario


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
    if resolved in chain:
        cycle = " -> ".join(str(p) for p in (*chain, resolved))
        raise ScenarioError([Problem(str(chain[-1]), None, "extends", f"'extends' cycle: {cycle}")])
    doc = _read_yaml(path)
    prov = Provenance(files=[str(path)], sha256="", raw={})
    _index(doc, (), str(path), prov)
    data = _plain(doc)
    base_name = data.pop("extends", None)
    if base_name is None:
        return data, prov
    if not isinstance(base_name, str):
        raise ScenarioError([Problem(str(path), _line(doc, "extends"), "extends",
                                     f"expected the path of a base scenario file, found {base_name!r}")])
    base_path = path.parent / base_name
    if not base_path.is_file():
        raise ScenarioError([Problem(str(path), _line(doc, "extends"), "extends",
                                     f"base scenario {str(base_path)!r} does not exist")])
    base, base_prov = _load_merged(base_path, (*chain, resolved))
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


def _read_yaml(path: Path) -> CommentedMap:
    if not path.exists():
        raise ScenarioError([Problem(str(path), None, "", "file not found")])
    if not path.is_file():
        raise ScenarioError([Problem(str(path), None, "", "not a file")])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(str(path), None, "", f"cannot read file: {exc}")]) from None
    try:
        doc = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        what = exc.problem or "invalid YAML"
        raise ScenarioError([Problem(str(path), line, "", f"not valid YAML: {what}")]) from None
    except YAMLError as exc:
        raise ScenarioError([Problem(str(path), None, "", f"not valid YAML: {exc}")]) from None
    if not isinstance(doc, CommentedMap):
        found = "an empty file" if doc is None else f"a {type(doc).__name__.replace('Commented', '').lower()}"
        raise ScenarioError([Problem(str(path), 1, "", f"expected a mapping of keys (scenario:, cohorts:, ...), found {found}")])
    return doc


def _index(node: Any, path: KeyPath, file: str, prov: Provenance) -> None:
    """Record line and comment of every key below ``node``; refuse explicit tags."""
    tag = getattr(node, "tag", None)
    tag_value = getattr(tag, "value", None) if tag is not None else None
    if tag_value:
        line = prov.lines.get(path, (file, None))[1]
        raise ScenarioError([Problem(file, line, _dotted(path),
                                     f"YAML tags such as {tag_value!r} are not allowed in scenario files")])
    if isinstance(node, CommentedMap):
        for key, value in node.items():
            prov.lines[(*path, key)] = (file, node.lc.key(key)[0] + 1)
            comment = _comment(node, key)
            if comment:
                prov.comments[(*path, key)] = comment
            _index(value, (*path, key), file, prov)
    elif isinstance(node, CommentedSeq):
        for i, value in enumerate(node):
            prov.lines[(*path, i)] = (file, node.lc.item(i)[0] + 1)
            _index(value, (*path, i), file, prov)


def _comment(node: CommentedMap, key: Any) -> str:
    tokens = node.ca.items.get(key) or []
    texts = []
    for token in tokens:
        for tok in token if isinstance(token, list) else [token]:
            value = getattr(tok, "value", None)
            if value:
                texts.append(value.split("\n")[0].lstrip("# ").strip())
    return " ".join(t for t in texts if t)


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def _line(doc: CommentedMap, key: str) -> int | None:
    try:
        return doc.lc.key(key)[0] + 1
    except (KeyError, AttributeError):
        return None


def _dotted(path: KeyPath) -> str:
    return ".".join(str(p) for p in path)


def _problems_from_validation(exc: ValidationError, raw: dict[str, Any], prov: Provenance) -> list[Problem]:
    problems: dict[str, Problem] = {}
    vocabulary = sorted(known_keys())
    for err in exc.errors():
        path = _data_path(err["loc"], raw)
        dotted = _dotted(path)
        if err["type"] == "extra_forbidden":
            key = str(path[-1]) if path else ""
            near = difflib.get_close_matches(key, vocabulary, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            message = f"unknown key {key!r}{hint}"
        elif err["type"] == "missing":
            message = "required key is missing"
        else:
            message = err["msg"].removeprefix("Value error, ")
            if "input" in err and not isinstance(err["input"], (dict, list)):
                message += f" (found {err['input']!r})"
        if dotted not in problems:
            problems[dotted] = Problem(*prov.where(path), dotted, message)
    return list(problems.values())


def _data_path(loc: tuple[Any, ...], raw: Any) -> KeyPath:
    """Map pydantic's error location onto the keys actually present in the data."""
    path: list[Any] = []
    node = raw
    for i, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            path.append(part)
            node = node[part]
        elif i == len(loc) - 1 and isinstance(part, (str, int)) and isinstance(node, dict):
            path.append(part)
    return tuple(path)
