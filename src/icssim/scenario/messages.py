"""Validation errors in words: a pydantic error on a scenario becomes a :class:`Problem` that names
the file, the line, the key path and what was expected."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from icssim.distributions import DIST_NAMES
from icssim.errors import Problem, ScenarioError, as_yaml
from icssim.scenario.schema import Categorical, Scenario, known_keys
from icssim.scenario.types import INTERVAL_POINT, STEP_POINTS
from icssim.scenario.yaml_reader import KeyPath, Provenance, dotted, read_document
from icssim.units import TIME_UNITS, canonical_unit

M = TypeVar("M", bound=BaseModel)


class KeyValueError(ValueError):
    """A model validator's objection to one of the model's own keys (``key``, e.g. a distribution's
    ``sd``): said at that key's line and key path, not at the mapping's first line."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def error_key(err: Any, raw: Any, path: KeyPath) -> KeyPath:
    """``path`` of error ``err`` (a pydantic error's data path in ``raw``), followed by the key a
    :class:`KeyValueError` names, where the mapping there has it."""
    key = getattr((err.get("ctx") or {}).get("error"), "key", None)
    if key is not None and isinstance(_node_at(raw, path), dict) and key in _node_at(raw, path):
        return (*path, key)
    return path


def problems_from_validation(exc: ValidationError, raw: dict[str, Any], prov: Provenance) -> list[Problem]:
    problems: dict[str, Problem] = {}
    errors = exc.errors()
    paths = [data_path(err["loc"], raw, keep_last=err["type"] == "missing") for err in errors]
    for err, path in zip(errors, paths):
        if err["type"] == "union_tag_invalid" and isinstance(_node_at(raw, path), dict):
            path = (*path, "dist")
        if _other_member(err, path, paths):
            continue
        path = error_key(err, raw, path)
        key = dotted(path)
        if key not in problems:
            problems[key] = Problem(*prov.where(path), key, error_message(dict(err), path))
    return list(problems.values())


#: pydantic's error types for a value of another type than expected (a mapping for a number)
_WRONG_TYPE = frozenset({"float_type", "float_parsing", "int_type", "int_parsing", "string_type", "bool_type",
                         "list_type", "tuple_type", "dict_type", "model_type", "model_attributes_type",
                         "mapping_type"})


def _other_member(err: Any, path: KeyPath, paths: list[KeyPath]) -> bool:
    """Whether ``err`` is what another member of a union says of a mapping (or list) that one member
    takes and finds a mistake inside: ``utility: {anorexia: 1.4}`` is refused as a number too (its
    other form), which would say again, wrongly, that a number was expected there."""
    if err["type"] not in _WRONG_TYPE or not isinstance(err.get("input"), (dict, list)):
        return False
    return any(len(other) > len(path) and other[:len(path)] == path for other in paths)


#: Keys whose numbers are probabilities (for a clearer out-of-range message).
_PROBABILITY_KEYS = {"p", "probability", "detection_probability", "target"}


#: Keys whose numbers are shares of 1 a planner may write as a percentage (``3.5%``, ``7%``).
_SHARE_KEYS = _PROBABILITY_KEYS | {"costs", "qalys", "growth_per_year"}
_PERCENT = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?)\s*%\s*$")
_GROUPED = re.compile(r"^\s*[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?\s*$")


def percent_hint(x: float) -> str:
    """`` (88.5% is written 0.885)`` for a share of 1 written as a percentage (above 1, at most 100);
    nothing for a number below 10 with a fraction (a probability of 1.7 is a slip, not 1.7%)."""
    return f" ({x:g}% is written {x / 100:g})" if 1 < x <= 100 and (x >= 10 or float(x).is_integer()) else ""


#: Keys whose numbers hold one number per level of an attribute (``utility: {anorexia: 0.75}``):
#: a level's number is said of the key.
_LEVELLED_KEYS = {"utility", "mortality_rr"}
#: The keys of a sweep's parameter that hold one of its scenario key path's values.
_PARAMETER_VALUE_KEYS = {"values", "mean", "low", "high", "base"}


