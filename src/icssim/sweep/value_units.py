"""The unit of every number a sweep or a PSA sets at a key path: one rule for every design.

A scenario file reads a bare number at a time or a rate in its ``time_unit`` ("4" is 4 minutes in
a scenario timed in minutes), while a sweep's numbers are usually thought of in the unit the base
scenario writes ("4 hours"); reading them either way without saying so gives results wrong by 60
times or more. The rule, for every design and the PSA alike:

- a value written with its own unit (``3 hours``, ``5 per week``) or as a mapping (a distribution)
  is set as written (with ``unit:`` given, a value in another unit is refused: the axis would lie);
- a bare number takes the parameter's ``unit:`` when that names a time (``hours``) or a rate
  (``per year``), and the scenario converts it; such a unit must suit the key: a time for a time,
  a rate for a rate, never for a key that takes a plain number (a WTE, a cost);
- any other ``unit:`` (``GBP``, ``per 100,000 per year``) only labels axes and tables, and is
  refused at a time or a rate, where it would leave the number's unit unsaid;
- a bare number without a time or rate ``unit:`` where the base writes its value with a unit
  (``4 hours``, ``0.15 per month``, a distribution in hours) is refused, naming where the base
  writes it: reading it in the base's unit or in the scenario's time unit would both be a guess,
  and each has been the wrong one. A bare number where the base's value is bare too is read as the
  base's is, in the scenario's time unit.

The same holds for the cells of a PSA's table of draws (which has no ``unit:``): a bare cell in a
column whose base value has a unit is refused; ``icssim calibrate`` writes its cells with units.
A calibration's priors follow the rule too (:func:`unit_suffix`, from :mod:`icssim.calibrate.spec`):
a prior's time or rate ``unit:`` is the unit of its ``low``, ``high``, ``mean`` and ``sd``, and a
prior without one where the base writes its value with a unit is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from icssim.errors import Problem, ScenarioError
from icssim.scenario import Scenario, provenance
from icssim.sweep.paths import MISSING, get_path, split_path
from icssim.sweep.spec import Parameter, Sweep
from icssim.units import Rate, Span, canonical_unit, key_unit, parse_rate, parse_span

_BARE = re.compile(r"^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$")
_PER = re.compile(r"^\s*(?:per|/)\s*([A-Za-z]+)\s*$")


def named_unit(text: str) -> tuple[str, str] | None:
    """``("time", "hour")`` for ``hours``, ``("rate", "year")`` for ``per year`` or ``/year``; None
    for text that names no time unit (an axis label: ``GBP``, ``per 100,000 per year``)."""
    per = _PER.match(text)
    try:
        return ("rate", canonical_unit(per.group(1))) if per else ("time", canonical_unit(text))
    except ValueError:
        return None


@dataclass(frozen=True)
class BaseValue:
    """What a base scenario holds at a key path: a ``time``, a ``rate`` or a ``plain`` number (or
    ``unknown``), the unit it is written in (None when bare or left at the default), the value as
    written and where (``file:line``)."""

    kind: str
    unit: str | None
    written: Any
    where: str


def base_value(scenario: Scenario, path: str) -> BaseValue:
    """What ``scenario`` holds at key path ``path`` (:class:`BaseValue`): its kind from the
    validated scenario (a time, a rate, or a plain number, also where the file leaves the key at its
    default), its unit from the value as written."""
    prov = provenance(scenario)
    written = get_path(prov.raw, path)
    file, line = prov.where(tuple(split_path(path)))
    where = f"{file}:{line}" if line else str(file)
    node = _validated_at(scenario, split_path(path))
    if isinstance(node, Span) or hasattr(node, "uses_time_units"):  # a time, or a distribution of times
        kind = "time"
    elif isinstance(node, Rate):
        kind = "rate"
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        kind = "plain"
    else:
        kind = _kind_as_written(written)
    return BaseValue(kind, _written_unit(written, kind), written, where)


def _validated_at(node: Any, parts: list[Any]) -> Any:
    """The validated scenario's value at a key path (field names or their YAML aliases, mapping keys,
    list indices); MISSING where the model does not mirror the file."""
    for part in parts:
        if isinstance(node, BaseModel):
            fields = type(node).model_fields
            name = next((n for n, f in fields.items() if part in (n, f.alias)), None)
            if name is None:
                return MISSING
            node = getattr(node, name)
        elif isinstance(node, dict):
            node = node.get(part, node.get(str(part), MISSING))
        elif isinstance(node, (list, tuple)) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return MISSING
    return node


def _kind_as_written(written: Any) -> str:
    """A value's kind from its text alone (where the validated scenario does not say)."""
    if isinstance(written, str):
        for kind, parse in (("rate", parse_rate), ("time", parse_span)):
            try:
                if parse(written).unit is not None:
                    return kind
            except ValueError:
                pass
    return "unknown"


