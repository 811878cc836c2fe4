"""The outputs of a probabilistic sensitivity analysis (a sweep with ``design: psa``): tables,
plots and the answer in words, written beside the sweep's own outputs."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd

from icssim.errors import IcssimError
from icssim.health.economics import COST, QALYS, THRESHOLDS
from icssim.health.plots import acceptability_curve, evpi_curve, psa_plane, sobol_bars
from icssim.health.psa import (acceptability, distinct_groups, draw_table, evpi, evppi, groups_not_estimated,
                                headline, incremental, mean_incremental, net_benefit_variance_shares,
                                people_affected, variance_shares)
from icssim.plots import save
from icssim.report import build_report
from icssim.report.numbers import pounds, signed_money, signed_qalys
from icssim.report.psa import share, singles_not_estimated, spread_of
from icssim.sweep.tables import atomic_text
from icssim.sweep.ties import parameter_targets
from icssim.tables import write_csv


def _number(value: Any) -> float:
    """A drawn value as a number: ``0.028 per month`` → 0.028 (in the unit its parameter names)."""
    if isinstance(value, str):
        return float(value.split()[0])
    return float(value)


def strategies_and_draws(points: list) -> dict[int, tuple[str, int]]:
    """Each sweep point's (strategy, draw number): the points of each base are the draws in order."""
    seen: dict[str, int] = {}
    out = {}
    for p in points:
        out[p.index] = (p.base, seen.get(p.base, 0))
        seen[p.base] = seen.get(p.base, 0) + 1
    return out


def evppi_groups(sweep) -> dict[str, list[str]]:
    """The parameter groups whose EVPPI a PSA reports: each drawn parameter alone (a column of the
    table of draws too: the regression conditions on it with the others as they co-vary), and the
    table's columns together, the value of learning everything the table is uncertain about; and,
    where some of its columns are set in only some strategies (a posterior fitted to one pathway),
    the columns set in the same strategies together (e.g. what learning how the current pathway
    performs would be worth)."""
    groups = {label: [path] for path, label in sweep.drawn().items()}
    table = sweep.draws
    if table is not None and len(table.columns) > 1:
        groups[f"all columns of {table.path.name}"] = list(table.columns)
        for where, columns in columns_by_strategies(sweep).items():
            if len(columns) < len(table.columns):
                groups[f"columns of {table.path.name} set in {where}"] = columns
    return groups


def columns_by_strategies(sweep) -> dict[str, list[str]]:
    """The table of draws' columns by the strategies they are set in: "every strategy", or the
    strategies' labels ("fragmented only")."""
    targets = parameter_targets(sweep)
    out: dict[str, list[str]] = {}
    for column in sweep.draws.columns:
        labels = [label for label, paths in targets.items() if paths.get(column)]
        where = "every strategy" if len(labels) == len(targets) else " and ".join(labels) + " only"
        out.setdefault(where, []).append(column)
    return out


def population(sweep) -> dict[str, Any]:
    """Who the decision affects (the sweep's ``population``, or the baseline scenario's help-seekers
    a year, in all its areas, for 10 years), discounted at the baseline's cost discount rate: the factor that turns a
    per-person EVPI into the population's (:func:`~icssim.health.psa.people_affected`)."""
    from icssim.scenario.findings import cohort_rate
    from icssim.units import years_per_unit

    spec = sweep.spec.population
    base = next(iter(sweep.bases.values()))
    per_year = spec.people_per_year if spec is not None else None
    if per_year is None:
        per_year = sum(cohort_rate(base, c) for c in base.cohorts) / years_per_unit(base.scenario.time_unit)
        if sweep.areas and base.scenario.population:  # every area's help-seekers: demand scales with population
            per_year *= sum(area.population for area in sweep.areas) / base.scenario.population
    years = spec.years if spec is not None else 10
    rate = base.health.discount.costs if base.health is not None else 0.035
    return {"people_per_year": float(per_year), "years": years, "discount_rate": rate,
            "given": spec is not None and spec.people_per_year is not None,
            "people": people_affected(per_year, years, rate)}


