"""YAML syntax errors in a planner's words: the line where the mistake most likely is, the key path
the text's indentation puts it under, and what to write instead.

The YAML parser reports where it gave up, in its own terms ("mapping values are not allowed here",
"expected <block end>"), often a line after the mistake and with no key path, since no document
was built. The key path here is read from the text's indentation alone, as a reader would."""

from __future__ import annotations

import re

from ruamel.yaml.error import MarkedYAMLError

from icssim.errors import Problem

#: A line holding a key: its indentation, an optional list dash, and the key (plain or quoted).
_KEY_LINE = re.compile(r"""^(?P<indent>[ \t]*)(?P<dash>-[ \t]+)?"""
                       r"""(?P<key>[A-Za-z0-9_][\w.\-]*|"[^"]*"|'[^']*')[ \t]*:(?:[ \t]|$)""")
#: A key with no space after its colon (``rate:6 per week``), which YAML reads as text.
_GLUED_KEY = re.compile(r"^(?P<indent>[ \t]*)(?P<dash>-[ \t]+)?(?P<key>[A-Za-z_][\w\-]*):(?=\S)")
_DASH_LINE = re.compile(r"^(?P<indent>[ \t]*)-(?:[ \t]|$)")


def syntax_problem(exc: MarkedYAMLError, text: str, file: str) -> Problem:
    """The :class:`Problem` for a YAML syntax error ``exc`` raised while reading ``text`` (from ``file``)."""
    lines = text.splitlines()
    problem = " ".join(str(exc.problem or "invalid YAML").split())
    at = exc.problem_mark.line + 1 if exc.problem_mark else None
    context_at = exc.context_mark.line + 1 if exc.context_mark else None
    context = " ".join(str(exc.context or "").split())
    line, what = _unclosed(problem, context, at, context_at, lines) or _explain(problem, at, context_at, lines)
    path = key_path_at(lines, line) if line else ""
    return Problem(file, line, path, f"not valid YAML: {what}")


def _unclosed(problem: str, context: str, at: int | None, context_at: int | None,
              lines: list[str]) -> tuple[int, str] | None:
    """A quote or bracket left open: the line that opened it (where the mistake is), not the line
    where the parser gave up, which may be the end of the file or dozens of lines on; else None."""
    ended = "end of stream" in problem or "<stream end>" in problem
    if context_at and context.startswith("while scanning a quoted scalar") and ended:
        return context_at, "a quote opened on this line is never closed; expected a closing quote after its value"
    if context_at and context.startswith("while parsing a flow") and problem.startswith("expected ','"):
        bracket = "{" if "mapping" in context else "["
        closer = "}" if bracket == "{" else "]"
        upto = "the end of the file" if ended or not at else f"line {at}"
        return context_at, (f"the '{bracket}' opened on this line is not closed before {upto}; expected "
                            f"'{closer}' after its last value (or the value in quotes if it holds ',', "
                            f"'{{', '}}', '[' or ']')")
    opened = _open_quote_above(lines, at) if at else None
    if opened:
        return opened, (f"a quote opened on this line is not closed on it, so YAML reads on to the next quote "
                        f"(the parser gave up at line {at}); expected a closing quote after its value")
    return None


def _open_quote_above(lines: list[str], at: int) -> int | None:
    """The first line before line ``at`` that leaves a double or single quote open at its end (outside a
    comment), if any: a value with a missing closing quote runs on over the lines below it."""
    for number in range(1, min(at, len(lines) + 1)):
        quote = None
        line = lines[number - 1]
        for i, char in enumerate(line):
            if quote is None and char == "#" and (i == 0 or line[i - 1] in " \t"):
                break
            apostrophe = char == "'" and quote is None and i > 0 and line[i - 1].isalnum()   # (don't, patient's)
            if char in "\"'" and quote in (None, char) and not apostrophe:
                quote = None if quote == char else char
        if quote is not None:
            return number
    return None


def _explain(problem: str, at: int | None, context_at: int | None, lines: list[str]) -> tuple[int | None, str]:
    """The line to name and the message, for the parser's ``problem`` met at line ``at``."""
    if "'\\t'" in problem:
        return at, "found a tab character; YAML indents with spaces only: replace the tab with spaces"
    if problem.startswith("could not find expected ':'") and context_at:
        return context_at, ("found a key without ': ' after it; expected 'key: value', with a space after the "
                            "colon (as in 'rate: 6 per week')")
    if problem.startswith("mapping values are not allowed here") and at:
        above = _line_above(lines, at)
        return at, ("found a key where none can be: " + (f"it is indented deeper than line {above}, which already has "
                    "a value, " if above else "") + "or a ': ' is inside an unquoted value; expected the keys of "
                    "one mapping to line up under their parent (or the value in quotes)")
    if problem.startswith("expected <block end>") and at:
        found = _indent(lines[at - 1]) if at <= len(lines) else 0
        columns = _key_columns_above(lines, at, found)
        beside = f" (indented by {_either(columns)})" if columns else ""
        return at, (f"found this line indented by {_spaces(found)}, unlike the keys above it{beside}; "
                    "expected the keys of one mapping to line up")
    duplicate = re.match(r'found duplicate key "(?P<key>[^"]*)"', problem)
    if duplicate and at:
        first = _same_key_above(lines, at)
        also = f" (first at line {first})" if first else ""
        return at, (f"a duplicate key: '{duplicate['key']}' is given twice in one mapping{also}; expected each key "
                    "once: keep one of them")
    return at, problem


