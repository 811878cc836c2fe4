"""Where each parameter of a sweep is set in each base scenario: its own key path and, for a PSA
parameter or a column of a table of draws, the key paths it sets ``also`` (values from one source
number), with the checks that make a tie safe (every tied key path written, with the same base value
in every base)."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

from icssim.errors import IcssimError, Problem, ScenarioError
from icssim.scenario import provenance
from icssim.sweep.paths import MISSING, check_path, get_path, path_problem
from icssim.sweep.spec import Sweep


def parameter_targets(sweep: Sweep) -> dict[str, dict[str, list[str]]]:
    """For each base scenario (by label), each parameter's key paths to set in it; raises
    :class:`IcssimError` naming the sweep file (line and key where known) for a key path that
    cannot be.

    Outside a PSA every parameter's key path must be in every base, as always. In a PSA (``design:
    psa`` or ``sobol``) the strategies may differ in what they have: a drawn key path, and each key
    path it sets ``also``, must be in at least one base, and is set in the bases that have it (a
    cost of a team only one pathway has is drawn once and set in that pathway). A tied key path is
    set only where the base writes it, and every key path of a parameter with ``also`` must hold
    one base value, the same in every base that has it: a tied path receives the drawn value
    itself, which is centred on that base value. Each column of a table of draws (``draws:``, a
    PSA's only) is set the same way, in the bases that have it: a posterior fitted to one pathway
    also sets that pathway's own values (its teams, hand-offs) which the others lack; and the key
    paths a column sets ``also`` (``draws.also``: the same value where another pathway models it)
    are set and checked as a parameter's are."""
    spec = sweep.spec
    raws = {label: provenance(scenario).raw for label, scenario in sweep.bases.items()}
    out: dict[str, dict[str, list[str]]] = {label: {} for label in raws}
    problems: list[Problem] = []
    for path, p in spec.parameters.items():
        has, unknown = _parameter_in_bases(sweep, raws, path)
        if unknown is not None:
            problems.append(unknown)
            continue
        for label in raws:
            out[label][path] = [path] if has[label] else []
        problems += _ties(sweep, raws, out, path, "parameter", partial(parameter_problem, sweep, path))
    if problems:
        raise ScenarioError(problems)
    table = sweep.draws
    if table is not None:
        for column in table.columns:
            where = f"{sweep.path}: draws: {table.path}: column {column!r}"
            has = _bases_with(sweep, raws, column, where)
            _same_in_every_base(sweep, raws, column, [label for label in raws if has[label]], where)
            for label in raws:
                out[label][column] = [column] if has[label] else []
            problems += _ties(sweep, raws, out, column, "column", partial(column_problem, sweep, column))
    if problems:
        raise ScenarioError(problems)
    return out


#: How a tie's messages name what gives its key paths their value: a drawn parameter (``also``) or
#: a column of the table of draws (``draws.also``): the value, the base value and a number of it.
_GIVER = {"parameter": ("the drawn value", "the drawn parameter's base value", "one drawn number"),
          "column": ("the column's value", "the column's base value", "one number a row")}


def _ties(sweep: Sweep, raws: dict[str, dict], out: dict[str, dict[str, list[str]]], path: str, what: str,
          problem: Callable[[int | None, str], Problem]) -> list[Problem]:
    """Add to ``out`` (each base's key paths to set for each parameter or column) the key paths
    that parameter or column ``path`` (``what``) sets ``also``, each in the bases that write it, and
    return the problems of its ties (``problem``: one named at the parameter or column, or at item
    i of its ``also``): a tied key path no base writes, or one with another base value."""
    also = sweep.tied(path)
    problems = []
    for i, tied in enumerate(also):
        written = [label for label, raw in raws.items() if get_path(raw, tied) is not MISSING]
        if not written:
            problems.append(problem(i, _absent(sweep, raws, tied, what)))
            continue
        for label in written:
            out[label][path].append(tied)
    if also:
        problems += _different_base_values(sweep, raws, path, also, what, problem)
    return problems


def _parameter_in_bases(sweep: Sweep, raws: dict[str, dict], path: str) -> tuple[dict[str, bool], Problem | None]:
    """Which bases (by label) have parameter ``path``, and the problem if it cannot be set: a base
    without it (outside a PSA, where every base must have it), or no base with it (in a PSA). The
    problem names the sweep file, the line of the parameter's key and the key (as the sweep file's
    own checks do, and as the app places a message beside its parameter), then the first base's
    missing key with the nearest key path."""
    why = {label: path_problem(raw, path, sweep.base_files[label]) for label, raw in raws.items()}
    has = {label: problem is None for label, problem in why.items()}
    first = next((problem for problem in why.values() if problem is not None), None)
    if first is None or (sweep.spec.is_psa and any(has.values())):
        return has, None
    return has, parameter_problem(sweep, path, None, first)


def _same_in_every_base(sweep: Sweep, raws: dict[str, dict], column: str, labels: list[str], where: str) -> None:
    """Refuse a column of a table of draws that the bases ``labels`` write with different values:
    a row gives one value for all of them, fitted to one scenario (a calibration's), so a base
    that writes another value there (its own team's size, say) would silently take the other's."""
    values = [(label, get_path(raws[label], column)) for label in labels]
    ref_label, ref = values[0]
    for label, value in values[1:]:
        if not _same(value, ref):
            raise IcssimError(
                f"{where}: is {ref!r} in {sweep.base_files[ref_label]} but {value!r} in {sweep.base_files[label]}: "
                "each row gives one value for every strategy that has the key path, so expected the same base "
                "value in each; leave the column out (draws.columns) or draw it under 'parameters'")


def _bases_with(sweep: Sweep, raws: dict[str, dict], path: str, where: str) -> dict[str, bool]:
    """Which bases (by label) have key path ``path``; raises, naming ``where`` and the first
    base's nearest key, if none has it."""
    has = {label: path_problem(raw, path, sweep.base_files[label]) is None for label, raw in raws.items()}
    if not any(has.values()):
        first = next(iter(raws))
        check_path(raws[first], path, sweep.base_files[first], where)  # raises, with its nearest key
        raise IcssimError(f"{where}: not in any base scenario")  # pragma: no cover (check_path raised)
    return has


def _absent(sweep: Sweep, raws: dict[str, dict], tied: str, what: str = "parameter") -> str:
    """Why a tied key path written in no base cannot be set: the first base's missing key (with the
    nearest key path), or that no base writes it."""
    for label, raw in raws.items():
        problem = path_problem(raw, tied, sweep.base_files[label])
        if problem is not None:
            return f"{tied!r}: {problem}"
    files = ", ".join(str(f) for f in sweep.base_files.values())
    return (f"{tied!r} is not set in any base scenario ({files}): a tied key path must be written in the "
            f"scenario, with {_GIVER[what][1]}")


def parameter_problem(sweep: Sweep, path: str, i: int | None, message: str) -> Problem:
    """A problem with parameter ``path`` of the sweep file (or with item ``i`` of its ``also``),
    named with the file, the line of its key and the key."""
    key: tuple[Any, ...] = ("parameters", path) if i is None else ("parameters", path, "also", i)
    return _problem_at(sweep, key, message)


def column_problem(sweep: Sweep, column: str, i: int | None, message: str) -> Problem:
    """A problem with the key paths column ``column`` of the table of draws sets ``also`` (or with
    item ``i`` of them), named with the sweep file, the line of its key under ``draws.also`` and
    the key."""
    key: tuple[Any, ...] = ("draws", "also", column) if i is None else ("draws", "also", column, i)
    return _problem_at(sweep, key, message)


def _problem_at(sweep: Sweep, key: tuple[Any, ...], message: str) -> Problem:
    file, line = sweep.provenance.where(key) if sweep.provenance is not None else (str(sweep.path), None)
    return Problem(file, line, ".".join(map(str, key)), message)


def _same(a: Any, b: Any) -> bool:
    """Whether two base values are the same value as written: numbers equal as numbers, text
    (a number with a unit) equal but for spacing."""
    number = (int, float)
    if isinstance(a, number) and isinstance(b, number) and not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=0.0)
    if isinstance(a, str) and isinstance(b, str):
        return " ".join(a.split()) == " ".join(b.split())
    return bool(a == b)