def refuse_without_health(sweep, source: Path | str) -> None:
    """Refuse a PSA whose base scenarios lack a ``health:`` block, before anything runs or is
    written: its answer weighs cost against QALYs per help-seeker, which only the course of illness
    measures. ``source``: the sweep file as the user named it."""
    lacking = [label for label, scenario in sweep.bases.items() if scenario.health is None]
    if lacking:
        which = f"strategy {lacking[0]} has" if len(lacking) == 1 else f"strategies {', '.join(lacking)} have"
        raise IcssimError(f"{source}: a PSA weighs cost against QALYs per help-seeker, and its {which} no "
                          f"course of illness to measure them ({COST}, {QALYS}): give each base scenario a "
                          "'health:' block (docs/health.md)")


def write_psa(run) -> dict[str, Any]:
    """Write psa.csv, ceac.csv, evpi.csv, evppi.csv (each parameter alone), psa.json and the PSA
    plots into the sweep's folder, and rebuild its report; return the answer (per threshold: best
    strategy, probabilities, EVPI, EVPPI)."""
    out: Path = run.out
    bases = strategies_and_draws(run.points)
    frame = run.frame()
    table = draw_table(frame, bases)
    parameters = pd.DataFrame([{"draw": bases[p.index][1], **p.values} for p in run.points]).drop_duplicates("draw")
    write_csv(table.merge(parameters, on="draw", how="left"), out / "psa.csv")
    affected = population(run.sweep)
    ceac, value = acceptability(table), evpi(table)
    value["evpi_population"] = value["evpi_per_person"] * affected["people"]
    write_csv(ceac, out / "ceac.csv")
    write_csv(value, out / "evpi.csv")
    numbers = parameters.assign(**{path: parameters[path].map(_number) for path in run.sweep.drawn()})
    groups = distinct_groups(evppi_groups(run.sweep), numbers)
    partial = pd.concat([evppi(table, numbers, groups, wtp) for wtp in THRESHOLDS], ignore_index=True)
    partial["evppi_population"] = partial["evppi_per_person"] * affected["people"]
    write_csv(partial, out / "evppi.csv")
    baseline = next(iter(run.sweep.bases))
    points = incremental(table, baseline)
    save(psa_plane(points, baseline, THRESHOLDS), out / "plots" / "psa_plane.png")
    save(acceptability_curve(ceac, THRESHOLDS), out / "plots" / "ceac.png")
    save(evpi_curve(value, THRESHOLDS, affected), out / "plots" / "evpi.png")
    answer = {"baseline": baseline, "draws": int(table["draw"].nunique()), "population": affected,
              "incremental": mean_incremental(table, baseline),
              "at_thresholds": headline(ceac, value),
              "evppi": partial.to_dict(orient="records"),
              "evppi_not_estimated": groups_not_estimated(groups, int(table["draw"].nunique())),
              "evppi_groups": _group_members(run.sweep, groups),
              "variance": [row for part in [*(variance_shares(frame, bases, kpi) for kpi in (QALYS, COST)),
                                            net_benefit_variance_shares(frame, bases, baseline)]
                           for row in part.to_dict(orient="records")]}
    if run.sweep.spec.design == "sobol":
        answer["sobol"] = _write_sobol(run, table, baseline, out)
    atomic_text(out / "psa.json", json.dumps(answer, indent=2, default=float))
    atomic_text(out / "report.html", build_report(out))
    return answer


def _group_members(sweep, groups: dict[str, list[str]]) -> dict[str, list[str]]:
    """Each EVPPI group of more than one parameter, with its parameters' labels (a report says what
    "all columns of posterior.csv" holds)."""
    labels = sweep.drawn()
    return {name: [labels.get(path, path) for path in paths] for name, paths in groups.items() if len(paths) > 1}