def value_key(path: KeyPath) -> str:
    """The key whose meaning a number at ``path`` has: its own (``p``), the key of the mapping
    of levels holding it (``utility`` for ``utility.anorexia``), or, in a sweep file's parameter
    (``parameters.<key path>.mean``), its scenario key path's."""
    parts = list(path)
    if len(parts) >= 3 and parts[0] == "parameters" and isinstance(parts[1], str) and \
            parts[2] in _PARAMETER_VALUE_KEYS:
        parts = list(parts[1].split("."))
    parts = [part for part in parts if not isinstance(part, int)]
    if len(parts) >= 2 and parts[-2] in _LEVELLED_KEYS:
        return str(parts[-2])
    return str(parts[-1]) if parts else ""


def _scale_hint(key: str, x: float, text: str) -> str:
    """For a key whose number is not a share of 1 but has a scale of its own (a utility, a rate
    ratio), how ``x`` percent (written ``text``) is written, or "" for any other key."""
    if key == "utility":
        return (f" (a utility is not a percentage: 1 is full health and 0 death; {text}% of full "
                f"health is written {x / 100:g})")
    if key == "mortality_rr":
        return (f" (a rate ratio is not a percentage: 1 is the general population's rate; {text}% of "
                f"it is written {x / 100:g})")
    return ""


def _number_hint(key: str, value: Any) -> str:
    """How to write a number typed as a percentage or with thousands separators, which YAML reads as
    text: ``30%`` for a probability is 0.3, ``+10%`` for a factor is 1.1, ``1,500,000`` is 1500000."""
    if not isinstance(value, str):
        return ""
    percent = _PERCENT.match(value)
    if percent:
        x = float(percent.group(1))
        if _scale_hint(key, x, percent.group(1)):
            return _scale_hint(key, x, percent.group(1))
        if key == "factor":
            return f" (a multiplier: {percent.group(1)}% is written {1 + x / 100:g})"
        if key in _SHARE_KEYS:
            return f" (a share of 1: {percent.group(1)}% is written {x / 100:g})"
        return " (write the number without %)"
    if _GROUPED.match(value):
        return f" (write {value.replace(',', '').strip()}, without commas)"
    return ""


def error_message(err: dict[str, Any], path: KeyPath) -> str:
    """Say, in the scenario's own words, what was found and what was expected."""
    kind, ctx, key = err["type"], err.get("ctx") or {}, str(path[-1]) if path else ""
    meaning = value_key(path)   # the key the number means a value of (``utility`` for utility.anorexia)
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
        return f"expected a number, {found}{_number_hint(meaning, err.get('input'))}"
    if kind in ("int_parsing", "int_type", "int_from_float", "int_parsing_size"):
        return f"expected a whole number, {found}{_number_hint(meaning, err.get('input'))}"
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
    if kind == "literal_error" and key == "time_unit":
        return _time_unit_message(err.get("input"), found)
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
            value = err.get("input")
            hint = percent_hint(value) if isinstance(value, (int, float)) else ""
            return f"expected a probability between 0 and 1, {found}{hint}"
        words = {"greater_than": "greater than", "greater_than_equal": "at least",
                 "less_than": "less than", "less_than_equal": "at most"}[kind]
        bound = next(iter(ctx.values()), "")
        value = err.get("input")
        hint = _scale_hint(meaning, value, f"{value:g}") \
            if kind in ("less_than", "less_than_equal") and isinstance(value, (int, float)) and 10 <= value <= 100 \
            else ""   # (1.4 is a slip, not 1.4%)
        return f"expected a number {words} {bound:g}, {found}{hint}" if isinstance(bound, (int, float)) \
            else f"expected a number {words} {bound}, {found}{hint}"
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
        if ctx.get("pattern") == INTERVAL_POINT:
            return _interval_point_message(err.get("input"), found)
        return f"expected text matching {ctx.get('pattern')!r}, {found}"
    message = err["msg"].removeprefix("Value error, ")
    if "found" not in message and not isinstance(err.get("input"), (dict, list)):
        message += f" ({found})"
    return message


def _interval_point_message(value: Any, found: str) -> str:
    """A point of an interval standard or path time that is none: the points named, and the one
    meant when the part after the step's name is a slip (``freed_engagement.entry``)."""
    step, _, which = str(value).rpartition(".")
    near = difflib.get_close_matches(which, STEP_POINTS, n=1, cutoff=0.5) if step else []
    hint = f"; did you mean {step + '.' + near[0]!r}?" if near else ""
    points = ", ".join(f"'<step>.{p}'" for p in STEP_POINTS[:-1]) + f" or '<step>.{STEP_POINTS[-1]}'"
    return f"expected a point of the path: 'arrival', 'exit', '<step>', {points}, {found}{hint}"


