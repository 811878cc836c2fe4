"""A sweep's table of draws (``draws:``): parameter sets drawn jointly, such as the posterior
``icssim calibrate`` writes, read and checked (file, line and column named in every refusal)."""

from __future__ import annotations

import csv
import difflib
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from icssim.errors import IcssimError
from icssim.text_bytes import decode

if TYPE_CHECKING:
    from icssim.sweep.spec import Draws

#: Columns of a table of draws that describe a row rather than set a parameter: ``icssim
#: calibrate``'s ``posterior.csv`` numbers its rows (``draw``), names the particle each was
#: resampled from (``particle``) and gives its ABC distance (``distance``).
DRAWS_BOOKKEEPING = ("draw", "particle", "distance")

#: A table cell a PSA can use: a number, or a number and a unit as a scenario writes it
#: (``0.03 per week``, ``17.4 days``).
_CELL = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?:\s*[A-Za-z%][A-Za-z%/ ]*)?$")



def parameter_columns(header: list[str]) -> list[str]:
    """The columns of a table of draws that set parameters when ``draws.columns`` does not pick
    them: all but :data:`DRAWS_BOOKKEEPING`."""
    return [h for h in header if h not in DRAWS_BOOKKEEPING]


@dataclass
class DrawTable:
    """A table of draws as read: its file, the columns used, each row's values (numbers, or
    numbers with a unit, exactly as written) and each row's line in the file."""

    path: Path
    columns: list[str]
    rows: list[dict[str, Any]]
    lines: list[int]
    sha256: str


def read_draw_table(draws: Draws, path: Path, parameters: list[str], samples: int | None) -> DrawTable:
    """Read the sweep's table of draws; refuse a missing or empty file, a ragged row, a cell that is
    not a number (with or without a unit), a column also given a distribution under ``parameters``,
    and more rows asked for (``samples``) than the table has. ``path`` is the sweep file's."""
    table = path.parent / draws.file
    if not table.is_file():
        raise IcssimError(f"{path}: draws: {str(table)!r} does not exist (paths are relative to the sweep file)")
    try:
        text, why = decode(table.read_bytes())
    except OSError as exc:
        raise IcssimError(f"{table}: cannot read the table of draws: {exc.strerror or exc}") from None
    if text is None:
        raise IcssimError(f"{table}: cannot read the table of draws: {why}")
    reader = csv.reader(text.splitlines())
    header = [h.strip() for h in next(reader, [])]
    if not any(header):
        raise IcssimError(f"{table}: the table of draws is empty: expected a header of key paths and one "
                          "row per parameter set (such as icssim calibrate's posterior.csv)")
    for i, name in enumerate(header):
        if not name:
            raise IcssimError(f"{table}:1: column {i + 1} has no name (expected a key path)")
        if header.count(name) > 1:
            raise IcssimError(f"{table}:1: column {name!r} appears more than once")
    if draws.columns is not None:
        for name in draws.columns:
            if name not in header:
                near = difflib.get_close_matches(name, header, n=1, cutoff=0.5)
                hint = f"; did you mean {near[0]!r}?" if near else f"; its columns: {', '.join(header)}"
                raise IcssimError(f"{path}: draws.columns: {name!r} is not a column of {table}{hint}")
        columns = list(dict.fromkeys(draws.columns))
    else:
        columns = parameter_columns(header)
        if not columns:
            raise IcssimError(f"{table}: the table of draws has no parameter columns (only "
                              f"{', '.join(header)}): expected columns named by key path")
    unused = [name for name in draws.labels if name not in columns]
    if unused:
        raise IcssimError(f"{path}: draws.labels: {unused[0]!r} is not a column the PSA uses (its columns: "
                          f"{', '.join(columns)})")
    both = [c for c in columns if c in parameters]
    if both:
        raise IcssimError(f"{path}: {', '.join(map(repr, both))} is both a column of {table} and under "
                          "'parameters': draw each parameter one way")
    at = {name: header.index(name) for name in columns}
    rows, lines = [], []
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise IcssimError(f"{table}:{line}: expected {len(header)} cells (one per column of the header), "
                              f"found {len(cells)}")
        row = {}
        for name, j in at.items():
            cell = cells[j].strip()
            if not _CELL.match(cell):
                raise IcssimError(f"{table}:{line}: column {name!r}: expected a number (or a number with a unit, "
                                  f"such as '0.03 per week'), found {cells[j]!r}")
            row[name] = _cell_value(cell)
        rows.append(row)
        lines.append(line)
    if not rows:
        raise IcssimError(f"{table}: the table of draws has a header but no rows: expected one row per "
                          "parameter set")
    if samples is not None and samples > len(rows):
        raise IcssimError(
            f"{path}: samples: {samples} parameter sets asked for, but {table} has {len(rows)} rows. A "
            f"row used twice is the same parameter set again, which tells nothing more about the parameters; "
            f"give 'samples' of at most {len(rows)}, or leave it out to use every row")
    return DrawTable(table, columns, rows, lines, hashlib.sha256(text.encode()).hexdigest())


def _cell_value(cell: str) -> Any:
    """A number as written (an int when written without a point or exponent), or the text of a
    number with its unit, unchanged."""
    if re.fullmatch(r"[-+]?\d+", cell):
        return int(cell)
    try:
        return float(cell)
    except ValueError:
        return cell
