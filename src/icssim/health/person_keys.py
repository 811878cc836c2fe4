"""A person's own random numbers and the record of their course: the keys (by cohort and arrival
number) that make the same person draw the same numbers in every scenario, the counter-based
uniforms of their stream, and :class:`Person`, which :class:`icssim.health.person_returns.PathwayCourse`
advances and :func:`icssim.health.course.follow` takes over. Compiled with the engine (mypyc,
``setup.py``): a new attribute of :class:`Person` must be declared in its ``__slots__`` and
assigned in ``__init__``."""

from __future__ import annotations

import math
import zlib
from typing import TYPE_CHECKING, Any, Final

from icssim.health.plan import WAITING

if TYPE_CHECKING:  # mypyc's native 64-bit integer (plain int in Python; mypy_extensions is not needed to run)
    from mypy_extensions import i64

_MASK: Final = (1 << 64) - 1
_GOLDEN: Final = 0x9E3779B97F4A7C15
_MIX1: Final = 0xBF58476D1CE4E5B9
_MIX2: Final = 0x94D049BB133111EB
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
SALTS: Final[list[int]] = [splitmix(c) for c in range(256)]

# The engine's draws use splitmix on a 64-bit number held as two 32-bit halves, with products of
# 16-bit pieces: every intermediate stays below 2**62, so the compiled engine (mypyc) works on
# machine integers (typed i64, which mypyc does not check for overflow: none can occur), where
# 64-bit Python integers would allocate an object per operation (a draw cost about ten times as
# much). The results are splitmix's, bit for bit (tests/test_health_engine.py).
_M32: Final = 0xFFFFFFFF
_M16: Final = 0xFFFF
#: the salts' halves (see SALTS)
SALT_HI: Final[list[int]] = [salt >> 32 for salt in SALTS]
SALT_LO: Final[list[int]] = [salt & _M32 for salt in SALTS]


def _times(hi: i64, lo: i64, c_hi: i64, c_lo: i64) -> tuple[i64, i64]:
    """(hi, lo) × (c_hi, c_lo) modulo 2**64, as halves."""
    l1, l0, c1, c0 = lo >> 16, lo & _M16, c_lo >> 16, c_lo & _M16
    middle = l1 * c0 + l0 * c1
    low = l0 * c0 + ((middle & _M16) << 16)
    high = l1 * c1 + (middle >> 16) + (low >> 32) + _low_times(hi, c_lo) + _low_times(lo, c_hi)
    return high & _M32, low & _M32


def _low_times(a: i64, b: i64) -> i64:
    """a × b modulo 2**32, for a and b below 2**32."""
    a1, a0, b1, b0 = a >> 16, a & _M16, b >> 16, b & _M16
    return (a0 * b0 + (((a1 * b0 + a0 * b1) & _M16) << 16)) & _M32


def splitmix_halves(hi: i64, lo: i64) -> tuple[i64, i64]:
    """:func:`splitmix` of the 64-bit number ``hi * 2**32 + lo``, as its halves."""
    lo += 0x7F4A7C15  # + _GOLDEN
    hi = (hi + 0x9E3779B9 + (lo >> 32)) & _M32
    lo &= _M32
    lo ^= ((hi << 2) | (lo >> 30)) & _M32  # z ^= z >> 30
    hi ^= hi >> 30
    hi, lo = _times(hi, lo, 0xBF58476D, 0x1CE4E5B9)  # * _MIX1
    lo ^= ((hi << 5) | (lo >> 27)) & _M32  # z ^= z >> 27
    hi ^= hi >> 27
    hi, lo = _times(hi, lo, 0x94D049BB, 0x133111EB)  # * _MIX2
    lo ^= ((hi << 1) | (lo >> 31)) & _M32  # z ^= z >> 31
    hi ^= hi >> 31
    return hi, lo


def uniform_halves(hi: i64, lo: i64, counter: int) -> float:
    """:func:`uniform` of the stream whose key is ``hi * 2**32 + lo``."""
    if 0 <= counter < 256:
        z_hi, z_lo = splitmix_halves(hi ^ SALT_HI[counter], lo ^ SALT_LO[counter])
    else:
        salt = splitmix(counter)
        z_hi, z_lo = splitmix_halves(hi ^ (salt >> 32), lo ^ (salt & _M32))
    return (float((z_hi << 21) | (z_lo >> 11)) + 0.5) * 2.0**-53  # ((z >> 11) + 0.5) * 2**-53


