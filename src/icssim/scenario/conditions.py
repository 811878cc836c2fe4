"""Conditions on patient attributes, written as text: ``"age < 18 and risk >= amber"``.

A condition is a conjunction of clauses ``attribute OP value``. Categorical
attributes compare by the order of their declared levels, so ``risk >= amber``
means amber or red. Nothing is ever passed to ``eval``.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from typing import Callable

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne,
}
_CLAUSE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|==|!=|<|>)\s*([A-Za-z0-9_.+-]+)\s*$")


@dataclass(frozen=True)
class Clause:
    """One comparison ``attribute op value`` (value still as written)."""

    attribute: str
    op: str
    value: str


def parse_condition(text: str) -> list[Clause]:
    """Split ``text`` into clauses, or raise ``ValueError`` saying what was expected."""
    clauses = []
    for part in re.split(r"\s+and\s+", text.strip()):
        match = _CLAUSE.match(part)
        if not match:
            raise ValueError(
                f"cannot read condition {text!r}: expected clauses like 'age < 18' or "
                f"'risk >= amber' joined by 'and'{_hint(part)}"
            )
        clauses.append(Clause(*match.groups()))
    return clauses


def resolve_value(clause: Clause, levels: list[str] | None) -> float:
    """The clause's comparison value as a number (a level's index for categorical attributes)."""
    if levels is not None:
        if clause.value not in levels:
            raise ValueError(
                f"{clause.attribute!r} has levels {levels}; {clause.value!r} is not one of them"
            )
        return float(levels.index(clause.value))
    try:
        value = float(clause.value)
    except ValueError:
        raise ValueError(
            f"{clause.attribute!r} is numeric, so {clause.value!r} should be a number"
        ) from None
    if not math.isfinite(value):
        raise ValueError(f"{clause.attribute!r} is numeric, so {clause.value!r} should be a finite number")
    return value


def _hint(clause: str) -> str:
    """What to change in a clause written as in another language: quotes around a level, ``=`` for
    ``==``, ``or`` (not supported), a percentage."""
    if "'" in clause or '"' in clause:
        unquoted = clause.replace("'", "").replace('"', "").strip()
        return f"; levels are written without quotes: {unquoted!r}"
    if re.search(r"(?<![<>=!])=(?!=)", clause):
        return f"; compare with '==', not '=': {re.sub(r'(?<![<>=!])=(?!=)', '==', clause).strip()!r}"
    if re.search(r"\s(or|&&|\|\|)\s", clause) or "&&" in clause:
        return "; only 'and' joins clauses: for either of two conditions, give two branches"
    if "%" in clause:
        return "; write a share as a number without % (0.15 for 15%)"
    return ""

