"""Compile a validated :class:`~icssim.scenario.Scenario` into a plan the engine can run.

The plan holds only numbers, indices and distribution samplers in the scenario's
time unit: names are resolved to indices, units converted, conditions compiled to
closures, costs reduced to per-contact and per-bed-day figures. The engine does no
parsing or validation in its loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from icssim.kinds import KINDS
from icssim.model.arrivals import RateProfile, demand_profile
from icssim.model.calendar import time_of
from icssim.model.calendar_compile import compile_calendar, needs_calendar, office_hours
from icssim.model.plan_types import (
    OWN_DRAWS,
    COST_CATEGORIES,
    AttributePlan,
    CohortPlan,
    Condition,
    DeteriorationPlan,
    Plan,
    ResourcePlan,
    RouterPlan,
    StepPlan,
)
from icssim.sampling import Sampler
from icssim.scenario.checks import categorical_levels, cohort_rate, expected_visits
from icssim.scenario.conditions import OPERATORS, parse_condition, resolve_value
from icssim.scenario.demand_profile import profile_hours
from icssim.path_times import END, ENTER, PATH_TIME, START
from icssim.scenario.interval_checks import uses_stage_kpis
from icssim.scenario.schema import Branch, Categorical, Scenario, Step
from icssim.units import UNIT_DAYS, canonical_unit, years_per_unit

__all__ = ["COST_CATEGORIES", "AttributePlan", "CohortPlan", "Condition", "DeteriorationPlan", "Plan", "ResourcePlan",
           "RouterPlan", "StepPlan", "compile_condition", "compile_plan", "max_moves_for"]


def compile_plan(s: Scenario) -> Plan:
    """Compile ``s`` (already validated) into a :class:`Plan`."""
    unit = s.scenario.time_unit
    horizon = s.scenario.horizon.to(unit)
    if uses_stage_kpis(s):
        import icssim.stage_kpis  # noqa: F401  (registers their KPIs in this process)
    attributes = _attributes(s)
    attr_index = {a.name: i for i, a in enumerate(attributes)}
    step_index = {name: i for i, name in enumerate(s.pathway.steps)}
    services = tuple(s.services)
    resources, by_service = _resources(s)
    ctx = _Context(s, unit, attributes, attr_index, step_index, services, by_service, resources)
    steps = tuple(ctx.step(i, name, st) for i, (name, st) in enumerate(s.pathway.steps.items()))
    choices = tuple(sorted({st.choice for st in s.pathway.steps.values() if st.choice}))
    steps = tuple(replace(sp, choice=choices.index(st.choice)) if st.choice else sp
                  for sp, st in zip(steps, s.pathway.steps.values()))
    if s.deterioration is not None or any(sp.monitoring is not None for sp in steps):
        choices += OWN_DRAWS  # (after the steps' choices, whose indices stand)
    warmup = s.scenario.warmup.to(unit)
    calendar = None
    if needs_calendar(s):
        if s.calendar is not None:
            steps = tuple(office_hours(sp, s.pathway.steps[sp.name], s.calendar) for sp in steps)
        calendar = compile_calendar(s, unit, horizon, warmup, attributes, resources, by_service, steps,
                                    step_index, {c: i for i, c in enumerate(s.cohorts)}, _attr_sampler)
    # the ways a patient record can end: the engine's own three, then each discharge step's outcome
    outcomes = ["in_system", "dropped_out", "discharged_missed"]
    outcomes += sorted({st.outcome for st in steps if st.is_exit} - set(outcomes))
    deterioration = _deterioration(s, unit, attr_index, step_index)
    sample_every = (
        s.scenario.sample_every.to(unit) if s.scenario.sample_every is not None
        else max(horizon / 400, 7 * UNIT_DAYS["day"] / UNIT_DAYS[canonical_unit(unit)])
    )
    return Plan(
        name=s.scenario.name, time_unit=unit, horizon=horizon, warmup=warmup,
        seed=s.scenario.seed, sample_every=sample_every,
        hours_per_unit=UNIT_DAYS[canonical_unit(unit)] * 24,
        attributes=attributes,
        cohorts=tuple(
            CohortPlan(name, cohort_rate(s, name), step_index[c.entry],
                       tuple(_attr_sampler(c.attributes.get(a.name), a, unit) for a in attributes),
                       _profile(s, name, unit, horizon))
            for name, c in s.cohorts.items()
        ),
        services=services, resources=resources, steps=steps,
        deterioration=deterioration,
        urgency=attr_index.get("urgency", -1), outcomes=tuple(outcomes), calendar=calendar,
        max_moves=max_moves_for(s),
        stages=tuple(sp.index for sp in steps if sp.resources or sp.duration is not None or sp.sessions is not None)
        if s.scenario.stage_waits else (),
        stage_queues=tuple(sp.index for sp in steps if sp.resources) if s.scenario.stage_waits else (),
        intervals=tuple(interval_standards(s, step_index)), path_cohorts=path_time_cohorts(s), choices=choices,
        changing=changing_attributes(steps, deterioration, attr_index.get("urgency", -1)),
    )


def changing_attributes(steps: tuple[StepPlan, ...], deterioration: DeteriorationPlan | None,
                        urgency: int) -> tuple[int, ...]:
    """The attributes a run may change on the way: those a step ``sets`` and the one people
    deteriorate on (escalation moves it too); urgency, which deterioration may also raise, keeps
    its value on arrival in ``urgency0``."""
    changed = {i for sp in steps for i, _ in sp.sets}
    if deterioration is not None:
        changed.add(deterioration.attribute)
    return tuple(sorted(changed - {urgency}))


def interval_standards(s: Scenario, step_index: dict[str, int]) -> list[tuple[str, int, int, int, int]]:
    """The scenario's standards on an interval (``from``/``to``), compiled: (name, from step, which
    point of it, to step, which point of it), each point as :func:`interval_point` gives it; then
    its path times (``scenario.path_times``), named :data:`PATH_TIME` + their name."""
    out = []
    for name, std in s.scenario.standards.items():
        if std.from_ is None or std.to is None:
            continue
        out.append((name, *interval_point(std.from_, step_index), *interval_point(std.to, step_index)))
    for name, pt in s.scenario.path_times.items():
        out.append((PATH_TIME + name, *interval_point(pt.from_, step_index), *interval_point(pt.to, step_index)))
    return out


def path_time_cohorts(s: Scenario) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each path time's cohorts (empty: all), by the name it has among the compiled intervals."""
    return tuple((PATH_TIME + name, (pt.cohort,) if isinstance(pt.cohort, str) else tuple(pt.cohort or ()))
                 for name, pt in s.scenario.path_times.items())


