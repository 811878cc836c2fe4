"""Cross-reference checks that need the whole scenario: names, routing, reachability, size.

Each check yields ``(key path, message)`` pairs; the loader turns them into
:class:`~icssim.errors.Problem` lines with file and line number.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from typing import Any

from icssim.kinds import KINDS
from icssim.scenario.conditions import parse_condition, resolve_value
from icssim.scenario.schema import Branch, Scenario, Step
from icssim.units import UNIT_DAYS, canonical_unit

Finding = tuple[tuple[Any, ...], str]

#: Largest expected number of simulated patients accepted in one replication.
MAX_PATIENTS = 5_000_000
#: Most time-series samples (waiting lists, costs) accepted in one replication.
MAX_SAMPLES = 100_000
#: Throughput assumed when estimating run time (patients per second, one core).
PATIENTS_PER_SECOND = 40_000
#: A dated run (start_date to start_date + horizon) must lie within these dates.
FIRST_DATE, LAST_DATE = _dt.date(1900, 1, 1), _dt.date(2200, 12, 31)


def check_scenario(s: Scenario) -> list[Finding]:
    """Every cross-reference problem in ``s`` (an empty list when it is usable)."""
    checks = (_run_length, _cohorts, _services, _steps, _deterioration, _way_out, _loops, _size, _per_patient,
              _calendar)
    return [finding for check in checks for finding in check(s)]


def cohort_rate(s: Scenario, name: str) -> float:
    """Referral rate of cohort ``name`` in patients per scenario time unit."""
    c = s.cohorts[name]
    unit = s.scenario.time_unit
    if c.rate is not None:
        return c.rate.to(unit)
    per_year = c.rate_per_100k_per_year * (s.scenario.population or 0) / 1e5
    return per_year * UNIT_DAYS[canonical_unit(unit)] / UNIT_DAYS["year"]


def categorical_levels(s: Scenario) -> dict[str, list[str]]:
    """Declared levels of each categorical attribute (plus ``cohort``)."""
    return {**s.attributes, "cohort": list(s.cohorts)}


def _run_length(s: Scenario) -> Iterator[Finding]:
    unit = s.scenario.time_unit
    horizon, warmup = s.scenario.horizon.to(unit), s.scenario.warmup.to(unit)
    if not horizon > 0:
        yield ("scenario", "horizon"), f"must be greater than 0, found {s.scenario.horizon}"
    if warmup < 0:
        yield ("scenario", "warmup"), f"must not be negative, found {s.scenario.warmup}"
    elif horizon > 0 and not horizon > warmup:
        yield ("scenario", "horizon"), (
            f"horizon ({s.scenario.horizon}) must be longer than warmup ({s.scenario.warmup})"
        )
    every = s.scenario.sample_every
    if every is not None and horizon > 0 and horizon / every.to(unit) > MAX_SAMPLES:
        yield ("scenario", "sample_every"), (
            f"would sample {horizon / every.to(unit):,.0f} times over the horizon; expected at most "
            f"{MAX_SAMPLES:,} (a longer 'sample_every'), found {every}"
        )
    urgency = s.attributes.get("urgency")
    for name, std in s.scenario.standards.items():
        if std.cohort is not None and std.cohort not in s.cohorts:
            yield ("scenario", "standards", name, "cohort"), _unknown("cohort", std.cohort, s.cohorts)
        if std.urgency is None:
            continue
        if urgency is None:
            yield ("scenario", "standards", name), "standards need an 'urgency' attribute declared under 'attributes'"
        elif std.urgency not in urgency:
            yield ("scenario", "standards", name, "urgency"), f"expected one of {urgency}, found {std.urgency!r}"


def _cohorts(s: Scenario) -> Iterator[Finding]:
    for name, c in s.cohorts.items():
        if c.entry not in s.pathway.steps:
            yield ("cohorts", name, "entry"), _unknown("step", c.entry, s.pathway.steps)
        if c.rate_per_100k_per_year is not None and s.scenario.population is None:
            yield ("cohorts", name, "rate_per_100k_per_year"), "needs 'scenario.population' to be set"
        for attr, dist in c.attributes.items():
            levels = s.attributes.get(attr)
            values = getattr(dist, "values", None)
            is_categorical = values is not None and all(isinstance(v, str) for v in values)
            if is_categorical and levels is None:
                yield ("cohorts", name, "attributes", attr), (
                    f"categorical attribute {attr!r} must be declared with its levels under 'attributes'"
                )
            elif is_categorical:
                for v in values:
                    if v not in levels:
                        yield ("cohorts", name, "attributes", attr), f"{v!r} is not one of the levels {levels}"
            elif levels is not None:
                yield ("cohorts", name, "attributes", attr), (
                    f"{attr!r} is declared categorical with levels {levels}; give 'values' from those levels"
                )


def _services(s: Scenario) -> Iterator[Finding]:
    for name, svc in s.services.items():
        cl = svc.caseload
        if cl is not None and not isinstance(cl, int) and cl.role not in svc.staff:
            yield ("services", name, "caseload", "role"), _unknown("staff role", cl.role, svc.staff)


def _steps(s: Scenario) -> Iterator[Finding]:
    for name, step in s.pathway.steps.items():
        at = ("pathway", "steps", name)
        yield from _step_resources(s, at, step)
        if KINDS[step.kind].is_exit:
            if step.next is not None:
                yield (*at, "next"), "a discharge step ends the pathway and takes no 'next'"
        elif step.next is None:
            yield at, "'next' is required: where do patients go after this step?"
        if step.accept is not None and step.on_reject is None:
            yield (*at, "on_reject"), "a step with 'accept' needs 'on_reject' (where rejected referrals go)"
        if step.accept is not None:
            yield from _condition(s, (*at, "accept"), step.accept)
        for attr, value in step.sets.items():
            yield from _assignment(s, (*at, "sets", attr), attr, value)
        if step.urgent_handoff is not None and "urgency" not in s.attributes:
            yield (*at, "urgent_handoff"), "needs an 'urgency' attribute declared under 'attributes'"
        if step.queue == "priority" and "urgency" not in s.attributes:
            yield (*at, "queue"), "priority queues order by 'urgency': declare it under 'attributes'"
        elif step.queue == "priority":
            missing = [c for c, co in s.cohorts.items() if "urgency" not in co.attributes]
            if missing:
                yield (*at, "queue"), (
                    f"priority queues order by 'urgency', which is not defined for cohort(s) {', '.join(missing)}"
                )
        if step.duration is not None and not step.duration.compile(s.scenario.time_unit).mean > 0:
            yield (*at, "duration"), (
                "expected a duration greater than 0 (leave 'duration' out for an instant step), found 0"
            )
        if step.age_limit is not None:
            yield from _age(s, (*at, "age_limit"))
        if step.monitoring is not None:
            for i, target in enumerate(step.monitoring.until):
                if target not in s.pathway.steps:
                    yield (*at, "monitoring", "until", i), _unknown("step", target, s.pathway.steps)
        for key, routing in _routings(step):
            yield from _routing(s, (*at, *key), routing)


def _age(s: Scenario, at: tuple[Any, ...]) -> Iterator[Finding]:
    if "age" in s.attributes:
        yield at, "age limits need a numeric 'age' attribute (in years), but 'age' is declared categorical"
        return
    missing = [c for c, co in s.cohorts.items() if "age" not in co.attributes]
    if missing:
        yield at, f"age limits need an 'age' attribute (in years), not defined for cohort(s) {', '.join(missing)}"


def _step_resources(s: Scenario, at: tuple[Any, ...], step: Step) -> Iterator[Finding]:
    svc = s.services.get(step.service) if step.service else None
    if step.service is not None and svc is None:
        yield (*at, "service"), _unknown("service", step.service, s.services)
        return
    needs_service = step.staff or step.caseload or step.bed
    if needs_service and svc is None:
        yield (*at, "service"), "'staff', 'caseload' and 'bed' need the step's 'service'"
        return
    for i, role in enumerate(step.staff):
        if role not in svc.staff:
            yield (*at, "staff", i), _unknown("staff role", role, svc.staff, f" in service {step.service!r}")
    if step.caseload and svc.caseload is None:
        yield (*at, "caseload"), f"service {step.service!r} has no 'caseload' to hold a slot in"
    if step.bed and svc.beds == 0 and "beds" not in _explicit(s, step.service):
        yield (*at, "bed"), f"service {step.service!r} has no 'beds'"
    holds = step.staff or step.bed or step.caseload
    if (holds or KINDS[step.kind].takes_time) and step.duration is None and step.sessions is None:
        yield (*at, "duration"), "this step occupies staff, a caseload slot, a bed or time, so it needs a 'duration'"
    if step.sessions is not None and not (step.caseload or step.bed):
        yield (*at, "sessions"), (
            "a treatment episode holds a caseload slot (or a bed) for its sessions: add 'caseload: true' "
            "(and a service with a 'caseload')"
        )
    queued = step.staff or step.bed or step.caseload
    for key in ("dropout", "missed"):
        if getattr(step, key) is not None and not queued:
            yield (*at, key), (
                f"'{key}' applies to patients queueing for staff, a caseload slot or a bed; this step "
                f"holds none of them, so it would never happen"
            )


def _explicit(s: Scenario, service: str) -> set[str]:
    return set(s.services[service].model_fields_set)


def _routings(step: Step) -> Iterator[tuple[tuple[str, ...], list[Branch]]]:
    if step.next is not None:
        yield ("next",), step.next
    if step.on_reject is not None:
        yield ("on_reject",), step.on_reject
    for key in ("dropout", "missed", "age_limit"):
        sub = getattr(step, key)
        if sub is not None and getattr(sub, "then", None) is not None:
            yield (key, "then"), sub.then


def _routing(s: Scenario, at: tuple[Any, ...], branches: list[Branch]) -> Iterator[Finding]:
    with_p = [b.p is not None for b in branches]
    with_when = [b.when is not None for b in branches]
    if any(with_p) and any(with_when):
        yield at, "a routing list is either probabilistic (every branch has 'p') or conditional ('when'), not both"
    elif any(with_p):
        if not all(with_p):
            yield at, "every branch needs 'p' when any branch has one"
        elif abs(sum(b.p for b in branches) - 1.0) > 1e-6:
            yield at, f"branch probabilities must add up to 1, found {sum(b.p for b in branches):g}"
    elif any(with_when):  # a lone 'when' branch too: patients who fail it would have nowhere to go
        defaults = [i for i, w in enumerate(with_when) if not w]
        if defaults and defaults != [len(branches) - 1]:
            yield at, "in a conditional routing list only the last branch may omit 'when' (the default)"
        if not defaults:
            yield at, "a conditional routing list needs a final branch without 'when' (the default)"
    for i, b in enumerate(branches):
        if b.when is not None:
            yield from _condition(s, (*at, i, "when"), b.when)
        if b.to is not None and b.to not in s.pathway.steps:
            yield (*at, i, "to"), _unknown("step", b.to, s.pathway.steps)
        if b.next is not None:
            yield from _routing(s, (*at, i, "next"), b.next)


def _condition(s: Scenario, at: tuple[Any, ...], text: str) -> Iterator[Finding]:
    try:
        clauses = parse_condition(text)
    except ValueError as exc:
        yield at, str(exc)
        return
    levels = categorical_levels(s)
    for clause in clauses:
        if clause.attribute != "cohort":
            missing = [c for c, co in s.cohorts.items() if clause.attribute not in co.attributes]
            if missing:
                yield at, f"attribute {clause.attribute!r} is not defined for cohort(s) {', '.join(missing)}"
                continue
        try:
            resolve_value(clause, levels.get(clause.attribute))
        except ValueError as exc:
            yield at, str(exc)


def _assignment(s: Scenario, at: tuple[Any, ...], attr: str, value: object) -> Iterator[Finding]:
    missing = [c for c, co in s.cohorts.items() if attr not in co.attributes]
    if missing:
        yield at, f"attribute {attr!r} is not defined for cohort(s) {', '.join(missing)}"
    levels = s.attributes.get(attr)
    if levels is not None and value not in levels:
        yield at, f"expected one of {levels}, found {value!r}"
    if levels is None and not isinstance(value, (int, float)):
        yield at, f"{attr!r} is numeric, so expected a number, found {value!r}"


def _deterioration(s: Scenario) -> Iterator[Finding]:
    d = s.deterioration
    if d is None:
        return
    at = ("deterioration",)
    levels = s.attributes.get(d.attribute)
    if levels is None:
        yield (*at, "attribute"), f"{d.attribute!r} must be a categorical attribute declared under 'attributes'"
        return
    for key in ("emergency_at", "urgent_from"):
        value = getattr(d, key)
        if value is not None and value not in levels:
            yield (*at, key), f"expected one of {levels}, found {value!r}"
    for level, rate in d.hazard.items():
        if level not in levels:
            yield (*at, "hazard", level), f"expected one of {levels}, found {level!r}"
        elif rate.value < 0:
            yield (*at, "hazard", level), f"must not be negative, found {rate}"
    if d.urgent_from is not None and "urgency" not in s.attributes:
        yield (*at, "urgent_from"), "raising urgency needs an 'urgency' attribute declared under 'attributes'"
    for key in ("emergency_step", "detected_step"):
        value = getattr(d, key)
        if value is not None and value not in s.pathway.steps:
            yield (*at, key), _unknown("step", value, s.pathway.steps)
    if d.detection_probability > 0 and d.detected_step is None:
        yield (*at, "detected_step"), "needed when detection_probability > 0"
    missing = [c for c, co in s.cohorts.items() if d.attribute not in co.attributes]
    if missing:
        yield (*at, "attribute"), f"attribute {d.attribute!r} is not defined for cohort(s) {', '.join(missing)}"


def successors(s: Scenario, name: str) -> set[str]:
    """Steps a patient can move to directly from step ``name``."""
    step = s.pathway.steps[name]
    found: set[str] = set()

    def walk(branches: list[Branch]) -> None:
        for b in branches:
            if b.to is not None:
                found.add(b.to)
            if b.next is not None:
                walk(b.next)

    for _, routing in _routings(step):
        walk(routing)
    d = s.deterioration
    if d is not None and _waits(step):
        found.add(d.emergency_step)
        if d.detected_step:
            found.add(d.detected_step)
    return {t for t in found if t in s.pathway.steps}


def _waits(step: Step) -> bool:
    return KINDS[step.kind].deteriorates


def _routes_to_unknown(s: Scenario, name: str) -> bool:
    def walk(branches: list[Branch]) -> bool:
        return any((b.to is not None and b.to not in s.pathway.steps) or (b.next is not None and walk(b.next))
                   for b in branches)

    return any(walk(routing) for _, routing in _routings(s.pathway.steps[name]))


def _way_out(s: Scenario) -> Iterator[Finding]:
    steps = s.pathway.steps
    graph = {name: successors(s, name) for name in steps}
    can_leave = {n for n, st in steps.items() if KINDS[st.kind].is_exit}
    # a step routing to an undefined step is reported as such; do not also call it a dead end
    can_leave |= {n for n in steps if _routes_to_unknown(s, n)}
    changed = True
    while changed:
        changed = False
        for name, nxt in graph.items():
            if name not in can_leave and nxt & can_leave:
                can_leave.add(name)
                changed = True
    if not any(KINDS[st.kind].is_exit for st in steps.values()):
        yield ("pathway", "steps"), "the pathway has no step of kind 'discharge': patients could never leave"
        return
    for name in steps:
        if name not in can_leave:
            yield ("pathway", "steps", name), "no way out: no route from this step reaches a discharge step"


#: Most visits to one step a patient may be expected to make (loops included) before a scenario is refused.
MAX_VISITS = 10_000
#: Share of patients assumed to leave a step by each side route (dropout, missed appointments, age
#: limit, rejection, deterioration) in :func:`expected_visits`; the rest follow ``next``.
SIDE_ROUTE_SHARE = 0.01


def routing_probabilities(s: Scenario) -> dict[str, dict[str, float]]:
    """For each step, the estimated probability of moving next to each step (what is missing from 1
    is the probability of leaving the pathway there). Discharge steps route nowhere.

    Branches with ``p`` use it (normalised, in case they do not add up to 1); conditional branches
    (``when``) and plain lists are taken as equally likely, since which one holds depends on the
    patient; each side route present takes :data:`SIDE_ROUTE_SHARE` (to its ``then``, or out of
    the pathway if it has none)."""
    out: dict[str, dict[str, float]] = {}
    d = s.deterioration
    for name, step in s.pathway.steps.items():
        row: dict[str, float] = {}
        out[name] = row
        if KINDS[step.kind].is_exit or step.next is None:
            continue
        sides: list[list[Branch] | None] = []
        if step.on_reject is not None:
            sides.append(step.on_reject)
        for key in ("dropout", "missed", "age_limit"):
            sub = getattr(step, key)
            if sub is not None:
                sides.append(sub.then)
        if d is not None and _waits(step):
            sides.append([Branch(to=d.emergency_step)])
            if d.detected_step:
                sides.append([Branch(to=d.detected_step)])
        _spread_over(step.next, 1.0 - SIDE_ROUTE_SHARE * len(sides), row)
        for side in sides:
            if side is not None:
                _spread_over(side, SIDE_ROUTE_SHARE, row)
        for target in [t for t in row if t not in s.pathway.steps]:
            del row[target]  # an undefined step is reported elsewhere
    return out


def _spread_over(branches: list[Branch], weight: float, row: dict[str, float]) -> None:
    total = sum(b.p for b in branches if b.p is not None)
    for b in branches:
        if b.p is not None and total > 0:
            share = weight * b.p / total
        elif b.p is not None:
            share = 0.0
        else:
            share = weight / len(branches)
        if b.to is not None:
            row[b.to] = row.get(b.to, 0.0) + share
        if b.next is not None:
            _spread_over(b.next, share, row)


def expected_visits(s: Scenario) -> dict[str, float]:
    """Expected number of visits one patient makes to each step, from the routing probabilities.

    The pathway is read as an absorbing Markov chain (:func:`routing_probabilities`): with Q the
    step-to-step probabilities, N = (I - Q)^-1 gives the expected visits from each starting step.
    The value for a step is the largest over the steps patients start at (cohort entries and the
    initial state's ``waiting`` groups), so it bounds the visits of any patient. A step that
    patients can reach but, by the probabilities, never leave (the routes out have probability 0)
    gets ``inf``; a step no patient reaches gets 0."""
    import numpy as np

    names = list(s.pathway.steps)
    index = {n: i for i, n in enumerate(names)}
    probs = routing_probabilities(s)
    n = len(names)
    q = np.zeros((n, n))
    for name, row in probs.items():
        for target, p in row.items():
            q[index[name], index[target]] += p
    # steps from which a route with probability > 0 leaves the pathway
    leaves = {i for i in range(n) if q[i].sum() < 1 - 1e-12}
    can_exit, changed = set(leaves), True
    while changed:
        changed = False
        for i in range(n):
            if i not in can_exit and any(q[i, j] > 0 for j in can_exit):
                can_exit.add(i)
                changed = True
    entries = {index[c.entry] for c in s.cohorts.values() if c.entry in index}
    if s.initial_state is not None:
        entries |= {index[g.step] for g in s.initial_state.waiting if g.step in index}
    visits = np.zeros(n)
    exits = sorted(can_exit)
    sub = np.eye(len(exits)) - q[np.ix_(exits, exits)]
    for e in entries:
        if e not in can_exit:
            continue
        unit = np.zeros(len(exits))
        unit[exits.index(e)] = 1.0
        try:
            x = np.linalg.solve(sub.T, unit)
        except np.linalg.LinAlgError:
            x = np.full(len(exits), np.inf)
        x = np.where(np.isfinite(x) & (x >= -1e-9), np.maximum(x, 0.0), np.inf)
        visits[exits] = np.maximum(visits[exits], x)
    # steps that cannot be left: infinite visits wherever patients can get to them
    reach, stack = set(entries), list(entries)
    while stack:
        i = stack.pop()
        for j in np.nonzero(q[i] > 0)[0]:
            if int(j) not in reach:
                reach.add(int(j))
                stack.append(int(j))
    for i in reach - can_exit:
        visits[i] = np.inf
    return {name: float(visits[index[name]]) for name in names}


def _loops(s: Scenario) -> Iterator[Finding]:
    if not any(KINDS[st.kind].is_exit for st in s.pathway.steps.values()):
        return  # reported by _way_out
    flagged = {path[-1] for path, _ in _way_out(s) if len(path) == 3}
    for name, v in expected_visits(s).items():
        if name in flagged or v <= MAX_VISITS:
            continue
        if v == float("inf"):
            yield ("pathway", "steps", name), (
                "patients reaching this step could never leave the pathway: every route from it to a discharge "
                "step has probability 0; expected a route out with a probability greater than 0")
        else:
            yield ("pathway", "steps", name), (
                f"patients would pass through this step about {v:,.3g} times each on average (estimated from "
                f"the routing probabilities: its loop is almost never left); expected at most {MAX_VISITS:,}: "
                f"give the loop a real way out")


#: Most sessions a treatment episode may have on average (and as standard deviation).
MAX_SESSIONS = 10_000
#: Longest time a patient of the initial state may have waited or been treated, on average (and
#: as standard deviation), in days (100 years).
MAX_WAITED_DAYS = 36_525.0


def _per_patient(s: Scenario) -> Iterator[Finding]:
    """Work that grows without bound for one patient or one meeting: schedules much finer than the
    horizon, endless treatment episodes, waits of centuries."""
    unit = s.scenario.time_unit
    horizon = s.scenario.horizon.to(unit)
    if not horizon > 0:
        return
    for name, st in s.pathway.steps.items():
        at = ("pathway", "steps", name)
        schedules = [(("meets", "every"), st.meets.every if st.meets is not None else None, "panel meetings"),
                     (("monitoring", "every"), st.monitoring.every if st.monitoring is not None else None,
                      "monitoring contacts per patient"),
                     (("sessions", "every"), st.sessions.every if st.sessions is not None else None,
                      "sessions per patient")]
        for key, every, what in schedules:
            if every is not None and every.value > 0 and horizon / every.to(unit) > MAX_SAMPLES:
                yield (*at, *key), (
                    f"would give up to {horizon / every.to(unit):,.3g} {what} over the horizon; expected at most "
                    f"{MAX_SAMPLES:,} (a longer 'every'), found {every}")
        if st.sessions is not None:
            count = st.sessions.count.compile(unit)
            if count.mean > MAX_SESSIONS or count.var > MAX_SESSIONS ** 2:
                yield (*at, "sessions", "count"), (
                    f"expected at most {MAX_SESSIONS:,} sessions per episode on average (and as standard "
                    f"deviation), found a mean of {count.mean:,.3g} and a standard deviation of {count.var ** 0.5:,.3g}")
    if s.initial_state is None:
        return
    days = UNIT_DAYS[canonical_unit(unit)]
    for i, g in enumerate(s.initial_state.waiting):
        for key in ("waited", "treated_for"):
            dist = getattr(g, key)
            if dist is None:
                continue
            sampler = dist.compile(unit)
            if sampler.mean * days > MAX_WAITED_DAYS or sampler.var ** 0.5 * days > MAX_WAITED_DAYS:
                yield ("initial_state", "waiting", i, key), (
                    f"expected at most 100 years on average (and as standard deviation), found a mean of "
                    f"{sampler.mean * days / 365.25:,.3g} years")


def _size(s: Scenario) -> Iterator[Finding]:
    import math

    unit = s.scenario.time_unit
    horizon = s.scenario.horizon.to(unit)
    if not horizon > 0:
        return  # reported by _run_length
    log_arrivals = [_log_arrivals(s, c, horizon) for c in s.cohorts]
    top = max(log_arrivals, default=-math.inf)
    log_expected = top + math.log(sum(math.exp(x - top) for x in log_arrivals)) if top > -math.inf else -math.inf
    waiting = sum(g.count for g in s.initial_state.waiting) if s.initial_state is not None else 0
    if log_expected > math.log(MAX_PATIENTS) or waiting + math.exp(min(log_expected, 700)) > MAX_PATIENTS:
        expected = math.exp(log_expected) if log_expected < 700 else math.inf
        total = expected + waiting
        about = f"about {total:,.0f}" if total < 1e15 else f"about {total:.3g}" if total < math.inf \
            else "more than 1e300"
        minutes = total / PATIENTS_PER_SECOND / 60
        run_time = f"{minutes:,.0f} minutes each" if minutes < 1e15 else f"{minutes:.3g} minutes each" \
            if minutes < math.inf else "without end"
        with_waiting = f", {waiting:,} of them already waiting at the start" if waiting else ""
        yield ("cohorts",), (
            f"{about} patients would arrive in one replication{with_waiting} (estimated run time "
            f"{run_time}); the limit is {MAX_PATIENTS:,}. Check the population, rates, demand "
            f"growth and changes, and initial_state counts.")


def _log_arrivals(s: Scenario, name: str, horizon: float) -> float:
    """Natural log of the expected arrivals of cohort ``name`` over ``horizon``, demand included
    (computed in logs: a huge growth or change factor must not overflow)."""
    import math

    rate = cohort_rate(s, name)
    if not rate > 0:
        return -math.inf
    log_total = math.log(rate)
    d = s.cohorts[name].demand
    if d is None:
        return log_total + math.log(horizon)
    unit_years = UNIT_DAYS[canonical_unit(s.scenario.time_unit)] / UNIT_DAYS["year"]
    k = math.log1p(d.growth_per_year) / (1 / unit_years)
    kh = k * horizon
    if k == 0:
        log_total += math.log(horizon)
    elif kh > 50:  # integral of e^(k t) over [0, H] is about e^(k H) / k
        log_total += kh - math.log(k)
    else:
        log_total += math.log(math.expm1(kh) / k) if kh != 0 else math.log(horizon)
    if d.seasonality is not None:
        log_total += math.log(max(sum(d.seasonality) / 12, 1e-300))
    log_factor = peak = 0.0
    for change in d.changes:
        log_factor += math.log(change.factor)
        peak = max(peak, log_factor)
    return log_total + peak


def _unknown(what: str, name: str, known: Any, where: str = "") -> str:
    import difflib

    names = list(known)
    near = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {near[0]!r}?" if near else f"; defined: {', '.join(names) or 'none'}"
    return f"{what} {name!r} is not defined{where}{hint}"


def _calendar(s: Scenario) -> Iterator[Finding]:
    """Dated features: start date present, dates in order and inside the horizon, plans feasible."""
    import datetime as dt

    info = s.scenario
    start = info.start_date
    unit = info.time_unit
    horizon = info.horizon.to(unit)
    end = None
    if start is not None:
        days = horizon * UNIT_DAYS[canonical_unit(unit)]
        if not (FIRST_DATE <= start and start.toordinal() + max(days, 0) <= LAST_DATE.toordinal()):
            yield ("scenario", "start_date"), (
                f"the run must lie between {FIRST_DATE} and {LAST_DATE} (the dates plots and calendars can "
                f"show), found start_date {start} with a horizon of {info.horizon}")
            return
        end = start + dt.timedelta(days=days)

    def need_start(at: tuple[Any, ...], what: str) -> Iterator[Finding]:
        if start is None:
            yield at, f"{what} needs 'scenario.start_date' (the date time 0 stands for)"

    def dated(at: tuple[Any, ...], item: Any) -> Iterator[Finding]:
        """Check a date/at pair is inside [start, end)."""
        if item.date is not None:
            if start is None:
                yield (*at, "date"), "a 'date' needs 'scenario.start_date'; or give 'at' (time after the start)"
            elif not start <= item.date < end:
                yield (*at, "date"), f"{item.date} is outside the horizon ({start} to {end})"
        elif not 0 <= item.at.to(unit) < horizon:
            yield (*at, "at"), f"{item.at} is outside the horizon (0 to {info.horizon})"

    def when(item: Any) -> float:
        if item.date is not None:
            return (item.date - start).days / UNIT_DAYS[canonical_unit(unit)] if start else 0.0
        return item.at.to(unit)

    if s.calendar is not None:
        yield from need_start(("calendar",), "'calendar' (working days)")
    for name, c in s.cohorts.items():
        d = c.demand
        if d is None:
            continue
        at = ("cohorts", name, "demand")
        if d.seasonality is not None:
            yield from need_start((*at, "seasonality"), "monthly seasonality")
        previous = None
        for i, ch in enumerate(d.changes):
            yield from dated((*at, "changes", i), ch)
            t = when(ch)
            if previous is not None and t < previous:
                yield (*at, "changes", i), "changes must be in date order (this one is earlier than the one before)"
            previous = t
    levels: dict[tuple[str, str], float] = {}
    previous = None
    for i, ch in enumerate(s.capacity_plan):
        at = ("capacity_plan", i)
        yield from dated(at, ch)
        t = when(ch)
        if previous is not None and t < previous:
            yield at, "capacity_plan entries must be in date order (this one is earlier than the one before)"
        previous = t
        svc = s.services.get(ch.service)
        if svc is None:
            yield (*at, "service"), _unknown("service", ch.service, s.services)
            continue
        if ch.role == "beds":
            base = float(svc.beds)
        elif ch.role in svc.staff:
            base = svc.staff[ch.role].wte
        else:
            yield (*at, "role"), _unknown(f"staff role of service {ch.service!r} (or 'beds')", ch.role, svc.staff)
            continue
        key = (ch.service, ch.role)
        level = levels.get(key, base)
        level = level + ch.change if ch.change is not None else ch.to
        what = "beds" if ch.role == "beds" else f"{ch.role} WTE"
        if level < -1e-9:
            yield (*at, "change" if ch.change is not None else "to"), (
                f"this takes {ch.service} {what} to {level:g}: a capacity cannot be negative")
        levels[key] = level
        if ch.role == "beds" and "beds" not in svc.model_fields_set and svc.beds == 0 and not any(
                st.bed and st.service == ch.service for st in s.pathway.steps.values()):
            yield (*at, "role"), f"service {ch.service!r} has no bed-based step to use these beds"
    for name, st in s.pathway.steps.items():
        at = ("pathway", "steps", name)
        kind = KINDS[st.kind]
        if kind.meets:
            if st.meets is None:
                yield at, "a panel step needs 'meets' (e.g. {every: 1 week, weekday: tue})"
            elif st.meets.weekday is not None:
                yield from need_start((*at, "meets", "weekday"), "a meeting weekday")
            elif st.meets.first is not None and not 0 <= st.meets.first.to(unit) < horizon:
                yield (*at, "meets", "first"), f"the first meeting ({st.meets.first}) must be inside the horizon"
        elif st.meets is not None:
            yield (*at, "meets"), "only a step of kind 'panel' meets on a schedule"
        if not kind.holds_resources and (st.staff or st.caseload or st.bed or st.sessions is not None):
            yield at, f"{kind.no_resources_because} and takes no 'staff', 'caseload', 'bed' or 'sessions'"
        if st.working_days_only and s.calendar is None:
            yield (*at, "working_days_only"), "needs a top-level 'calendar' (working days) to have an effect"
    yield from _initial_state(s, start)


def _initial_state(s: Scenario, start: Any) -> Iterator[Finding]:
    init = s.initial_state
    if init is None:
        return
    at = ("initial_state",)
    for i, g in enumerate(init.waiting):
        if g.cohort not in s.cohorts:
            yield (*at, "waiting", i, "cohort"), _unknown("cohort", g.cohort, s.cohorts)
        elif g.step not in s.pathway.steps:
            yield (*at, "waiting", i, "step"), _unknown("step", g.step, s.pathway.steps)
        elif KINDS[s.pathway.steps[g.step].kind].is_exit:
            yield (*at, "waiting", i, "step"), f"{g.step!r} is a discharge step: nobody waits there"
        else:
            for attr, dist in g.attributes.items():
                where = (*at, "waiting", i, "attributes", attr)
                if attr not in s.cohorts[g.cohort].attributes:
                    yield where, f"cohort {g.cohort!r} has no attribute {attr!r}"
                    continue
                values = getattr(dist, "values", None)
                levels = s.attributes.get(attr)
                categorical = values is not None and all(isinstance(v, str) for v in values)
                if categorical != (levels is not None):
                    yield where, (f"give one of the levels {levels}" if levels else "expected a number or a distribution")
                elif categorical:
                    for v in values:
                        if v not in levels:
                            yield where, f"{v!r} is not one of the levels {levels}"
    if init.file is None:
        return
    if start is None:
        yield (*at, "file"), "a waiting-list file has dates: it needs 'scenario.start_date'"
        return
    from icssim.scenario.initial_state import read_waiting_list, resolve_path

    _rows, problems = read_waiting_list(resolve_path(s), s)
    for message in problems:
        yield (*at, "file"), message