def key_path_at(lines: list[str], number: int) -> str:
    """The dotted key path of line ``number`` (1-based) of a block-style YAML text, from its
    indentation: its own key, under the keys of the lines above that are indented less. List items
    count as their index (``steps.triage.next.0``). Flow mappings and lists are not looked into."""
    if not 1 <= number <= len(lines):
        return ""
    line = lines[number - 1]
    parts: list[str] = []
    own = _KEY_LINE.match(line) or _GLUED_KEY.match(line)
    if own:
        parts.append(_unquote(own["key"]))
    limit = _indent(line)
    if _DASH_LINE.match(line):
        parts.append(str(_items_above(lines, number - 1, limit)))
    for i in range(number - 2, -1, -1):
        above = lines[i]
        if not above.strip() or above.lstrip().startswith("#") or _indent(above) >= limit:
            continue
        key = _KEY_LINE.match(above)
        if _DASH_LINE.match(above):  # inside this list item; its own key is a parent only if indented less
            if key and _key_column(above) < limit:
                parts.append(_unquote(key["key"]))
            parts.append(str(_items_above(lines, i, _indent(above))))
        elif key and _opens_block(above):
            parts.append(_unquote(key["key"]))
        else:  # a key with its value on its line, or text: not a parent
            continue
        limit = _indent(above)
        if limit == 0:
            break
    return ".".join(reversed(parts))


def _opens_block(line: str) -> bool:
    """Whether a key's line leaves its value to the lines below (nothing after the colon but a comment)."""
    rest = line.split(":", 1)[1] if ":" in line else ""
    return not rest.strip() or rest.strip().startswith("#")


def _key_columns_above(lines: list[str], number: int, found: int) -> list[int]:
    """The columns a key could start at on line ``number``: those of the keys above it, back to and
    including the nearest key indented less than ``found``."""
    columns: set[int] = set()
    for i in range(number - 2, -1, -1):
        line = lines[i]
        if not line.strip() or line.lstrip().startswith("#") or not _KEY_LINE.match(line):
            continue
        columns.add(_indent(line))
        if _indent(line) < found:
            break
    return sorted(columns)


def _either(numbers: list[int]) -> str:
    """``0, 2 or 4``."""
    words = [str(n) for n in numbers]
    return " or ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " or " + words[-1]


def _spaces(n: int) -> str:
    return "1 space" if n == 1 else f"{n} spaces"


def _items_above(lines: list[str], i: int, indent: int) -> int:
    """The index of the list item starting at line ``i`` (0-based): the dashes at its indentation
    above it, back to the line that holds the list."""
    count = 0
    for j in range(i - 1, -1, -1):
        line = lines[j]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if _indent(line) < indent:
            break
        if _indent(line) == indent and _DASH_LINE.match(line):
            count += 1
    return count


def _line_above(lines: list[str], number: int) -> int | None:
    """The nearest line above line ``number`` with something on it but a comment."""
    for i in range(number - 2, -1, -1):
        if lines[i].strip() and not lines[i].lstrip().startswith("#"):
            return i + 1
    return None


def _same_key_above(lines: list[str], number: int) -> int | None:
    """Where the key of line ``number`` was first given in its mapping (same indentation, no line
    indented less between them)."""
    own = _KEY_LINE.match(lines[number - 1]) if number <= len(lines) else None
    if not own:
        return None
    indent = _indent(lines[number - 1])
    for i in range(number - 2, -1, -1):
        line = lines[i]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if _indent(line) < indent:
            return None
        key = _KEY_LINE.match(line)
        if key and _indent(line) == indent and key["key"] == own["key"]:
            return i + 1
    return None


def _indent(line: str) -> int:
    """Columns of leading white space, a tab counting to the next multiple of 8 (as editors show it)."""
    expanded = line.expandtabs(8)
    return len(expanded) - len(expanded.lstrip(" "))


def _key_column(line: str) -> int:
    """The column of the key on a list item's line, ``- key: value``."""
    expanded = line.expandtabs(8)
    return len(expanded) - len(expanded.lstrip(" -"))


def _unquote(key: str) -> str:
    return key[1:-1] if key[:1] in "\"'" and key[-1:] == key[:1] else key
