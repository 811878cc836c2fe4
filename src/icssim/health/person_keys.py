"""A person's own random numbers and the record of their course: the keys (by cohort and arrival
number) that make the same person draw the same numbers in every scenario, the counter-based
uniforms of their stream, and :class:`Person`, which :class:`icssim.health.person_returns.PathwayCourse`
advances and :func:`icssim.health.course.follow` takes over. Compiled with the engine (mypyc,
``setup.py``): a new attribute of :class:`Person` must be declared in its ``__slots__`` and
assigned in ``__init__``."""

from __future__ import annotations

import math
import zlib
from typing import Any

from icssim.health.plan import WAITING

_MASK = (1 << 64) - 1
_GOLDEN, _MIX1, _MIX2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_HEALTH_STREAM = 0x6865616C7468  # as in course.py


def splitmix(z: int) -> int:
    """splitmix64's finaliser on one 64-bit integer (keys.splitmix_array, element by element)."""
    z = (z + _GOLDEN) & _MASK
    z = ((z ^ (z >> 30)) * _MIX1) & _MASK
    z = ((z ^ (z >> 27)) * _MIX2) & _MASK
    return z ^ (z >> 31)


def cohort_key(seed: int, replication: int, cohort_name: str) -> int:
    """The part of a person's key that their cohort shares (see :func:`person_key`)."""
    base = splitmix(seed % 2**64)
    base = splitmix(base ^ (replication % 2**64))
    base = splitmix(base ^ _HEALTH_STREAM)
    return splitmix(base ^ zlib.crc32(cohort_name.encode()))


def person_key(cohort: int, number: int) -> int:
    """A person's key from their cohort's key and their arrival number in the cohort."""
    return splitmix(cohort ^ number)


#: splitmix of the small counters and destinations, made once: the streams' salts (see :func:`uniform`)
SALTS: list[int] = [splitmix(c) for c in range(256)]


def uniform(key: int, counter: int) -> float:
    """The ``counter``-th uniform in (0, 1) of stream ``key`` (course.uniforms for one person)."""
    z = splitmix(key ^ (SALTS[counter] if 0 <= counter < 256 else splitmix(counter)))
    return ((z >> 11) + 0.5) * 2.0**-53


#: Person's attributes, in the order :meth:`Person.__reduce__` stores them (its ``__slots__``)
PERSON_FIELDS = ("key", "group", "age", "ill_before", "start", "state", "t", "entered", "clocks", "occurrence",
                 "counter", "male", "status", "multiplier", "hazards", "fire", "due", "seq", "log", "end",
                 "admitted", "dui", "returns", "treated_until", "until")


class Person:
    """A person's course so far: state, clocks, counters, status and the log of their moves."""

    __slots__ = ("key", "group", "age", "ill_before", "start", "state", "t", "entered", "clocks", "occurrence",
                 "counter", "male", "status", "multiplier", "hazards", "fire", "due", "seq", "log", "end",
                 "admitted", "dui", "returns", "treated_until", "until")

    def __init__(self, key: int, group: int, age: float, ill_before: float, n_states: int, end: float) -> None:
        self.key, self.group, self.age, self.ill_before = key, group, age, ill_before
        self.start = self.state = 0
        self.t = self.entered = 0.0
        self.clocks = [0.0] * n_states
        self.occurrence = [0] * n_states
        self.counter = 0
        self.male = False
        self.status = WAITING
        self.multiplier = 1.0  # the DUI effect on scaled treated hazards, set when treatment starts
        self.hazards: list[tuple[int, float]] = []  # (destination, hazard per year), see PathwayCourse._hazards
        self.fire = -1  # the destination whose clock runs out first (-1: a breakpoint comes first)
        self.due = math.inf
        self.seq = 0  # the engine's token for this person's pending health event
        #: (years, state after, anniversary?) for every move and anniversary in the pathway
        self.log: list[tuple[float, int, bool]] = []
        self.end = end
        self.admitted = False
        self.dui = math.nan  # years ill before the first treatment started (NaN: not treated yet)
        self.returns = 0  # times the course sent the person back into the pathway (health.returns)
        #: years after asking when the treated hazards of the last treatment end out of the pathway
        #: (its start + HealthPlan.treated_for; -inf: never treated)
        self.treated_until = -math.inf
        self.until = math.inf  # when the status changes of its own accord (out of the pathway)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickle as the constructor's arguments and the slots' values: a replication's records
        carry the courses of those still in the pathway back from a worker process, and mypyc's
        compiled class cannot be rebuilt without its ``__init__`` arguments."""
        return _rebuilt_person, (tuple(getattr(self, name) for name in PERSON_FIELDS),)

    def draw(self) -> float:
        """The next uniform of the person's own stream (course._Course._draw)."""
        u = uniform(self.key, self.counter)
        self.counter += 1
        return u


def _rebuilt_person(values: tuple[Any, ...]) -> Person:
    """A :class:`Person` from the slots' values :meth:`Person.__reduce__` gave."""
    fields = dict(zip(PERSON_FIELDS, values, strict=True))
    person = Person(fields["key"], fields["group"], fields["age"], fields["ill_before"], 0, fields["end"])
    for name, value in fields.items():
        setattr(person, name, value)
    return person
