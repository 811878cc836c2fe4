"""The safe YAML reader of scenario (and sweep, calibration) files, keeping each key's file, line
and comment.

YAML is parsed with ruamel's round-trip loader so that every key keeps its file and line (for
error messages) and its comment (each default's cited source, shown in reports). Explicit YAML
tags are refused outright, so nothing in a file can run code; size, nesting and node counts are
bounded before anything is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent
from ruamel.yaml.nodes import MappingNode

from icssim.errors import Problem, ScenarioError
from icssim.scenario.yaml_syntax import syntax_problem
from icssim.text_bytes import decode

KeyPath = tuple[Any, ...]


@dataclass(frozen=True)
class Override:
    """A key that a file further down an ``extends`` chain set to null (removing its base's value)
    or to a value in place of its base's, kept with the base's value (``before``): a problem the
    base's lines are blamed for may be this file's doing, and undoing the override tells."""

    path: KeyPath
    file: str
    line: int | None
    before: Any
    removed: bool

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{dotted(self.path)} is {'set to null' if self.removed else 'replaced'} at {where}"


@dataclass
class Provenance:
    """Where a scenario came from: files, content hash, merged data, and per-key lines and comments."""

    files: list[str]
    sha256: str
    raw: dict[str, Any]
    lines: dict[KeyPath, tuple[str, int]] = field(default_factory=dict)
    comments: dict[KeyPath, str] = field(default_factory=dict)
    #: the keys files further down the ``extends`` chain removed or replaced, the lowest file's last
    overrides: list[Override] = field(default_factory=list)

    def where(self, path: KeyPath) -> tuple[str, int | None]:
        """File and line of the deepest known key on ``path``."""
        for cut in range(len(path), 0, -1):
            if path[:cut] in self.lines:
                return self.lines[path[:cut]]
        return self.files[-1], None


MAX_FILE_BYTES = 1_000_000
#: Deepest nesting of lists and mappings accepted (the deepest scenario key path has about 10).
MAX_DEPTH = 50
#: What a scenario file is, for messages about files that are not one.
SCENARIO_FILE = "a scenario YAML file"


def read_document(path: Path, prov: Provenance) -> Any:
    """Read ``path`` as a scenario's YAML mapping and return its plain data, recording each key's
    line and comment in ``prov``; raise :class:`ScenarioError` on any problem. A file read before
    (the same bytes) comes from :mod:`~icssim.scenario.yaml_cache`."""
    from icssim.scenario import yaml_cache

    file = str(path)
    data = _read_bytes(path)
    key = yaml_cache.key_of(data)
    cached = yaml_cache.load(key)
    if cached is not None:
        plain_data, lines, comments = cached
        prov.lines.update({p: (file, n) for p, n in lines})
        prov.comments.update(comments)
        return plain_data
    own = Provenance(files=[file], sha256="", raw={})
    doc = _parse(data, path)
    index_keys(doc, (), file, own, text_lines=data.decode("utf-8").splitlines())
    plain_data = plain(doc)
    yaml_cache.store(key, plain_data, {p: n for p, (_, n) in own.lines.items()}, own.comments)
    prov.lines.update(own.lines)
    prov.comments.update(own.comments)
    return plain_data


def read_yaml(path: Path) -> CommentedMap:
    """Read ``path`` as a scenario's YAML mapping, or raise :class:`ScenarioError`.

    Size, encoding, nesting depth, tags and merge keys are checked on the text before the
    document is built, so no file can stall the parser; the content of a file that is not
    a scenario is never shown in a message."""
    return _parse(_read_bytes(path), path)


def _read_bytes(path: Path) -> bytes:
    """The file's bytes: it exists, is a file, is readable, at most 1 MB, and not binary."""
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
        _text, why = decode(data)
        raise ScenarioError([Problem(file, None, "", f"cannot read file: {why}; expected {SCENARIO_FILE} (text)")])
    return data


def _parse(data: bytes, path: Path) -> CommentedMap:
    file = str(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        _text, why = decode(data)
        raise ScenarioError([Problem(file, line, "", f"cannot read file: {why}; expected {SCENARIO_FILE}")]) from None
    try:
        _refuse_deep_brackets(text, file)
        doc = _yaml(file).load(text)
    except MarkedYAMLError as exc:
        raise ScenarioError([syntax_problem(exc, text, file)]) from None
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


def _yaml(file: str) -> YAML:
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor

    class FileComposer(_Composer):  # the file named in its messages
        pass

    FileComposer.file = file
    yaml.Composer = FileComposer
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


class _Composer(Composer):
    """The composer, refusing as it meets them (the document is composed whole before anything is
    constructed): any explicit YAML tag (``!!python/...``, ``!!binary``, ``!custom`` ...), so no tag
    can run code or build unexpected objects; merge keys (``<<: *base``), which would hide where
    each key was written; and nesting deeper than :data:`MAX_DEPTH`. One pass over the text: a
    separate pass of the parser for these took as long as the loading itself."""

    file = ""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if not self.parser.check_event(AliasEvent):
            _refuse(self.parser.peek_event(), self.file, self.depth + 1,
                    is_key=isinstance(parent, MappingNode) and index is None)
        return super().compose_node(parent, index)


def _refuse(event: Any, file: str, level: int, is_key: bool) -> None:
    tag = getattr(event, "tag", None)
    if tag is not None:
        tag = str(getattr(tag, "value", tag))
        if tag.startswith("tag:yaml.org,2002:"):
            tag = "!!" + tag.removeprefix("tag:yaml.org,2002:")
        raise ScenarioError([Problem(file, event.start_mark.line + 1, "",
                                     f"found the YAML tag {_short(repr(tag), 60)}; tags are not allowed in "
                                     f"scenario files (expected plain values: numbers, text, lists and mappings)")])
    if is_key and isinstance(event, ScalarEvent) and event.value == "<<" and not event.style:
        raise ScenarioError([Problem(file, event.start_mark.line + 1, "",
                                     "found a YAML merge key '<<'; merge keys are not supported in scenario "
                                     "files: write the keys out (or use 'extends' to build on a base scenario)")])
    if isinstance(event, CollectionStartEvent) and level > MAX_DEPTH:
        raise ScenarioError([Problem(file, event.start_mark.line + 1, "",
                                     f"lists and mappings are nested more than {MAX_DEPTH} levels deep; "
                                     f"expected {SCENARIO_FILE} (a scenario nests about 10)")])


def index_keys(node: Any, path: KeyPath, file: str, prov: Provenance, budget: list[int] | None = None,
               text_lines: list[str] | None = None) -> None:
    """Record line and comment of every key below ``node``; refuse odd keys and alias bombs. A key's
    comment is the one on its line, else (given the file's ``text_lines``) the comment lines just
    above it (:func:`comment_above`)."""
    budget = [MAX_NODES] if budget is None else budget
    budget[0] -= 1
    if budget[0] < 0:
        raise ScenarioError([Problem(file, None, "", f"the file expands to more than {MAX_NODES:,} values "
                                     "(through YAML aliases?); expected a scenario of ordinary size")])
    if isinstance(node, CommentedMap):
        for key, value in node.items():
            if not isinstance(key, (str, int, float)) or isinstance(key, bool):
                raise ScenarioError([Problem(file, node.lc.key(key)[0] + 1, dotted(path),
                                             f"expected a plain name as key, found {key!r}")])
            line, column = node.lc.key(key)
            prov.lines[(*path, key)] = (file, line + 1)
            comment = _comment(node, key) or (comment_above(text_lines, line, column) if text_lines else "")
            if comment:
                prov.comments[(*path, key)] = comment
            index_keys(value, (*path, key), file, prov, budget, text_lines)
    elif isinstance(node, CommentedSeq):
        for i, value in enumerate(node):
            prov.lines[(*path, i)] = (file, node.lc.item(i)[0] + 1)
            comment = _comment(node, i)  # e.g. a routing branch's "- {p: 0.7, to: spa}  # source"
            if comment:
                prov.comments[(*path, i)] = comment
            index_keys(value, (*path, i), file, prov, budget, text_lines)


def comment_above(text_lines: list[str], line: int, column: int) -> str:
    """The comment written just above the key at ``line`` (0-based) and ``column``: the full-line
    comments right above it at its own indentation, with no blank line between (a common way to
    cite a source at length). A comment indented differently belongs to something else, and a
    divider (``# --- adults ---``) heads a section: neither is the key's source."""
    block: list[str] = []
    for above in range(line - 1, -1, -1):
        text = text_lines[above]
        stripped = text.strip()
        if not stripped.startswith("#") or len(text) - len(text.lstrip(" ")) != column:
            break
        words = stripped.lstrip("#").strip()
        if words.startswith(("---", "===")):   # a section's heading: what is below it is the key's
            break
        if above == 0:                          # the file's header, not this key's
            return ""
        block.append(words)
    return " ".join(reversed([b for b in block if b]))


def _comment(node: CommentedMap | CommentedSeq, key: Any) -> str:
    """The comment on the line of ``key``: the first line of each of its comment tokens."""
    tokens = node.ca.items.get(key) or []
    texts = []
    for token in tokens:
        for tok in token if isinstance(token, list) else [token]:
            value = getattr(tok, "value", None)
            if value:
                texts.append(value.split("\n")[0].lstrip("# ").strip())
    return " ".join(t for t in texts if t)


def plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def dotted(path: KeyPath) -> str:
    return ".".join(str(p) for p in path)


