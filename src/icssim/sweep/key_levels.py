"""Reading a sweep or calibration file, with a key written at the wrong level told where it goes.

The files' schemas refuse unknown keys and suggest the nearest known name, which for a known key
at the wrong level is the key itself ("unknown key 'seed'; did you mean 'seed'?" for a ``seed:``
written at the top level of a sweep file instead of under ``sweep:``). Here such a key is told
where it belongs ("'seed' goes under 'sweep:', not at the top level"), with its file and line, and
the "required key is missing" that the same slip causes where the key belongs is not said again.
"""

from __future__ import annotations

import types
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from icssim.errors import Problem, ScenarioError
from icssim.scenario.messages import data_path, file_problems
from icssim.scenario.yaml_reader import Provenance, dotted, read_document

M = TypeVar("M", bound=BaseModel)

#: a level of a file: the keys above a key (``("sweep",)``), ``*`` for any entry of a mapping or list
Level = tuple[str, ...]
ANY = "*"


def read_spec(path: Path, model: type[M], models: Iterable[type[BaseModel]]) -> tuple[M, Provenance]:
    """Read a sweep or calibration file safely (lines kept) and validate it as ``model``; raise
    :class:`ScenarioError` naming file, line and key for every mistake, a known key at the wrong
    level told where it goes (:func:`place_keys`); ``models`` are the file's own models, for "did
    you mean" suggestions."""
    prov = Provenance(files=[str(path)], sha256="", raw={})
    raw = read_document(path, prov)
    try:
        return model.model_validate(raw), prov
    except ValidationError as exc:
        raise ScenarioError(place_keys(exc, raw, file_problems(exc, raw, prov, models), model)) from None


def key_levels(model: type[BaseModel]) -> dict[str, list[Level]]:
    """Every key of a file read as ``model``, with the levels it may be written at: ``()`` the top
    level, ``("sweep",)`` under ``sweep:``, ``("parameters", "*")`` in an entry of ``parameters:``."""
    out: dict[str, list[Level]] = {}

    def walk(m: type[BaseModel], level: Level, depth: int) -> None:
        for name, field in m.model_fields.items():
            key = field.alias or name
            out.setdefault(key, []).append(level)
            if depth < 4:
                for sub, entries in _models_in(field.annotation):
                    walk(sub, (*level, key, *((ANY,) if entries else ())), depth + 1)

    walk(model, (), 0)
    return out


def _models_in(annotation: Any) -> list[tuple[type[BaseModel], bool]]:
    """The models a field holds: itself (False), or as entries of a mapping or list (True)."""
    origin = get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(annotation, False)]
    if origin is Annotated:
        return _models_in(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [m for arg in get_args(annotation) for m in _models_in(arg)]
    if origin in (dict, list):
        return [(m, True) for m, _ in _models_in(get_args(annotation)[-1])]
    return []


def _at(level: Level, here: tuple[Any, ...]) -> bool:
    return len(level) == len(here) and all(a in (ANY, str(b)) for a, b in zip(level, here))


def _where(level: Level) -> str:
    """A level in words: ``at the top level``, ``under 'sweep:'``, ``in an entry of 'parameters:'``."""
    if not level:
        return "at the top level"
    if level[-1] == ANY:
        return f"in an entry of '{dotted(level[:-1])}:'"
    return f"under '{dotted(level)}:'"


def place_keys(exc: ValidationError, raw: Any, problems: list[Problem], model: type[BaseModel]) -> list[Problem]:
    """``problems`` (of ``exc`` on the file's data ``raw``) with each unknown key that is a known key
    at another level of ``model`` told where it goes instead of "did you mean" itself, and the
    "required key is missing" it causes there left out."""
    levels = key_levels(model)
    placed: dict[str, str] = {}
    homes: list[tuple[str, list[Level]]] = []
    for err in exc.errors():
        if err["type"] != "extra_forbidden":
            continue
        path = data_path(err["loc"], raw, keep_last=True)
        name = str(path[-1]) if path else ""
        known = [level for level in levels.get(name, []) if not _at(level, path[:-1])]
        if not known:
            continue
        fixed = [level for level in known if ANY not in level] or known
        here = "at the top level" if len(path) == 1 else f"under '{dotted(path[:-1])}:'"
        placed[dotted(path)] = f"{name!r} goes {' or '.join(_where(level) for level in fixed)}, not {here}"
        homes.append((name, fixed))
    out = []
    for problem in problems:
        if problem.path in placed:
            problem = Problem(problem.file, problem.line, problem.path, placed[problem.path])
        elif problem.message == "required key is missing" and _caused(problem.path, homes):
            continue
        out.append(problem)
    return out


def _caused(key: str, homes: list[tuple[str, list[Level]]]) -> bool:
    """Whether a missing ``key`` is one found written at another level (``homes``)."""
    return any(key == dotted((*level, name)) for name, levels in homes for level in levels if ANY not in level)
