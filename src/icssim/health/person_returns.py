"""Returns to the pathway driven by the course of illness (``health.returns``), in the engine.

When a return rule applies to someone who leaves the pathway, the engine runs their course on out
of the pathway (:meth:`PathwayCourse.seek_return`), move by move, to the move that sends them back
(e.g. a relapse), if it comes before the run ends; they re-enter at the rule's step with the same
:class:`~icssim.health.person_keys.Person`. Following every leaver to the end of the run would cost
a move per heap event, so the engine stops as soon as no rule's move can come before the run ends
(:meth:`PathwayCourse._quiet`), and a lazy engine does not even start the course of a leaver whose
clocks cannot run out in time (:meth:`PathwayCourse.could_return`): the follow-up then runs it from
the records, on the same numbers. Compiled with the engine (mypyc, ``setup.py``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from icssim.health.person import BLOCK, CourseInPathway
from icssim.health.person_keys import Person
from icssim.health.plan import TREATED, UNTREATED, WAITING, HealthPlan

#: whether the engine may stop following a course out of the pathway once no return can come before
#: the run ends (PathwayCourse.seek_return); False follows it move by move (the tests compare the two)
BOUND = True
#: the last plan a PathwayCourse was made for, and its Reach tables by set of rules (see _reaches)
_REACH_TABLES: list[Any] = [None, {}]


class PathwayCourse(CourseInPathway):
    """The course of illness of everyone in the pathway in one replication, and of those who left it
    while a return rule may still send them back."""

    def __init__(self, plan: HealthPlan, seed: int, replication: int, cohorts: list[str],
                 attributes: list[str]) -> None:
        super().__init__(plan, seed, replication, cohorts, attributes)
        #: per return rule (plan.returns): the states it sends back from and into (dead last), its probability
        self.ret_to: list[list[bool]] = [list(r.to) for r in plan.returns]
        self.ret_from: list[list[bool]] = [list(r.from_) for r in plan.returns]
        self.ret_p: list[float] = [r.probability for r in plan.returns]
        self.ret_at_exit: list[bool] = [r.at_exit for r in plan.returns]
        #: per rule, whether :meth:`could_return` may bound it: its ``from`` states can be entered
        #: only by a move with a clock (not at the start, on admission or by a tunnel from outside)
        self.ret_bounded: list[bool] = [self._boundable(i) for i in range(len(plan.returns))]
        #: per set of rules (bits of plan.returns), the union of their ``to`` and ``from`` states and
        #: whether every one of them can be bounded (see :meth:`_union`)
        self.unions: dict[int, tuple[list[bool], list[bool]]] = {}
        self.rules_bounded: dict[int, bool] = {}
        #: [group][status][to]: the highest hazard of a move into ``to`` (from any state) in each status
        self.into_max: list[list[list[float]]] = plan.rates.max(axis=2).tolist() if plan.rates.size else []
        #: per set of rules (bits of plan.returns), where a course can go before it enters their
        #: ``to`` states, and their ``from`` states (:meth:`_reaches`): shared by the replications of
        #: one plan, as they depend on the plan only
        if _REACH_TABLES[0] is not plan:
            _REACH_TABLES[:] = [plan, {}]
        self.reach_tables: dict[int, tuple[Reach, Reach]] = _REACH_TABLES[1]

    def seek_return(self, p: Person, rules: int, limit: float, leaving: bool) -> int:
        """``p`` is out of the pathway (since :meth:`park`): run their course, move by move,
        until a return rule among the bits of ``rules`` sends them back, before ``limit`` years
        after asking (the run's end). A rule acts on a move from one of its ``from`` states into
        one of its ``to`` states (and, when ``leaving`` and the rule says ``at_exit``, on being in
        one of them now), with its probability, drawn from the person's own stream. Returns the
        rule's index, with ``p.t`` the time it acted, or -1 (``p`` is left at their last move
        before ``limit``, or dead, or at the end of follow-up)."""
        dead, to, origin, prob = self.dead, self.ret_to, self.ret_from, self.ret_p
        n = len(prob)
        if leaving:
            for i in range(n):
                if rules >> i & 1 and self.ret_at_exit[i] and to[i][p.state] and p.draw() < prob[i]:
                    return i
        self._union(rules)  # (made once per set of rules, with whether they can be bounded)
        bounded = BOUND and self.rules_bounded[rules]
        while p.state != dead and p.t < p.end and p.due < limit:
            if bounded and self._cannot_return(p, rules, limit):
                return -1  # no rule can act before the run ends: the follow-up carries on from here
            before = p.state
            self.advance(p)
            after = p.state
            if after == before or after == dead:
                continue
            for i in range(n):
                if rules >> i & 1 and to[i][after] and origin[i][before] and p.draw() < prob[i]:
                    return i
        return -1

    def _union(self, rules: int) -> tuple[list[bool], list[bool]]:
        """The states the rules among the bits of ``rules`` send back on a move into, and those
        they act on a move from (made once per set of rules), and whether all can be bounded
        (:attr:`rules_bounded`)."""
        union = self.unions.get(rules)
        if union is None:
            into = [False] * self.dead
            out = [False] * self.dead
            bounded = True
            for i in range(len(self.ret_p)):
                if rules >> i & 1:
                    into = [a or b for a, b in zip(into, self.ret_to[i])]
                    out = [a or b for a, b in zip(out, self.ret_from[i])]
                    bounded = bounded and self.ret_bounded[i]
            union = self.unions[rules] = (into, out)
            self.rules_bounded[rules] = bounded
        return union

    def _boundable(self, rule: int) -> bool:
        """Whether ``rule``'s ``from`` and ``to`` states are entered only by moves with clocks (not
        at the start, on admission or by a tunnel from elsewhere): see :meth:`could_return`."""
        origin, into, plan = self.ret_from[rule], self.ret_to[rule], self.plan
        if self.ret_at_exit[rule] or all(origin[:self.dead]):
            return False
        if plan.on_admission >= 0 and origin[plan.on_admission]:
            return False
        return not any(0 <= to < self.dead and (into[to] or (origin[to] and not origin[s]))
                       for s, to in enumerate(self.tunnel_to))

    def _cannot_return(self, p: Person, rules: int, limit: float) -> bool:
        """Whether no rule among the bits of ``rules`` can act on ``p`` (out of the pathway) before
        ``limit``: they cannot enter the states a rule needs next (:meth:`_quiet`: a ``to`` state
        when in a ``from`` state, else a ``from`` state), or, not in a ``from`` state, could not
        make a rule's move after entering one (:meth:`_no_move_after_origin`)."""
        into, out = self._union(rules)
        reach_into, reach_out = self._reaches(rules)
        if out[p.state]:
            return self._quiet(p, into, reach_into, limit)
        return self._quiet(p, out, reach_out, limit) or self._no_move_after_origin(
            p.clocks, 0, p.group, p.state, rules, p.t, limit, _mode(p))

    def _quiet(self, p: Person, need: list[bool], reach: Reach, limit: float) -> bool:
        """Whether ``p`` (out of the pathway) cannot enter any of the states ``need`` (where a
        course can go before then: ``reach``) before ``limit`` years: each such move needs its clock
        to run out, and no clock can be spent faster than the smaller of two bounds allows
        (:meth:`_most_anywhere`, :meth:`_most_from_here`)."""
        clocks = p.clocks
        for j in range(self.dead):
            if need[j]:
                most = min(self._most_anywhere(p, j, limit), self._most_from_here(p, j, limit, reach))
                if clocks[j] <= most * (1.0 + 1e-9) + 1e-12:
                    return False
        return True

    def _most_anywhere(self, p: Person, j: int, limit: float) -> float:
        """The most hazard into state ``j`` that ``p`` could meet before ``limit``, from any state:
        the highest treated hazard into ``j`` while the treated hazards last (:meth:`park`), the
        highest untreated one after."""
        t = p.t
        span = min(p.until, limit) - t if p.status == TREATED else 0.0
        rest = limit - t - max(span, 0.0)
        most = self.into_max[p.group]
        return most[TREATED][j] * max(span, 0.0) + most[UNTREATED][j] * max(rest, 0.0)

    def _most_from_here(self, p: Person, j: int, limit: float, reach: Reach) -> float:
        """The most hazard into state ``j`` that ``p`` could meet before ``limit``, from where they
        are (:meth:`_chain_most`). While the treated hazards last, each hazard is the higher of the
        treated and the untreated one."""
        return self._chain_most(reach, _mode(p), p.group, p.state, p.t, p.entered, limit, j)

    def _chain_most(self, reach: Reach, mode: int, group: int, state: int, t: float, entered: float,
                    limit: float, j: int) -> float:
        """The most hazard into state ``j`` a course in ``state`` (entered at ``entered``) could meet
        from ``t`` to ``limit``: through a chain of tunnel states that can only be left by their
        tunnel or into a state the ``reach`` was made for (remission, then sustained remission), at
        each state's own hazard until its deadline; after that, or where a state has other ways
        out, at the highest hazard into ``j`` of any state reachable without entering one of those."""
        highest, chain, own = reach.highest[mode][group], reach.chain[mode][group], reach.own[mode][group]
        total = 0.0
        while t < limit:
            if not chain[state]:
                return total + highest[state][j] * (limit - t)
            end = min(max(entered + self.tunnel_after[state], t), limit)
            total += own[state][j] * (end - t)
            state, t, entered = self.tunnel_to[state], end, end
        return total

    def _no_move_after_origin(self, clocks: list[float], at: int, group: int, state: int, rules: int, t: float,
                              limit: float, mode: int) -> bool:
        """Whether no rule among the bits of ``rules`` can act before ``limit``, even if the person,
        in ``state`` (not one of the rules' ``from`` states) at ``t``, entered one of them at once.
        A rule acts on a move into one of its ``to`` states, which needs that state's clock to run
        out. When no move can enter that state before a ``from`` state is entered, its clock is
        the one in ``clocks`` (from index ``at``; a move into a state draws its clock again), spent from the first
        ``from`` state on at most at the hazards of :meth:`_chain_most`, from ``t`` at the earliest
        (the later, the less time is left). ``mode``: the statuses the hazards are read in (see
        :class:`Reach`)."""
        into, out = self._union(rules)
        after, before = self._reaches(rules)
        can_enter = before.highest[mode][group][state]
        for j in range(self.dead):
            if not into[j]:
                continue
            if can_enter[j] > 0:
                return False  # the state may be entered first, and its clock drawn again
            most = 0.0
            for f in range(self.dead):
                if out[f]:
                    most = max(most, self._chain_most(after, mode, group, f, t, t, limit, j))
            if clocks[at + j] <= most * (1.0 + 1e-9) + 1e-12:
                return False
        return True

    def _reaches(self, rules: int) -> tuple[Reach, Reach]:
        """Where a course can go before it enters one of the rules' ``to`` states, and before it
        enters one of their ``from`` states (:class:`Reach`; made once per plan and set of rules)."""
        reaches = self.reach_tables.get(rules)
        if reaches is None:
            into, out = self._union(rules)
            rates = self.plan.rates[:, :, :, : self.dead]
            reaches = self.reach_tables[rules] = (Reach(rates, into[: self.dead], self.tunnel_to),
                                                  Reach(rates, out[: self.dead], self.tunnel_to))
        return reaches

    def could_return(self, cohort: int, attrs: list[float], number: int, treated: float, t: float, limit: float,
                     rules: int, admitted: bool) -> bool:
        """Whether a course the engine has not started (arrival ``number`` of ``cohort``, treated from
        ``treated`` and leaving the pathway ``t`` years after asking; ``treated`` is NaN if never)
        could let a rule among the bits of ``rules`` send the person back before ``limit`` years.
        A rule acts on a move out of one of its ``from`` states, so the person must first enter
        one: the move into state ``j`` needs ``j``'s clock, a unit exponential from the start, to
        run out, spent at most at the highest hazard into ``j`` of each status (waiting, treated,
        then untreated). Someone whose clocks cannot run out before ``limit`` is left to the
        follow-up, which runs the same course from the records; and so is someone who, even if
        they entered a ``from`` state at once, could not make a rule's move into a ``to`` state
        before ``limit`` (:meth:`_no_move_after_origin`, from their arrival on, in any status; not
        for someone ``admitted``, whose admission may have moved their course anywhere). Anyone
        else is followed (:meth:`seek_return`)."""
        origin = self._union(rules)[1]
        if not self.rules_bounded[rules]:
            return True
        block, k = self._draws(cohort, number), number % BLOCK
        level = int(attrs[self.by_index]) if self.by_index >= 0 else 0
        group = cohort * self.n_levels + level
        start = self._start_state(group, block[1][k])
        if origin[start]:
            return True
        clocks, at, most = block[3], k * self.n, self.into_max[group]
        untreated, waiting, treat = most[UNTREATED], most[WAITING], most[TREATED]
        # the treated hazards go on after leaving until treated_hazards_for after treatment started (park)
        if treated != treated:  # never treated: waiting until leaving, untreated after
            treated, after = t, 0.0
        else:
            after = max(0.0, treated + self.treated_hazards_for - t)
        soonest = math.inf
        for j in range(self.dead):
            if not origin[j]:
                continue
            spent = waiting[j] * treated + treat[j] * (t - treated + after)
            left = clocks[at + j] - spent * (1.0 + 1e-9) - 1e-12  # (a margin far wider than rounding)
            if left <= 0:
                soonest = 0.0
                break
            if untreated[j] > 0:
                soonest = min(soonest, t + after + left / (untreated[j] * (1.0 + 1e-9)))
        if soonest >= limit:
            return False
        if admitted:
            return True
        own = clocks[at:at + self.n].tolist()  # (the block's array of clocks, as the list the bound reads)
        return not self._no_move_after_origin(own, 0, group, start, rules, 0.0, limit, 2)

    def park(self, p: Person) -> None:
        """``p`` has left the pathway (:meth:`leave`) and may come back: untreated hazards from now,
        or from when the treated hazards of their last treatment end (``plan.treated_hazards_for``)."""
        if p.t < p.treated_until:
            p.status, p.until = TREATED, p.treated_until
        else:
            p.status, p.until = UNTREATED, math.inf
        self._hazards(p)

    def still_wants(self, p: Person, rule: int, t: float) -> bool:
        """Run ``p``'s course (out of the pathway) to ``t`` years after asking, when a return by
        ``rule`` is due: whether they are alive and still in one of its ``to`` states then."""
        self.catch_up(p, t)
        if p.state == self.dead or p.t >= p.end:
            return False
        self._spend(p, t)
        self._hazards(p)  # (from here as the follow-up would: the hazard of death at today's age)
        return self.ret_to[rule][p.state]

    def rejoin(self, p: Person) -> None:
        """``p`` is back in the pathway (at ``p.t``): waiting hazards from now."""
        p.status, p.until = WAITING, math.inf
        p.returns += 1
        self._hazards(p)


