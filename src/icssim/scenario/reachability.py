"""Where patients can go: successors of a step, a way out of the pathway, and the expected number of
visits to each step (the routing read as an absorbing Markov chain), which refuses endless loops."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from icssim.kinds import KINDS
from icssim.scenario.findings import Finding
from icssim.scenario.schema import Branch, Scenario, Step


def step_routings(step: Step) -> Iterator[tuple[tuple[str, ...], list[Branch]]]:
    """Each routing list of ``step`` with its key path under the step (``next``, ``dropout.then``...)."""
    if step.next is not None:
        yield ("next",), step.next
    if step.on_reject is not None:
        yield ("on_reject",), step.on_reject
    for key in ("dropout", "missed", "age_limit"):
        sub = getattr(step, key)
        if sub is not None and getattr(sub, "then", None) is not None:
            yield (key, "then"), sub.then


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

    for _, routing in step_routings(step):
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

    return any(walk(routing) for _, routing in step_routings(s.pathway.steps[name]))


def way_out(s: Scenario) -> Iterator[Finding]:
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


def loops(s: Scenario) -> Iterator[Finding]:
    if not any(KINDS[st.kind].is_exit for st in s.pathway.steps.values()):
        return  # reported by way_out
    flagged = {path[-1] for path, _ in way_out(s) if len(path) == 3}
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


