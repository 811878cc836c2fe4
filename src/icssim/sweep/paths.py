"""Key paths into a scenario's data (``services.cyp_ed.staff.therapist.wte``,
``pathway.steps.assess.next.0.p``): read, set and check one, naming the nearest key when it
does not exist. Sweeps, PSAs, the national runs and calibration set scenario values by them."""

from __future__ import annotations

import copy
import difflib
from functools import lru_cache
from typing import Any

from icssim.errors import IcssimError
from icssim.scenario.messages import keys_allowed_at

#: what :func:`get_path` returns for a key path the data does not have
MISSING = object()


def split_path(path: str) -> list[Any]:
    return [int(s) if s.isdigit() else s for s in path.split(".")]


@lru_cache(maxsize=4096)
def _segments(path: str) -> tuple[Any, ...]:
    """:func:`split_path`'s segments, kept: a sweep reads and sets the same few key paths at every point."""
    return tuple(split_path(path))


def get_path(raw: Any, path: str) -> Any:
    node = raw
    for seg in _segments(path):
        if isinstance(node, dict) and seg in node:
            node = node[seg]
        elif isinstance(node, dict) and str(seg) in node:
            node = node[str(seg)]
        elif isinstance(node, list) and isinstance(seg, int) and seg < len(node):
            node = node[seg]
        else:
            return MISSING
    return node


def set_path(raw: dict, path: str, value: Any, copied: set[int] | None = None) -> None:
    """Set ``value`` (a copy of it) at key path ``path`` of ``raw``. With ``copied`` (the ids of
    the containers of ``raw`` that are its own, ``raw``'s among them), each container on the way
    that is not in it is first replaced by a shallow copy of its own (copy on write), so that data
    ``raw`` shares with another (a base scenario's) is never written to."""
    segs = _segments(path)
    node: Any = raw
    for seg in segs[:-1]:
        if isinstance(node, dict) and seg not in node and str(seg) in node:
            seg = str(seg)
        child = node[seg]
        if copied is not None and id(child) not in copied:
            child = node[seg] = copy.copy(child)
            copied.add(id(child))
        node = child
    last = segs[-1]
    if isinstance(node, dict) and last not in node and str(last) in node:
        last = str(last)
    node[last] = value if type(value) in _ATOMIC else copy.deepcopy(value)


#: Types whose values :func:`copy.deepcopy` returns as they are.
_ATOMIC = frozenset({int, float, str, bool, type(None)})


def check_path(raw: dict, path: str, file: Any, where: str) -> None:
    """Refuse a key path that does not exist in ``raw`` (a missing last key is allowed when the
    schema allows it at that position, e.g. an optional setting the base leaves at its default),
    suggesting only keys valid at the position of the one not found."""
    segs = split_path(path)
    node: Any = raw
    for i, seg in enumerate(segs):
        prefix = ".".join(str(s) for s in segs[:i])
        last = i == len(segs) - 1
        if isinstance(node, dict):
            key = seg if seg in node else str(seg)
            if key in node:
                node = node[key]
                continue
            allowed = keys_allowed_at(segs[:i])
            if last and str(seg) in (allowed or ()):
                return
            # only the keys valid here: those the base has, and (for the last key) those the schema
            # allows at this position; a schema key from elsewhere ('hourly' for a staff role's
            # 'hours') would be a wrong suggestion
            options = [str(k) for k in node] + [k for k in (allowed or []) if last and k not in node]
            near = difflib.get_close_matches(str(seg), options, n=1, cutoff=0.5)
            hint = ""
            if near:
                suggested = ".".join([*(str(s) for s in segs[:i]), near[0], *(str(s) for s in segs[i + 1:])])
                hint = f"; did you mean {suggested!r}?"
            elif last and allowed:
                hint = f"; keys allowed there: {', '.join(allowed)}"
            elif node:
                hint = f"; keys there: {', '.join(str(k) for k in node)}"
            raise IcssimError(f"{where}: no key {str(seg)!r} under {prefix or 'the top level'} of {file}{hint}")
        if isinstance(node, list):
            if isinstance(seg, int) and seg < len(node):
                node = node[seg]
                continue
            raise IcssimError(f"{where}: {prefix} in {file} is a list of {len(node)}; "
                              f"{str(seg)!r} is not an index into it (0 to {len(node) - 1})")
        raise IcssimError(f"{where}: {prefix} in {file} is a single value ({node!r}), "
                          f"so it has no key {str(seg)!r}")


def path_problem(raw: dict, path: str, file: Any) -> str | None:
    """Why ``path`` is not a key path of ``raw`` (None if it is): :func:`check_path`'s message."""
    try:
        check_path(raw, path, file, "")
    except IcssimError as exc:
        return str(exc).removeprefix(": ")
    return None
