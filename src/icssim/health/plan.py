"""The course of illness compiled from a scenario's ``health:`` block into arrays, rates per year.

:class:`HealthPlan` is what :mod:`icssim.health.course` reads: hazards indexed
``[group, status, from, to]`` (status 0 untreated, 1 waiting, 2 treated), starting shares,
utilities and mortality rate ratios per group and state, costs per state, tunnel states, and
background mortality as a hazard per year by age and sex. The dead state is the last index,
``len(names)``. A person's *group* is their cohort and, when the health block has ``by`` (e.g. the
diagnosis), their level of that attribute: ``cohort × len(levels) + level``.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Final

import numpy as np

from icssim.sampling import Sampler
from icssim.scenario.health import STATUSES, Health, HealthEvent, HealthReturn
from icssim.scenario.schema import Scenario
from icssim.units import UNIT_DAYS, Rate, Span, canonical_unit

#: the statuses' indices, in STATUSES' order (Final: the compiled engine reads them as constants)
UNTREATED: Final = 0
WAITING: Final = 1
TREATED: Final = 2
#: a lifetime follow-up ends at this age (the life table's last row is age 100)
LIFETIME_AGE = 101.0
#: ages beyond the life table's last row that Mortality.by_year covers (a course followed to
#: LIFETIME_AGE from any age, and a 10-year follow-up from an age up to 110)
YEARS_BEYOND: Final = 130
DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class DuedEffect:
    """× exp(−per_year × max(0, DUI − after_years)) on the treated hazards of scaled transitions."""

    attribute: str
    per_year: float
    after_years: float


@dataclass(frozen=True)
class Mortality:
    """Background mortality hazard per year, by whole year of age (rows) and sex (0 female, 1 male)."""

    hazard: np.ndarray  # [age, sex], ages 0..max; older ages use the last row
    female_share: float
    age_attribute: str

    def at(self, age: np.ndarray, male: np.ndarray) -> np.ndarray:
        row = np.clip(np.floor(age).astype(np.int64), 0, len(self.hazard) - 1)
        return self.hazard[row, male.astype(np.int64)]

    def by_year(self) -> tuple[np.ndarray, np.ndarray]:
        """[sex, age] for ages 0 … the table's last + :data:`YEARS_BEYOND`: the hazard per year
        (older ages: the last row's), and its sum over the ages below each (added in turn). A
        course reads a stretch's years from them: the hazard met from one anniversary of asking to
        a later one is a difference of two sums, the same in the engine and the follow-up."""
        rows = np.minimum(np.arange(len(self.hazard) + YEARS_BEYOND), len(self.hazard) - 1)
        hazard = np.ascontiguousarray(self.hazard[rows].T)
        below = np.zeros_like(hazard)
        np.add.accumulate(hazard[:, :-1], axis=1, out=below[:, 1:])
        return hazard, below


@dataclass(frozen=True)
class ReturnRule:
    """A return to the pathway driven by the course (``health.returns``): after leaving with one of
    ``outcomes`` (empty: any but death), a move into a state of ``to`` (from one of ``from_``; all
    True: any) sends the person back to ``step`` with ``probability`` after ``delay`` (a sampler in
    the scenario's time unit), if they are still in ``to`` then; ``at_exit``: being in ``to`` on
    leaving counts as entering it then."""

    name: str
    to: tuple[bool, ...]  # [state], dead last (False)
    from_: tuple[bool, ...]  # [state], dead last (False)
    outcomes: tuple[str, ...]
    probability: float
    delay: Sampler
    step: str
    at_exit: bool


@dataclass(frozen=True)
class HealthPlan:
    names: tuple[str, ...]
    labels: tuple[str, ...]
    rates: np.ndarray  # [group, status, from, to] per year, living states only
    scaled: np.ndarray  # [from, to] bool: treated hazard scaled by the DUI effect
    utility: np.ndarray  # [group, state], dead last (0)
    cost_per_year: np.ndarray  # [state], dead last (0)
    mortality_rr: np.ndarray  # [group, living state]
    remission: np.ndarray  # [state] bool, dead last (False)
    tunnel_to: np.ndarray  # [living state] int, -1: none
    tunnel_after: np.ndarray  # [living state] years, inf: none
    start: np.ndarray  # [group, living state] probabilities
    on_admission: int  # state entered on a first admission, -1: none
    dued: DuedEffect | None
    mortality: Mortality | None
    follow_up: float  # years (inf: a lifetime, up to LIFETIME_AGE)
    discount_costs: float
    discount_qalys: float
    event_names: tuple[str, ...] = ()
    event_labels: tuple[str, ...] = ()
    event_rates: np.ndarray = field(default_factory=lambda: np.zeros((0, 1)))  # [event, state] per year
    event_costs: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [event] GBP each
    event_payers: tuple[str, ...] = ()
    by: str | None = None  # the categorical attribute whose level is part of the group
    levels: tuple[str, ...] = ()  # its levels (empty: the group is the cohort)
    event_services: tuple[str | None, ...] = ()  # [event] the service whose contact it is, or None
    #: [living state] what entering it while waiting does: 0 nothing, 1 urgent, 2 emergency
    #: (health.person's NO_ESCALATION, URGENT, EMERGENCY); empty: nothing anywhere
    escalate: tuple[int, ...] = ()
    #: declared exit measures: (name, label, outcome, [state index], target or None)
    measures: tuple[tuple[str, str, str, tuple[int, ...], float | None], ...] = ()
    #: returns to the pathway after leaving it (health.returns), in the order declared
    returns: tuple[ReturnRule, ...] = ()
    #: years from the start of a treatment during which the treated hazards apply even out of the
    #: pathway (health.treated_hazards_for; 0: treated only while in the pathway). Remission probabilities
    #: quoted "at 12 months" are measured 12 months after treatment starts, whatever its length.
    treated_hazards_for: float = 0.0

    @property
    def dead(self) -> int:
        return len(self.names)

    def group_of(self, cohort: np.ndarray, level: np.ndarray | None) -> np.ndarray:
        """Each person's group from their cohort index and level index of ``by`` (ignored without it)."""
        if not self.levels or level is None:
            return cohort.astype(np.int64)
        return cohort.astype(np.int64) * len(self.levels) + level.astype(np.int64)

    @property
    def n_states(self) -> int:
        """Living states plus dead."""
        return len(self.names) + 1


def _years(span: Span, time_unit: str) -> float:
    """A span (bare numbers in the scenario's time unit) in years."""
    return span.to(time_unit) * UNIT_DAYS[canonical_unit(time_unit)] / DAYS_PER_YEAR


def _per_year(rate: Rate, time_unit: str) -> float:
    """A rate (bare numbers per scenario time unit) per year."""
    return rate.to(time_unit) * DAYS_PER_YEAR / UNIT_DAYS[canonical_unit(time_unit)]


def _per_level(value: float | dict[str, float], levels: tuple[str, ...]) -> list[float]:
    """A state's number for each level of ``by`` (one entry without levels)."""
    if isinstance(value, dict):
        return [float(value[level]) for level in levels]
    return [float(value)] * max(len(levels), 1)


def _by_group(per_level: np.ndarray, n_cohorts: int) -> np.ndarray:
    """Rows per level (or one row) repeated for each cohort: rows per group."""
    return np.tile(per_level, (n_cohorts, 1))


def compile_health(s: Scenario) -> HealthPlan | None:
    """The scenario's course of illness as arrays, or None when it has no ``health:`` block."""
    h: Health | None = s.health
    if h is None:
        return None
    unit = s.scenario.time_unit
    names = tuple(h.states)
    index = {name: i for i, name in enumerate(names)}
    n = len(names)
    cohorts = list(s.cohorts)
    levels = tuple(s.attributes[h.by]) if h.by is not None else ()
    n_levels = max(len(levels), 1)
    rates = np.zeros((len(cohorts) * n_levels, len(STATUSES), n, n))
    scaled = np.zeros((n, n), dtype=bool)
    for tr in h.transitions:
        by_status = [_per_year(r, unit) for r in tr.rate.by_status()]
        who_c = [cohorts.index(c) for c in tr.cohorts] if tr.cohorts else list(range(len(cohorts)))
        chosen = next(iter(tr.when.values())) if tr.when else None
        who_l = [levels.index(v) for v in chosen] if chosen else list(range(n_levels))
        who = [c * n_levels + lv for c in who_c for lv in who_l]
        for origin in tr.from_:
            for status, rate in enumerate(by_status):
                rates[who, status, index[origin], index[tr.to]] += rate
            scaled[index[origin], index[tr.to]] |= tr.scaled_by_untreated_duration
    states = list(h.states.values())
    tunnel_after = np.array([_years(st.after, unit) if st.after is not None else math.inf for st in states])
    dued = None
    if h.untreated_duration is not None:
        u = h.untreated_duration
        dued = DuedEffect(u.attribute, u.effect_per_year, _years(u.after, unit))
    mortality = None
    if h.mortality is not None:
        m = h.mortality
        mortality = Mortality(life_table_hazards(m.life_table), m.female_share, m.age_attribute)
    utility = np.array([_per_level(st.utility, levels) for st in states] + [[0.0] * n_levels]).T
    rr = np.array([_per_level(st.mortality_rr, levels) for st in states]).T.reshape(n_levels, n)
    start_by = h.start_by_level()
    start = np.array([[start_by[lv if None not in start_by else None].get(name, 0.0) for name in names]
                      for lv in (levels or (None,))])
    return HealthPlan(
        names=names, labels=tuple(st.label or name.replace("_", " ") for name, st in h.states.items()),
        rates=rates, scaled=scaled,
        utility=_by_group(utility, len(cohorts)),
        cost_per_year=np.array([st.cost_per_year for st in states] + [0.0]),
        mortality_rr=_by_group(rr, len(cohorts)),
        remission=np.array([st.remission for st in states] + [False]),
        tunnel_to=np.array([index[st.then] if st.then else -1 for st in states], dtype=np.int64),
        tunnel_after=tunnel_after,
        start=_by_group(start, len(cohorts)),
        on_admission=index[h.on_admission] if h.on_admission else -1,
        dued=dued, mortality=mortality, follow_up=math.inf if h.follow_up == "lifetime" else _years(h.follow_up, unit),
        discount_costs=h.discount.costs, discount_qalys=h.discount.qalys,
        event_names=tuple(h.events),
        event_labels=tuple(e.label or name.replace("_", " ") for name, e in h.events.items()),
        event_rates=np.array([_event_rates(e, names, unit) for e in h.events.values()]).reshape(len(h.events), n + 1),
        event_costs=np.array([e.cost for e in h.events.values()]),
        event_payers=tuple(_event_payer(s, e) for e in h.events.values()),
        event_services=tuple(e.service for e in h.events.values()),
        measures=tuple((name, m.label, m.outcome, tuple(index[st] for st in m.states), m.target)
                       for name, m in h.measures.items()),
        by=h.by, levels=levels,
        returns=tuple(_return_rule(name, r, names, unit) for name, r in h.returns.items()),
        escalate=tuple(_ESCALATION.get(h.escalation.get(name, ""), 0) for name in names) if h.escalation else (),
        treated_hazards_for=_years(h.treated_hazards_for, unit) if h.treated_hazards_for is not None else 0.0,
    )


def _return_rule(name: str, r: HealthReturn, names: tuple[str, ...], unit: str) -> ReturnRule:
    into = set(r.to)
    origins = set(r.from_) if r.from_ is not None else set(names)
    return ReturnRule(name=name, to=tuple(n in into for n in names) + (False,),
                      from_=tuple(n in origins for n in names) + (False,), outcomes=tuple(r.outcomes or ()),
                      probability=r.probability, delay=r.delay.compile(unit), step=r.step, at_exit=r.at_exit)


def _event_rates(e: HealthEvent, names: tuple[str, ...], unit: str) -> list[float]:
    """An event's rate per year in each living state (and 0 for the dead): its ``rate`` by state,
    or one contact per ``every`` in every living state."""
    if e.every is not None:
        return [1.0 / _years(e.every, unit)] * len(names) + [0.0]
    return [_per_year(e.rate[name], unit) if name in e.rate else 0.0 for name in names] + [0.0]


def _event_payer(s: Scenario, e: HealthEvent) -> str:
    """Who pays for an event: its own ``payer``, else its service's, else the ICB."""
    if "payer" not in e.model_fields_set and e.service is not None and e.service in s.services:
        return s.services[e.service].payer
    return e.payer


_ESCALATION = {"urgent": 1, "emergency": 2}


@lru_cache(maxsize=4)
def life_table_hazards(name: str) -> np.ndarray:
    """A shipped life table as hazards per year, ``[age, sex]`` (sex 0 female, 1 male): −ln(1 − qx)."""
    text = (resources.files("icssim") / "data" / "life_tables" / f"{name}.csv").read_text()
    rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    qx = np.array([[float(r["qx_female"]), float(r["qx_male"])] for r in rows])
    table = -np.log1p(-qx)
    table.setflags(write=False)
    return table
