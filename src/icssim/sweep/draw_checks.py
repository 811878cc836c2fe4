"""Whether the values a PSA draws, or a sweep sets, are values its scenarios accept, said in the
sweep file's terms.

Before anything is drawn (:func:`reach_problems`): a distribution bounded on a side (a beta or
uniform on both, a gamma or lognormal below) reaches a known extreme there
(:func:`icssim.sweep.draws.reach`). Each extreme is set, alone, at the parameter's key paths in a
copy of each base scenario, which is then validated as a scenario file is: the scenario's own
schema and checks say whether that value is allowed, so that the bounds are those of the schema
(``Field(le=1)`` on a utility, ``le=0.2`` on a discount rate, a hazard that must not be
negative), never a second copy of them. A distribution that reaches a value the scenario refuses
there is refused with the PSA file, the line and the key, the value it reaches and the bound.

When a drawn point is still not a valid scenario (a normal's tail, a table of draws' cell, a value
that breaks a check between keys), :func:`point_problems` names each problem by where its drawn
value came from (the PSA file's line of the parameter, or the table and column), with the value and
the bound, rather than listing every value of the point; :func:`swept_problems` does the same for a
point of another design, at the line of its value (``values.1``, ``low``, ``high``, ``base``).
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from icssim.errors import Problem, ScenarioError
from icssim.scenario import scenario_from_dict
from icssim.scenario.initial_state import anchored_raw
from icssim.sweep.draws import reach
from icssim.sweep.paths import set_path
from icssim.sweep.spec import Parameter, Sweep
from icssim.sweep.ties import parameter_problem

if TYPE_CHECKING:
    from icssim.sweep.design import Point


def refuse_unreachable(sweep: Sweep, targets: dict[str, dict[str, list[str]]], units: dict[str, str]) -> None:
    """Refuse, before any point is drawn, a PSA whose distributions reach values its scenarios
    refuse (:func:`reach_problems` for each base that runs; ``targets``: the key paths each
    parameter sets in each base, :func:`icssim.sweep.ties.parameter_targets`; ``units``: what each
    writes after its numbers, :func:`icssim.sweep.value_units.value_units`), each parameter
    named once. Otherwise such a value is found only if a draw happens to fall there."""
    problems: dict[str, Problem] = {}
    for label, scenario in sweep.running.items():
        for problem in reach_problems(sweep, anchored_raw(scenario), targets[label], units):
            problems.setdefault(problem.path, problem)
    if problems:
        raise ScenarioError(list(problems.values()))


def reach_problems(sweep: Sweep, base_raw: dict, targets: dict[str, list[str]],
                   units: dict[str, str]) -> list[Problem]:
    """For one base scenario (its data ``base_raw``, and the key paths ``targets`` each parameter
    sets in it): a problem for each parameter whose distribution reaches a value the scenario
    refuses at one of those key paths, naming the PSA file, line and key."""
    problems = []
    for path, p in sweep.spec.parameters.items():
        ends = [v for v in reach(p, units.get(path, "")) if v is not None] if targets.get(path) else []
        refused = [(value, why) for value in ends if (why := _refusal(base_raw, targets[path], value)) is not None]
        if refused:
            (value, (key, message)) = refused[0]
            reaches = (f"this {p.dist} distribution draws values from {_shown(ends[0])} to {_shown(ends[1])}"
                       if len(refused) == 2 else f"{_distribution(p)} reaches {_shown(value)}")
            problems.append(parameter_problem(sweep, path, None, f"{reaches}; {key} {requirement(message)}"))
    return problems


def _refusal(base_raw: dict, keys: list[str], value: Any) -> tuple[str, str] | None:
    """The key path of ``keys`` at which the scenario refuses ``value`` (set at every one of them,
    as a draw is), with the scenario's message; None if it accepts it there. The base is valid, so
    any problem comes from the value; only those about these key paths count."""
    raw = copy.deepcopy(base_raw)
    for key in keys:
        set_path(raw, key, value)
    try:
        scenario_from_dict(raw, name="a PSA parameter's extreme")
    except ScenarioError as exc:
        return next(((key, problem.message) for key, problem in _about(exc.problems, keys)), None)
    return None


def _about(problems: list[Problem], keys: list[str] | dict[str, str]) -> list[tuple[str, Problem]]:
    """The scenario's ``problems`` that are about one of the key paths ``keys``, each with its key
    path: those at it first, then those at the mapping that holds it which name it (``handoff: mean
    must be greater than 0``; not a value found there that shows it, as a mapping found in place of
    a number does)."""
    at = [(key, problem) for key in keys for problem in problems if problem.path == key]
    named = [(key, problem) for key in keys for problem in problems
             if problem.path == key.rpartition(".")[0]
             and re.search(rf"\b{re.escape(key.rpartition('.')[2])}\b", _without_found(problem.message))]
    return at + named


def _without_found(message: str) -> str:
    """A scenario's message without the value it found (``, found 1.5``)."""
    return re.sub(r",? found .*$", "", message, flags=re.DOTALL)


def _shown(value: Any) -> str:
    """A drawn value as a message shows it: ``6``, not ``6.0``; ``0.0312 per month`` as written."""
    return f"{value:.8g}" if isinstance(value, float) else str(value)


def _distribution(p: Parameter) -> str:
    """``this uniform distribution on 1.4 to 1.5``, ``this gamma distribution``."""
    ranged = p.low is not None and p.high is not None
    return f"this {p.dist} distribution" + (f" on {p.low:g} to {p.high:g}" if ranged else "")


