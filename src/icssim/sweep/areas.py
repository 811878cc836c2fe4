"""The areas of a sweep (``areas:``): each area's name and resident population, listed inline or
read from a CSV table, and the capacity key paths scaled with population. A national run
(:mod:`icssim.national`) runs the same pathway in each of them."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from icssim.errors import IcssimError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Area(_Strict):
    """One area (an ICS): its name and resident population."""

    name: str = Field(min_length=1)
    population: int = Field(gt=0)


class Areas(_Strict):
    """Areas to run the same pathway for, demand scaled per 100,000 residents.

    ``table`` is a CSV file (columns ``name``, ``population``) relative to the sweep
    file; ``rows`` lists the areas inline. ``scale`` lists key paths (capacity such as
    staff WTE or beds) scaled in proportion to population / the base scenario's population.
    """

    table: str | None = None
    rows: list[Area] | None = None
    scale: list[str] = Field(default_factory=list)
    #: give every scaled staff role the base's servers (``ceil`` of its WTE) x population / the base's
    #: population, rounded to a whole number (at least 1) and, where the role gives
    #: ``clinical_hours_per_week``, scale each server's hours by exact WTE / servers, so the role's
    #: clinical hours stay exactly in proportion to population and roles that work in pairs (a joint
    #: assessment) keep as many servers as each other; without it a scaled 2.1 WTE is 3 servers at
    #: 70% of their hours, whose contacts last 1/0.7 as long in calendar time. Roles without clinical
    #: hours gain or lose capacity by the rounding, reported by
    #: :func:`icssim.national_scaling.capacity_rounding`.
    whole_servers: bool = False

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, raw: Any) -> Any:
        if isinstance(raw, str):
            return {"table": raw}
        if isinstance(raw, list):
            return {"rows": raw}
        return raw

    @model_validator(mode="after")
    def _one(self) -> Areas:
        if (self.table is None) == (self.rows is None):
            raise ValueError("give exactly one of 'table' (a CSV file) or 'rows' (a list of areas)")
        if self.rows is not None and not self.rows:
            raise ValueError("the list of areas is empty")
        return self


def load_areas(spec: Areas, path: Path) -> tuple[list[Area], str | None]:
    """The areas of sweep file ``path`` (inline, or read from its CSV table) and the table's SHA-256
    (None for inline rows); a table without its columns, a bad row or a repeated name is an error
    naming the file (and the row's line)."""
    if spec.rows is not None:
        areas, sha = list(spec.rows), None
    else:
        table = path.parent / spec.table
        if not table.is_file():
            raise IcssimError(f"{path}: areas.table: {str(table)!r} does not exist")
        text = table.read_text(encoding="utf-8")
        sha = hashlib.sha256(text.encode()).hexdigest()
        rows = list(csv.DictReader(text.splitlines()))
        if not rows or not {"name", "population"} <= set(rows[0]):
            raise IcssimError(f"{table}: expected a CSV table with columns 'name' and 'population'")
        areas = []
        for i, row in enumerate(rows, start=2):
            try:
                areas.append(Area(name=row["name"].strip(), population=int(float(row["population"]))))
            except (ValueError, ValidationError, TypeError):
                raise IcssimError(f"{table}:{i}: expected a name and a positive whole population, "
                                  f"found {row.get('name')!r}, {row.get('population')!r}") from None
    names = [a.name for a in areas]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise IcssimError(f"{path}: areas: names must be unique, repeated: {', '.join(sorted(dup))}")
    return areas, sha