def interval_point(point: str, step_index: dict[str, int]) -> tuple[int, int]:
    """(step index, which point of the step) of ``<step>[.enter|.start|.end]``: :data:`START`
    (``<step>`` or ``<step>.start``), :data:`END` or :data:`ENTER`; (-1, :data:`START`) of
    ``arrival`` or ``exit``."""
    if point in ("arrival", "exit"):
        return -1, START
    step, _, which = point.partition(".")
    return step_index[step], {"end": END, "enter": ENTER}.get(which, START)


#: Fewest moves between steps allowed per patient before the engine stops a loop without end;
#: and how many times the routing's expected visits a patient may make before that.
MIN_MAX_MOVES = 100_000
MOVES_OVER_EXPECTED = 100


def max_moves_for(s: Scenario) -> int:
    """The engine's limit of moves per patient: far beyond what the routing makes expected.

    The expected visits (an absorbing Markov chain over the routing probabilities, see
    :func:`icssim.scenario.checks.expected_visits`) are at most 10,000 per step in a valid
    scenario; a patient who makes a hundred times their sum, or 100,000 moves, is in a loop whose
    way out depends on a condition that never holds (or on a probability too small to matter).
    """
    total = sum(v for v in expected_visits(s).values() if math.isfinite(v))
    return int(max(MIN_MAX_MOVES, MOVES_OVER_EXPECTED * total))