def _written_unit(written: Any, kind: str) -> str | None:
    """The unit a time or rate is written in (a distribution's: that of the first of its times
    written with one); None when it is bare, left at the default, or not a time or rate."""
    parsers: dict[str, Callable[[str], Any]] = {"time": parse_span, "rate": parse_rate}
    parse = parsers.get(kind)
    if parse is None:
        return None
    items = list(written.values()) if isinstance(written, dict) else [written]
    for item in items:
        for x in item if isinstance(item, list) else [item]:
            if isinstance(x, str):
                try:
                    unit = parse(x).unit
                except ValueError:
                    continue
                if unit is not None:
                    return unit
    return None


def unit_words(kind: str, unit: str) -> str:
    """A canonical unit as ``unit:`` writes it: ``hours``, ``per month``."""
    return f"per {unit}" if kind == "rate" else f"{unit}s"


def value_units(sweep: Sweep) -> dict[str, str]:
    """For each parameter of the sweep, what a bare number of it is written with before it is set
    (``" hours"``, ``" per year"``, or ``""`` to set it as it is), by the rule of this module,
    checked against every base scenario that has the key path (and every key path it sets
    ``also``); the cells of a table of draws are checked too. Raises :class:`ScenarioError` naming
    the sweep file, line and key (or the table, line and column) for everything the rule refuses."""
    from icssim.sweep.ties import parameter_problem

    out: dict[str, str] = {}
    problems: list[Problem] = []
    for path, p in sweep.spec.parameters.items():
        try:
            out[path] = _suffix(sweep, path, p)
        except ValueError as exc:
            problems.append(parameter_problem(sweep, path, None, str(exc)))
    if sweep.draws is not None:
        problems += _bare_cells(sweep)
    if problems:
        raise ScenarioError(problems)
    return out


def _bases(sweep: Sweep, path: str) -> list[BaseValue]:
    """The base values of every base scenario that writes ``path`` (or a key path it ties: a
    parameter's or a column's ``also``), or, where none writes them, that the schema knows (a key
    left at its default)."""
    keys = [path, *sweep.tied(path)]
    found = [base_value(s, k) for s in sweep.bases.values() for k in keys
             if get_path(provenance(s).raw, k) is not MISSING]
    return found or [base_value(s, path) for s in sweep.bases.values()]


def _suffix(sweep: Sweep, path: str, p: Parameter) -> str:
    """What parameter ``p`` at ``path`` writes after a bare number; ValueError saying why not."""
    numbers = "the numbers" if p.dist is None else "mean, sd, low and high"
    return unit_suffix(path, p.unit, _bases(sweep, path), bool(_given_numbers(p)), numbers,
                       or_values=p.dist is None, values=p.values or [])


