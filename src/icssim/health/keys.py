"""Counter-based random numbers keyed to the person, for the course of illness.

Each person's key comes from (seed, replication, cohort name, arrival number within the cohort),
and each draw from their key and a counter (splitmix64), so the same person gets the same numbers
in two scenarios whatever else happens in the run: common random numbers at the level of the
person. :mod:`icssim.health.person_keys` holds the scalar twins the compiled engine uses.
"""

from __future__ import annotations

import zlib

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_HEALTH_STREAM = 0x6865616C7468  # "health": keeps these draws apart from any other keyed stream


def splitmix_array(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on an array of uint64 (wrapping arithmetic)."""
    z = z + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def person_keys(seed: int, replication: int, cohort_names: list[str], cohort: np.ndarray,
                number: np.ndarray) -> np.ndarray:
    """One 64-bit key per person from (seed, replication, cohort name, arrival number in the cohort)."""
    base = splitmix_array(np.array([seed % 2**64], dtype=np.uint64))
    base = splitmix_array(base ^ np.uint64(replication % 2**64))
    base = splitmix_array(base ^ np.uint64(_HEALTH_STREAM))
    names = np.array([zlib.crc32(name.encode()) for name in cohort_names] or [0], dtype=np.uint64)
    k = splitmix_array(base ^ names[cohort.astype(np.int64)])
    return splitmix_array(k ^ number.astype(np.uint64))


def uniforms(keys: np.ndarray, counter: np.ndarray) -> np.ndarray:
    """The ``counter``-th uniform in (0, 1) of each person's stream."""
    z = splitmix_array(keys ^ splitmix_array(counter.astype(np.uint64)))
    return ((z >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53
