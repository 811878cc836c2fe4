"""What every cross-reference check yields, and facts about a scenario the checks, the plan, the
run-time estimate and the reports all need."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from icssim.scenario.schema import Scenario
from icssim.units import UNIT_DAYS, canonical_unit

#: One problem found: ``(key path, message)``; the loader adds the file and line.
Finding = tuple[tuple[Any, ...], str]


def cohort_rate(s: Scenario, name: str) -> float:
    """Referral rate of cohort ``name`` in patients per scenario time unit."""
    c = s.cohorts[name]
    unit = s.scenario.time_unit
    if c.rate is not None:
        return c.rate.to(unit)
    per_year = c.rate_per_100k_per_year * (s.scenario.population or 0) / 1e5
    return per_year * UNIT_DAYS[canonical_unit(unit)] / UNIT_DAYS["year"]


def categorical_levels(s: Scenario) -> dict[str, list[str]]:
    """Declared levels of each categorical attribute (plus ``cohort``)."""
    return {**s.attributes, "cohort": list(s.cohorts)}



def unknown(what: str, name: str, known: Any, where: str = "") -> str:
    """The message for a name that is not defined, with the nearest defined one or the list of them."""
    names = list(known)
    near = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {near[0]!r}?" if near else f"; defined: {', '.join(names) or 'none'}"
    return f"{what} {name!r} is not defined{where}{hint}"


def leaves(node: Any, path: tuple[Any, ...] = (), owner: Any = None) -> Iterator[tuple[tuple[Any, ...], Any, Any]]:
    """Every value under ``node`` (a validated scenario, or a part of it at ``path``) that is not a
    model, a mapping or a list: ``(key path as the file writes it, value, the model holding it)``.
    A time is a :class:`~icssim.units.Span`, a rate a :class:`~icssim.units.Rate`; a number the
    file wrote alone where a distribution may stand is a fixed distribution's ``value``."""
    if isinstance(node, BaseModel):
        for name, field in type(node).model_fields.items():
            yield from leaves(getattr(node, name), (*path, field.alias or name), node)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, (*path, key), owner)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from leaves(value, (*path, i), owner)
    else:
        yield path, node, owner

