"""Plausibility warnings: values a scenario may hold but no English ICS could have.

The schema refuses what cannot be simulated (a negative WTE, a probability of 2); these are
values it accepts that are very probably a slip (a WTE of 1e9, a cost of £5m a contact, a
wait of 300 years). They are WARNINGS, never refusals: a planner may really mean one (a
thought experiment, a what-if at the edge), so ``icssim validate`` and ``icssim run`` print
them and carry on with the exit status unchanged, and the app shows them beside the field
while still allowing the run.

Each range is stated as an ASSUMPTION, with its reasoning, in :data:`LIMITS`. They are
deliberately generous: a limit is set well beyond the largest value any English ICS has (the
largest ICSs serve about 3 million people), so a real scenario, a national area's scaled
copy or a PSA draw never trips one; every scenario shipped in ``scenarios/`` gives none
(``tests/test_plausibility.py`` checks them all, each sweep point included).

The kind of a plain number comes from its key's unit (:func:`icssim.units.key_unit`: WTE, £ a
contact, per 100,000 a year ...); times (``2 weeks``, or a bare number in the scenario's time
unit) and referral rates are read from the validated scenario, so their unit is known. A
cohort's attributes (ages, years of illness) are numbers in units of their own and are not checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


from icssim.errors import Problem
from icssim.scenario.findings import Finding, leaves
from icssim.scenario.schema import CapacityChange, Cohort, Scenario
from icssim.scenario.yaml_reader import dotted
from icssim.units import UNIT_DAYS, Rate, Span, canonical_unit, in_days, key_unit


@dataclass(frozen=True)
class Limit:
    """The largest plausible value of one kind of number, and what it is, in words."""

    high: float
    what: str


#: The largest plausible value of each kind of number, by its unit (:data:`icssim.units.KEY_UNITS`).
LIMITS: dict[str, Limit] = {
    # ASSUMPTION: one staff role of one service in one ICS has at most 5,000 WTE. A whole
    # mental health trust employs a few thousand WTE of every role together; NHS England's
    # entire mental health workforce is about 150,000 WTE, or about 3,600 per ICS.
    "WTE": Limit(5_000, "WTE of one staff role in one service of an ICS"),
    # ASSUMPTION: one service has at most 10,000 beds. England has about 100,000 general and
    # acute beds and 18,000 mental health beds in all, so the largest ICS has well under 10,000.
    "beds": Limit(10_000, "beds of one service of an ICS"),
    # ASSUMPTION: an ICS serves at most 10 million people. The largest serve about 3 million
    # (all of England is about 57 million: the limits here are per ICS).
    "people": Limit(10_000_000, "people served by one ICS"),
    # ASSUMPTION: a cohort is referred at most 100,000 times per 100,000 people a year (once per
    # person a year). Even A&E attendances, the busiest front door, are about 45,000.
    "per 100,000 a year": Limit(100_000, "referrals per 100,000 people a year"),
    # ASSUMPTION: at most 2,500 patients per WTE: a GP's list of about 2,000 people per
    # full-time GP is the largest caseload per clinician in the NHS; mental health teams hold 10 to 60.
    "patients per WTE": Limit(2_500, "patients per WTE of caseload"),
    # ASSUMPTION: a service's caseload and a group of today's waiting list hold at most 100,000
    # patients. England's whole community mental health waiting list is about 1.2 million, about
    # 30,000 per ICS.
    "patients": Limit(100_000, "patients on one service's caseload"),
    "patients waiting": Limit(100_000, "patients in one group of today's waiting list"),
    # ASSUMPTION: a service has at most 10,000 rooms, bays or cubicles (as many as beds, above).
    "places": Limit(10_000, "rooms, bays or cubicles of one service"),
    # ASSUMPTION: a course of care has at most 1,000 sessions: weekly for 20 years. Therapies
    # are 6 to 40 sessions; long-term support a few hundred contacts.
    "sessions": Limit(1_000, "sessions in one course of care"),
    # ASSUMPTION: staff cost at most £2,000 an hour. A consultant psychiatrist costs about £150 an
    # hour with overheads (PSSRU unit costs); an agency locum a few hundred.
    "£ an hour": Limit(2_000, "£ an hour of staff time"),
    # ASSUMPTION: one contact costs at most £1 million. The costliest single episodes the NHS pays
    # for (an inpatient stay counted as one contact, a transplant) are tens of thousands.
    "£ a contact": Limit(1_000_000, "£ for one contact"),
    # ASSUMPTION: a bed-day costs at most £50,000. Critical care costs about £2,000 to £5,000 a
    # day, a specialist eating disorder or secure bed about £1,000 to £2,500.
    "£ a bed-day": Limit(50_000, "£ for one bed-day"),
    # ASSUMPTION: a health state costs at most £1 million a person a year; a high secure placement,
    # among the costliest care there is, is about £300,000 a year.
    "£ a year": Limit(1_000_000, "£ a person a year in one health state"),
    # ASSUMPTION: one health event (an admission, a review) costs at most £1 million.
    "£": Limit(1_000_000, "£ for one health event"),
    # ASSUMPTION: a health state multiplies the background death rate at most 100 times; anorexia
    # nervosa, among the deadliest mental illnesses, has a standardised mortality ratio of 5 to 15.
    "× the background death rate": Limit(100, "× the background death rate"),
}
#: ASSUMPTION: no time in a scenario (a wait, a stay, a horizon, a follow-up) is longer than 50
#: years: more than a working life, and beyond any plan an ICS makes.
MAX_YEARS = 50
#: ASSUMPTION: a cohort is referred at most 10 million times a year (about 27,000 a day): the
#: largest plausible ICS (10 million people) at the largest plausible referral rate (once per person a year).
MAX_REFERRALS_PER_YEAR = 10_000_000


#: ASSUMPTION: a scenario's population (the residents its rates per 100,000 are of) is at least
#: 10,000. The smallest English ICS serves about 500,000 people, a place within one 100,000 to
#: 300,000, a primary care network 30,000 to 50,000; a population below one GP practice's list
#: (about 10,000) is most often the population in thousands (150 for 150,000), which gives each
#: cohort a thousandth of its demand (a few referrals a year, or none) and results of no one.
MIN_POPULATION = 10_000


#: ASSUMPTION: a demand profile's multipliers (hourly, weekly, a profile file, seasonality) shape a
#: cohort's rate and average 1 (every shipped profile does, to 3 decimals); they are applied as
#: given, so an average more than 10% away from 1 also changes the total, most often because the
#: file wrote shares or percentages (24 hourly percentages average 4.17: four times the demand).
PROFILE_MEAN_TOLERANCE = 0.10


def findings(scenario: Scenario) -> list[Finding]:
    """Every value of ``scenario`` beyond its kind's plausible range: ``(key path, message)``, the
    path as written in the file (``services.ed.staff.therapist.wte``)."""
    raw = _raw(scenario)
    found: list[Finding] = []
    _check(scenario, scenario.scenario.time_unit, found)
    _population(scenario, found)
    _profiles(scenario, found)
    _intervals(scenario, found)
    return [(_as_written(path, raw), message) for path, message in found]


def warnings(scenario: Scenario) -> list[Problem]:
    """:func:`findings` as the loader reports problems: each with the file and line it was read
    from (as far as the scenario's provenance knows them), in the order of the file."""
    from icssim.scenario.loader import provenance

    prov = provenance(scenario)
    problems = [Problem(*prov.where(path), dotted(path), message) for path, message in findings(scenario)]
    return sorted(problems, key=lambda p: (p.file, p.line if p.line is not None else 1 << 30))


def _check(scenario: Scenario, time_unit: str, found: list[Finding]) -> None:
    """Check every value of the validated ``scenario`` against its kind's limit."""
    for path, value, owner in leaves(scenario):
        key = path[-1] if path else None
        if isinstance(owner, CapacityChange) and key in ("change", "to"):   # WTE of a role, or beds
            _number(value, path, "beds" if owner.role == "beds" else "WTE", found)
        elif isinstance(owner, Cohort) and key == "rate" and isinstance(value, Rate):
            _referrals(value, path, time_unit, found)
        elif isinstance(value, Span) and "attributes" not in path:   # (an attribute's numbers: units of their own)
            if _unit(path) == "sessions":   # a count of sessions is read as a distribution of spans too
                _number(value.value, path, "sessions", found)
            else:
                _time(value, path, time_unit, found)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            _number(value, path, _unit(path), found)


def _unit(path: tuple[Any, ...]) -> str:
    """The unit of the plain number at ``path``: :func:`icssim.units.key_unit`'s, except for a
    ``count`` that is not a service's places (a course's sessions, a group of the waiting list).
    A number the file wrote alone where a distribution may stand (``count: 10``) is read as a fixed
    distribution (``count.value``): it has the unit of the key the file wrote."""
    if path[-1:] == ("value",):
        path = path[:-1]
    named = [p for p in path if isinstance(p, str)]
    if any(a == "sessions" and b == "count" for a, b in zip(named, named[1:])):   # count: 10, or its distribution
        return "sessions"
    if named[:2] == ["initial_state", "waiting"] and named[-1] == "count":
        return "patients waiting"
    return key_unit(path)


def _number(value: float | None, path: tuple[Any, ...], unit: str, found: list[Finding]) -> None:
    limit = LIMITS.get(unit)
    if value is None or limit is None or abs(value) <= limit.high:
        return
    found.append((path, f"{_shown(value)} {unit} is more than any English ICS could have (plausible: at most "
                        f"{_shown(limit.high)} {limit.what}); check it, or keep it if you mean it"))


def _time(span: Span, path: tuple[Any, ...], time_unit: str, found: list[Finding]) -> None:
    years = in_days(span, time_unit) / UNIT_DAYS["year"]
    if years > MAX_YEARS:
        written = str(span) if span.unit else f"{_shown(span.value)} {time_unit}"
        about = "" if span.unit == "year" else f" (about {_shown(years)} years)"
        found.append((path, f"{written}{about} is longer than any plan of an English ICS could need (plausible: "
                            f"at most {MAX_YEARS} years); check the number and its unit, or keep it if you mean it"))


def _referrals(rate: Rate, path: tuple[Any, ...], time_unit: str, found: list[Finding]) -> None:
    per_year = rate.to(time_unit) * UNIT_DAYS["year"] / UNIT_DAYS[canonical_unit(time_unit)]
    if per_year > MAX_REFERRALS_PER_YEAR:
        found.append((path, f"{rate} is about {_shown(per_year)} referrals a year, more than any English ICS "
                            f"could have (plausible: at most {_shown(MAX_REFERRALS_PER_YEAR)} a year for one "
                            "cohort); check the number and its unit, or keep it if you mean it"))


def _population(scenario: Scenario, found: list[Finding]) -> None:
    """A population below :data:`MIN_POPULATION`, with the referrals a year its rates per 100,000
    give (those of the cohorts that have one) and the populations it may have been meant as."""
    population = scenario.scenario.population
    if population is None or population >= MIN_POPULATION:
        return
    per_year = sum(c.rate_per_100k_per_year * population / 1e5 for c in scenario.cohorts.values()
                   if c.rate_per_100k_per_year is not None)
    gives = (f": its cohorts' rates per 100,000 residents give about {per_year:.2g} referrals a year in all"
             if any(c.rate_per_100k_per_year is not None for c in scenario.cohorts.values()) else "")
    found.append((("scenario", "population"),
                  f"{_shown(population)} people is fewer than any English ICS, place or primary care network "
                  f"serves (plausible: at least {_shown(MIN_POPULATION)}){gives}; a population in thousands? "
                  f"({_shown(population * 1000)} people is written {population * 1000}); check it, or keep it "
                  "if you mean it"))


def _profiles(scenario: Scenario, found: list[Finding]) -> None:
    """Each demand profile whose multipliers do not average about 1 (:data:`PROFILE_MEAN_TOLERANCE`)."""
    from icssim.scenario.demand_profile import profile_hours

    for name, cohort in scenario.cohorts.items():
        demand = cohort.demand
        if demand is None:
            continue
        hours = profile_hours(scenario, name) if demand.profile is not None else None
        weekly = [x for day in demand.weekly for x in day] if demand.weekly is not None else None
        for key, values in (("hourly", demand.hourly), ("weekly", weekly), ("profile", hours),
                            ("seasonality", demand.seasonality)):
            if not values:
                continue
            mean = sum(values) / len(values)
            if abs(mean - 1) <= PROFILE_MEAN_TOLERANCE:
                continue
            total = sum(values)
            why = (f"they sum to {_shown(total)}: percentages of the total? " if abs(total - 100) <= 1 else
                   "they average about 100: percentages? " if 80 <= mean <= 125 else
                   f"they sum to {_shown(total)}: shares of the total? " if abs(total - 1) <= 0.01 else "")
            found.append((("cohorts", name, "demand", key),
                          f"the {len(values)} multipliers average {mean:.3g}, so this cohort's demand is "
                          f"{mean:.3g} × its rate on average ({why}multipliers are applied as given); write "
                          f"them to average 1 to shape the rate without changing it, or keep them if you "
                          f"mean the change"))


def _intervals(scenario: Scenario, found: list[Finding]) -> None:
    """An interval standard or path time whose ``to`` step no route leads to from its ``from``
    step: its times would be negative (``to`` reached first) or never measured. Warned, not refused:
    a route this check cannot see (a return driven by the course of illness, sent to any step it
    names, is counted as leading from every step) may still lead there."""
    ends = [(("scenario", "standards", name), std.from_, std.to)
            for name, std in scenario.scenario.standards.items() if std.from_ is not None and std.to is not None]
    ends += [(("scenario", "path_times", name), pt.from_, pt.to) for name, pt in scenario.scenario.path_times.items()]
    if not ends:
        return
    reach = _reachable(scenario)
    for path, start, end in ends:
        a, b = start.partition(".")[0], end.partition(".")[0]
        if a in ("arrival", "exit") or b in ("arrival", "exit") or a == b or b in reach.get(a, set()):
            continue
        found.append((path + ("to",), f"no route of the pathway leads from '{a}' to '{b}', so this interval's "
                      f"times would be negative (when '{b}' comes first) or never measured: expected a 'to' "
                      f"after '{start}' on the path"))


def _reachable(scenario: Scenario) -> dict[str, set[str]]:
    """Each step's steps reachable by the pathway's routes (:func:`icssim.pathway_graph.pathway_edges`,
    deterioration included), and by the course of illness's returns from anywhere."""
    from icssim.pathway_graph import pathway_edges

    after: dict[str, set[str]] = {name: set() for name in scenario.pathway.steps}
    for edge in pathway_edges(scenario):
        after.setdefault(edge.src, set()).add(edge.dst)
    returns = {r.step for r in scenario.health.returns.values()} if scenario.health is not None else set()
    reach = {}
    for start in after:
        seen, todo = set(), [*after[start], *returns]
        while todo:
            step = todo.pop()
            if step not in seen:
                seen.add(step)
                todo.extend(after.get(step, ()))
        reach[start] = seen
    return reach


def _shown(x: float) -> str:
    """A number for a message: ``5,000``, ``1,000,000,000``, ``2.5``, ``1e+20``."""
    if abs(x) >= 1e15:
        return f"{x:g}"
    return f"{x:,.0f}" if float(x).is_integer() or abs(x) >= 100 else f"{x:,.3g}"


def _raw(scenario: Scenario) -> Any:
    from icssim.scenario.loader import provenance

    return provenance(scenario).raw


def _as_written(path: tuple[Any, ...], raw: Any) -> tuple[Any, ...]:
    """``path`` cut to the deepest key the file wrote: a time written as ``duration: 30 minutes`` is
    read as a distribution (``duration.value``), but the file's key, its line and the app's field
    are ``duration``. A path the file does not write at all (a default) is kept whole."""
    node = raw
    for depth, part in enumerate(path):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return path[:depth] if depth and not isinstance(node, (dict, list)) else path
    return path
