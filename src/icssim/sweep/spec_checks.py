"""Checks across the parts of a sweep file once they are read, which no one part's schema can make:
a key path tied to a parameter or to a column of the table of draws (``also``) and set another way
too, two settings under one label, and an ``optimise.target`` that ``icssim optimise`` could not use.
Each problem names the file, line and key."""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING

from icssim.errors import Problem, ScenarioError
from icssim.scenario.yaml_reader import Provenance

if TYPE_CHECKING:
    from icssim.sweep.draw_table import DrawTable
    from icssim.sweep.spec import SweepSpec


def check_ties(spec: SweepSpec, prov: Provenance, draws: DrawTable | None) -> None:
    """Refuse a key path under ``also`` (a parameter's, or a column's under ``draws.also``) that is
    set another way too: the parameter's (or column's) own key path, another drawn parameter, a
    path another parameter or column ties, or a column of the table of draws (a key path takes one
    value); and a key of ``draws.also`` that is not a column the PSA uses. Each problem names the
    file, line and key."""
    problems = []
    columns = draws.columns if draws is not None else []
    sources = [(("parameters", path, "also"), path, "parameter", p.also) for path, p in spec.parameters.items()]
    if spec.draws is not None and draws is not None:
        for column, also in spec.draws.also.items():
            if column in columns:
                sources.append((("draws", "also", column), column, "column", also))
            else:
                problems.append(_not_a_column(prov, column, draws))
    tied_by: dict[str, str] = {}
    for where, path, what, also in sources:
        for i, tied in enumerate(also):
            key = (*where, i)
            if tied == path:
                message = f"{tied!r} is this {what}'s own key path: list only other key paths"
            elif tied in spec.parameters:
                line = prov.where(("parameters", tied))[1]
                message = (f"{tied!r} is also drawn on its own under 'parameters'"
                           + (f" (line {line})" if line else "") + ": a key path takes one value, so tie it "
                           "here or draw it there, not both")
            elif tied in tied_by:
                message = (f"{tied!r} is already tied to {tied_by[tied]!r}: a key path takes one value, so tie it "
                           f"to one {'parameter' if what == 'parameter' else 'parameter or column'}")
            elif draws is not None and tied in draws.columns:
                message = (f"{tied!r} is a column of the table of draws {draws.path.name}: a key path takes one "
                           "value, so take it from the table or tie it here, not both")
            else:
                tied_by[tied] = path
                continue
            problems.append(Problem(*prov.where(key), ".".join(map(str, key)), message))
    if problems:
        raise ScenarioError(problems)


def _not_a_column(prov: Provenance, column: str, draws: DrawTable) -> Problem:
    """A key of ``draws.also`` that is not a column the PSA uses, with the nearest column as a hint."""
    near = difflib.get_close_matches(column, draws.columns, n=1, cutoff=0.5)
    hint = f"; did you mean {near[0]!r}?" if near else f" (its columns: {', '.join(draws.columns)})"
    key = ("draws", "also", column)
    return Problem(*prov.where(key), ".".join(key),
                   f"{column!r} is not a column of the table of draws {draws.path.name} that the PSA uses: each "
                   f"key of 'also' is a column, whose value its key paths take{hint}")


def check_labels(spec: SweepSpec, prov: Provenance, draws: DrawTable | None) -> None:
    """Refuse a label (a parameter's ``label``, or a column's under ``draws.labels``) that is another
    setting's label or key path (which a setting without a label is shown by): a label names its
    setting's column and row in the report's tables, its EVPPI in psa.json and its plots, so two
    alike would show one setting where there are two, the later overwriting the earlier. Each
    problem names the file, line and key of the later one."""
    labels = [(("parameters", path, "label"), path, p.label) for path, p in spec.parameters.items() if p.label]
    labels += [(("draws", "labels", column), column, label)
               for column, label in (spec.draws.labels if spec.draws is not None else {}).items()]
    paths = set(spec.parameters) | set(draws.columns if draws is not None else [])
    seen: dict[str, str] = {}
    problems = []
    for key, setting, label in labels:
        other = seen.get(label, label if label in paths and label != setting else None)
        if other is not None:
            problems.append(Problem(*prov.where(key), ".".join(map(str, key)),
                                    f"{label!r} is also the label or key path of {other!r}: a label names a setting "
                                    "in the tables and plots, so give each its own"))
        seen.setdefault(label, setting)
    if problems:
        raise ScenarioError(problems)


def check_targets(spec: SweepSpec, prov: Provenance) -> None:
    """Refuse an ``optimise.target`` that ``icssim optimise`` could not use: not of the form
    ``<KPI> >= <number>`` (or ``<=``, ``>``, ``<``), a number written as a percentage, or a number
    outside 0 to 1 for a KPI that is a share (``>= 95`` would ask for 9500%, which no point meets).
    Checked when the file is read (``icssim validate`` too), not when the sweep has run. Each problem
    names the file, line and key."""
    from icssim.kpis import kpi_info
    from icssim.scenario.messages import percent_hint
    from icssim.sweep.optimise import TARGET_PATTERN

    expected = "expected '<KPI> >= <number>' (or <=, >, <), e.g. 'within_routine_4_weeks >= 0.95'"
    problems = []
    for i, text in enumerate(spec.optimise.target):
        item: tuple[str | int, ...] = ("optimise", "target", i)
        key = item if item in prov.lines else item[:-1]   # (one target written as text, not as a list)
        file, line = prov.where(key)
        where = (file, line, ".".join(map(str, key)))
        match = TARGET_PATTERN.match(text)
        if match is None:
            percent = re.match(r"^\s*([A-Za-z0-9_./-]+)\s*(>=|<=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+))\s*%\s*$", text)
            if percent is not None:
                x = float(percent.group(3))
                share = kpi_info(percent.group(1)).unit == "share"
                hint = (f"{percent.group(1)} is a share of 1: {x:g}% is written {x / 100:g}" if share
                        else "write the number without %")
                problems.append(Problem(*where, f"{expected}, found {text!r} ({hint})"))
            else:
                problems.append(Problem(*where, f"{expected}, found {text!r}"))
            continue
        kpi, value = match.group(1), float(match.group(3))
        if kpi_info(kpi).unit == "share" and not 0 <= value <= 1:
            problems.append(Problem(*where, f"{kpi} is a share between 0 and 1, found {value:g}"
                                    f"{percent_hint(value)}"))
    if problems:
        raise ScenarioError(problems)
