"""KPI names a file or a command gives, checked against the KPIs its scenario measures, before
anything long runs: a sweep's ``kpis:``, a calibration's targets, ``report.featured``, and
``icssim run --precision --kpi``. Each unknown name is one problem with its file, line and key,
and the nearest KPI the scenario does measure ("did you mean").

Many KPI names are made from the scenario (``within_<standard>``, ``utilisation_<role>``,
``cost_per_year_<service>``, one per cohort, per health state, per step), by the same code that
measures them in a run, and are known only to it. Rather than keep a second list that could drift
from that code, :func:`measured` runs the scenario for one day without a warm-up (hundredths of
a second once the modules are imported) and takes the names of the KPIs it gives: the same
registry on the same pathway gives the same names whatever their values. A KPI can still have no
value in a long run (nobody treated): :func:`no_value_reason` says when the pathway alone shows it.
"""

from __future__ import annotations

import argparse
import difflib
import re
from collections.abc import Callable, Iterable
from typing import Any

from icssim.errors import IcssimError, Problem, ScenarioError
from icssim.scenario.yaml_reader import KeyPath, dotted

#: The KPIs ``icssim run --precision`` judges when no ``--kpi`` is given.
PRECISION_KPIS = ("wait_to_treatment_mean", "cost_per_year")
#: The cap on replications of ``--precision`` when ``--max-replications`` is not given.
MAX_REPLICATIONS = 100

_MEASURED: dict[tuple[str, bool], list[str] | None] = {}


def measured(scenario: Any, measures: bool = False) -> list[str] | None:
    """The names of every KPI a run of ``scenario`` gives, in output order; with ``measures``, also
    the calibration's measures (:mod:`icssim.calibrate.measures`, which need the visit records).
    None when the one-day run fails: the names are then not known, and nothing is refused."""
    from icssim.scenario.loader import provenance

    key = (provenance(scenario).sha256, measures)
    if key not in _MEASURED:
        _MEASURED[key] = _one_day_names(scenario, measures)
    return _MEASURED[key]


def _one_day_names(scenario: Any, measures: bool) -> list[str] | None:
    from icssim.experiments import run_replication, standards_of
    from icssim.units import Span

    meta = scenario.scenario
    day = scenario.model_copy(update={"scenario": meta.model_copy(update={"horizon": Span(1.0, "day"),
                                                                          "warmup": Span(0.0)})})
    day._provenance = scenario._provenance   # (files named relative to the scenario, e.g. a waiting list)
    try:
        rep = run_replication(day, 0)   # (visits recorded: every name any command's run may give)
        names = list(rep.kpis)
        if measures and rep.records is not None:
            from icssim.calibrate.measures import compute_measures
            from icssim.kpis import Window

            names += [n for n in compute_measures(Window(rep.records, standards_of(day))) if n not in rep.kpis]
    except Exception:  # a pathway that cannot run for a day: the long run says what is wrong with it
        return None
    return names


def unknown_kpi(name: str, known: list[str], of: str = "this scenario") -> str | None:
    """The message for a KPI name ``known`` lacks (with the nearest one), or None if it is known."""
    if name in known:
        return None
    other_unit = _TIME_UNIT.sub(lambda m: f"_{'days' if m[1] == 'minutes' else 'minutes'}{m[2]}", name, count=1)
    if other_unit != name and other_unit in known:
        return (f"{name!r} is not a KPI of {of}; did you mean {other_unit!r}? (a time at a stage, from arrival "
                "or on a path is named in minutes when the scenario's time_unit is minutes or hours, else in days)")
    near = difflib.get_close_matches(name, known, n=1)
    why = (" (the generic waits keep their names, wait_to_assessment_* and wait_to_treatment_*, whatever words "
           "report.waits gives them)" if name.startswith("wait_to_") and not name.startswith(_GENERIC_WAITS) else "")
    return f"{name!r} is not a KPI of {of}" + (f"; did you mean {near[0]!r}?" if near else "") + why


#: the generic waits' KPI names begin so (``report.waits`` renames them in words, never in names)
_GENERIC_WAITS = ("wait_to_assessment_", "wait_to_treatment_")


#: the unit in a stage's, path's or pathway's time KPI name (``path_time_median_minutes_<name>``)
_TIME_UNIT = re.compile(r"_(minutes|days)(_|$)")


#: Where a sweep file says what ``icssim optimise`` minimises: a KPI, a swept parameter, or a sum.
OBJECTIVE: KeyPath = ("optimise", "minimise")