def _profile(s: Scenario, name: str, unit: str, horizon: float) -> RateProfile | None:
    """The cohort's time-varying rate, or None when its demand is constant."""
    d = s.cohorts[name].demand
    until = s.scenario.arrivals_until.to(unit) if s.scenario.arrivals_until is not None else None
    if d is None and until is None:
        return None
    start = s.scenario.start_date
    days = UNIT_DAYS[canonical_unit(unit)]
    if d is None:
        return demand_profile(cohort_rate(s, name), horizon, days, start, arrivals_until=until)
    changes = [(time_of(c.date, start, unit) if c.date is not None else c.at.to(unit), c.factor)
               for c in d.changes]
    hours = d.hourly if d.hourly is not None else (
        [v for day in d.weekly for v in day] if d.weekly is not None else profile_hours(s, name))
    return demand_profile(cohort_rate(s, name), horizon, days, start,
                          d.growth_per_year, d.seasonality, changes, hours, until)


def _attributes(s: Scenario) -> tuple[AttributePlan, ...]:
    names: list[str] = []
    for c in s.cohorts.values():
        names += [a for a in c.attributes if a not in names]
    return tuple(
        AttributePlan(n, tuple(s.attributes[n]) if n in s.attributes else None, n == "age") for n in names
    )


def _attr_sampler(dist, attr: AttributePlan, unit: str) -> Sampler | None:
    if dist is None:
        return None
    if isinstance(dist, Categorical):
        import numpy as np

        idx = np.array([attr.levels.index(v) for v in dist.values], dtype=float)
        w = np.ones(len(idx)) if dist.weights is None else np.asarray(dist.weights, float)
        p = w / w.sum()
        return Sampler(lambda rng, n: rng.choice(idx, n, p=p), float(p @ idx), 0.0)
    return dist.compile(unit)


def _resources(s: Scenario) -> tuple[tuple[ResourcePlan, ...], dict[tuple[str, str], int]]:
    out: list[ResourcePlan] = []
    index: dict[tuple[str, str], int] = {}
    hours_per_unit = UNIT_DAYS[canonical_unit(s.scenario.time_unit)] * 24
    for si, (sname, svc) in enumerate(s.services.items()):
        for role, staff in svc.staff.items():
            servers = math.ceil(staff.wte) if staff.wte > 0 else 0
            weekly = staff.clinical_hours_per_week
            if weekly is None or servers == 0:
                scale, available = 1.0, servers * hours_per_unit
            else:
                per_server = staff.wte * weekly / servers
                scale, available = 168.0 / per_server, staff.wte * weekly * hours_per_unit / 168.0
            index[(sname, role)] = len(out)
            out.append(ResourcePlan(f"{sname}/{role}", si, "staff", role, servers, scale, available,
                                    staff.wte * staff.cost_per_hour * staff.paid_hours_per_year))
        cl = svc.caseload
        if cl is not None:
            cap = cl if isinstance(cl, int) else int(round(cl.per_wte * svc.staff[cl.role].wte))
            index[(sname, "@caseload")] = len(out)
            out.append(ResourcePlan(f"{sname}/caseload", si, "caseload", "caseload", cap, 1.0, 0.0))
        for place, pl in svc.places.items():  # places: a count, no WTE, costed per hour of use
            index[(sname, "@place/" + place)] = len(out)
            out.append(ResourcePlan(f"{sname}/{place}", si, "place", place, pl.count, 1.0, 0.0))
        if svc.beds or "beds" in svc.model_fields_set:
            index[(sname, "@beds")] = len(out)
            out.append(ResourcePlan(f"{sname}/beds", si, "beds", "beds", svc.beds, 1.0, 0.0))
    return tuple(out), index


