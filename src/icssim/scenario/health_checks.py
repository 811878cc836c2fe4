"""Cross-reference checks of the ``health:`` block: state names, reachability, absorbing states,
hazards that would make a state last less than a day, and the attributes the course reads
(including ``by``, the categorical attribute whose levels may have their own parameters)."""

from __future__ import annotations

from collections.abc import Iterator

from icssim.kinds import KINDS
from icssim.scenario.findings import Finding, unknown
from icssim.scenario.health import Health
from icssim.scenario.schema import Scenario
from icssim.units import UNIT_DAYS, Rate, canonical_unit

#: the largest total hazard out of a state, per day: beyond it a state would last under a day
MAX_HAZARD_PER_DAY = 1.0


def health_findings(s: Scenario) -> Iterator[Finding]:
    """Every cross-reference problem of ``s.health`` (none when there is no block)."""
    h = s.health
    if h is None:
        return
    yield from _names(s, h)
    if any(f for f in _names(s, h)):
        return
    yield from _reachable(h)
    yield from _absorbing(h)
    yield from _hazard_sizes(s, h)
    yield from _attributes(s, h)
    yield from _by_levels(s, h)
    yield from _escalation(s, h)
    yield from _returns(s, h)


def _names(s: Scenario, h: Health) -> Iterator[Finding]:
    states = h.states
    for level, shares in h.start_by_level().items():
        for name in shares:
            if name not in states:
                at = ("health", "start", name) if level is None else ("health", "start", level, name)
                yield at, unknown("health state", name, states)
    for i, tr in enumerate(h.transitions):
        for origin in tr.from_:
            if origin not in states:
                yield ("health", "transitions", i, "from"), unknown("health state", origin, states)
        if tr.to not in states:
            yield ("health", "transitions", i, "to"), unknown("health state", tr.to, states)
        elif tr.to in tr.from_:
            yield ("health", "transitions", i, "to"), (
                f"{tr.to!r} is also in 'from': a move from a state to itself changes nothing (a typo "
                "for another state?); to keep someone there longer, lower the hazards that leave it")
        for cohort in tr.cohorts or ():
            if cohort not in s.cohorts:
                yield ("health", "transitions", i, "cohorts"), unknown("cohort", cohort, s.cohorts)
    for name, st in states.items():
        if st.then is not None and st.then not in states:
            yield ("health", "states", name, "then"), unknown("health state", st.then, states)
    if h.on_admission is not None and h.on_admission not in states:
        yield ("health", "on_admission"), unknown("health state", h.on_admission, states)
    for event, e in h.events.items():
        for name in e.rate:
            if name not in states:
                yield ("health", "events", event, "rate", name), unknown("health state", name, states)
        if e.service is not None and e.service not in s.services:
            yield ("health", "events", event, "service"), unknown("service", e.service, s.services)
    outcomes = _outcomes(s)
    for measure, m in h.measures.items():
        if m.outcome not in outcomes:
            yield ("health", "measures", measure, "outcome"), unknown("pathway outcome", m.outcome, sorted(outcomes))
        for name in m.states:
            if name not in states:
                yield ("health", "measures", measure, "states"), unknown("health state", name, states)


def _reachable(h: Health) -> Iterator[Finding]:
    """Every state must be a starting state or reachable from one."""
    seen = {name for shares in h.start_by_level().values() for name, share in shares.items() if share > 0}
    if h.on_admission:
        seen.add(h.on_admission)
    grew = True
    while grew:
        before = len(seen)
        for tr in h.transitions:
            if seen.intersection(tr.from_):
                seen.add(tr.to)
        seen.update(st.then for name, st in h.states.items() if name in seen and st.then)
        grew = len(seen) > before
    for name in h.states:
        if name not in seen:
            yield ("health", "states", name), (
                "no one can reach this state: it is not in 'start' and no transition leads to it; "
                "expected a transition into it, or remove it")


def _absorbing(h: Health) -> Iterator[Finding]:
    """A state no one can leave (other than by dying) must say so with ``absorbing: true``."""
    leaving = {origin for tr in h.transitions for origin in tr.from_ if tr.to != origin}
    for name, st in h.states.items():
        has_exit = name in leaving or st.then is not None
        if not has_exit and not st.absorbing:
            yield ("health", "states", name), (
                "no transition leaves this state, so people would stay in it for ever; expected a "
                "transition out of it, or 'absorbing: true' if that is intended")
        elif has_exit and st.absorbing:
            yield ("health", "states", name, "absorbing"), "is true, but transitions leave this state"


def _hazard_sizes(s: Scenario, h: Health) -> Iterator[Finding]:
    unit_days = UNIT_DAYS[canonical_unit(s.scenario.time_unit)]
    for name in h.states:
        for status in ("untreated", "waiting", "treated"):
            per_day = sum(_per_day(getattr(tr.rate, status) or tr.rate.untreated, unit_days)
                          for tr in h.transitions if name in tr.from_)
            if per_day > MAX_HAZARD_PER_DAY:
                yield ("health", "states", name), (
                    f"the hazards out of this state while {status} add up to {per_day:.3g} per day, so "
                    f"people would stay in it less than a day; expected at most {MAX_HAZARD_PER_DAY:g} per "
                    f"day (is a rate per year written per day?)")
                break


def _per_day(rate: Rate, unit_days: float) -> float:
    return rate.to("days") if rate.unit is not None else rate.value / unit_days