def _problems(names: Iterable[tuple[KeyPath, str]], known: list[str] | None,
              where: Callable[[KeyPath], tuple[str, int | None]], of: str,
              parameters: list[str] | None = None) -> list[Problem]:
    """A problem for each of ``names`` ((key path, KPI name) pairs; a path may name several, as the
    terms of a sum do) not in ``known``, placed by ``where``; at :data:`OBJECTIVE` the nearest name
    may also be one of the swept ``parameters``."""
    if known is None:
        return []
    out = []
    for path, name in names:
        message = unknown_kpi(name, known, of)
        if message is not None and path == OBJECTIVE and parameters:
            near = difflib.get_close_matches(name, known + parameters, n=1)
            message = (f"{name!r} is neither a KPI of {of} nor a swept parameter"
                       + (f"; did you mean {near[0]!r}?" if near else ""))
        if message is not None:
            out.append(Problem(*where(path), dotted(path), message))
    return out


def refuse(problems: list[Problem]) -> None:
    """Raise the problems found (if any) as one error, each with its file, line and key."""
    if problems:
        raise ScenarioError(problems)


def featured_problems(scenario: Any, where: Callable[[KeyPath], tuple[str, int | None]] | None = None
                      ) -> list[Problem]:
    """Each ``report.featured`` entry of ``scenario`` that is not one of its KPIs (the reports
    would leave it out without a word), placed by ``where`` (by default the scenario's own file and
    line: ``icssim app`` places an edited scenario's by the file it was edited from)."""
    from icssim.scenario.loader import provenance

    featured = list(scenario.report.featured) if scenario.report is not None else []
    if not featured:
        return []
    names = [(("report", "featured", i), name) for i, name in enumerate(featured)]
    return _problems(names, measured(scenario), where or provenance(scenario).where, "this scenario")


def sweep_problems(sweep: Any) -> list[Problem]:
    """Each of a sweep's ``kpis:``, and each KPI it names for ``icssim optimise`` (every term of a
    sum to minimise) or the frontier, that none of its base scenarios measures."""
    known: list[str] = []
    for scenario in sweep.bases.values():
        names = measured(scenario)
        if names is None:
            return []
        known += [n for n in names if n not in known]
    of = "its base scenario" if len(sweep.bases) == 1 else "any of its base scenarios"
    where = sweep.provenance.where if sweep.provenance is not None else (lambda path: (str(sweep.path), None))
    return _problems([*((("kpis", i), k) for i, k in enumerate(sweep.spec.kpis)), *_chosen_measures(sweep)],
                     known, where, of, list(sweep.spec.parameters))


def _chosen_measures(sweep: Any) -> list[tuple[KeyPath, str]]:
    """The KPIs a sweep file names for ``icssim optimise`` (its targets, each KPI term of what to
    minimise) and for the cost-against-wait frontier, where the file writes them (defaults are not
    the user's words, and a scenario may lack them: urgent care has no wait to treatment)."""
    from icssim.sweep.optimise import TARGET_PATTERN, parse_objective

    written = sweep.provenance.lines if sweep.provenance is not None else {}
    names: list[tuple[KeyPath, str]] = []
    for i, text in enumerate(sweep.spec.optimise.target):
        match = TARGET_PATTERN.match(text)
        if match:
            item: KeyPath = ("optimise", "target", i)
            names.append((item if item in written else item[:-1], match.group(1)))
    if sweep.spec.optimise.minimise is not None:   # a KPI, a swept parameter, or a sum of them
        try:
            terms = [name for _, name in parse_objective(sweep.spec.optimise.minimise)]
        except IcssimError:
            terms = []   # (optimise says how to write it)
        names += [(OBJECTIVE, name) for name in dict.fromkeys(terms)
                  if name not in sweep.spec.parameters]   # every KPI term of a sum, each once
    for key in ("cost", "wait"):
        if ("frontier", key) in written:
            names.append((("frontier", key), getattr(sweep.spec.frontier, key)))
    return names


def calibration_problems(cal: Any) -> list[Problem]:
    """Each calibration target whose ``kpi`` its scenario does not measure (the calibration would
    otherwise find it missing in every simulation, after the first generation)."""
    from icssim.calibrate.measures import measure_of
    from icssim.kpis import kpi_of

    known = measured(cal.scenario, measures=True)
    if known is None:
        return []
    problems = []
    for key, target in cal.spec.targets.items():
        message = unknown_kpi(target.kpi, known)
        if message is None:
            problems += _share_problems(cal, key, target)
            continue
        if kpi_of(target.kpi) is None and measure_of(target.kpi) is None:   # no KPI's name at all
            message = (f"unknown measure {target.kpi!r}; give a KPI name (see docs/calibration.md for the "
                       f"measures){message.partition(' of this scenario')[2]}")
        path = ("targets", key, "kpi")
        file, line = cal.prov.where(path)
        problems.append(Problem(file, line, dotted(path), message))
    return problems