def _time_unit_message(value: Any, found: str) -> str:
    """The clock's unit: another spelling of an allowed unit is named; months and years (allowed in
    lengths, not as the clock's unit) are explained rather than matched to a look-alike ('minutes')."""
    allowed = ", ".join(TIME_UNITS)
    try:
        unit = canonical_unit(str(value))
    except ValueError:
        near = difflib.get_close_matches(str(value).lower(), TIME_UNITS, n=1, cutoff=0.75)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        return f"expected one of: {allowed}, {found}{hint}"
    if f"{unit}s" in TIME_UNITS:
        return f"expected one of: {allowed}, {found}; write {unit + 's'!r}"
    return (f"expected one of: {allowed}, {found}: {unit}s can be written in lengths ('6 {unit}s') but "
            f"are not a unit of the clock; use 'days' (or 'weeks') and give lengths with their unit, "
            f"e.g. horizon: 5 years")


def _show(value: Any) -> str:
    """A value found in the file, as YAML writes it (``true``, ``[3, days]``, ``{wte: 2}``), not as
    Python would (``True``, ``[3, 'days']``); an empty key is "nothing"."""
    if value is None:
        return "nothing (the key has no value)"
    if isinstance(value, dict):
        text = f"a mapping {as_yaml(value)}"
    elif isinstance(value, list):
        text = f"a list {as_yaml(value)}"
    else:
        text = as_yaml(value)
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


def keys_allowed_at(path: Iterable[Any]) -> list[str] | None:
    """The keys the schema allows in the mapping at key path ``path`` of a scenario (``services.
    adult_ed.staff.therapist``: a staff role's), or None where it names no fixed keys (a mapping of
    names the file chooses, such as ``services``, or a value)."""
    return _allowed_keys((*path, ""))


def _allowed_keys(loc: tuple[Any, ...]) -> list[str] | None:
    """The keys the schema allows where an unknown key was found (``loc`` ends with that key)."""
    current: list[Any] = [Scenario]
    for part in loc[:-1]:
        options = _concrete(current)
        step: list[Any] = []
        for tp in options:
            origin, args = get_origin(tp), get_args(tp)
            if isinstance(tp, type) and issubclass(tp, BaseModel) and _field(tp, part) is not None:
                step.append(_field(tp, part).annotation)
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
        keys += [k for k in (f.alias or n for n, f in model.model_fields.items()) if k not in keys]
    return keys


def _field(model: type[BaseModel], key: Any) -> Any:
    """``model``'s field that a file writes as ``key`` (its alias, e.g. ``from``, or its name)."""
    for name, field in model.model_fields.items():
        if key in (field.alias, name):
            return field
    return None


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


def read_validated(path: Path, model: type[M], models: Iterable[type[BaseModel]]) -> tuple[M, Provenance]:
    """Read a sweep or calibration file safely (lines kept) and validate it as ``model``; raise
    :class:`ScenarioError` naming file, line and key for every mistake (``models`` are the file's
    own models, for "did you mean" suggestions)."""
    prov = Provenance(files=[str(path)], sha256="", raw={})
    raw = read_document(path, prov)
    try:
        return model.model_validate(raw), prov
    except ValidationError as exc:
        raise ScenarioError(file_problems(exc, raw, prov, models)) from None


def file_problems(exc: ValidationError, raw: Any, prov: Provenance, models: Iterable[type[BaseModel]]) -> list[Problem]:
    """pydantic's errors on a sweep or calibration file as problems by file and line; an unknown
    key gets the nearest field of ``models`` as a suggestion."""
    fields: set[str] = set()
    for model in models:
        fields.update(model.model_fields)
    out: dict[str, Problem] = {}
    for err in exc.errors():
        path = data_path(err["loc"], raw, keep_last=err["type"] in ("extra_forbidden", "missing"))
        path = error_key(err, raw, path)
        key = dotted(path)
        if err["type"] == "extra_forbidden":
            name = str(path[-1]) if path else ""
            near = difflib.get_close_matches(name, sorted(fields), n=1)
            message = f"unknown key {name!r}" + (f"; did you mean {near[0]!r}?" if near else "")
        elif err["type"] == "missing":
            message = "required key is missing"
        else:
            message = error_message(dict(err), path)
        if key not in out:
            out[key] = Problem(*prov.where(tuple(path)), key, message)
    return list(out.values())