def unit_suffix(path: str, unit: str | None, bases: list[BaseValue], bare: bool, numbers: str = "the numbers",
                or_values: bool = False, values: list[Any] | None = None) -> str:
    """What a bare number set at key path ``path`` is written with, by the rule of this module:
    ``" hours"`` or ``" per year"`` (the ``unit`` given with it, a time or a rate), or ``""`` to set
    it as it is. ``bases``: what each base scenario holds there (:func:`base_value`); ``bare``:
    whether bare numbers are given (``numbers`` says which, in the message; ``or_values``: whether
    values written with their own unit are another way, and ``values`` those given). Used for a
    sweep's and a PSA's parameters and for a calibration's priors alike; ValueError saying why not."""
    named = named_unit(unit) if unit else None
    for base in bases:
        if named is None:
            if base.kind in ("time", "rate") and unit:
                raise ValueError(f"unit {unit!r} is not a {base.kind} unit, but the base writes "
                                 f"{_shown(base.written)} at {base.where}, a {base.kind}: give the unit the numbers "
                                 f"are in, such as 'unit: {_example(base)}'")
            if base.unit is not None and bare:
                raise ValueError(f"the base writes {_shown(base.written)} at {base.where}: give "
                                 + ("values with a unit, or " if or_values else "")
                                 + f"'unit: {unit_words(base.kind, base.unit)}' (the unit of {numbers})")
        elif base.kind == "plain":
            label = key_unit(path)
            raise ValueError(f"unit {unit!r} names a {named[0]}, but {str(split_path(path)[-1])!r} takes a plain "
                             "number, which no unit converts" + (f" (it counts {label})" if label else "")
                             + "; to label the axis, write the unit in words"
                             + (f" such as 'unit: {label}'" if label else ""))
        elif base.kind in ("time", "rate") and base.kind != named[0]:
            raise ValueError(f"unit {unit!r} is a {named[0]}, but the base writes {_shown(base.written)} at "
                             f"{base.where}, a {base.kind}: give a {base.kind} unit such as 'unit: {_example(base)}'")
    if named is None or unit is None:
        return ""
    for value in values or []:
        own = named_unit(value.split(None, 1)[1]) if isinstance(value, str) and " " in value.strip() else None
        if own is not None and own != named:
            raise ValueError(f"the value {value!r} is not in {unit} ('unit: {unit}'): give every value in "
                             "that unit, or leave out the unit of each")
    return f" {unit.strip()}"


def _given_numbers(p: Parameter) -> list[Any]:
    """The bare numbers a parameter gives (which a unit must be given for)."""
    if p.dist is not None:
        return [p.mean if p.mean is not None else p.low]
    values = [*(p.values or []), p.low, p.high, p.base]
    return [v for v in values if is_bare(v)]


def is_bare(value: Any) -> bool:
    """Whether ``value`` is a number written without a unit (``3``, ``2.5``, ``"3"``)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, (int, float)) or (isinstance(value, str) and bool(_BARE.match(value)))


def with_unit(value: Any, suffix: str) -> Any:
    """``value`` as a sweep sets it: a bare number followed by ``suffix`` (:func:`value_units`),
    written exactly; anything else as it is."""
    if not suffix or not is_bare(value):
        return value
    number = float(value)
    text = str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
    return f"{text}{suffix}"


def _shown(written: Any) -> str:
    return repr(written) if not isinstance(written, dict) else "{" + ", ".join(
        f"{k}: {v}" for k, v in written.items()) + "}"


def _example(base: BaseValue) -> str:
    return unit_words(base.kind, base.unit or ("day" if base.kind == "time" else "month"))


def _bare_cells(sweep: Sweep) -> list[Problem]:
    """A problem for the first bare cell of each column of the table of draws whose base value is
    written with a unit (the table has no ``unit:``, so the rule asks for the unit in the cell)."""
    table = sweep.draws
    problems: list[Problem] = []
    if table is None:
        return problems
    for column in table.columns:
        written = [b for b in _bases(sweep, column) if b.unit is not None]
        if not written:
            continue
        for row, line in zip(table.rows, table.lines):
            if is_bare(row.get(column)):
                base = written[0]
                problems.append(Problem(str(table.path), line, f"column {column}",
                                        f"{row[column]!r} is a bare number, but the base writes {_shown(base.written)} "
                                        f"at {base.where}: write each cell with its unit "
                                        f"('{row[column]} {_example(base)}')"))
                break
    return problems
