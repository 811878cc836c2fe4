"""Each person's own choices: routing draws keyed to the person (a step's ``choice:``).

A step without ``choice`` draws its routing decisions from a stream of its own (``route/<step>``),
in the order people reach it. Two pathways reach their decisions in different orders and at
differently named steps, so one person's draws in the two are unrelated: a comparison on common
random numbers then sends different people to treatment in each world by chance alone, and that
noise dominates the paired difference (issue 20: the same person should live the same life in
both worlds up to where the pathways treat them differently).

A step with ``choice: <name>`` draws its routing decisions (``next``, ``on_reject``, ``dropout.then``,
``missed.then``, ``age_limit.then``) from the person's own stream for that name, keyed by (seed,
replication, cohort, arrival number in the cohort, name): a person's k-th decision under a name is
the k-th uniform of that stream. Two steps, in one scenario or in two, that give a decision the same
name let the same person decide alike: exactly alike with the same probabilities, and as alike as
different ones allow otherwise (whoever draws below the smaller share of the first branch takes it
in both). Compiled with the engine (mypyc, ``setup.py``).

The person's deterioration while waiting is drawn the same way, from streams of their own
(``plan_types.OWN_DRAWS``: when their timer goes off, whether monitoring catches it, whether a step's
monitoring takes them on), so that the same person deteriorates alike in both worlds for as long
as they wait alike. Those names hold a colon, which no ``choice`` name can.
"""

from __future__ import annotations

import zlib

from icssim.health.person_keys import cohort_key, splitmix, splitmix_halves, uniform_halves
from icssim.model.entities import Patient

#: salt of the choices' streams, apart from the course of illness's (person_keys._HEALTH_STREAM)
_CHOICE_STREAM = 0x63686F696365  # "choice"
_M32 = 0xFFFFFFFF


class PersonChoices:
    """The streams of the choices named in a plan, for the people of one replication."""

    def __init__(self, names: tuple[str, ...], seed: int, replication: int, cohorts: list[str]) -> None:
        roots = [splitmix(cohort_key(seed, replication, name) ^ _CHOICE_STREAM) for name in cohorts]
        self.root_hi: list[int] = [root >> 32 for root in roots]
        self.root_lo: list[int] = [root & _M32 for root in roots]
        salts = [splitmix(zlib.crc32(name.encode())) for name in names]
        self.salt_hi: list[int] = [salt >> 32 for salt in salts]
        self.salt_lo: list[int] = [salt & _M32 for salt in salts]
        self.numbers: list[int] = [0] * len(cohorts)
        self.n = len(names)

    def enrol(self, p: Patient) -> None:
        """Give ``p`` (the next arrival of their cohort) their key and no choices made yet."""
        c = p.cohort
        number = self.numbers[c]
        self.numbers[c] = number + 1
        p.choice_hi, p.choice_lo = splitmix_halves(self.root_hi[c] ^ (number >> 32), self.root_lo[c] ^ (number & _M32))
        p.chosen = [0] * self.n

    def draw(self, p: Patient, choice: int) -> float:
        """``p``'s next uniform in (0, 1) for the choice with index ``choice``."""
        hi, lo = splitmix_halves(p.choice_hi ^ self.salt_hi[choice], p.choice_lo ^ self.salt_lo[choice])
        k = p.chosen[choice]
        p.chosen[choice] = k + 1
        return uniform_halves(hi, lo, k)