@dataclass
class _Context:
    s: Scenario
    unit: str
    attributes: tuple[AttributePlan, ...]
    attr_index: dict[str, int]
    step_index: dict[str, int]
    services: tuple[str, ...]
    res_index: dict[tuple[str, str], int]
    resources: tuple[ResourcePlan, ...]

    def step(self, index: int, name: str, st: Step) -> StepPlan:
        svc = self.s.services.get(st.service) if st.service else None
        res = [self.res_index[(st.service, role)] for role in st.staff] if st.sessions is None else []
        if st.sessions is None:
            res += [self.res_index[(str(st.service), "@place/" + place)] for place in st.places]
        if st.caseload:
            res.append(self.res_index[(st.service, "@caseload")])
        if st.bed:
            res.append(self.res_index[(st.service, "@beds")])
        staff_res = [self.resources[self.res_index[(st.service, r)]] for r in st.staff]
        scale = max((r.elapsed_scale for r in staff_res), default=1.0) if st.sessions is None else 1.0
        contact, staff_rate = self._costs(st, svc)
        if svc is not None and st.places:  # a place's cost per hour of use, per scenario time unit
            hourly = sum(svc.places[p].cost_per_hour for p in st.places)
            staff_rate += hourly * UNIT_DAYS[canonical_unit(self.unit)] * 24
        unit = self.unit
        kind = KINDS[st.kind]
        return StepPlan(
            index=index, name=name, kind=st.kind,
            service=self.services.index(st.service) if st.service else -1,
            resources=tuple(res), elapsed_scale=scale,
            duration=st.duration.compile(unit) if st.duration else None,
            priority=st.queue == "priority",
            handoff=st.handoff.compile(unit) if st.handoff else None,
            urgent_handoff=st.urgent_handoff.compile(unit) if st.urgent_handoff else None,
            accept=self.condition(st.accept) if st.accept else None,
            on_reject=self.router(st.on_reject),
            dropout_mean=st.dropout.mean_time.to(unit) if st.dropout else None,
            dropout_then=self.router(st.dropout.then if st.dropout else None),
            missed_p=st.missed.probability if st.missed else 0.0,
            discharge_after=st.missed.discharge_after if st.missed else 1,
            rebook=st.missed.rebook_after.compile(unit) if st.missed and st.missed.rebook_after else None,
            missed_then=self.router(st.missed.then if st.missed else None),
            sessions=st.sessions.count.compile(unit) if st.sessions else None,
            session_every=st.sessions.every.to(unit) if st.sessions else 0.0,
            age_max=st.age_limit.max_age if st.age_limit else None,
            age_then=self.router(st.age_limit.then if st.age_limit else None),
            monitoring=self._monitoring(st),
            contact_cost=contact, staff_hours_cost=staff_rate,
            bed_day_cost=(svc.cost_per_bed_day * UNIT_DAYS[canonical_unit(unit)]) if (svc and st.bed) else 0.0,
            deteriorates=(st.deteriorate_while_waiting if st.deteriorate_while_waiting is not None
                          else kind.deteriorates),
            outcome=st.outcome or (name if kind.is_exit else ""),
            sets=tuple((self.attr_index[a], float(self.attributes[self.attr_index[a]].levels.index(v))
                        if self.attributes[self.attr_index[a]].levels else float(v))
                       for a, v in st.sets.items()),
            next=self.router(st.next),
            is_assessment=(kind.is_assessment if st.counts_as is None
                           else st.counts_as in ("assessment", "further_assessment")),
            is_treatment=kind.is_treatment if st.counts_as is None else st.counts_as == "treatment",
            further_assessment=st.counts_as == "further_assessment", is_intensive=kind.is_intensive,
            starts_clock=kind.starts_clock, meets=kind.meets, is_exit=kind.is_exit, is_stay=kind.is_stay,
            is_inpatient=kind.is_inpatient, counts_ae=kind.counts_ae, counts_admission=kind.counts_admission,
        )

    def _costs(self, st: Step, svc) -> tuple[float, float]:
        """(cost per contact, staff cost per time unit of contact) for a step."""
        if st.cost_per_contact is not None:
            return st.cost_per_contact, 0.0
        if svc is None or st.bed or not KINDS[st.kind].costs_contacts:
            return 0.0, 0.0
        if svc.cost_per_contact is not None:
            return svc.cost_per_contact, 0.0
        hourly = sum(svc.staff[r].cost_per_hour for r in st.staff)
        return 0.0, hourly * UNIT_DAYS[canonical_unit(self.unit)] * 24

    def _monitoring(self, st: Step):
        m = st.monitoring
        if m is None:
            return None
        name = m.service or st.service
        service = self.services.index(name) if name else -1
        svc = self.s.services.get(name) if name else None
        if m.cost_per_contact is not None:
            cost = m.cost_per_contact
        elif st.cost_per_contact is not None:
            cost = st.cost_per_contact
        else:
            cost = (svc.cost_per_contact or 0.0) if svc else 0.0
        until = frozenset(self.step_index[u] for u in m.until)
        return (m.probability, m.every.to(self.unit), until, service, cost)

    def router(self, branches: list[Branch] | None) -> RouterPlan | None:
        if branches is None:
            return None
        if len(branches) == 1 and branches[0].p is None and branches[0].when is None:
            return self._leaf(branches[0])
        if branches[0].p is not None:
            cum, total = [], 0.0
            for b in branches:
                total += b.p
                cum.append(total)
            cum[-1] = 1.0 + 1e-12
            return RouterPlan(cumulative=tuple(cum), branches=tuple(self._leaf(b) for b in branches))
        return RouterPlan(
            branches=tuple(self._leaf(b) for b in branches),
            conditions=tuple(self.condition(b.when) if b.when else None for b in branches),
        )

    def _leaf(self, b: Branch) -> RouterPlan:
        if b.next is not None:
            return self.router(b.next)
        return RouterPlan(target=self.step_index[b.to], delay=b.after.compile(self.unit) if b.after else None)

    def condition(self, text: str) -> Condition:
        levels = categorical_levels(self.s)
        ypu = years_per_unit(self.unit)
        clauses = []
        for clause in parse_condition(text):
            value = resolve_value(clause, levels.get(clause.attribute))
            if clause.attribute == "cohort":  # the engine keeps the cohort index last in attrs
                clauses.append((clause.op, -1, value, None))
                continue
            i = self.attr_index[clause.attribute]
            clauses.append((clause.op, i, value, ypu if self.attributes[i].ages else None))
        return compile_condition(clauses)


