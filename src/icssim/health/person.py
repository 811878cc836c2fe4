"""One person's course of illness while they are in the pathway, advanced by the engine.

The engine (``model/deterioration.py``) runs the course of everyone in the pathway, so that the
course can act on the pathway: a death takes the person out of whatever queue or service they are
in, and entering a state the ``health.escalation`` map names sends a waiting person to the urgent
or emergency step. It is the same process as :mod:`icssim.health.course` (competing exponential
clocks, one per destination and death, spent at hazards that are constant between breakpoints: a
change of status, a first admission, a tunnel state's deadline; the hazard of death moves on with
age at each anniversary of asking for help, read year by year within a stretch, in the same sums
as the follow-up's), on the same per-person random numbers (:func:`uniform` and :func:`person_key` are the scalar
twins of :func:`icssim.health.keys.uniforms` and :func:`~icssim.health.keys.person_keys`). When
the person leaves the pathway the engine hands their :class:`Person` (state, clocks, counters and
the log of their moves) to :func:`icssim.health.course.follow`, which accrues the logged stretch
and carries on from there to the end of follow-up: one course per person. Unless a state escalates,
the engine starts a course only when a death could first be due (:meth:`CourseInPathway.arrive`);
the follow-up runs the courses of those who left before then from the records, on the same numbers.
When a ``health.returns`` rule applies to someone who leaves, the engine runs their course on out of
the pathway (:mod:`icssim.health.person_returns`) to the move that sends them back, if it comes
before the run ends; they re-enter the pathway with the same :class:`Person`.

Times are years since the person asked for help, like the follow-up's. Compiled with the engine
(mypyc, ``setup.py``); :class:`Person` and the keys are in :mod:`icssim.health.person_keys`.
"""

from __future__ import annotations

import math
from array import array
from itertools import accumulate
from typing import Any, Final

import numpy as np

from icssim.health.keys import person_keys, splitmix_array, uniforms
from icssim.health.person_keys import SALT_HI, SALT_LO, Person, splitmix, splitmix_halves, uniform_halves
from icssim.health.plan import LIFETIME_AGE, TREATED, UNTREATED, HealthPlan

#: what entering a state while waiting does (HealthPlan.escalate)
NO_ESCALATION, URGENT, EMERGENCY = 0, 1, 2
#: people of a cohort whose first draws (key, start, sex, first clocks) are made together, in numpy
#: (a lazy engine reads them for everyone who leaves with a return rule: health.returns)
BLOCK: Final = 2048
#: whether the engine may leave courses alone until a death could be due (CourseInPathway.lazy);
#: False runs every course event by event in the heap (the tests compare the two)
LAZY = True


#: a block of first draws (CourseInPathway._block): keys, draws 0, male (draws 1), first clocks, first death clocks
Block = tuple[list[int], array, list[bool], array, list[float]]
#: the last plan a course was made for, and the lists made from it (see _plan_lists)
_PLAN_LISTS: list[Any] = [None, None]


def _plan_lists(plan: HealthPlan) -> tuple[Any, Any, Any, Any, Any, Any]:
    """The tables of ``plan`` that a :class:`CourseInPathway` reads as lists: the moves, the life
    table and its sums by year, by sex and highest over a span of ages (made once per plan: the
    replications of a run share them, and nothing changes them)."""
    if _PLAN_LISTS[0] is not plan:
        moves = [[[[(j, r) for j, r in enumerate(row) if r > 0] for row in by_state] for by_state in by_status]
                 for by_status in plan.rates.tolist()]
        mort = plan.mortality
        life: list[list[float]] = mort.hazard.tolist() if mort is not None else []
        by_age, below = mort.by_year() if mort is not None else (np.zeros((2, 0)), np.zeros((2, 0)))
        by_sex = [[row[0] for row in life], [row[1] for row in life]]
        highest = [[list(accumulate(column[first:], max)) for first in range(len(column))] for column in by_sex]
        _PLAN_LISTS[:] = [plan, (moves, life, by_age.tolist(), below.tolist(), by_sex, highest)]
    lists: tuple[Any, Any, Any, Any, Any, Any] = _PLAN_LISTS[1]
    return lists