class Reach:
    """Where a course can go before it enters one of the states ``need``, for untreated hazards
    (mode 0), for the higher of treated and untreated ones (mode 1) and for the highest of every
    status, waiting too (mode 2), by
    [mode][group][state]: ``highest[to]``, the highest hazard into ``to`` from any state reachable
    from ``state`` by moves and tunnels that enter no state of ``need`` (``state`` included);
    ``chain``, whether ``state`` is a tunnel whose only other ways out are into ``need`` (or
    death), so that the person stays there until its deadline; ``own[to]``, its own hazard."""

    def __init__(self, rates: np.ndarray, need: list[bool], tunnel_to: list[int]) -> None:
        n = len(need)
        blocked = np.array(need, dtype=bool)
        tunnels = [(s, to) for s, to in enumerate(tunnel_to) if 0 <= to < n and not blocked[to]]
        self.highest: list[list[list[list[float]]]] = []
        self.chain: list[list[list[bool]]] = []
        self.own: list[list[list[list[float]]]] = []
        for statuses in ([UNTREATED], [UNTREATED, TREATED], [UNTREATED, TREATED, WAITING]):
            hazard = rates[:, statuses].max(axis=1)  # [group, from, to]
            highest, chain = [], []
            for by_state in hazard:
                moves = (by_state > 0) & ~blocked[None, :]
                other_ways = moves.any(axis=1)
                for s, to in tunnels:
                    moves[s, to] = True
                reach = _closure(moves)
                highest.append([by_state[reach[s]].max(axis=0).tolist() for s in range(n)])
                chain.append([any(s == t for t, _ in tunnels) and not bool(other_ways[s]) for s in range(n)])
            self.highest.append(highest)
            self.chain.append(chain)
            self.own.append(hazard.tolist())


def _mode(p: Person) -> int:
    """The :class:`Reach` mode of ``p``'s hazards out of the pathway: 1 while the treated hazards
    last (:meth:`PathwayCourse.park`), then 0."""
    return 1 if p.status == TREATED and p.until > p.t else 0


def _closure(moves: np.ndarray) -> np.ndarray:
    """[s, k]: whether state ``k`` can be reached from ``s`` (``s`` itself included) by ``moves``."""
    reach = moves | np.eye(len(moves), dtype=bool)
    while True:
        longer = reach | ((reach.astype(np.int64) @ reach.astype(np.int64)) > 0)
        if (longer == reach).all():
            return reach
        reach = longer