def _different_base_values(sweep: Sweep, raws: dict[str, dict], path: str, also: list[str], what: str,
                           problem: Callable[[int | None, str], Problem]) -> list[Problem]:
    """A problem for each key path of a tied parameter or column (``what``; its own, then
    ``also``) that a base writes with another value than its own key path in the first base that
    writes it (or, if none does, the first tied path written), or that is not a single value."""
    written = []
    for label, raw in raws.items():
        for i, key in [(None, path), *enumerate(also)]:
            value = get_path(raw, key)
            if value is not MISSING:
                written.append((label, i, key, value))
    if not written:
        return []
    problems = []
    ref_label, _, ref_key, ref = next((w for w in written if w[1] is None), written[0])
    for label, i, key, value in written:
        file = sweep.base_files[label]
        if isinstance(value, (dict, list)) or isinstance(value, bool) or value is None:
            kind = "a mapping" if isinstance(value, dict) else "a list" if isinstance(value, list) else repr(value)
            problems.append(problem(i, f"{key!r} in {file} is {kind}, not a single value: a tied {what} gives "
                                       f"each of its key paths {_GIVER[what][2]}"))
        elif not _same(value, ref):
            problems.append(problem(
                i, f"{key!r} is {value!r} in {file}, but {ref_key!r} is {ref!r} in {sweep.base_files[ref_label]}: "
                f"a key path under 'also' is given {_GIVER[what][0]} itself, so expected every key path of the "
                f"{what} to hold the same base value ({ref!r}) in every base scenario; draw a different value as a "
                "parameter of its own"))
    return problems
