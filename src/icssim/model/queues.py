"""Queues: joining a step's queue, giving free resources to those waiting, and leaving a queue.

A FIFO step's queue is a deque of ``(patient, wait token)``; a priority step's a heap of ``(-urgency,
time joined, sequence, patient, wait token, queue token)``. Entries go stale instead of being
removed. Steps that keep office hours give appointments only on open days: the calendar
(``calendar.closed_until``) says when a step is closed, and the answer is remembered here.
"""

from __future__ import annotations

import math
from heapq import heappop, heappush
from typing import Any

from icssim.model import calendar
from icssim.model.calendar import OpenDays
from icssim.model.deterioration import Deterioration
from icssim.model.entities import (
    AGED_OUT, DROPPED, IN_QUEUE, IN_TRANSIT, NAN, NOWHERE, RETURNING, Patient, Resource, Router, Step,
)
from icssim.model.plan import Plan


class Queues(Deterioration):
    """Queues at steps with resources, and office hours."""

    def __init__(self, plan: Plan, replication: int, seed: int | None, record_visits: bool) -> None:
        super().__init__(plan, replication, seed, record_visits)
        # calendar features (model/calendar.py); all inert unless plan.calendar is set
        self.open_days: OpenDays | None = None
        self.open_until = -math.inf  # end of the open day last seen by calendar.closed_until
        self.closed_end = -math.inf  # end of the closed days last seen by it ...
        self.reopen_at = math.inf  # ... and the retry time it set for them
        self.reopen: dict[int, float] = {}

    # the other parts' operations used here (see engine.py)
    def _start(self, p: Patient, s: Step) -> None:
        """(service.py) Start serving ``p`` at ``s``."""
        raise NotImplementedError

    def _move(self, p: Patient, router: Router, s: Step) -> None:
        """(flow.py) Follow ``router`` from step ``s``."""
        raise NotImplementedError

    def _exit(self, p: Patient, outcome: int) -> None:
        """(flow.py) ``p`` leaves the system."""
        raise NotImplementedError

    # ------------------------------------------------------------------ joining
    def _enqueue(self, p: Patient, s: Step) -> None:
        p.where = IN_QUEUE
        if not s.n_wait and (not s.gated or self.open_days is None or self.now < self.open_until):
            r = s.single
            if r.used < r.cap if r is not None else all(x.used < x.cap for x in s.res):
                # Nobody valid is waiting, every resource has room and the step is open: _dispatch
                # would start this very patient (stale entries stay harmlessly in the queue).
                s.n_wait = 1
                if s.dropout is not None:
                    self._at(s.dropout() * s.dropout_mean, self._drop_out, (p, s, p.wait))
                self._start(p, s)
                return
        s.n_wait += 1
        if s.priority:
            p.qseq += 1
            heappush(s.queue, (-p.attrs[self._urg], p.t_queue, next(s.seq), p, p.wait, p.qseq))
        else:
            s.queue.append((p, p.wait))
        if s.dropout is not None:
            self._at(s.dropout() * s.dropout_mean, self._drop_out, (p, s, p.wait))
        self._dispatch(s)

    # ------------------------------------------------------------------ starting those waiting
    def _dispatch(self, s: Step) -> None:
        """Start as many waiting patients at ``s`` as its resources allow."""
        if s.gated and self.open_days is not None and self.now >= self.open_until and self._closed(s):
            return
        q = s.queue
        res = s.res
        while s.n_wait:
            for r in res:
                if r.used >= r.cap:
                    return
            if s.priority:
                entry = heappop(q)
                p = entry[3]
                if p.wait != entry[4] or p.qseq != entry[5]:
                    continue
            else:
                p, tok = q.popleft()
                if p.wait != tok:
                    continue
            self._start(p, s)

    def dispatch(self, step: int) -> None:
        """Start whoever can start at step ``step`` now (for the calendar: a step opens again)."""
        s = self.steps[step]
        if s.n_wait:
            self._dispatch(s)

    def _dispatch_shared(self, r: Resource) -> None:
        """Give ``r``'s free units to the steps sharing it as one combined queue.

        The next patient is the head with the smallest (minus urgency in a priority step,
        time joined) key across the steps: urgent patients of priority steps first, then
        first come first served across steps; never the order the steps are written in.
        """
        while r.used < r.cap:
            best: Step | None = None
            key: Any = None
            for s in r.steps:
                # a step whose one resource is r has room (the loop's condition): no generator to run
                if not s.n_wait or (s.single is None and any(x.used >= x.cap for x in s.res)):
                    continue
                if s.gated and self.open_days is not None and self.now >= self.open_until and self._closed(s):
                    continue
                q = s.queue
                head = q[0]
                if s.priority:  # drop stale entries until the head is live
                    while head[3].wait != head[4] or head[3].qseq != head[5]:
                        heappop(q)
                        head = q[0]
                    k = (head[0] if head[0] == head[0] else 0.0, head[1])
                else:
                    while head[0].wait != head[1]:
                        q.popleft()
                        head = q[0]
                    k = (0.0, head[0].t_queue)
                if best is None or k < key:
                    best, key = s, k
            if best is None:
                return
            p = heappop(best.queue)[3] if best.priority else best.queue.popleft()[0]
            self._start(p, best)

    def _closed(self, s: Step) -> bool:
        """``calendar.closed_until(self, s.index)``, answered here during the closed days it last saw
        when it has already set ``s``'s retry at their end (where it would only return True)."""
        if self.now < self.closed_end and self.reopen.get(s.index) == self.reopen_at:
            return True
        return calendar.closed_until(self, s.index)

    # ------------------------------------------------------------------ leaving
    def _leave_queue(self, p: Patient) -> Step:
        """Take ``p`` out of whatever it is waiting in (queue entries go stale)."""
        s = p.step
        if p.where == IN_QUEUE:
            s.n_wait -= 1
        elif p.where == IN_TRANSIT:
            s.n_transit -= 1
        elif p.where == RETURNING:
            s.n_returning -= 1
        p.where = NOWHERE
        p.wait += 1
        return s

    def _drop_out(self, arg: tuple[Patient, Step, int]) -> None:
        p, s, tok = arg
        if p.wait != tok:
            return
        self._leave_queue(p)
        self._visit(p, s, NAN, DROPPED)
        if s.dropout_then is not None:
            self._move(p, s.dropout_then, s)
        else:
            self._exit(p, self._outcome_code["dropped_out"])

    def _age_out(self, arg: tuple[Patient, Step, int]) -> None:
        p, s, tok = arg
        if p.wait != tok:
            return
        self._leave_queue(p)
        self._visit(p, s, NAN, AGED_OUT)
        self._move(p, s.age_then, s)  # type: ignore[arg-type]  # set wherever age_max is
