"""Cross-reference checks that need the whole scenario: names, routing, reachability, size.

Each check yields ``(key path, message)`` pairs; the loader turns them into
:class:`~icssim.errors.Problem` lines with file and line number. The checks of names and routing
are here; where patients can go is in :mod:`~icssim.scenario.reachability`, the size of the work in
:mod:`~icssim.scenario.size_checks`, the dated features in :mod:`~icssim.scenario.calendar_checks`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from icssim.kinds import KINDS
from icssim.scenario.calendar_checks import calendar
from icssim.scenario.conditions import parse_condition, resolve_value
from icssim.scenario.findings import Finding, categorical_levels, cohort_rate, unknown
from icssim.scenario.health_checks import health_findings
from icssim.scenario.reachability import expected_visits, loops, step_routings, way_out
from icssim.scenario.schema import Branch, Scenario, Step
from icssim.scenario.size_checks import MAX_SAMPLES, per_patient, size
from icssim.scenario.time_unit_checks import rereads

# Imported from here by the plan compiler, the run-time estimate and tests.
__all__ = ["CHECKS", "Finding", "categorical_levels", "check_scenario", "cohort_rate",
           "expected_visits"]


def check_scenario(s: Scenario) -> list[Finding]:
    """Every cross-reference problem in ``s`` (an empty list when it is usable): :data:`CHECKS`, in order."""
    return [finding for check in CHECKS for finding in check(s)]


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
        for i, cohort in enumerate([std.cohort] if isinstance(std.cohort, str) else std.cohort or []):
            if cohort not in s.cohorts:
                where = ("scenario", "standards", name, "cohort") + (() if isinstance(std.cohort, str) else (i,))
                yield where, unknown("cohort", cohort, s.cohorts)
        if std.urgency is None:
            continue
        if urgency is None:
            yield ("scenario", "standards", name), "standards need an 'urgency' attribute declared under 'attributes'"
        elif std.urgency not in urgency:
            yield ("scenario", "standards", name, "urgency"), f"expected one of {urgency}, found {std.urgency!r}"


def _cohorts(s: Scenario) -> Iterator[Finding]:
    for name, c in s.cohorts.items():
        if c.entry not in s.pathway.steps:
            yield ("cohorts", name, "entry"), unknown("step", c.entry, s.pathway.steps)
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
            yield ("services", name, "caseload", "role"), unknown("staff role", cl.role, svc.staff)


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
        elif step.on_reject is not None:
            yield (*at, "on_reject"), ("routes the referrals that fail 'accept', and this step has no 'accept', so it "
                                       "would never be used; expected an 'accept' condition beside it, or no "
                                       "'on_reject'")
        if step.outcome is not None and not KINDS[step.kind].is_exit:
            yield (*at, "outcome"), (f"names how patients leave the pathway at a discharge step; this step is of kind "
                                     f"{step.kind!r}, so it would never be used; expected it on a step of kind "
                                     f"'discharge'")
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
            yield from _monitoring(s, (*at, "monitoring"), step)
        for key, routing in step_routings(step):
            yield from _routing(s, (*at, *key), routing)


def _monitoring(s: Scenario, at: tuple[Any, ...], step: Any) -> Iterator[Finding]:
    """Monitoring's ``until`` steps and its service. Monitoring contacts take no modelled staff time,
    so they cannot be charged to a service whose staff are costed as an establishment: the value
    for money costs such a service by its establishment alone (health/kpis.py person_costs), and
    the contacts would cost nothing."""
    m = step.monitoring
    for i, target in enumerate(m.until):
        if target not in s.pathway.steps:
            yield (*at, "until", i), unknown("step", target, s.pathway.steps)
    if m.service is not None and m.service not in s.services:
        yield (*at, "service"), unknown("service", m.service, s.services)
        return
    name = m.service or step.service
    svc = s.services.get(name) if name else None
    # costed by an establishment: some role with WTE x cost per hour above 0 (budget.establishment_cost)
    if svc is not None and any(role.wte * role.cost_per_hour > 0 for role in svc.staff.values()):
        key = (*at, "service") if m.service is not None else at
        yield key, (
            f"monitoring contacts take no staff time in the model, so service {name!r}, costed by its "
            f"staff establishment, would never charge them: give the monitoring its own service without "
            f"staff costs (monitoring: {{service: <name>, ...}}, with that service's cost_per_contact "
            f"and payer under 'services')"
        )


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
        yield (*at, "service"), unknown("service", step.service, s.services)
        return
    needs_service = step.staff or step.caseload or step.bed
    if needs_service and svc is None:
        yield (*at, "service"), "'staff', 'caseload' and 'bed' need the step's 'service'"
        return
    for i, role in enumerate(step.staff):
        if role not in svc.staff:
            yield (*at, "staff", i), unknown("staff role", role, svc.staff, f" in service {step.service!r}")
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
            yield (*at, i, "to"), unknown("step", b.to, s.pathway.steps)
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
            yield (*at, key), unknown("step", value, s.pathway.steps)
    if d.detection_probability > 0 and d.detected_step is None:
        yield (*at, "detected_step"), "needed when detection_probability > 0"
    missing = [c for c, co in s.cohorts.items() if d.attribute not in co.attributes]
    if missing:
        yield (*at, "attribute"), f"attribute {d.attribute!r} is not defined for cohort(s) {', '.join(missing)}"


#: The checks :func:`check_scenario` makes, in order: each a function of the scenario alone, yielding
#: its findings (:mod:`icssim.sweep.point_checks` runs them one by one).
CHECKS = (_run_length, _cohorts, _services, _steps, _deterioration, way_out, loops, size, per_patient,
          calendar, health_findings, rereads)
