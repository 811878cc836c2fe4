"""Each person's course of illness, from the day they ask for help to the end of follow-up.

The course is a continuous-time multi-state process whose hazards of moving are constant between
*breakpoints*: a change of pathway status (waiting → treated → left the pathway), a first
admission (which moves the person to the plan's ``on_admission`` state) and a tunnel state's
deadline. The hazard of death also moves on with age at each anniversary of asking for help,
where the state is recorded; an anniversary is not a breakpoint of its own
(:class:`~icssim.health.years.Years` reads the years of a stretch), so a pass moves each person
to their next move or change of status. It is sampled exactly with one clock per destination
(competing risks): each person holds a unit exponential for every state they could move to (and
death); between breakpoints each clock is spent at its hazard, and the first to run out moves the
person, whose clock for that destination is then drawn afresh. Clocks not yet run out carry on:
by memorylessness they are still unit exponentials.

Health events (``events:``, e.g. A&E attendances for the physical condition) happen at a rate
that depends on the state; each person accrues their expected number and its discounted cost
over each stretch of time in a state (exact in expectation, and free of extra noise).

The pathway drives the course (status, admissions), not the other way round: the engine's own
deterioration model still decides who escalates while waiting. People are followed in lockstep
(numpy over everyone still alive), so a follow-up of years costs a few dozen array passes.

Random numbers come from counter-based streams keyed to the person (seed, replication, cohort,
arrival number within the cohort) and to the destination, so the same person lives the same
course in two scenarios until the pathways treat them differently, and even then keeps the same
clocks (a death that is due at the same cumulative hazard stays due): common random numbers at
the level of the person and of each kind of move.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from dataclasses import fields, replace
from typing import Any

import numpy as np

from icssim.health.keys import splitmix_array, uniforms
from icssim.health.outcomes import Outcomes, Timeline, discounted_span
from icssim.health.plan import LIFETIME_AGE, TREATED, UNTREATED, WAITING, HealthPlan
from icssim.health.years import Years

#: years within which a leave and a move are one instant: the leave is converted from the engine's
#: days, a move's time is the course's own, and the two may differ in the last bits
SAME_INSTANT = 1e-12


def follow(plan: HealthPlan, tl: Timeline, engine: Sequence[Any] | None = None) -> Outcomes:
    """Every person's course from asking for help to ``plan.follow_up`` years later (or, for a
    lifetime, to the age of :data:`LIFETIME_AGE`).

    ``engine`` (one entry per person, or None) is the course the engine ran while each was in the
    pathway (:class:`icssim.health.person.Person`): it is taken over, not sampled again."""
    course = _Course(plan, tl)
    if engine is not None:
        course.resume(engine)
    course.run()
    return course.outcomes()


#: :class:`_Course` attributes shared by everyone (the others hold one value or row per person;
#: ``tl``'s fields too): what :meth:`_Course._rows` does not copy per person
_SHARED = frozenset({"plan", "tl", "salts", "n_status", "flat_rates", "flat_rr", "by_age", "below", "ages"})

#: the spells in the pathway of the people a return rule sent back (:meth:`_Course._spells`): their
#: indices (ascending) and, per person, each spell's start and end (years after asking for help)
_Spells = tuple[np.ndarray, np.ndarray, np.ndarray]


def _among(who: np.ndarray, spells: _Spells | None) -> _Spells | None:
    """Of ``spells``, those of the people in ``who`` (ascending indices, each once), as rows of
    ``who`` with their spells: the few people sent back are looked up in ``who``, not the reverse."""
    if spells is None:
        return None
    people, begin, end = spells
    at = np.minimum(np.searchsorted(who, people), max(len(who) - 1, 0))
    found = who[at] == people if len(who) else np.zeros(len(people), dtype=bool)
    return at[found], begin[found], end[found]


class _Course:
    """The lockstep sampler's state: one entry per person. Methods taking ``who`` (people's
    indices) in :meth:`run`'s passes may also get ``slice(None)``: everyone in a compact copy."""

    def __init__(self, plan: HealthPlan, tl: Timeline) -> None:
        n = len(tl)
        self.plan, self.tl = plan, tl
        self.group = (tl.cohort if tl.group is None else tl.group).astype(np.int64)
        lifetime = np.maximum(LIFETIME_AGE - tl.age, 0.0)
        self.end = lifetime if np.isinf(plan.follow_up) else np.full(n, plan.follow_up)
        self.counter = np.zeros(n, dtype=np.uint64)
        #: each destination's salt for its clocks' stream (see :meth:`_clock`)
        self.salts = splitmix_array(np.arange(plan.n_states, dtype=np.uint64) + np.uint64(1))
        self.state = self._start_states(n)
        mort = plan.mortality
        self.male = (self._draw(np.arange(n)) >= mort.female_share) if mort is not None else np.zeros(n, bool)
        self.t = np.zeros(n)
        self.entered = np.zeros(n)
        self.admitted = np.isnan(tl.admit) | (plan.on_admission < 0)
        self.occurrence = np.zeros((n, plan.n_states), dtype=np.uint64)
        self.clocks = np.stack([self._clock(np.arange(n), np.full(n, j)) for j in range(plan.n_states)], axis=1)
        self.dui = tl.ill_before + tl.treat
        #: when the treated hazards end out of the pathway (HealthPlan.treated_hazards_for; NaN: never treated)
        self.treated_until = tl.treat + plan.treated_hazards_for
        self.dued_multiplier = self._dued_multiplier()
        years = int(np.floor(self.end.max(initial=0.0) + 1e-9))
        self.state_at = np.full((n, years + 1), -1, dtype=np.int16)
        self.state_at[:, 0] = self.state
        self.years_in = np.zeros((n, plan.n_states))
        self.qalys = np.zeros(n)
        self.qalys_raw = np.zeros(n)
        self.costs = np.zeros(n)
        self.events = np.zeros((n, len(plan.event_names)))
        self.events_in_pathway = np.zeros((n, len(plan.event_names)))
        self.event_cost_by_event = np.zeros((n, len(plan.event_names)))
        self.state_at_leave = np.where(tl.leave <= 0, self.state, -1).astype(np.int64)
        self.event_costs = np.zeros(n)
        self.died = np.full(n, np.nan)
        self.remissions = np.zeros(n, dtype=np.int32)
        self.relapses = np.zeros(n, dtype=np.int32)
        self.first_remission = np.where(plan.remission[self.state], 0.0, np.nan)
        self.returns = np.zeros(n, dtype=np.int32)
        #: the rates as [group × status × from, to] with a column for death (0, set per person) and
        #: the mortality multipliers as [group × from], for one-gather lookups in :meth:`_hazards`
        self.n_status = plan.rates.shape[1]
        flat = plan.rates.reshape(-1, plan.dead)
        self.flat_rates = np.concatenate([flat, np.zeros((len(flat), 1))], axis=1)
        self.flat_rr = np.asarray(plan.mortality_rr, dtype=float).reshape(-1)
        #: the background hazard by [sex × ages + age] and its sum over the ages below (Mortality.by_year)
        by_age, below = mort.by_year() if mort is not None else (np.zeros((2, 1)), np.zeros((2, 1)))
        self.ages = by_age.shape[1]
        self.by_age, self.below = by_age.reshape(-1), below.reshape(-1)

    def _draw(self, who: np.ndarray) -> np.ndarray:
        u = uniforms(self.tl.keys[who], self.counter[who])
        self.counter[who] += np.uint64(1)
        return u

    def _clock(self, who: np.ndarray, dest: np.ndarray) -> np.ndarray:
        """A fresh unit exponential for the move of each person in ``who`` to ``dest``: the
        ``occurrence``-th of that person's own stream for that destination."""
        salt = self.salts[dest]
        u = uniforms(splitmix_array(self.tl.keys[who] ^ salt), self.occurrence[who, dest])
        self.occurrence[who, dest] += np.uint64(1)
        return -np.log(u)

    def _start_states(self, n: int) -> np.ndarray:
        cum = np.cumsum(self.plan.start, axis=1)[self.group]
        u = self._draw(np.arange(n))
        return np.minimum((cum <= (u * cum[:, -1])[:, None]).sum(axis=1), cum.shape[1] - 1).astype(np.int64)

    def _dued_multiplier(self) -> np.ndarray:
        d = self.plan.dued
        if d is None:
            return np.ones(len(self.tl))
        excess = np.maximum(0.0, np.nan_to_num(self.dui, nan=0.0) - d.after_years)
        return np.exp(-d.per_year * excess)

    def _status(self, who: np.ndarray, t: np.ndarray) -> np.ndarray:
        tl = self.tl
        in_pathway = t < tl.leave[who]
        treated = tl.treat[who] <= t  # NaN compares False
        if self.plan.treated_hazards_for > 0:  # the treated hazards go on out of the pathway for a while
            out = np.where(t < self.treated_until[who], TREATED, UNTREATED)
            return np.where(in_pathway, np.where(treated, TREATED, WAITING), out)
        return np.where(in_pathway, np.where(treated, TREATED, WAITING), UNTREATED)

    def _breakpoint(self, who: np.ndarray, t: np.ndarray) -> np.ndarray:
        tl, plan = self.tl, self.plan
        nxt = self.end[who]  # (an anniversary is not a breakpoint: see Years)
        changes: tuple[np.ndarray, ...] = (tl.treat[who], tl.leave[who])
        if plan.treated_hazards_for > 0:  # (only when it ends out of the pathway: no needless breakpoint)
            until = self.treated_until[who]
            changes += (np.where(until > tl.leave[who], until, np.nan),)
        for when in changes:
            nxt = np.where(when > t, np.minimum(nxt, when), nxt)
        pending = ~self.admitted[who]
        nxt = np.where(pending & (tl.admit[who] > t), np.minimum(nxt, tl.admit[who]), nxt)
        nxt = np.where(pending & (tl.admit[who] <= t), t, nxt)  # an admission due now
        tunnel = self.entered[who] + plan.tunnel_after[self.state[who]]
        return np.minimum(nxt, np.maximum(tunnel, t))

    def _hazards(self, who: np.ndarray, status: np.ndarray, t: np.ndarray) -> np.ndarray:
        """[person, destination] hazards per year at time ``t``, death last. Rows are read from
        the rates flattened to [group, status, from] (one gather, not three index arrays), and the
        DUI multiplier is applied only to the treated (to the others it would be × 1.0, exact)."""
        plan, state = self.plan, self.state[who]
        group = self.group[who]
        n = plan.dead
        h = self.flat_rates.take((group * self.n_status + status) * n + state, axis=0)
        treated = np.flatnonzero(status == TREATED) if plan.dued is not None else ()
        if len(treated):
            h[treated, :n] *= np.where(plan.scaled[state[treated]], self.dued_multiplier[who][treated][:, None], 1.0)
        if plan.mortality is not None:
            h[:, n] = plan.mortality.at(self.tl.age[who] + t, self.male[who]) * self.flat_rr[group * n + state]
        return h

    def run(self) -> None:
        """Run everyone still alive to the end of follow-up, one move or breakpoint per person per
        pass. The passes work on a compact copy of the people they follow (:meth:`_rows`), so
        that reading and updating everyone is a view, not a gather and a scatter of each array.
        Someone who dies or reaches the end of follow-up stays in the copy, frozen (no time
        passes for them, so nothing accrues), until fewer than half its rows are still followed:
        the copy is then written back (:meth:`_put`) and made again of those. Each person's
        arithmetic is the one a pass over index arrays of the people still followed would do, to
        the bit (people are independent of each other; adding 0.0 changes no total)."""
        active = np.flatnonzero(self.state != self.plan.dead)
        # (frozen rows may divide by zero or overflow where their results are not used)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            while len(active):
                part = self._rows(active)
                live = part._passes()
                self._put(part, active)
                active = active[live]

    def _passes(self) -> np.ndarray:
        """Passes over everyone in this compact copy (:meth:`run`) until fewer than half of them
        are still followed; returns which are."""
        dead = self.plan.dead
        everyone: Any = slice(None)  # the methods' ``who``: everyone in this copy, as views
        live = np.ones(len(self.t), dtype=bool)
        n_live = len(live)
        died = []  # rows that died, whose state is held at a living one meanwhile (to index the tables)
        while n_live * 2 >= len(live):
            t0 = self.t
            status = self._status(everyone, t0)
            bp = self._breakpoint(everyone, t0)
            h = self._hazards(everyone, status, t0)
            due = self.clocks / h
            np.putmask(due, ~(h > 0), np.inf)  # no hazard: never due
            due[:, dead] = np.inf  # (death is due by the year: Years)
            dest = due.argmin(axis=1)
            soonest = np.take_along_axis(due, dest[:, None], axis=1)[:, 0]
            fire = soonest < bp - t0
            t1 = np.where(fire, t0 + soonest, bp)
            if n_live < len(live):
                np.copyto(t1, t0, where=~live)  # frozen: no time passes
                fire &= live
            years = Years(self, t0, h[:, dead])
            if self.plan.mortality is not None:
                death = years.death_due(self.clocks[:, dead], t1)
                dies = death < t1
                if dies.any():
                    t1 = np.where(dies, death, t1)
                    dest = np.where(dies, dead, dest)
                    fire |= dies
                death_clock = years.spend(self.clocks[:, dead], t1)
            self._accrue(everyone, t0, t1)
            self.t = t1
            self.clocks -= h * (t1 - t0)[:, None]
            if self.plan.mortality is not None:
                self.clocks[:, dead] = death_clock
            who, year = years.anniversaries(t1, self.end, self.state_at.shape[1])
            self.state_at[who, year] = self.state[who]  # (the state before this pass's move)
            fired = np.flatnonzero(fire)
            self._enter(fired, dest[fire])
            self.clocks[fired, dest[fire]] = self._clock(fired, dest[fire])
            self._at_breakpoint(~fire & live)
            done = live & ((self.state == dead) | (self.t >= self.end))
            if done.any():
                live &= ~done
                n_live = int(np.count_nonzero(live))
                gone = np.flatnonzero(done & (self.state == dead))
                self.state[gone] = 0
                died.append(gone)
        if died:
            self.state[np.concatenate(died)] = dead
        return live

    def _rows(self, who: np.ndarray) -> _Course:
        """A copy of this course for the people ``who`` only, in that order (see :meth:`run`):
        every attribute but :data:`_SHARED` holds one value or row per person."""
        part = object.__new__(_Course)
        n = len(self.tl)
        for name, value in vars(self).items():
            if name in _SHARED:
                setattr(part, name, value)
            elif isinstance(value, np.ndarray) and len(value) == n:
                setattr(part, name, value[who])
            else:
                raise TypeError(f"_Course.{name}: not one value per person; add it to course._SHARED")
        part.tl = replace(self.tl, **{f.name: getattr(self.tl, f.name)[who] for f in fields(self.tl)
                                      if getattr(self.tl, f.name) is not None})
        return part

    def _put(self, part: _Course, who: np.ndarray) -> None:
        """Write the copy ``part`` (:meth:`_rows`) back to the people ``who`` it was made for."""
        for name, value in vars(part).items():
            if name not in _SHARED:
                getattr(self, name)[who] = value
        for f in fields(self.tl):
            value = getattr(part.tl, f.name)
            if value is not None:
                getattr(self.tl, f.name)[who] = value

    def resume(self, engine: Sequence[Any]) -> None:
        """Take over the course the engine ran in the pathway (``engine[i]`` for person ``i``, None
        for someone it did not follow): accrue each logged stretch, then carry on from the state,
        clocks and counters the engine left, at the time the person left the pathway.

        Someone a ``health.returns`` rule sent back was in the pathway in spells: the engine noted
        when they left and came back (``Person.away``), the records keep their last exit. Their
        events in the pathway are counted in those spells only (:meth:`_spells`); everything else
        the replay accrues (states, QALYs, costs, events over the follow-up) is the log's, in or
        out of the pathway, as the engine ran their course with the hazards of each status."""
        idx = np.array([i for i, person in enumerate(engine) if person is not None], dtype=np.int64)
        if not len(idx):
            return
        people = [engine[i] for i in idx]
        self.returns[idx] = [person.returns for person in people]
        spells = self._spells(idx, people)
        self.state[idx] = [person.start for person in people]
        self.state_at[idx, 0] = self.state[idx]
        self.male[idx] = [person.male for person in people]
        self.first_remission[idx] = np.where(self.plan.remission[self.state[idx]], 0.0, np.nan)
        counts = np.array([len(person.log) for person in people], dtype=np.int64)
        # every log entry (years, state after, anniversary?) in one array, with its person and its
        # rank in that person's log: the k-th entries of everyone are replayed together
        entries = np.fromiter(chain.from_iterable(chain.from_iterable(person.log for person in people)),
                              dtype=float, count=3 * int(counts.sum())).reshape(-1, 3)
        owner = np.repeat(idx, counts)
        rank = np.arange(len(entries)) - np.repeat(np.cumsum(counts) - counts, counts)
        # the state on leaving the pathway: the engine may have run a course past it (someone who
        # left and could be sent back by health.returns), so it is read where the replay passes it.
        # A move at the instant of leaving (a death in the pathway, which is why they left) counts
        # before leaving, whichever way the leave's conversion from days to years rounds.
        self.state_at_leave[idx] = -1
        for k in range(int(counts.max(initial=0))):
            at = rank == k
            who = owner[at]
            t = entries[at, 0]
            dest = entries[at, 1].astype(np.int64)
            anniversary = entries[at, 2].astype(bool)
            passed = (self.state_at_leave[who] < 0) & (self.tl.leave[who] < t - SAME_INSTANT)
            self.state_at_leave[who[passed]] = self.state[who[passed]]
            self._accrue(who, self.t[who], t, spells=_among(who, spells))
            self.t[who] = t
            moved = ~anniversary
            self._enter(who[moved], dest[moved])
            year = np.round(t[anniversary]).astype(np.int64)
            mark = year < self.state_at.shape[1]
            self.state_at[who[anniversary][mark], year[mark]] = dest[anniversary][mark]
        left = np.array([person.t for person in people])
        self._accrue(idx, self.t[idx], left, spells=_among(idx, spells))
        self.t[idx] = left
        self.tl.leave[idx] = left  # the same instant, to the last bit: from now on untreated
        self.entered[idx] = [person.entered for person in people]
        self.clocks[idx] = [person.clocks for person in people]
        self.occurrence[idx] = np.array([person.occurrence for person in people], dtype=np.uint64)
        self.counter[idx] = np.array([person.counter for person in people], dtype=np.uint64)
        self.admitted[idx] = True  # admissions happen in the pathway, where the engine applied them
        unset = idx[self.state_at_leave[idx] < 0]
        self.state_at_leave[unset] = self.state[unset]
        self.treated_until[idx] = [person.treated_until for person in people]

    def _spells(self, idx: np.ndarray, people: list[Any]) -> _Spells | None:
        """The spells in the pathway of the people ``idx`` (their courses ``people``, see
        :meth:`resume`) whom a return rule sent back: None if there are none (or no events to count
        in the pathway), so that the replay of everyone else is what it was. Read only from the
        few who came back (``self.returns``, already set)."""
        back = np.flatnonzero(self.returns[idx] > 0)
        if not len(back) or not len(self.plan.event_names):
            return None
        away = [people[k].away for k in back.tolist()]
        n = max(len(a) for a in away) // 2 + 1
        # spell j from begin[:, j] to end[:, j]: from asking for help (0) or the j-th return to the
        # next exit, the last one the records' (unused spells: from inf, empty)
        begin = np.full((len(back), n), np.inf)
        end = np.repeat(self.tl.leave[idx[back]][:, None], n, axis=1)
        begin[:, 0] = 0.0
        for row, times in enumerate(away):
            m = len(times) // 2
            end[row, :m] = times[0::2]
            begin[row, 1:m + 1] = times[1::2]
        return idx[back], begin, end

    def _accrue(self, who: np.ndarray, t0: np.ndarray, t1: np.ndarray, spells: _Spells | None = None) -> None:
        """Accrue each person's stretch from ``t0`` to ``t1`` in their state. Events count as in
        the pathway up to ``tl.leave``, or, for the rows ``spells[0]`` of ``who`` (someone sent back:
        :func:`_among`), in their spells from ``spells[1]`` to ``spells[2]`` (see :meth:`resume`)."""
        plan, state = self.plan, self.state[who]
        span = t1 - t0
        rows = np.arange(len(span)) if isinstance(who, slice) else who
        self.years_in.reshape(-1)[rows * plan.n_states + state] += span  # (a view: years_in is contiguous)
        utility = plan.utility[self.group[who], state]
        costed = discounted_span(plan.discount_costs, t0, t1)
        lived = costed if plan.discount_qalys == plan.discount_costs else discounted_span(plan.discount_qalys, t0, t1)
        self.qalys[who] += utility * lived
        self.qalys_raw[who] += utility * span
        self.costs[who] += plan.cost_per_year[state] * costed
        if len(plan.event_names):
            rates = plan.event_rates[:, state].T  # [person, event] per year
            self.events[who] += rates * span[:, None]
            # the part before leaving: a stretch the engine logged may run on past the exit (a course
            # followed for health.returns); for someone sent back, the parts in their spells
            in_pathway = np.clip(np.minimum(t1, self.tl.leave[who]) - t0, 0.0, None)
            if spells is not None and len(spells[0]):
                rows, begin, end = spells
                inside = np.minimum(t1[rows, None], end) - np.maximum(t0[rows, None], begin)
                in_pathway[rows] = np.clip(inside, 0.0, None).sum(axis=1)
            self.events_in_pathway[who] += rates * in_pathway[:, None]
            self.event_cost_by_event[who] += rates * plan.event_costs * costed[:, None]
            cost = (rates @ plan.event_costs) * costed
            self.event_costs[who] += cost
            self.costs[who] += cost

    def _enter(self, who: np.ndarray, dest: np.ndarray) -> None:
        plan = self.plan
        old = self.state[who]
        alive = dest != plan.dead
        was, now = plan.remission[old], plan.remission[dest]
        self.remissions[who] += (now & ~was).astype(np.int32)
        self.relapses[who] += (was & ~now & alive).astype(np.int32)
        t = self.t[who]
        first = now & np.isnan(self.first_remission[who])
        self.first_remission[who[first]] = t[first]
        self.died[who[~alive]] = t[~alive]
        self.state[who] = dest
        self.entered[who] = t

    def _at_breakpoint(self, at: np.ndarray) -> None:
        """Apply an admission or a tunnel state's move due now, then record anniversaries (the
        state just after the anniversary, as at year 0), for the rows ``at`` (a mask over
        everyone in this compact copy: see :meth:`run`)."""
        plan, t, tl = self.plan, self.t, self.tl
        left = np.flatnonzero(at & (self.state_at_leave < 0) & (tl.leave <= t + SAME_INSTANT))
        self.state_at_leave[left] = self.state[left]
        admit = np.flatnonzero(at & ~self.admitted & (tl.admit <= t))
        if len(admit):
            self.admitted[admit] = True
            self._enter(admit, np.full(len(admit), plan.on_admission))
        state = np.where(at, self.state, 0)  # (the others may be dead: any living state indexes the tables)
        due = np.flatnonzero(at & (self.entered + plan.tunnel_after[state] <= t) & (plan.tunnel_to[state] >= 0))
        if len(due):
            self._enter(due, plan.tunnel_to[self.state[due]])
        rounded = np.round(t)
        whole = (np.abs(t - rounded) <= 1e-9) & (t > 0)  # np.isclose(t, rounded, rtol=0, atol=1e-9)
        year = rounded.astype(np.int64)
        mark = np.flatnonzero(at & whole & (year < self.state_at.shape[1]))
        self.state_at[mark, year[mark]] = self.state[mark]

    def outcomes(self) -> Outcomes:
        dead = self.plan.dead
        self.state_at[self.state_at < 0] = dead  # anniversaries after death
        self.state_at_leave[self.state_at_leave < 0] = dead  # died before leaving (or left after follow-up)
        return Outcomes(
            years_in_state=self.years_in, qalys=self.qalys, qalys_undiscounted=self.qalys_raw,
            life_years=self.years_in[:, :dead].sum(axis=1), state_costs=self.costs, died=self.died,
            remissions=self.remissions, relapses=self.relapses, first_remission=self.first_remission,
            dui=np.where(np.isnan(self.tl.treat), np.nan, self.dui), state_at=self.state_at, male=self.male,
            remission=self.plan.remission, discount_costs=self.plan.discount_costs,
            events=self.events, event_costs=self.event_costs,
            event_names=self.plan.event_names, event_labels=self.plan.event_labels,
            events_in_pathway=self.events_in_pathway, state_at_leave=self.state_at_leave,
            event_cost_by_event=self.event_cost_by_event, event_services=self.plan.event_services,
            event_payers=self.plan.event_payers,
            measures=self.plan.measures, returns=self.returns,
            return_rules=tuple(rule.name for rule in self.plan.returns),
        )
