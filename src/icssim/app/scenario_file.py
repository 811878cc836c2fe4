"""A scenario saved from the app: the values that differ from the file it ``extends``, and that file's
YAML, each changed value (or replaced list) with a comment saying what it replaces, where, and the
source cited for it there."""

from __future__ import annotations

import copy
import io
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from icssim.app.fields import Field


def differences(base: Any, new: Any) -> dict:
    """What ``extends`` needs to turn ``base`` into ``new``: mappings key by key, anything else
    (numbers, text, lists) whole where it differs."""
    out: dict = {}
    for key, value in new.items():
        old = base.get(key) if isinstance(base, dict) else None
        if isinstance(value, dict) and isinstance(old, dict):
            sub = differences(old, value)
            if sub:
                out[key] = sub
        elif not _same(value, old):
            out[key] = copy.deepcopy(value)
    return out


def _same(a: Any, b: Any) -> bool:
    """Whether two values of a scenario are the same: numbers by value (a form's 1 is the file's
    1.0), never a number and a flag (1 and true), lists item by item, anything else by value and type."""
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _list_note(value: list, prefix: str, fields: dict[str, Field]) -> str:
    """A list is replaced whole (``extends`` cannot change one item): the note names each of its
    values that changed, with what it was, where and its source, as a changed number's note does."""
    changed = []
    for key, old in fields.items():
        if not key.startswith(prefix + "."):
            continue
        now = _at(value, key[len(prefix) + 1:].split("."))
        if now is _GONE or not _same(now, old.value):
            what = "removed" if now is _GONE else f"now {value_text(now)}"
            changed.append(f"{key[len(prefix) + 1:]} was {old.text}, {what} ({old.where}"
                           + (f"; {old.comment}" if old.comment else "") + ")")
    return ("the whole list replaced: " + "; ".join(changed)) if changed else ""


def value_text(value: Any) -> str:
    """A value as a form shows it: ``1.0`` as ``1``."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value)) if "e" not in repr(value) else repr(value)
    return str(value)


#: What :func:`_at` returns for a path a value does not have.
_GONE = object()


def _at(node: Any, parts: list[str]) -> Any:
    """The value at ``parts`` (keys, and list indices as digits) of ``node``, or :data:`_GONE`."""
    for part in parts:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return _GONE
    return node


def overrides_yaml(extends: str, original: str, changes: dict, fields: dict[str, Field]) -> str:
    """The new scenario file: a header, ``extends`` and the changes, each changed value with a
    comment saying what it replaces and the source of that value."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    def build(node: dict, path: tuple[Any, ...]) -> CommentedMap:
        m = CommentedMap()
        for key, value in node.items():
            m[key] = build(value, (*path, key)) if isinstance(value, dict) else value
            dotted_key = ".".join(str(p) for p in (*path, key))
            field = fields.get(dotted_key)
            if field is not None and not isinstance(value, (dict, list)):
                note = f"was {field.text} ({field.where})"
                m.yaml_add_eol_comment(note + (f" ({field.comment})" if field.comment else ""), key)
            elif isinstance(value, list):
                note = _list_note(value, dotted_key, fields)
                if note:
                    m.yaml_add_eol_comment(note, key)
        return m

    doc = CommentedMap()
    doc["extends"] = extends
    for key, value in build(changes, ()).items():
        doc[key] = value
    yaml = YAML(typ="rt")
    yaml.width = 110
    buf = io.StringIO()
    yaml.dump(doc, buf)
    header = (f"# Made with `icssim app` on {date.today().isoformat()}: {original}.yaml, the values below changed.\n"
              f"# Each changed value says what it replaces; everything else comes from {original}.yaml.\n")
    return header + buf.getvalue()