class CourseInPathway:
    """The course of illness of everyone in the pathway in one replication (the plan as lists): how
    each person starts, moves and is treated; :class:`icssim.health.person_returns.PathwayCourse`
    adds their returns to the pathway after leaving it."""

    def __init__(self, plan: HealthPlan, seed: int, replication: int, cohorts: list[str],
                 attributes: list[str]) -> None:
        self.plan = plan
        self.dead = plan.dead
        self.n = plan.n_states
        moves, life, by_age, below, life_by_sex, life_highest = _plan_lists(plan)
        #: [group][status][from]: the (to, hazard per year) pairs with a hazard above 0
        self.moves: list[list[list[list[tuple[int, float]]]]] = moves
        self.scaled: list[list[bool]] = plan.scaled.tolist()
        self.any_scaled = [any(row) for row in self.scaled]
        self.start_cum = [list(accumulate(row)) for row in plan.start.tolist()]
        self.rr: list[list[float]] = plan.mortality_rr.tolist()
        self.tunnel_to: list[int] = plan.tunnel_to.tolist()
        self.tunnel_after: list[float] = plan.tunnel_after.tolist()
        self.escalate: list[int] = list(plan.escalate) or [NO_ESCALATION] * plan.dead
        mort = plan.mortality
        self.life: list[list[float]] = life
        self.female_share = mort.female_share if mort is not None else 1.0
        self.age_index = attributes.index(mort.age_attribute) if mort is not None else -1
        dued = plan.dued
        self.dued = (dued.per_year, dued.after_years) if dued is not None else (0.0, 0.0)
        self.dued_index = attributes.index(dued.attribute) if dued is not None else -1
        self.treated_hazards_for = plan.treated_hazards_for
        self.follow_up = plan.follow_up
        self.on_admission = plan.on_admission
        self.by_index = attributes.index(plan.by) if plan.by is not None else -1
        self.n_levels = max(len(plan.levels), 1)
        self.seed, self.replication, self.cohorts = seed, replication, cohorts
        self.numbers = [0] * len(cohorts)
        #: per cohort, its blocks of first draws by block number (see :meth:`_block`)
        self.blocks: list[dict[int, Block]] = [
            {} for _ in cohorts]
        #: [sex][age]: the background hazard per year, and its sum over the ages below (plan.Mortality.by_year)
        self.by_age: list[list[float]] = by_age
        self.below: list[list[float]] = below
        #: background hazard per year by sex (0 female, 1 male), by age row
        self.life_by_sex: list[list[float]] = life_by_sex
        #: [sex][first age row][k]: the highest background hazard of age rows first … first + k (see arrive)
        self.life_highest: list[list[list[float]]] = life_highest
        self.rr_max: list[float] = [max(row, default=0.0) for row in self.rr]
        #: whether the engine may leave a course alone until a death could be due (see :meth:`arrive`):
        #: not when entering a state can escalate, as any move may then act on the pathway
        self.lazy = LAZY and not any(self.escalate)

    # ------------------------------------------------------------------ a person's start
    def arrive(self, cohort: int, attrs: list[float], span: float) -> tuple[int, float]:
        """The arrival number of the next person of ``cohort`` to ask for help, and how many years
        after asking they cannot yet have died, if they stay in the pathway at most ``span`` years.

        The engine leaves the course of a person alone (:attr:`lazy`) until that time: a death is
        the only move the pathway must see then, and it cannot come sooner, as the person's first
        death clock (a unit exponential) is spent at most at the highest hazard they could face in
        the pathway (the highest state multiplier times the highest background hazard of the ages
        they pass through). Someone who leaves before then is followed after the run from the
        records, on the same numbers (:func:`icssim.health.course.follow`); someone still there is
        started then (:meth:`begin` with their ``number``) and caught up (:meth:`catch_up`)."""
        number = self.numbers[cohort]
        self.numbers[cohort] = number + 1
        if not self.life:
            return number, math.inf
        # (from the block of first draws: the lazy engine makes every block anyway, as someone in
        # each leaves with a return rule or is started late: see could_return and begin)
        block, i = self._draws(cohort, number), number % BLOCK
        level = int(attrs[self.by_index]) if self.by_index >= 0 else 0
        age = attrs[self.age_index] if self.age_index >= 0 else 30.0
        by_row = self.life_highest[1 if block[2][i] else 0]
        last = len(by_row) - 1
        first_row = min(max(int(age), 0), last)
        highest = by_row[first_row][min(max(int(age + span), first_row), last) - first_row]
        highest *= self.rr_max[cohort * self.n_levels + level]
        if highest <= 0:
            return number, math.inf
        # a margin far wider than the rounding of the clocks' spending
        return number, block[4][i] / (highest * (1.0 + 1e-9))

    def begin(self, cohort: int, attrs: list[float], t0: float, number: int = -1, logged: bool = True) -> Person:
        """The course of the next person of ``cohort`` to ask for help (or of arrival ``number``
        when given: see :meth:`arrive`), with attribute values ``attrs``, who enters the model
        ``t0`` years after asking (0, or more for today's waiting list). Unless ``logged``, their
        moves are not logged: the engine asks so for people no KPI measures (those who asked for
        help in the warm-up), whose course the follow-up does not take over."""
        late = number >= 0
        if not late:
            number = self.numbers[cohort]
            self.numbers[cohort] = number + 1
        level = int(attrs[self.by_index]) if self.by_index >= 0 else 0
        age = attrs[self.age_index] if self.age_index >= 0 else 30.0
        ill = attrs[self.dued_index] if self.dued_index >= 0 else 0.0
        end = max(LIFETIME_AGE - age, 0.0) if math.isinf(self.follow_up) else self.follow_up
        # (a lazy engine starts a course late, see arrive: from the same blocks, as every person who
        # leaves with a return rule is started then: health.returns)
        block, i = self._draws(cohort, number), number % BLOCK
        p = Person(block[0][i], cohort * self.n_levels + level, age, ill, self.n, end)
        p.start = p.state = self._start_state(p.group, block[1][i])
        p.counter = 1
        if self.life:
            p.male = block[2][i]  # draw 1
            p.counter = 2
        n = self.n
        p.clocks = block[3][i * n:(i + 1) * n].tolist()  # each destination's first clock (occurrence 0)
        p.occurrence = [1] * self.n
        p.admitted = self.on_admission < 0
        p.logged = logged
        # today's waiting list asked for help before the run: the course starts when the run does,
        # in the starting state (no moves before it), and its anniversaries before then are logged
        for year in range(1, int(math.floor(min(t0, end) + 1e-12)) + 1 if logged else 1):
            p.log.append((float(year), p.state, True))
        p.t = p.entered = min(t0, end)
        self._hazards(p)
        return p

    def release(self) -> None:
        """Drop the blocks of draws once the run is over (the engine's _release): tens of thousands
        of lists that reference counting frees at once, where the cyclic collector would scan them."""
        for blocks in self.blocks:
            blocks.clear()

    def _start_state(self, group: int, u: float) -> int:
        """The state a person of ``group`` whose draw 0 is ``u`` starts in (course._Course._start_states)."""
        cum = self.start_cum[group]
        x = u * cum[-1]
        state = 0
        for c in cum:
            if c <= x:
                state += 1
        return min(state, len(cum) - 1)

    def _draws(self, cohort: int, number: int) -> Block:
        """The block of first draws that holds arrival ``number`` of ``cohort`` (made once)."""
        blocks = self.blocks[cohort]
        block = blocks.get(number // BLOCK)
        if block is None:
            block = blocks[number // BLOCK] = self._block(cohort, number - number % BLOCK, BLOCK)
        return block

    def _block(self, cohort: int, first: int, size: int) -> Block:
        """The first draws of arrivals ``first`` … ``first + size - 1`` of ``cohort``, made in numpy:
        their keys, draw 0 of their own streams, whether they are male (draw 1), the first clock of
        every destination (the numbers :meth:`_clock` and :meth:`Person.draw` would give one by one:
        course.py's), in one flat array of doubles, person by person (``n_states`` each; few people
        ever read theirs, so no Python float is made for the others), and the first clock of death
        again, on its own: :meth:`arrive` reads it for everyone, one person after another, from
        neighbouring memory, not one in every ``n_states``."""
        numbers = np.arange(first, first + size)
        keys = person_keys(self.seed, self.replication, self.cohorts, np.full(size, cohort), numbers)
        salts = splitmix_array(np.arange(1, self.n + 1, dtype=np.uint64))  # each destination's (_clock)
        # [person, destination] at once: the first draw of each destination's stream
        clocks = -np.log(uniforms(splitmix_array(keys[:, None] ^ salts[None, :]), np.zeros(1, dtype=np.uint64)))
        first_two = uniforms(keys[:, None], np.arange(2, dtype=np.uint64))  # draws 0 and 1
        male = first_two[:, 1] >= self.female_share
        return (keys.tolist(), array("d", np.ascontiguousarray(first_two[:, 0]).tobytes()), male.tolist(),
                array("d", clocks.tobytes()), clocks[:, self.dead].tolist())

    def _clock(self, p: Person, dest: int) -> float:
        """A fresh unit exponential for ``p``'s move to ``dest`` (course._Course._clock)."""
        keys = p.dest_keys
        hi, lo = keys[2 * dest], keys[2 * dest + 1]
        if hi < 0:
            if dest < 255:
                hi, lo = splitmix_halves(p.key_hi ^ SALT_HI[dest + 1], p.key_lo ^ SALT_LO[dest + 1])
            else:
                salt = splitmix(dest + 1)
                hi, lo = splitmix_halves(p.key_hi ^ (salt >> 32), p.key_lo ^ (salt & 0xFFFFFFFF))
            keys[2 * dest], keys[2 * dest + 1] = hi, lo
        u = uniform_halves(hi, lo, p.occurrence[dest])
        p.occurrence[dest] += 1
        return -math.log(u)

    # ------------------------------------------------------------------ hazards and the next event
    def _hazards(self, p: Person) -> None:
        """``p``'s hazards per year now: (destination, hazard) pairs for the living states they can
        reach (the plan's own list, shared, unless the DUI effect scales it) and the hazard of death
        at today's age (``p.death``); and which clock runs out first and when. An anniversary of
        asking is not a breakpoint: the hazard of death moves on with age at each one on the way
        (:meth:`_death_due`, :meth:`_death_spent`), as in the follow-up (health.years.Years)."""
        state = p.state
        if state == self.dead:
            p.hazards, p.death, p.fire, p.due = [], 0.0, -1, math.inf
            return
        group = p.group
        moves = self.moves[group][p.status][state]
        if p.status == TREATED and p.multiplier != 1.0 and self.any_scaled[state]:
            scaled, m = self.scaled[state], p.multiplier
            moves = [(j, r * m if scaled[j] else r) for j, r in moves]
        p.hazards = moves
        death = 0.0
        if self.life:
            life = self.life
            age_row = min(max(int(p.age + p.t), 0), len(life) - 1)  # ages are positive: int() floors
            death = life[age_row][1 if p.male else 0] * self.rr[group][state]
        p.death = death
        soonest, fire = math.inf, -1
        clocks = p.clocks
        for j, rate in moves:
            due = clocks[j] / rate
            if due < soonest:
                soonest, fire = due, j
        t = p.t
        bp = p.end
        if self.tunnel_to[state] >= 0:
            bp = min(bp, max(p.entered + self.tunnel_after[state], t))
        if p.until < bp:  # the treated hazards end out of the pathway (see park)
            bp = max(p.until, t)
        if soonest < bp - t:
            p.fire, p.due = fire, t + soonest
        else:
            p.fire, p.due = -1, bp
        if self.life:
            when = self._death_due(p, p.due)
            if when < p.due:
                p.fire, p.due = self.dead, when

    def _death_due(self, p: Person, until: float) -> float:
        """When ``p``'s clock of death runs out before ``until`` (else inf): at ``p.death`` to the
        next anniversary of asking, then in each year at that age's hazard times the state's
        multiplier (health.years.Years.death_due does the same sums, in the same order)."""
        c, t, h = p.clocks[self.dead], p.t, p.death
        rr = self.rr[p.group][p.state]
        sex = 1 if p.male else 0
        highest = self.life_highest[sex]  # (a bound first: most people cannot die before ``until``)
        first_row = min(max(int(p.age + t), 0), len(highest) - 1)
        last_row = min(max(int(p.age + until), first_row), len(highest) - 1)
        if c > highest[first_row][last_row - first_row] * rr * (until - t) * (1.0 + 1e-9) + 1e-12:
            return math.inf
        first = math.floor(t + 1e-12) + 1.0
        if h > 0 and c / h < min(first, until) - t:
            return t + c / h
        if first >= until:
            return math.inf
        by_age, below = self.by_age[sex], self.below[sex]
        age = max(int(p.age), 0)
        left = c - h * (first - t)
        last = int(math.ceil(until)) - 1  # the last anniversary before ``until``
        base = below[age + int(first)]
        if left > rr * (below[age + last] - base) + rr * by_age[age + last] * (until - last):
            return math.inf  # (the sums of the loop below, whole)
        for k in range(int(first), last + 1):
            h = rr * by_age[age + k]
            rest = left - rr * (below[age + k] - base)
            if h > 0 and rest / h < min(k + 1.0, until) - k:
                return k + rest / h
        return math.inf

    def _death_spent(self, p: Person, t: float) -> float:
        """The hazard of death ``p`` meets from ``p.t`` to ``t`` (see :meth:`_death_due`)."""
        s, h = p.t, p.death
        first = math.floor(s + 1e-12) + 1.0
        if t <= first:
            return h * (t - s)
        rr = self.rr[p.group][p.state]
        sex = 1 if p.male else 0
        by_age, below = self.by_age[sex], self.below[sex]
        age = max(int(p.age), 0)
        last = int(math.ceil(t)) - 1
        whole = rr * (below[age + last] - below[age + int(first)])
        return (h * (first - s) + whole) + rr * by_age[age + last] * (t - last)

    def next_event(self, p: Person) -> float:
        """When (years since asking) ``p``'s next move or breakpoint is due; inf when the course is over."""
        if p.state == self.dead or p.t >= p.end:
            return math.inf
        return p.due

    def _spend(self, p: Person, t: float) -> None:
        """Spend ``p``'s clocks at their hazards from ``p.t`` to ``t``, the hazard of death moving on
        with age at each anniversary of asking on the way (logged with the state if ``p.logged``)."""
        s = p.t
        if t <= s:
            return
        clocks = p.clocks
        dt = t - s
        for j, rate in p.hazards:
            clocks[j] = max(clocks[j] - rate * dt, 0.0)
        if self.life:
            dead = self.dead
            clocks[dead] = max(clocks[dead] - self._death_spent(p, t), 0.0)
        if p.logged:
            k = math.floor(s + 1e-12) + 1.0
            while k < t and k <= p.end:
                p.log.append((k, p.state, True))
                k += 1.0
        p.t = t

    def _enter(self, p: Person, dest: int) -> None:
        p.state = dest
        p.entered = p.t
        if p.logged:
            p.log.append((p.t, dest, False))

    # ------------------------------------------------------------------ what happens
    def advance(self, p: Person) -> int:
        """``p``'s pending event is due: the move whose clock ran out (the state entered is
        returned), or a breakpoint (a tunnel move, the end of the treated hazards or of follow-up;
        -1 is returned)."""
        fire = p.fire
        self._spend(p, p.due)
        if fire >= 0:
            self._enter(p, fire)
            p.clocks[fire] = self._clock(p, fire)
            self._hazards(p)
            return fire
        state = p.state
        t = p.t
        if self.tunnel_to[state] >= 0 and p.entered + self.tunnel_after[state] <= t:
            self._enter(p, self.tunnel_to[state])
        if p.until <= t:
            p.status, p.until = UNTREATED, math.inf
        if p.logged and t > 0 and abs(t - int(t + 0.5)) <= 1e-9:  # a breakpoint on an anniversary (int() floors)
            p.log.append((t, p.state, True))
        self._hazards(p)
        return -1

    def catch_up(self, p: Person, t: float) -> None:
        """Make ``p``'s moves and breakpoints due before ``t`` years after asking, one by one: the
        ones the heap would have made, for a course a lazy engine starts late (see :meth:`arrive`)."""
        dead = self.dead
        while p.state != dead and p.t < p.end and p.due < t:
            self.advance(p)

    def escalation(self, state: int) -> int:
        """What entering ``state`` while waiting does: NO_ESCALATION, URGENT or EMERGENCY."""
        return self.escalate[state] if state < self.dead else NO_ESCALATION

    def treat(self, p: Person, t: float) -> None:
        """Treatment starts ``t`` years after asking: treated hazards, scaled by the DUI effect. The
        first treatment fixes the duration of untreated illness and its effect; treatment after a
        return to the pathway (:meth:`seek_return`) keeps them, as the follow-up does."""
        self._spend(p, t)
        if p.dui != p.dui:
            p.dui = p.ill_before + t
            per_year, after = self.dued
            p.multiplier = math.exp(-per_year * max(0.0, p.dui - after))
        p.status = TREATED
        p.treated_until = t + self.treated_hazards_for
        self._hazards(p)

    def admit(self, p: Person, t: float) -> None:
        """A first admission ``t`` years after asking moves ``p`` to the plan's ``on_admission`` state."""
        self._spend(p, t)
        if not p.admitted and p.state != self.dead and p.t < p.end:
            p.admitted = True
            self._enter(p, self.on_admission)
        self._hazards(p)

    def leave(self, p: Person, t: float) -> None:
        """``p`` leaves the pathway (or the run ends) ``t`` years after asking: clocks spent to then."""
        if p.state != self.dead:
            self._spend(p, min(t, p.end))
        p.seq += 1  # a pending health event finds the person gone
