"""Today's waiting list as a CSV file: read, check every cell, report mistakes by row and column.

Columns (header row required, order free; see docs/calendar.md):

========================  ========  ==============================================================
column                    required  meaning
========================  ========  ==============================================================
``cohort``                yes       a cohort name from ``cohorts``
``referral_date``         yes       YYYY-MM-DD; the referral clock start (on or before start_date)
``step``                  yes       the step the patient waits for, or is in: a step with a waiting
                                    list (staff, a caseload slot, a bed, or a panel); ``in_service``
                                    also a step that takes time (a ``duration``, e.g. a delay)
``status``                no        ``waiting`` (default) or ``in_service``
``since``                 no        YYYY-MM-DD they joined this step's queue (default referral_date)
``assessment_date``       no        YYYY-MM-DD of their first assessment, if already assessed
``treatment_date``        no        YYYY-MM-DD treatment started, if already started
``id``                    no        any label (ignored by the model; useful in error messages)
*attribute name*          no        a value for a cohort attribute (e.g. ``age``, ``risk``): a level,
                                    or a number not below 0 (no attribute distribution gives one); a
                                    blank cell or a missing column means: draw it from the cohort's
                                    distribution. ``age`` is the age on the start date.
========================  ========  ==============================================================

Every row has one value per column of the header: a row with more values (an unquoted comma) or
fewer (a missing trailing comma) is refused, not cut or padded; an empty optional value keeps its
comma (``...,green,``).
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from icssim.distributions import describe_dist
from icssim.kinds import KINDS
from icssim.text_bytes import decode

REQUIRED = ("cohort", "referral_date", "step")
OPTIONAL = ("status", "since", "assessment_date", "treatment_date", "id")
STATUSES = ("waiting", "in_service")


@dataclass
class CsvPatient:
    """One valid row of the waiting-list CSV."""

    row: int
    cohort: str
    step: str
    referral: dt.date
    since: dt.date
    assessment: dt.date | None
    treatment: dt.date | None
    in_service: bool
    attrs: dict[str, float | str] = field(default_factory=dict)  # numbers, or categorical level names


def resolve_path(scenario) -> Path | None:
    """The CSV named by ``initial_state.file``, relative to the scenario file that names it."""
    init = scenario.initial_state
    if init is None or init.file is None:
        return None
    from icssim.scenario.loader import provenance

    prov = provenance(scenario)
    where = prov.lines.get(("initial_state", "file"))
    base = Path(where[0]).parent if where else Path(prov.files[-1]).parent if prov.files else Path(".")
    if str(base).startswith("<"):
        base = Path(".")
    return (base / init.file).resolve()


def anchored_raw(scenario) -> dict:
    """A copy of the scenario's data that names its waiting-list file by absolute path.

    The file is named relative to the scenario file; a scenario built from a copy of the data
    elsewhere (a sweep's points, validated as from the sweep file) would look for it there."""

    from icssim.scenario.loader import provenance

    raw = copy.deepcopy(provenance(scenario).raw)
    path = resolve_path(scenario)
    if path is not None:
        raw["initial_state"]["file"] = str(path)
    return raw


def read_waiting_list(path: Path, scenario) -> tuple[list[CsvPatient], list[str]]:
    """Parse and check ``path``; return the valid rows and one message per mistake (with row and column)."""
    try:
        return _read_waiting_list(path, scenario)
    except csv.Error as exc:  # e.g. a field longer than the csv module's limit
        return [], [f"{path.name}: cannot be read as CSV ({_short(str(exc))}); expected {WAITING_LIST}"]


#: What a waiting-list file is, for messages about files that are not one.
WAITING_LIST = f"a waiting-list CSV file (UTF-8 text, a header row with the columns {', '.join(REQUIRED)})"
#: Largest waiting-list file accepted, in bytes (a million patients take about 60 MB).
MAX_CSV_BYTES = 200_000_000


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _read_waiting_list(path: Path, scenario) -> tuple[list[CsvPatient], list[str]]:
    name = path.name
    if not path.is_file():
        return [], [f"waiting-list file {str(path)!r} does not exist"]
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CSV_BYTES + 1)
    except OSError as exc:
        return [], [f"{name}: cannot read: {exc.strerror or exc}"]
    if len(data) > MAX_CSV_BYTES:
        return [], [f"{name}: the file is larger than {MAX_CSV_BYTES:,} bytes; expected {WAITING_LIST}"]
    text, why = decode(data)
    if text is None:
        return [], [f"{name}: cannot read: {why}; expected {WAITING_LIST}"]
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        return [], [f"{name}: empty file: expected a header row with columns {', '.join(REQUIRED)}"]
    reader.fieldnames = header
    problems: list[str] = []
    missing = [c for c in REQUIRED if c not in header]
    if len(missing) == len(REQUIRED):  # not a waiting list at all: say so without showing its content
        return [], [f"{name} is not a waiting-list CSV: expected a header row with the columns "
                     f"{', '.join(REQUIRED)} (found {len(header)} column(s), none of them; content not shown)"]
    if missing:
        return [], [f"{name}: missing column(s) {', '.join(repr(c) for c in missing)} "
                     f"(found: {_short(', '.join(header))})"]
    attrs_known = _attribute_kinds(scenario)
    for col in header:
        if col not in REQUIRED and col not in OPTIONAL and col not in attrs_known:
            problems.append(f"{name}: unknown column {col!r}; expected {', '.join(REQUIRED + OPTIONAL)} "
                            f"or an attribute ({', '.join(attrs_known) or 'none declared'})")
    start = scenario.scenario.start_date
    steps = scenario.pathway.steps
    out: list[CsvPatient] = []
    for i, raw in enumerate(reader, start=1):
        row = {k: (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        where = f"{name} row {i} (line {reader.line_num})"
        errs: list[str] = []

        def bad(col: str, msg: str) -> None:
            errs.append(f"{where}, column {col!r}: {msg}")

        count = _field_count_problem(raw, header)
        if count is not None:  # the values may be shifted: checking them by column would mislead
            problems.append(f"{where}{count}")
            continue
        cohort = row.get("cohort", "")
        if cohort not in scenario.cohorts:
            bad("cohort", f"unknown cohort {cohort!r}; expected one of {', '.join(scenario.cohorts)}")
        step = row.get("step", "")
        if step not in steps:
            bad("step", f"unknown step {step!r}; expected one of {', '.join(steps)}")
        elif KINDS[steps[step].kind].is_exit:
            bad("step", f"{step!r} is a discharge step: patients there have left the system")
        dates: dict[str, dt.date | None] = {}
        for col in ("referral_date", "since", "assessment_date", "treatment_date"):
            value = row.get(col, "")
            if not value:
                if col == "referral_date":
                    bad(col, "required value is empty")
                dates[col] = None
                continue
            try:
                d = dt.date.fromisoformat(value)
            except ValueError:
                bad(col, f"not a date (YYYY-MM-DD): {value!r}")
                dates[col] = None
                continue
            if start is not None and d > start:
                bad(col, f"{d} is in the future: after scenario.start_date {start}")
            dates[col] = d
        ref = dates["referral_date"]
        for col in ("since", "assessment_date", "treatment_date"):
            if ref is not None and dates[col] is not None and dates[col] < ref:
                bad(col, f"{dates[col]} is before referral_date {ref}")
        status = row.get("status", "") or "waiting"
        if status not in STATUSES:
            bad("status", f"expected one of {', '.join(STATUSES)}, found {status!r}")
        elif step in steps and not KINDS[steps[step].kind].is_exit:
            nobody = nobody_there(steps, step, status == "in_service")
            if nobody:
                bad("step", nobody)
        attrs: dict[str, float | str] = {}
        for col, levels in attrs_known.items():
            value = row.get(col, "")
            if not value:
                continue
            if levels is not None:
                if value not in levels:
                    bad(col, f"{value!r} is not one of the levels {levels}")
                else:
                    attrs[col] = value
            else:
                try:
                    attrs[col] = float(value)
                except ValueError:
                    bad(col, f"not a number: {value!r}")
                    continue
                if attrs[col] != attrs[col] or abs(attrs[col]) == float("inf"):
                    bad(col, f"not a finite number: {value!r}")
                elif attrs[col] < 0:
                    bad(col, _negative(value, col, scenario.cohorts.get(cohort), cohort))
        if cohort in scenario.cohorts:
            for col in attrs:
                if col not in scenario.cohorts[cohort].attributes:
                    bad(col, f"cohort {cohort!r} has no attribute {col!r}")
        if errs:
            problems.extend(errs)
            continue
        out.append(CsvPatient(i, cohort, step, ref, dates["since"] or ref, dates["assessment_date"],
                              dates["treatment_date"], status == "in_service", attrs))
    if len(problems) > 20:
        problems = problems[:20] + [f"{name}: ... and {len(problems) - 20} more problem(s)"]
    return out, problems


def _field_count_problem(raw: dict, header: list[str]) -> str | None:
    """What is wrong with the number of values of a row (read by ``csv.DictReader``), or None.

    DictReader puts the values past the header's last column under the key None and gives the
    columns a short row lacks the value None (an empty value, comma present, is ``""``)."""
    n = len(header)
    extra = raw.get(None)
    if extra:
        shown = _short(", ".join(repr(v) for v in extra))
        return (f", after the last column {header[-1]!r}: {len(extra)} extra value(s) {shown}: the row has "
                f"{n + len(extra)} values for the header's {n} columns; expected {n} (a value that holds a "
                f"comma needs double quotes)")
    short = [k for k in header if raw.get(k, "") is None]
    if short:
        cols = _short(", ".join(repr(k) for k in short))
        return (f", column{'s' if len(short) > 1 else ''} {cols}: missing: the row has {n - len(short)} "
                f"values for the header's {n} columns; expected {n} (an empty value keeps its comma, "
                f"e.g. a row ending ',' leaves the last column empty)")
    return None


def queues(step) -> bool:
    """Whether patients can wait at ``step``: it holds staff, a place, a caseload slot or a bed (the
    engine's queue for resources), or it is a panel (referrals wait for its meeting). Patients reaching
    any other step pass through it at once, or spend its ``duration`` there (a delay)."""
    return bool(KINDS[step.kind].meets or step.staff or step.places or step.caseload or step.bed)


def nobody_there(steps: dict, name: str, in_service: bool) -> str | None:
    """Why nobody can be at step ``name`` when the run starts (waiting, or in service if
    ``in_service``), or None if they can. Waiting needs a queue (:func:`queues`); being in service
    needs a step that takes time (a queue's service, or a ``duration``)."""
    step = steps[name]
    if queues(step) or (in_service and step.duration is not None):
        return None
    listed = [n for n, st in steps.items() if queues(st)]
    expected = f"a step with a waiting list: {', '.join(listed) or '(none in this pathway)'}"
    kind = f"{name!r} (kind {step.kind!r}) has no staff, caseload slot or bed"
    if step.duration is None:
        return f"{kind} and no duration: patients pass straight through it, so nobody waits there; expected {expected}"
    return (f"{kind}: nobody waits for it (patients spend its duration there as soon as they reach it); "
            f"expected status 'in_service' there, or {expected}")


def _negative(value: str, col: str, cohort, name: str) -> str:
    """A negative number for a numeric attribute: none of the distributions (all of them of values >= 0,
    icssim.distributions) would give one, and no age is below 0."""
    dist = cohort.attributes.get(col) if cohort is not None else None
    if dist is None or not getattr(dist, "dist", None):
        return f"{value} is negative: no attribute distribution gives negative values; expected a number >= 0"
    return (f"{value} is negative: cohort {name!r} draws {col!r} from {describe_dist(dist)}, which gives no "
            f"negative values (no attribute distribution does); expected a number >= 0")


def _attribute_kinds(scenario) -> dict[str, list[str] | None]:
    """Every cohort attribute: its levels if categorical, else None (numeric)."""
    out: dict[str, list[str] | None] = {}
    for c in scenario.cohorts.values():
        for a in c.attributes:
            out[a] = scenario.attributes.get(a)
    return out
