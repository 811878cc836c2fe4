"""The core of a replication: the plan, the clock, simpy's event heap, the steps and resources.

One replication is one ``simpy.Environment``. The engine keeps its events in simpy's heap, ordered
as simpy orders them (time, priority, insertion number), but drives patients with plain callbacks
rather than one generator process per patient, and runs its own loop over the heap (``_loop``). An
engine event is the heap entry ``(time, 1, eid, callback, argument)``; a 4-tuple entry is an
ordinary simpy event (so simpy processes still work alongside). Events due at or after the horizon
are never pushed (``_at``). Waits are cancelled lazily: every patient carries a wait token, and a
timer or queue entry whose token is stale is ignored (and cleared out of the heap in bulk once it has
grown, ``_drop_stale_events``).

:class:`Loop` is the first of the engine's parts, each a class of its own module and each the base
of the next (see ``engine.py``): recording, deterioration, queues, flow, service, ``Simulation``.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from heapq import heapify, heappop, heappush
from typing import Any, Final

import numpy as np
import simpy

from icssim.model.entities import NAN, Patient, Resource, Step
from icssim.model.plan import Plan
from icssim.model.streams import Streams

_MIN_COMPACT: Final = 1024  # heap entries before stale ones are first cleared out
_COMPACT_GROWTH: Final = 3  # ... and then whenever the heap has grown this many times since the last clean-up


class Loop:
    """The plan, the clock and the event heap of one replication, and its steps and resources."""

    # callbacks whose argument is (patient, ..., wait token): stale once the token moved on (set by
    # Simulation, whose parts own them; a deterioration timer is not one, see _schedule_deterioration)
    _tokened: frozenset[Any]

    def __init__(self, plan: Plan, replication: int, seed: int | None) -> None:
        # Every __init__ of the parts assigns plain values only, and calls no method of self: so
        # mypyc knows their attributes are always set, and reads them without a check.
        self.plan = plan
        self.seed = plan.seed if seed is None else int(seed)
        self.replication = replication
        self._streams = Streams(self.seed, replication)
        self.env = simpy.Environment()
        self._queue: list[Any] = self.env._queue  # heap entries: see the module docstring
        self._eid = self.env._eid
        self._eid0 = next(self._eid)
        self.now = 0.0
        # hot-path constants, made once (not per event)
        self._horizon = plan.horizon
        self._max_moves = plan.max_moves
        self._urg = plan.urgency
        self._changing: tuple[int, ...] = plan.changing
        self._outcome_code = {o: i for i, o in enumerate(plan.outcomes)}
        self.res = [Resource(r.capacity) for r in plan.resources]
        self.steps = [Step(sp, self._streams, self.res, self._outcome_code, plan.deterioration is not None)
                      for sp in plan.steps]
        _link(self.steps)
        #: steps with resources: the ones with a waiting list (queue plus hand-off)
        self._served = [s for s in self.steps if s.res]
        self.delay_streams: dict[tuple[int, int], Any] = {}
        self.ypu = plan.hours_per_unit / 24 / 365.25
        urg = plan.urgency
        self.urgent_level = float(len(plan.attributes[urg].levels or ()) - 1) if urg >= 0 else NAN
        self.n_services = len(plan.services)
        self.active: dict[int, Patient] = {}
        self._compact_at = _MIN_COMPACT

    # ------------------------------------------------------------------ scheduling
    def _at(self, delay: float, fn: Callable[[Any], None], arg: Any) -> None:
        """Call ``fn(arg)`` after ``delay`` (simpy's NORMAL priority, FIFO among equal times).

        An event due at or after the horizon would never run, so it is not pushed at all: it
        would only deepen the heap that every other event is pushed into and popped from
        (age limits and deterioration timers often lie years ahead).
        """
        t = self.now + delay
        if t < self._horizon:
            heappush(self._queue, (t, 1, next(self._eid), fn, arg))

    def schedule(self, delay: float, fn: Callable[[Any], None], arg: Any) -> None:
        """Call ``fn(arg)`` ``delay`` after now, in order with the engine's own events (for the calendar)."""
        self._at(delay, fn, arg)

    def rng(self, name: str) -> np.random.Generator:
        """This replication's random stream ``name`` (see ``streams.py``)."""
        return self._streams.rng(name)

    # ------------------------------------------------------------------ the loop
    def _loop(self, until: float) -> None:
        """Process events in time order up to (not including) ``until``, like ``env.run(until)``."""
        env = self.env
        q = self._queue
        pop = heappop
        item: tuple[Any, ...]  # (time, priority, id, callback, argument), or a simpy event's 4-tuple
        t: float
        while q:
            item = pop(q)
            t = item[0]
            if t >= until:  # simpy's until-event is URGENT: nothing at exactly ``until`` runs
                heappush(q, item)  # left queued, as env.run(until) leaves it
                break
            self.now = t
            try:
                arg = item[4]
            except IndexError:  # a 4-tuple: an ordinary simpy event
                self._simpy_event(item[3], t)
                continue
            item[3](arg)
        self.now = env._now = until

    def _simpy_event(self, event: Any, now: float) -> None:
        """Process a simpy event the way ``Environment.step`` does (simpy's clock is kept for these)."""
        self.env._now = now
        callbacks, event.callbacks = event.callbacks, None
        for callback in callbacks:
            callback(event)
        if not event._ok and not hasattr(event, "_defused"):
            raise event._value

    def _drop_stale_events(self) -> None:
        """Remove heap entries of waits that have already ended (their patient's token moved on).

        Drop-out and age-limit timers are set for every wait they apply to and most are
        overtaken by the patient moving on; they would sit in the heap for months of simulated
        time, doing nothing when popped. (Deterioration timers were the bulk of these, five of
        every six heap entries in ed_fragmented, until a patient's waits came to share one timer:
        see ``_schedule_deterioration``; they are left to run out.) Removing them does not change
        the order of the live events (the heap order is total), only the heap's size. Called
        from the periodic sampler once the heap has grown ``_COMPACT_GROWTH`` times since the
        last clean-up, so its cost is a small constant per event.
        """
        q = self._queue
        tokened, horizon = self._tokened, self._horizon
        # simpy events due at or after the horizon stay (never run, counted as pending; the
        # engine's own such events were never pushed, see _at)
        q[:] = [e for e in q  # the same list object: simpy's environment holds it
                if e[0] >= horizon or len(e) != 5 or e[3] not in tokened or e[4][0].wait == e[4][-1]]
        heapify(q)
        self._compact_at = max(_MIN_COMPACT, _COMPACT_GROWTH * len(q))


def _link(steps: list[Step]) -> None:
    """Tell each resource the steps that use it, and each step whether it is its resource's only
    user (``solo``) and which step a plain edge leads to (``next_step``)."""
    for step in steps:
        for r in step.res:
            if step not in r.steps:
                r.steps.append(step)
    for step in steps:
        step.solo = step.single is not None and len(step.single.steps) == 1
        nxt = step.next
        if nxt is not None and nxt.target >= 0 and nxt.delay is None:
            step.next_step = steps[nxt.target]


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a replication (restored afterwards, also on an error).

    A run allocates hundreds of thousands of short-lived tuples while thousands of patients and
    heap entries stay alive, so the collector's periodic passes over them took about 30% of a
    5-year ED replication and freed nothing: the engine creates no reference cycles while it
    runs (reference counting frees what it drops; see ``Simulation._release`` for the end).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