def requirement(message: str) -> str:
    """What a scenario's problem requires of a key, to follow its key path: ``expected a number at
    most 1, found 1.5`` → ``must be a number at most 1`` (the value found is said apart)."""
    text = _without_found(message)
    if text.startswith("expected "):
        return "must be " + text.removeprefix("expected ")
    return text if text.startswith("must") else f"is refused: {text}"


def point_problems(sweep: Sweep, p: Point, problems: list[Problem]) -> list[Problem]:
    """The problems of PSA point ``p``'s scenario, each named by where the value that broke it was
    drawn: the PSA file, the line and key of its parameter (or the table of draws and its column),
    with the drawn value and the bound; a problem no drawn value is set at (a check between keys)
    with the drawn values under its key path. Never every value of the point: a PSA draws dozens."""
    setters = _setters(sweep)
    named: dict[str, tuple[str, Problem]] = {}
    for key, problem in _about(problems, setters):
        named.setdefault(setters[key], (key, problem))  # one problem for each parameter or column
    out = [_drawn_problem(sweep, p, source, key, problem) for source, (key, problem) in named.items()]
    said = [key for key, _ in named.values()]
    for problem in problems:
        # the others, but for what a wrong value says again about what holds it (a mapping of
        # utilities whose member is out of range is "not a number" either)
        if not _about([problem], setters) and not any(key.startswith(f"{problem.path}.") for key in said):
            near = [f"{k}={v}" for k, v in p.values.items() if k.startswith(f"{problem.path}.")]
            drawn = f" (drawn there: {', '.join(near)})" if near else ""
            out.append(Problem(str(sweep.path), None, problem.path,
                               f"point {p.index} ({p.base}) is not a valid scenario: {problem.message}{drawn}"))
    return out


def _drawn_problem(sweep: Sweep, p: Point, source: str, key: str, problem: Problem) -> Problem:
    """``problem`` at key path ``key`` of point ``p``, whose value there parameter (or column of
    the table of draws) ``source`` drew: named with where ``source`` is, the value and the bound."""
    said = f"point {p.index} ({p.base}) drew {_shown(p.values.get(source))}; {key} {requirement(problem.message)}"
    if source in sweep.spec.parameters:
        return parameter_problem(sweep, source, None, said)
    table = sweep.draws.path if sweep.draws is not None else sweep.path
    return Problem(str(table), None, f"column {source}", said)


def _setters(sweep: Sweep) -> dict[str, str]:
    """Each key path a PSA sets, and what sets it: a parameter or a column of the table of draws
    (its own key path and those it sets ``also``)."""
    out = {}
    for path in [*(sweep.draws.columns if sweep.draws is not None else []), *sweep.spec.parameters]:
        out.update({key: path for key in (path, *sweep.tied(path))})
    return out


def swept_problems(sweep: Sweep, p: Point, problems: list[Problem]) -> list[Problem]:
    """The problems of point ``p``'s scenario that a value the sweep file sets is the cause of, each
    named by the file, line and key of that value in the sweep file (``parameters.<key path>.high``,
    ``...values.1``), with the point and the scenario's message; the others (a check between keys)
    after them, by the sweep file alone. Empty if no swept value is the cause."""
    keys = list(p.values)
    named: dict[str, Problem] = {}
    for key, problem in _about(problems, keys):
        named.setdefault(key, problem)
    for problem in problems:   # a mapping the sweep sets, wrong inside
        key = next((k for k in keys if problem.path.startswith(f"{k}.")), None)
        if key is not None:
            named.setdefault(key, problem)
    if not named:
        return []
    head = f"point {p.index} ({p.describe()}) is not a valid scenario"
    out = []
    for key, problem in named.items():
        where = value_key(sweep, p, key)
        file, line = sweep.provenance.where(where) if sweep.provenance is not None else (str(sweep.path), None)
        out.append(Problem(file, line, ".".join(map(str, where)), f"{head}: {problem.path}: {problem.message}"))
    said = set(named.values())
    for problem in problems:
        if problem not in said and not any(key.startswith(f"{problem.path}.") for key in named):
            out.append(Problem(str(sweep.path), None, problem.path, f"{head}: {problem.message}"))
    return out


def value_key(sweep: Sweep, p: Point, path: str) -> tuple[Any, ...]:
    """Where in the sweep file point ``p``'s value of parameter ``path`` is written: the item of
    its ``values``, its ``low``, ``high`` or ``base``, or (a value within a range) the parameter."""
    param = sweep.spec.parameters.get(path)
    own: tuple[Any, ...] = ("parameters", path)
    if param is None:
        return own
    lines = sweep.provenance.lines if sweep.provenance is not None else {}
    value = p.values.get(path)
    if p.role in ("low", "high", "base") and p.varied != path:
        return (*own, "base") if param.base is not None else own
    candidates: list[tuple[Any, ...]] = []
    if param.values is not None:
        if p.role in ("low", "high"):
            index = 0 if p.role == "low" else len(param.values) - 1
        else:
            index = next((i for i, v in enumerate(param.values) if _written(v, value)), -1)
        if index >= 0:
            candidates = [(*own, "values", index), (*own, index)]
    elif p.role in ("low", "high"):
        candidates = [(*own, p.role)]
    else:
        candidates = [(*own, name) for name in ("low", "high") if _written(getattr(param, name), value)]
    return next((key for key in candidates if key in lines), own)


def _written(written: Any, value: Any) -> bool:
    """Whether the sweep file's ``written`` is the point's ``value`` (which may carry a unit)."""
    if written is None:
        return False
    if written == value and type(written) is type(value):
        return True
    if isinstance(value, str) and not isinstance(written, (dict, list)):
        return value.split()[0] == str(written) if value.split() else False
    return bool(written == value) and not isinstance(written, bool)
