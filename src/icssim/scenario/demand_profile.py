"""A cohort's repeating demand profile as a CSV file (``demand.profile``), read and checked by line.

The file is named relative to the scenario file that names it. Lines starting with ``#`` and blank
lines are skipped (so the file can cite its source); a first line whose last cell is not a number is
a header. The multipliers can be laid out as

* 24 rows, hour of day (midnight to 1am first): one multiplier each, or ``label,multiplier``;
* 168 rows, hour of week (Monday midnight to 1am first), the same way;
* 7 rows, day of week (Monday first), of 24 multipliers each, optionally after a label.

The multipliers act as ``demand.hourly`` (24) or ``demand.weekly`` (168) written in the scenario.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from icssim.scenario.findings import Finding
from icssim.scenario.schema import Scenario
from icssim.text_bytes import decode

#: Largest profile file read, in bytes (168 rows of a few numbers take a few KB).
MAX_PROFILE_BYTES = 1_000_000
#: What a profile file is, for messages.
PROFILE = ("a CSV file of 24 rows (hour of day), 168 rows (hour of week, Monday first) or 7 rows of "
           "24 values (day of week by hour), one multiplier per hour, each a number >= 0")


def profile_path(s: Scenario, cohort: str) -> Path | None:
    """The CSV named by cohort ``cohort``'s ``demand.profile``, relative to the scenario file naming it."""
    d = s.cohorts[cohort].demand
    if d is None or d.profile is None:
        return None
    from icssim.scenario.loader import provenance

    prov = provenance(s)
    where = prov.lines.get(("cohorts", cohort, "demand", "profile"))
    base = Path(where[0]).parent if where else Path(prov.files[-1]).parent if prov.files else Path(".")
    if str(base).startswith("<"):  # a scenario built in code: relative to the working directory
        base = Path(".")
    return (base / d.profile).resolve()


def profile_hours(s: Scenario, cohort: str) -> list[float] | None:
    """The cohort's hourly multipliers from its profile file (24 or 168), or None without one.

    Raises ``ValueError`` with the file's problem; a loaded scenario's checks have already refused
    such a file with its line (:func:`profile_findings`)."""
    path = profile_path(s, cohort)
    if path is None:
        return None
    hours, problem = read_profile(path)
    if hours is None:
        raise ValueError(problem)
    return hours


def profile_findings(s: Scenario) -> list[Finding]:
    """One finding per cohort whose ``demand.profile`` file cannot be used (the message names the
    file and its line)."""
    out: list[Finding] = []
    for name in s.cohorts:
        path = profile_path(s, name)
        if path is not None:
            hours, problem = read_profile(path)
            if hours is None:
                out.append((("cohorts", name, "demand", "profile"), problem))
    return out


def read_profile(path: Path) -> tuple[list[float] | None, str]:
    """The hourly multipliers of the profile file ``path`` (24 or 168 of them), or None and what is
    wrong, naming the file and the line."""
    name = path.name
    if not path.is_file():
        return None, f"demand profile file {str(path)!r} does not exist; expected {PROFILE}"
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_PROFILE_BYTES + 1)
    except OSError as exc:
        return None, f"{name}: cannot read: {exc.strerror or exc}"
    if len(data) > MAX_PROFILE_BYTES:
        return None, f"{name}: the file is larger than {MAX_PROFILE_BYTES:,} bytes; expected {PROFILE}"
    text, why = decode(data)
    if text is None:
        return None, f"{name}: cannot read: {why}; expected {PROFILE}"
    try:
        rows = _rows(text)
    except csv.Error as exc:
        return None, f"{name}: cannot be read as CSV ({exc}); expected {PROFILE}"
    return _multipliers(name, rows)


def _rows(text: str) -> list[tuple[int, list[str]]]:
    """(line number, cells) of each line that is not blank or a comment."""
    out = []
    for line_no, cells in enumerate(csv.reader(text.splitlines()), start=1):
        cells = [c.strip() for c in cells]
        if not any(cells) or cells[0].startswith("#"):
            continue
        out.append((line_no, cells))
    return out


def _number(cell: str) -> float | None:
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _multipliers(name: str, rows: list[tuple[int, list[str]]]) -> tuple[list[float] | None, str]:
    if rows and _number(rows[0][1][-1]) is None:  # a header
        rows = rows[1:]
    if len(rows) not in (24, 168, 7):
        return None, (f"{name}: found {len(rows)} rows of multipliers; expected {PROFILE}")
    per_row = 24 if len(rows) == 7 else 1
    hours: list[float] = []
    for line_no, cells in rows:
        values = cells[-per_row:] if len(cells) in (per_row, per_row + 1) else None
        if values is None:
            return None, (f"{name} line {line_no}: found {len(cells)} values; expected {per_row} "
                          f"multiplier{'s' if per_row > 1 else ''}, optionally after a label")
        for cell in values:
            value = _number(cell)
            if value is None or value < 0:
                return None, f"{name} line {line_no}: expected a multiplier (a number >= 0), found {cell!r}"
            hours.append(value)
    if not sum(hours) > 0:
        return None, f"{name}: the multipliers must not all be 0"
    return hours, ""
