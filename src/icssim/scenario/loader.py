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
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (CollectionEndEvent, CollectionStartEvent, MappingStartEvent, NodeEvent,
                                ScalarEvent)

from icssim.distributions import DIST_NAMES
from icssim.errors import Problem, ScenarioError
from icssim.scenario.schema import Categorical, Scenario, known_keys

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
                                     f"base scenario {str(base_path)!r} does not exist "
                                     f"(found {base_name!r}; expected a path relative to this file)")])
    if base_path.resolve() in (*chain, resolved):
        cycle = " -> ".join(p.name for p in (*chain, resolved, base_path.resolve()))
        raise ScenarioError([Problem(str(path), _line(doc, "extends"), "extends",
                                     f"'extends' goes round in a cycle ({cycle}); "
                                     f"expected a chain of base files that ends")])
    try:
        base, base_prov = _load_merged(base_path, (*chain, resolved))
    except ScenarioError as exc:
        if any(p.file == str(base_path) and not p.path for p in exc.problems):  # not a scenario at all
            raise ScenarioError([Problem(str(path), _line(doc, "extends"), "extends",
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
MAX_FILE_BYTES = 1_000_000
#: Deepest nesting of lists and mappings accepted (the deepest scenario key path has about 10).
MAX_DEPTH = 50
#: What a scenario file is, for messages about files that are not one.
SCENARIO_FILE = "a scenario YAML file"


def _read_yaml(path: Path) -> CommentedMap:
    """Read ``path`` as a scenario's YAML mapping, or raise :class:`ScenarioError`.

    Size, encoding, nesting depth, tags and merge keys are checked on the text before the
    document is built, so no file can stall the parser; the content of a file that is not
    a scenario is never shown in a message."""
    file = str(path)
    if not path.exists():
        raise ScenarioError([Problem(file, None, "", "file not found")])
    if not path.is_file():
        raise ScenarioError([Problem(file, None, "", "not a file")])
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError([Problem(file, None, "", f"cannot read file: {exc.strerror or exc}")]) from None
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError([Problem(file, None, "", f"the file is larger than {MAX_FILE_BYTES:,} bytes (1 MB); "
                                     f"expected {SCENARIO_FILE} (a few KB of text)")])
    if b"\x00" in data:
        raise ScenarioError([Problem(file, None, "", f"cannot read file: it is binary (it contains NUL bytes); expected {SCENARIO_FILE} "
                                     "(text)")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ScenarioError([Problem(file, line, "", f"cannot read file: not UTF-8 text (byte {data[exc.start]:#04x} cannot be read); "
                                     f"expected {SCENARIO_FILE} saved as UTF-8")]) from None
    try:
        _refuse_deep_brackets(text, file)
        _refuse_tags(text, file)
        doc = _yaml().load(text)
    except MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        what = _short(exc.problem or "invalid YAML")
        raise ScenarioError([Problem(file, line, "", f"not valid YAML: {what}")]) from None
    except YAMLError as exc:
        raise ScenarioError([Problem(file, None, "", f"not valid YAML: {_short(str(exc))}")]) from None
    except RecursionError:
        raise ScenarioError([Problem(file, None, "", "not valid YAML: nested too deeply")]) from None
    except (ValueError, OverflowError) as exc:  # e.g. an integer of thousands of digits
        what = ("a number with thousands of digits" if "digits" in str(exc)
                else f"a value that cannot be read ({_short(str(exc))})")
        raise ScenarioError([Problem(file, None, "", f"not valid YAML: found {what}; expected numbers, text, "
                                     "lists and mappings of ordinary size")]) from None
    if not isinstance(doc, CommentedMap):
        raise ScenarioError([Problem(file, 1, "", f"expected a mapping of keys (scenario:, cohorts:, ...) as in "
                                     f"{SCENARIO_FILE}, found {_found_root(doc, path)}")])
    return doc


def _short(text: str, limit: int = 100) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _found_root(doc: Any, path: Path) -> str:
    """What a file holds instead of a mapping, without showing the content of a file that is not a scenario.

    A short single value is shown only for files named ``.yaml``/``.yml``."""
    if doc is None:
        return "an empty file"
    if isinstance(doc, list):
        return "a list"
    shown = repr(doc)
    if path.suffix.lower() in (".yaml", ".yml") and len(shown) <= 40 and "\n" not in str(doc):
        return f"the single value {shown}"
    if isinstance(doc, str):
        return f"{len(doc):,} characters of text that are not keys and values (not shown)"
    return "a single value (not shown)"


class _Constructor(RoundTripConstructor):
    """The round-trip constructor, except that an impossible date (2026-02-30) stays text, so the
    schema reports it with its key and line instead of the YAML library raising."""

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        try:
            return super().construct_yaml_timestamp(node, values)
        except (ValueError, OverflowError):
            return str(node.value)


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_timestamp)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    return yaml


def _refuse_deep_brackets(text: str, file: str) -> None:
    """Refuse flow lists and mappings (``[[[...`` / ``{{{...``) nested deeper than :data:`MAX_DEPTH`,
    by a scan of the text: the YAML scanner is slow on deep flow nesting (5,000 brackets took 86 s).

    Brackets inside quotes and comments are skipped; a bracket inside a plain word may be
    counted, which only matters for 50 unclosed ones."""
    depth, line, quote = 0, 1, ""
    prev = "\n"
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
        if quote:
            if ch == quote:
                if quote == "'" and i + 1 < n and text[i + 1] == "'":
                    i += 1  # '' is an escaped quote
                elif quote == '"' and _escaped(text, i):
                    pass
                else:
                    quote = ""
        elif ch == "#" and prev in " \t\n":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif ch in "'\"" and prev in " \t\n[{,:-?":
            quote = ch
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ScenarioError([Problem(file, line, "", f"lists and mappings are nested more than {MAX_DEPTH} "
                                             f"levels deep; expected {SCENARIO_FILE} (a scenario nests about 10)")])
        elif ch in "]}":
            depth = max(0, depth - 1)
        prev = ch
        i += 1


def _escaped(text: str, i: int) -> bool:
    slashes = 0
    while i - 1 - slashes >= 0 and text[i - 1 - slashes] == "\\":
        slashes += 1
    return slashes % 2 == 1


#: Most values (keys, list items, numbers) a scenario file may expand to, aliases included.
MAX_NODES = 200_000


def _refuse_tags(text: str, file: str) -> None:
    """Refuse, from the parser's events and before anything is constructed: any explicit YAML tag
    (``!!python/...``, ``!!binary``, ``!custom`` ...), so no tag can run code or build unexpected
    objects; merge keys (``<<: *base``), which would hide where each key was written; and nesting
    deeper than :data:`MAX_DEPTH`."""
    stack: list[list[Any]] = []  # per open collection: [is_mapping, next node is a key]
    for event in YAML(typ="rt").parse(text):
        tag = getattr(event, "tag", None)
        if tag is not None:
            tag = str(getattr(tag, "value", tag))
            if tag.startswith("tag:yaml.org,2002:"):
                tag = "!!" + tag.removeprefix("tag:yaml.org,2002:")
            raise ScenarioError([Problem(file, event.start_mark.line + 1, "",
                                         f"found the YAML tag {_short(repr(tag), 60)}; tags are not allowed in "
                                         f"scenario files (expected plain values: numbers, text, lists and mappings)")])
        if isinstance(event, CollectionEndEvent):
            stack.pop()
            continue
        if not isinstance(event, NodeEvent):
            continue
        if stack and stack[-1][0]:
            is_key = stack[-1][1]
            stack[-1][1] = not is_key
            if is_key and isinstance(event, ScalarEvent) and event.value == "<<" and not event.style:
                raise ScenarioError([Problem(file, event.start_mark.line + 1, "",
                                             "found a YAML merge key '<<'; merge keys are not supported in scenario "
                                             "files: write the keys out (or use 'extends' to build on a base "
                                             "scenario)")])
        if isinstance(event, CollectionStartEvent):
            stack.append([isinstance(event, MappingStartEvent), True])
            if len(stack) > MAX_DEPTH:
                raise ScenarioError([Problem(file, event.start_mark.line + 1, "",
                                             f"lists and mappings are nested more than {MAX_DEPTH} levels deep; "
                                             f"expected {SCENARIO_FILE} (a scenario nests about 10)")])


def _index(node: Any, path: KeyPath, file: str, prov: Provenance, budget: list[int] | None = None) -> None:
    """Record line and comment of every key below ``node``; refuse odd keys and alias bombs."""
    budget = [MAX_NODES] if budget is None else budget
    budget[0] -= 1
    if budget[0] < 0:
        raise ScenarioError([Problem(file, None, "", f"the file expands to more than {MAX_NODES:,} values "
                                     "(through YAML aliases?); expected a scenario of ordinary size")])
    if isinstance(node, CommentedMap):
        for key, value in node.items():
            if not isinstance(key, (str, int, float)) or isinstance(key, bool):
                raise ScenarioError([Problem(file, node.lc.key(key)[0] + 1, _dotted(path),
                                             f"expected a plain name as key, found {key!r}")])
            prov.lines[(*path, key)] = (file, node.lc.key(key)[0] + 1)
            comment = _comment(node, key)
            if comment:
                prov.comments[(*path, key)] = comment
            _index(value, (*path, key), file, prov, budget)
    elif isinstance(node, CommentedSeq):
        for i, value in enumerate(node):
            prov.lines[(*path, i)] = (file, node.lc.item(i)[0] + 1)
            _index(value, (*path, i), file, prov, budget)


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
    for err in exc.errors():
        path = data_path(err["loc"], raw, keep_last=err["type"] == "missing")
        if err["type"] == "union_tag_invalid" and isinstance(_node_at(raw, path), dict):
            path = (*path, "dist")
        dotted = _dotted(path)
        if dotted not in problems:
            problems[dotted] = Problem(*prov.where(path), dotted, error_message(err, path))
    return list(problems.values())


#: Keys whose numbers are probabilities (for a clearer out-of-range message).
_PROBABILITY_KEYS = {"p", "probability", "detection_probability", "target"}


def error_message(err: dict[str, Any], path: KeyPath) -> str:
    """Say, in the scenario's own words, what was found and what was expected."""
    kind, ctx, key = err["type"], err.get("ctx") or {}, str(path[-1]) if path else ""
    found = f"found {_show(err.get('input'))}"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(err["loc"])
        near = difflib.get_close_matches(key, allowed or sorted(known_keys()), n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        if allowed and len(err["loc"]) == 1:
            allowed = [*allowed, "extends"]
        listed = f" (expected one of: {', '.join(allowed)})" if allowed else ""
        return f"unknown key {key!r}{hint}{listed}"
    if kind == "missing":
        return f"required key {key!r} is missing"
    if kind == "union_tag_invalid":
        tag = str(ctx.get("tag"))
        near = [n for n in DIST_NAMES if tag and n.startswith(tag.lower())] or \
            difflib.get_close_matches(tag, DIST_NAMES, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        return f"unknown distribution {ctx.get('tag')!r}{hint} (expected 'dist' to be one of: {', '.join(DIST_NAMES)})"
    if kind == "union_tag_not_found":
        return (f"a distribution needs 'dist', one of: {', '.join(DIST_NAMES)} (e.g. {{dist: exponential, "
                f"mean: 3 days}}), or a plain time such as '3 days' for a fixed value; {found}")
    if kind == "finite_number":
        return f"expected a finite number, {found}"
    if kind in ("float_parsing", "float_type"):
        return f"expected a number, {found}"
    if kind in ("int_parsing", "int_type", "int_from_float", "int_parsing_size"):
        return f"expected a whole number, {found}"
    if kind in ("bool_parsing", "bool_type"):
        return f"expected true or false, {found}"
    if kind in ("string_type", "str_type"):
        return f"expected text, {found}"
    if kind == "list_type" and key in ("next", "then", "on_reject"):
        return f"expected a step name, a branch such as {{to: step}} or a list of branches, {found}"
    if kind in ("list_type", "tuple_type", "set_type"):
        return f"expected a list, {found}"
    if kind in ("dict_type", "model_type", "model_attributes_type", "mapping_type"):
        return f"expected a mapping of keys, {found}"
    if kind in ("date_type", "date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact"):
        return f"expected a date such as 2026-04-01, {found}"
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        near = difflib.get_close_matches(str(err.get("input")), options, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        return f"expected one of: {', '.join(options)}, {found}{hint}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        if key == "seed":
            from icssim.scenario.schema import MAX_SEED

            return f"expected a whole number from 0 to {MAX_SEED} (2**63 - 1), {found}"
        if key in _PROBABILITY_KEYS:
            return f"expected a probability between 0 and 1, {found}"
        words = {"greater_than": "greater than", "greater_than_equal": "at least",
                 "less_than": "less than", "less_than_equal": "at most"}[kind]
        bound = next(iter(ctx.values()), "")
        return f"expected a number {words} {bound:g}, {found}" if isinstance(bound, (int, float)) \
            else f"expected a number {words} {bound}, {found}"
    if kind == "too_short":
        n = ctx.get("min_length", 1)
        return f"expected at least {n} entr{'y' if n == 1 else 'ies'}, found none"
    if kind == "string_too_short":
        return "expected some text, found an empty value"
    if kind == "string_too_long":
        n = ctx.get("max_length")
        why = " (it names the results folder)" if key == "name" else ""
        return f"expected text of at most {n} characters{why}, found {len(str(err.get('input'))):,} characters"
    if kind == "string_pattern_mismatch":
        if key == "name":
            return ("expected a name made of letters, digits, '_', '.' or '-', not starting with '.' or '-' and "
                    f"not ending with '.' (it names the results folder), {found}")
        return f"expected text matching {ctx.get('pattern')!r}, {found}"
    message = err["msg"].removeprefix("Value error, ")
    if "found" not in message and not isinstance(err.get("input"), (dict, list)):
        message += f" ({found})"
    return message


def _show(value: Any) -> str:
    if isinstance(value, dict):
        text = f"a mapping {value!r}"
    elif isinstance(value, list):
        text = f"a list {value!r}"
    else:
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _node_at(raw: Any, path: KeyPath) -> Any:
    for part in path:
        raw = raw[part]
    return raw


def data_path(loc: tuple[Any, ...], raw: Any, keep_last: bool = False) -> KeyPath:
    """Map pydantic's error location onto the keys actually present in the data.

    Parts of the location that name a union member (``distribution``, ``exponential`` ...) are
    not in the data and are dropped; a missing key (``keep_last``) is kept as the last part.
    """
    path: list[Any] = []
    node = raw
    for i, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            path.append(part)
            node = node[part]
        elif keep_last and i == len(loc) - 1 and isinstance(node, dict):
            path.append(part)
    return tuple(path)


def _allowed_keys(loc: tuple[Any, ...]) -> list[str] | None:
    """The keys the schema allows where an unknown key was found (``loc`` ends with that key)."""
    current: list[Any] = [Scenario]
    for part in loc[:-1]:
        options = _concrete(current)
        step: list[Any] = []
        for tp in options:
            origin, args = get_origin(tp), get_args(tp)
            if isinstance(tp, type) and issubclass(tp, BaseModel) and part in tp.model_fields:
                step.append(tp.model_fields[part].annotation)
            elif origin is list and isinstance(part, int):
                step.append(args[0])
            elif origin is dict and isinstance(part, str):
                step.append(args[1])
        if not step:  # a union member's tag: keep the member it names
            step = [tp for tp in options if _tag_of(tp) == part] or options
        current = step
    models = [tp for tp in _concrete(current) if isinstance(tp, type) and issubclass(tp, BaseModel)]
    if not models:
        return None
    keys: list[str] = []
    for model in models:
        keys += [k for k in model.model_fields if k not in keys]
    return keys


def _concrete(types: list[Any]) -> list[Any]:
    out, stack = [], list(types)
    while stack:
        tp = stack.pop(0)
        origin = get_origin(tp)
        if origin is Annotated:
            stack.insert(0, get_args(tp)[0])
        elif origin in (Union, UnionType):
            stack[:0] = [a for a in get_args(tp) if a is not type(None)]
        else:
            out.append(tp)
    return out


def _tag_of(tp: Any) -> str | None:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp is Categorical:
            return "categorical"
        dist = tp.model_fields.get("dist")
        if dist is not None and get_args(dist.annotation):
            return get_args(dist.annotation)[0]
    return None
