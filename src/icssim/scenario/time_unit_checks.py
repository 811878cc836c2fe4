"""A bare time in a base file, read in another time unit because a file extending it changed
``scenario.time_unit``.

A number written without a unit (``duration: 240``) is in the scenario's time unit. When a file
that ``extends`` a base sets another ``time_unit`` (hours where the base had minutes), every bare
time the base wrote is read in the new unit: a 4-hour stay becomes 240 hours without a word. The
base meant its own unit, so such a value is refused at its line, with the unit it was written in.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


from icssim.scenario.findings import Finding, leaves
from icssim.scenario.schema import Scenario, ScenarioInfo
from icssim.units import Span

TIME_UNIT = ("scenario", "time_unit")


def rereads(s: Scenario) -> Iterator[Finding]:
    """Each bare time written in a file other than the one that set ``scenario.time_unit``, when
    that file's own chain had another unit."""
    from icssim.scenario.loader import provenance

    prov = provenance(s)
    unit = s.scenario.time_unit
    before = _unit_before(prov, unit)
    if before is None:
        return
    setter, line = prov.lines[TIME_UNIT]
    for path in _bare_times(s):
        file = prov.lines.get(path, (setter, None))[0]
        if file != setter:
            value = _at(prov.raw, path)
            yield path, (f"{value} was written without a unit in {file}, whose time unit is {before}; "
                         f"{setter}:{line} sets scenario.time_unit: {unit}, so it would be read as {value} "
                         f"{unit}. Write it with its unit ({value} {before}) in either file")


def _unit_before(prov: Any, unit: str) -> str | None:
    """The time unit the base chain had before a file further down changed it, or None when no file
    extending another changed it (or it is the same)."""
    if TIME_UNIT not in prov.lines or len(prov.files) < 2:
        return None
    replaced = [o for o in prov.overrides if o.path == TIME_UNIT]
    if replaced:
        before = replaced[-1].before
    elif prov.lines[TIME_UNIT][0] != prov.files[0]:   # set by a later file where the base set none
        before = ScenarioInfo.model_fields["time_unit"].default
    else:
        return None
    return before if isinstance(before, str) and before != unit else None


def _bare_times(s: Scenario) -> Iterator[tuple[Any, ...]]:
    """The key path of every time written without a unit (a :class:`Span` whose unit is None);
    a cohort's attributes are numbers in units of their own."""
    for path, value, _owner in leaves(s):
        if isinstance(value, Span) and value.unit is None and "attributes" not in path:
            yield path[:-1] if path[-1:] == ("value",) else path


def _at(raw: Any, path: tuple[Any, ...]) -> Any:
    """The value the file wrote at ``path`` (a number, or the distribution it is in)."""
    for part in path:
        try:
            raw = raw[part]
        except (KeyError, IndexError, TypeError):
            return "?"
    return raw
