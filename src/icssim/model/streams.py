"""Random number streams: one independent numpy stream per source of randomness.

Every stream is keyed by a name (``"arrivals/cyp"``, ``"duration/assessment"`` …) and
the replication number, and seeded from ``SeedSequence(seed, spawn_key=(replication,
crc32(name)))``. Keys are names, not positions, so adding a step to a scenario leaves
every other stream untouched: two scenarios with the same cohorts see the same
patients arrive with the same attributes (common random numbers), and replication r
gives the same numbers whichever worker runs it.
"""

from __future__ import annotations

import zlib

import numpy as np


def stream_key(name: str) -> int:
    """A stable 32-bit key for a stream name (independent of Python's hash seed)."""
    return zlib.crc32(name.encode("utf-8"))


class Streams:
    """Factory of named, independent ``numpy.random.Generator`` objects for one replication."""

    def __init__(self, seed: int, replication: int = 0) -> None:
        self.seed, self.replication = int(seed), int(replication)

    def rng(self, name: str) -> np.random.Generator:
        """The generator for stream ``name`` in this replication."""
        seq = np.random.SeedSequence(self.seed, spawn_key=(self.replication, stream_key(name)))
        return np.random.Generator(np.random.PCG64(seq))