def _attributes(s: Scenario, h: Health) -> Iterator[Finding]:
    wanted = []
    if h.mortality is not None:
        wanted.append((("health", "mortality", "age_attribute"), h.mortality.age_attribute))
    if h.untreated_duration is not None:
        wanted.append((("health", "untreated_duration", "attribute"), h.untreated_duration.attribute))
    for at, attr in wanted:
        missing = [name for name, c in s.cohorts.items() if attr not in c.attributes]
        if missing:
            yield at, (f"every cohort needs a numeric attribute {attr!r} (in years) for this; "
                       f"missing in cohort(s) {', '.join(missing)}")
        elif attr in s.attributes:
            yield at, f"{attr!r} is a categorical attribute; expected a number in years"


def _by_levels(s: Scenario, h: Health) -> Iterator[Finding]:
    """``by`` names a categorical attribute every cohort draws; values given per level (utilities,
    rate ratios, starting shares, ``when``) name exactly its levels."""
    per_level: list[tuple[tuple[str | int, ...], dict[str, float]]] = [
        (("health", "states", name, key), value) for name, st in h.states.items()
                 for key, value in (("utility", st.utility), ("mortality_rr", st.mortality_rr))
                 if isinstance(value, dict)]
    nested = None not in h.start_by_level()
    start_levels = [level for level in h.start_by_level() if level is not None]
    whens: list[tuple[tuple[str | int, ...], dict[str, list[str]]]] = [
        (("health", "transitions", i, "when"), tr.when) for i, tr in enumerate(h.transitions) if tr.when]
    if h.by is None:
        for at, _ in per_level:
            yield at, "gives a value per level, but the health block has no 'by' (the attribute whose levels these are)"
        if nested:
            yield ("health", "start"), "gives shares per level, but the health block has no 'by' attribute"
        for at, _ in whens:
            yield at, "needs 'by' in the health block (the attribute whose levels it names)"
        return
    if h.by not in s.attributes:
        yield ("health", "by"), (f"{h.by!r} is not a categorical attribute; expected one declared under "
                                 f"'attributes:' ({', '.join(s.attributes) or 'none declared'})")
        return
    levels = s.attributes[h.by]
    missing = [name for name, c in s.cohorts.items() if h.by not in c.attributes]
    if missing:
        yield ("health", "by"), f"every cohort needs the attribute {h.by!r}; missing in cohort(s) {', '.join(missing)}"
    expected = f"expected one value for each level of {h.by!r}: {', '.join(levels)}"
    for at, value in per_level:
        if sorted(value) != sorted(levels):
            yield at, f"has levels {', '.join(value)}; {expected}"
    if nested and sorted(start_levels) != sorted(levels):
        yield ("health", "start"), f"has levels {', '.join(start_levels)}; {expected}"
    for at, when in whens:
        for attr, chosen in when.items():
            if attr != h.by:
                yield (*at, attr), f"can only name the health block's 'by' attribute {h.by!r}"
            for level in chosen:
                if level not in levels:
                    yield (*at, attr), unknown(f"level of {h.by!r}", level, levels)


def _escalation(s: Scenario, h: Health) -> Iterator[Finding]:
    """``escalation`` names health states, and acts through the deterioration block's steps (and,
    for ``urgent``, the ``urgency`` attribute)."""
    for name, kind in h.escalation.items():
        at = ("health", "escalation", name)
        if name not in h.states:
            yield at, unknown("health state", name, h.states)
        elif s.deterioration is None:
            yield at, ("escalates through the 'deterioration:' block's steps (emergency_step, detected_step), "
                       "but the scenario has none; expected a 'deterioration:' block (its hazard may be {})")
        elif kind == "urgent" and "urgency" not in s.attributes:
            yield at, "'urgent' raises the 'urgency' attribute, which the scenario does not declare under 'attributes:'"


def _outcomes(s: Scenario) -> set[str]:
    """The outcomes a person can leave the pathway with (besides dying)."""
    return {st.outcome for st in s.pathway.steps.values() if st.outcome} | {"dropped_out", "discharged_missed"}


def _returns(s: Scenario, h: Health) -> Iterator[Finding]:
    """``returns`` name health states, pathway outcomes and a step where people are seen."""
    outcomes = _outcomes(s)
    steps = s.pathway.steps
    for name, r in h.returns.items():
        at = ("health", "returns", name)
        for key, states in (("to", r.to), ("from", r.from_ or [])):
            for state in states:
                if state not in h.states:
                    yield (*at, key), unknown("health state", state, h.states)
        for outcome in r.outcomes or ():
            if outcome == "died":
                yield (*at, "outcomes"), "'died' cannot be followed by a return; expected outcomes of the living"
            elif outcome not in outcomes:
                yield (*at, "outcomes"), unknown("pathway outcome", outcome, sorted(outcomes))
        if r.step not in steps:
            yield (*at, "step"), unknown("pathway step", r.step, steps)
        elif KINDS[steps[r.step].kind].is_exit:
            yield (*at, "step"), (f"{r.step!r} is a discharge step, which people leave at once; expected a "
                                  f"step where people are seen again (e.g. the entry step)")
        if r.from_ is not None and set(r.from_) <= set(r.to):
            yield (*at, "from"), ("names only states in 'to', so no move could enter 'to' from it; expected "
                                  "the states a relapse starts from (e.g. the remission states)")