def compile_condition(clauses: list[tuple[str, int, float, float | None]]) -> Condition:
    """One function testing every ``(op, attribute index, value, years per unit or None)`` clause.

    A condition is called for every routing decision and acceptance test, so it is generated as a
    single expression (``attrs[2] >= v0 and attrs[0] + (now - arrival) * y1 < v1``) rather than a
    chain of closures: one call instead of one per clause. An ageing attribute (``years per unit``
    given) is compared at its current age. Only operators from ``OPERATORS`` and integer indices
    are written into the generated source; the values are bound as default arguments.
    """
    terms, consts = [], {}
    for k, (op, i, value, ypu) in enumerate(clauses):
        if op not in OPERATORS:
            raise ValueError(f"unknown comparison operator {op!r}")
        consts[f"v{k}"] = value
        lhs = f"attrs[{int(i)}]"
        if ypu is not None:
            consts[f"y{k}"] = ypu
            lhs = f"({lhs} + (now - arrival) * y{k})"
        terms.append(f"{lhs} {op} v{k}")
    defaults = "".join(f", {name}={name}" for name in consts)
    src = f"lambda attrs, arrival, now{defaults}: {' and '.join(terms) or 'True'}"
    return eval(compile(src, "<icssim condition>", "eval"), {}, consts)


def _deterioration(s: Scenario, unit: str, attr_index, step_index) -> DeteriorationPlan | None:
    d = s.deterioration
    if d is None:
        return None
    levels = s.attributes[d.attribute]
    return DeteriorationPlan(
        attribute=attr_index[d.attribute],
        hazard=tuple(d.hazard[lv].to(unit) if lv in d.hazard else 0.0 for lv in levels),
        urgent_from=levels.index(d.urgent_from) if d.urgent_from else 10**9,
        emergency_at=levels.index(d.emergency_at),
        emergency_step=step_index[d.emergency_step],
        detection_probability=d.detection_probability,
        detected_step=step_index[d.detected_step] if d.detected_step else -1,
    )