def _write_sobol(run, table: pd.DataFrame, baseline: str, out: Path) -> list[dict[str, Any]]:
    """sobol.csv and plots/sobol.png: Sobol indices of the incremental net benefit (design: sobol)."""
    from icssim.health.sobol import sobol_table  # SALib: only for a Sobol design

    labels = {path: str(p.label or path) for path, p in run.sweep.spec.parameters.items()}
    indices = sobol_table(table, baseline, labels, THRESHOLDS)
    write_csv(indices, out / "sobol.csv")
    if len(indices):
        save(sobol_bars(indices), out / "plots" / "sobol.png")
    return indices.to_dict(orient="records")


def _population_words(answer: dict[str, Any], row: dict[str, Any]) -> str:
    """``, £2.1 million for 1,070 people a year over 10 years`` (nothing for a psa.json from before)."""
    who = answer.get("population")
    if not who or "evpi_population" not in row:
        return ""
    return (f", {pounds(max(row['evpi_population'], 0.0))} for {who['people_per_year']:,.0f} people a year over "
            f"{who['years']} years")


#: Widest line of the answer in the terminal.
CONSOLE_WIDTH = 100


def answer_text(answer: dict[str, Any]) -> str:
    """The PSA's answer in a few lines for the terminal, none wider than :data:`CONSOLE_WIDTH`, its
    amounts rounded as the report rounds them (:func:`icssim.report.numbers.pounds`)."""
    lines = [f"PSA over {answer['draws']} parameter draws:"]
    for row in answer.get("incremental", []):
        if row["delta_qalys"] <= 0:
            ratio = "no QALYs gained on average"
        elif row["delta_cost"] <= 0:
            ratio = "dominant (less cost and more QALYs on average)"
        else:
            ratio = f"ICER {pounds(row['icer'])} per QALY (mean cost over mean QALYs)"
        cost = signed_money(row["delta_cost"], rounded=True)
        lines.append(f"  {row['strategy']} against {row['baseline']}, mean over the draws: {cost} and "
                     f"{signed_qalys(row['delta_qalys'])} QALYs per help-seeker; {ratio}")
    for row in answer["at_thresholds"]:
        chances = ", ".join(f"{name} {share(p)}" for name, p in row["probability_best"].items())
        lines.append(f"  at {pounds(row['wtp'])} per QALY: best on expected net benefit: {row['best']} "
                     f"(probability best: {chances}); EVPI {pounds(max(row['evpi_per_person'], 0.0))} per person"
                     + _population_words(answer, row))
    for wtp in THRESHOLDS:
        top = sorted((r for r in answer["evppi"] if r["wtp"] == wtp and r["evppi_per_person"] >= 0.5),
                     key=lambda r: -r["evppi_per_person"])[:3]
        if not top and any(r["wtp"] == wtp for r in answer["evppi"]):
            lines.append(f"  at {pounds(wtp)} per QALY, no parameter is worth learning about (every EVPPI under £1)")
        if top:
            lines.append(f"  at {pounds(wtp)} per QALY, worth learning most about: " + "; ".join(
                f"{r['group']} (EVPPI {pounds(r['evppi_per_person'])} per person)" for r in top))
    groups = [f"{r['group']} (needs {r['draws_needed']:,})" for r in answer.get("evppi_not_estimated") or []
              if r["group"] in (answer.get("evppi_groups") or {})]
    alone = singles_not_estimated(answer)
    if alone:
        groups.append(alone)
    if groups:
        lines.append(f"  EVPPI not estimated with {answer['draws']} draws: " + "; ".join(groups))
    for wtp in THRESHOLDS:
        top = sorted((r for r in answer.get("sobol", []) if r["wtp"] == wtp), key=lambda r: -r["total"])[:3]
        if top:
            lines.append(f"  at {pounds(wtp)} per QALY, the incremental net benefit's variance is driven most by "
                         "(total Sobol index): " + "; ".join(f"{r['parameter']} {r['total']:.2f}" for r in top))
    for row in answer["variance"]:
        lines.append(f"  {row['strategy']}: {row['share_parameters']:.0%} of the spread of "
                     f"{spread_of(row.get('kpi', QALYS))} is parameter uncertainty, the rest simulation noise")
    return "\n".join(part for line in lines
                     for part in textwrap.wrap(line, CONSOLE_WIDTH, subsequent_indent="      ",
                                               break_on_hyphens=False))