def no_value_reason(scenario: Any, name: str) -> str | None:
    """Why the KPI ``name`` can have no value in any run of ``scenario``, as the pathway shows it
    (a wait to treatment without a step that counts as treatment), or None when it may have one."""
    if scenario.initial_state is not None and not scenario.scenario.warmup.value > 0:
        return None   # (today's waiting list, measured without a warm-up, may have started already)
    for what in ("treatment", "assessment"):
        if name.startswith(f"wait_to_{what}_") and not has_step(scenario, what):
            return f"no {what} step"
    return None


def has_step(scenario: Any, what: str) -> bool:
    """Whether ``scenario``'s pathway has a step that counts as ``what`` ("treatment" or
    "assessment"), by its kind or by its ``counts_as``."""
    from icssim.kinds import KINDS

    counts = {"treatment": ("treatment",), "assessment": ("assessment", "further_assessment")}[what]
    return any(st.counts_as in counts if st.counts_as is not None else getattr(KINDS[st.kind], f"is_{what}")
               for st in scenario.pathway.steps.values())


def check_precision_options(args: argparse.Namespace, scenarios: list[Any],
                            defaults: Iterable[str] = PRECISION_KPIS) -> None:
    """Refuse, before a replication runs, what ``--precision`` (``icssim run``, ``icssim compare``)
    would find only at its cap or never: ``--kpi`` or ``--max-replications`` without
    ``--precision`` (they would be ignored), a cap below ``--replications`` (it would run fewer
    than asked), a KPI a scenario does not measure, or one that has no value in it. Fills in
    ``--max-replications``' default and ``--kpi``'s (``defaults``)."""
    if args.precision is None:
        given = [o for o, v in (("--kpi", args.kpi), ("--max-replications", args.max_replications)) if v is not None]
        if given:
            raise IcssimError(f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} for --precision (adding "
                              f"replications until the CI is narrow enough): give --precision, or leave "
                              f"{'it' if len(given) == 1 else 'them'} out and set --replications")
        return
    if not args.precision > 0:
        raise IcssimError(f"--precision must be greater than 0, found {args.precision:g}")
    if args.max_replications is None:
        args.max_replications = max(MAX_REPLICATIONS, args.replications)
    elif args.max_replications < args.replications:
        raise IcssimError(f"--max-replications ({args.max_replications}) is below --replications "
                          f"({args.replications}): --precision starts from --replications and adds up to the "
                          "cap; raise the cap or lower --replications")
    kpis = args.kpi or list(defaults)
    for scenario in scenarios:
        _check_precision_kpis(scenario, kpis, chosen=args.kpi is not None, several=len(scenarios) > 1)
    args.kpi = kpis


def _check_precision_kpis(scenario: Any, kpis: list[str], chosen: bool, several: bool) -> None:
    where = f"scenario '{scenario.scenario.name}'" if several else "this scenario"
    known = measured(scenario)
    for name in kpis:
        message = unknown_kpi(name, known) if known is not None else None
        if message is not None:
            raise IcssimError(f"--kpi: {message.replace('this scenario', where)}")
        reason = no_value_reason(scenario, name)
        if reason is not None:
            advice = "choose another --kpi" if chosen else "choose the measure with --kpi"
            raise IcssimError(f"{name} has no value in {where} ({reason}), so --precision could never "
                              f"be reached: {advice}")


def comparison_precision_kpis(scenarios: list[Any]) -> tuple[str, ...]:
    """``compare --precision``'s KPIs when none is given: the incremental cost and QALYs of value
    for money when every scenario has a course of illness, else those of ``run --precision``."""
    if all(s.health is not None for s in scenarios):
        return ("cost_per_person", "qalys_per_person")
    return PRECISION_KPIS


def _share_problems(cal: Any, key: str, target: Any) -> list[Problem]:
    """A target of a KPI that is a share (0 to 1) written as a percentage (``value: 88.5``): the fit
    could never come near it and ended in "nothing fits" after the whole run."""
    from icssim.kpis import kpi_info
    from icssim.scenario.messages import percent_hint

    if target.per_100k or kpi_info(target.kpi).unit != "share":
        return []
    problems = []
    for name in ("value", "low", "high", "sd", "tolerance"):
        x = getattr(target, name)
        if x is not None and not 0 <= x <= 1:
            path = ("targets", key, name)
            file, line = cal.prov.where(path)
            problems.append(Problem(file, line, dotted(path), f"{target.kpi} is a share between 0 and 1, found "
                                    f"{x:g}{percent_hint(x)}"))
    return problems
