"""The hazard of death within a stretch of a person's course, year by year.

A stretch runs from one move or breakpoint of a course to the next; the hazard of death moves on
with age at each anniversary of asking for help on the way. The follow-up
(:mod:`icssim.health.course`) reads each pass's stretches here, in numpy, with the sums the
engine's course (:mod:`icssim.health.person`) does one person at a time, term by term in the
same order, so that both give the same bits.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Years:
    """A pass's stretches (``course._Course._passes``), each from ``t0`` to the person's next move or
    breakpoint, over the anniversaries of asking on the way: an anniversary is not a breakpoint,
    so a pass moves each person to their next move or change of status, not their next birthday.
    The hazard of death is ``h0`` (read at ``t0``) to the first anniversary, then each year's
    (the life table's row for the age then) times the state's multiplier. The sums are those of
    the engine's course (``health.person``: ``_death_due``, ``_death_spent``), term by term in
    the same order, so that both give the same bits."""

    def __init__(self, course: Any, t0: np.ndarray, h0: np.ndarray) -> None:
        n = course.plan.dead
        self.course, self.t0, self.h0 = course, t0, h0
        self.first = np.floor(t0 + 1e-12) + 1.0  # the first anniversary after t0
        self.rr = course.flat_rr[course.group * n + np.minimum(course.state, n - 1)]
        #: where each person's ages start in the tables (sex × ages + whole years of age)
        self.row = course.male.astype(np.int64) * course.ages + np.maximum(np.floor(course.tl.age), 0).astype(np.int64)

    def _at(self, table: np.ndarray, rows: np.ndarray, years: np.ndarray) -> np.ndarray:
        return table[self.row[rows] + years.astype(np.int64)]

    def death_due(self, clock: np.ndarray, until: np.ndarray) -> np.ndarray:
        """When each person's clock of death runs out before ``until`` (else inf)."""
        t, h, first = self.t0, self.h0, self.first
        soon = (h > 0) & (clock / h < np.minimum(first, until) - t)
        when = np.where(soon, t + clock / h, np.inf)
        rows = np.flatnonzero(~soon & (first < until))
        if not len(rows):
            return when
        c = self.course
        rr, start, end = self.rr[rows], first[rows], until[rows]
        left = clock[rows] - h[rows] * (start - t[rows])
        last = np.ceil(end) - 1.0  # the last anniversary before ``until``
        base = self._at(c.below, rows, start)
        whole = rr * (self._at(c.below, rows, last) - base) + rr * self._at(c.by_age, rows, last) * (end - last)
        near = np.flatnonzero(~(left > whole))  # (the sums below, over the whole stretch)
        rows, rr, start, end = rows[near], rr[near], start[near], end[near]
        left, last, base = left[near], last[near], base[near]
        # every year of every stretch at once ([person, k]: the year start + k), and the first in which
        # the clock runs out (the engine's loop, year by year, stops there)
        year = start[:, None] + np.arange(int((last - start).max(initial=-1.0)) + 1)[None, :]
        if not year.size:
            when[rows] = np.inf
            return when
        at = self.row[rows][:, None] + year.astype(np.int64)
        hk = rr[:, None] * c.by_age[at]
        rest = left[:, None] - rr[:, None] * (c.below[at] - base[:, None])
        hit = (year <= last[:, None]) & (hk > 0) & (rest / hk < np.minimum(year + 1.0, end[:, None]) - year)
        person, k = np.arange(len(rows)), hit.argmax(axis=1)
        when[rows] = np.where(hit.any(axis=1), year[person, k] + rest[person, k] / hk[person, k], np.inf)
        return when

    def spend(self, clock: np.ndarray, t1: np.ndarray) -> np.ndarray:
        """Each person's clock of death, spent from ``t0`` to ``t1``."""
        t, h, first = self.t0, self.h0, self.first
        spent = h * (t1 - t)
        rows = np.flatnonzero(t1 > first)
        if len(rows):
            c = self.course
            rr, start, end = self.rr[rows], first[rows], t1[rows]
            last = np.ceil(end) - 1.0
            whole = rr * (self._at(c.below, rows, last) - self._at(c.below, rows, start))
            spent[rows] = (h[rows] * (start - t[rows]) + whole) + rr * self._at(c.by_age, rows, last) * (end - last)
        return np.maximum(clock - spent, 0.0)

    def anniversaries(self, t1: np.ndarray, end: np.ndarray, years: int) -> tuple[np.ndarray, np.ndarray]:
        """(person, year) of every anniversary after ``t0`` and before ``t1``, up to the end of the
        person's follow-up and within the ``years`` recorded."""
        first = self.first
        # how many: k = 0, 1, ... while first + k < t1, first + k <= end and first + k < years (the
        # differences are exact: first is a whole number of years, and t1 and end far below 2**52)
        count = np.minimum(np.minimum(np.ceil(t1 - first), np.floor(end - first) + 1.0), years - first)
        count = np.maximum(count, 0.0).astype(np.int64)
        who = np.repeat(np.arange(len(first)), count)
        k = np.arange(len(who)) - np.repeat(np.cumsum(count) - count, count)
        return who, first[who].astype(np.int64) + k