def uniform(key: int, counter: int) -> float:
    """The ``counter``-th uniform in (0, 1) of stream ``key`` (course.uniforms for one person)."""
    return uniform_halves(key >> 32, key & _M32, counter)


#: Person's attributes, in the order :meth:`Person.__reduce__` stores them (its ``__slots__``)
PERSON_FIELDS = ("key", "group", "age", "ill_before", "start", "state", "t", "entered", "clocks", "occurrence",
                 "counter", "male", "status", "multiplier", "hazards", "fire", "due", "seq", "log", "end",
                 "admitted", "dui", "returns", "treated_until", "until", "dest_keys", "key_hi", "key_lo", "death",
                 "logged", "away")


class Person:
    """A person's course so far: state, clocks, counters, status and the log of their moves."""

    __slots__ = ("key", "group", "age", "ill_before", "start", "state", "t", "entered", "clocks", "occurrence",
                 "counter", "male", "status", "multiplier", "hazards", "fire", "due", "seq", "log", "end",
                 "admitted", "dui", "returns", "treated_until", "until", "dest_keys", "key_hi", "key_lo", "death",
                 "logged", "away")

    def __init__(self, key: int, group: int, age: float, ill_before: float, n_states: int, end: float) -> None:
        self.key, self.group, self.age, self.ill_before = key, group, age, ill_before
        self.key_hi, self.key_lo = key >> 32, key & _M32  # (see splitmix_halves)
        self.start = self.state = 0
        self.t = self.entered = 0.0
        self.clocks = [0.0] * n_states
        self.occurrence = [0] * n_states
        self.counter = 0
        self.male = False
        self.status = WAITING
        self.multiplier = 1.0  # the DUI effect on scaled treated hazards, set when treatment starts
        self.hazards: list[tuple[int, float]] = []  # (living destination, hazard per year), see PathwayCourse._hazards
        self.death = 0.0  # the hazard of death per year now (see PathwayCourse._hazards)
        self.fire = -1  # the destination whose clock runs out first (-1: a breakpoint comes first)
        self.due = math.inf
        self.seq = 0  # the engine's token for this person's pending health event
        #: (years, state after, anniversary?) for every move and anniversary in the pathway, kept only
        #: if ``logged``: the follow-up replays it for the people the KPIs measure (see CourseInPathway.begin)
        self.log: list[tuple[float, int, bool]] = []
        self.logged = True
        self.end = end
        self.admitted = False
        self.dui = math.nan  # years ill before the first treatment started (NaN: not treated yet)
        self.returns = 0  # times the course sent the person back into the pathway (health.returns)
        #: (left, back, left, back …) for someone the course sent back: years after asking when they
        #: left the pathway and when they came back, once per return (the engine's _course_return; a
        #: shared empty tuple for everyone else). Their last exit is the records'. The follow-up counts
        #: the time between as out of the pathway (course._Course.resume)
        self.away: tuple[float, ...] = ()
        #: years after asking when the treated hazards of the last treatment end out of the pathway
        #: (its start + HealthPlan.treated_for; -inf: never treated)
        self.treated_until = -math.inf
        self.until = math.inf  # when the status changes of its own accord (out of the pathway)
        #: per destination, the halves of the key of the stream its clocks are drawn from (-1: not
        #: made yet; see CourseInPathway._clock): made once, not at every move into it
        self.dest_keys = [-1] * (2 * n_states)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickle as the constructor's arguments and the slots' values: a replication's records
        carry the courses of those still in the pathway back from a worker process, and mypyc's
        compiled class cannot be rebuilt without its ``__init__`` arguments."""
        return _rebuilt_person, (tuple(getattr(self, name) for name in PERSON_FIELDS),)

    def draw(self) -> float:
        """The next uniform of the person's own stream (course._Course._draw)."""
        u = uniform_halves(self.key_hi, self.key_lo, self.counter)
        self.counter += 1
        return u


def _rebuilt_person(values: tuple[Any, ...]) -> Person:
    """A :class:`Person` from the slots' values :meth:`Person.__reduce__` gave."""
    fields = dict(zip(PERSON_FIELDS, values, strict=True))
    person = Person(fields["key"], fields["group"], fields["age"], fields["ill_before"], 0, fields["end"])
    for name, value in fields.items():
        setattr(person, name, value)
    return person
