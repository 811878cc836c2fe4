"""Fast draws from compiled distributions: a :class:`Sampler` (a distribution compiled to numbers:
``draw(rng, n)``, mean, variance) and single values pulled from it in blocks, so each draw costs
one list index or less, not a numpy call. The schema that compiles into samplers is
:mod:`icssim.distributions`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain, repeat

import numpy as np


@dataclass(frozen=True)
class Sampler:
    """A compiled numeric distribution: ``draw(rng, n)`` plus its exact mean and variance."""

    draw: Callable[[np.random.Generator, int], np.ndarray]
    mean: float
    var: float


#: values in the first block of a :func:`block_draws` stream (later blocks double up to ``block``)
FIRST_BLOCK = 16


class BlockStream:
    """Single draws from one sampler on one random stream, refilled in blocks.

    Values come back as Python floats (cheaper to compute with than numpy scalars).
    """

    __slots__ = ("_rng", "_draw", "_buf", "_i", "_block")

    def __init__(self, rng: np.random.Generator, sampler: Sampler, block: int = 2048) -> None:
        self._rng, self._draw, self._block = rng, sampler.draw, block
        self._buf: list[float] = []
        self._i = 0

    def __call__(self) -> float:
        i = self._i
        if i == len(self._buf):
            self._buf = self._draw(self._rng, self._block).tolist()
            i = 0
        self._i = i + 1
        return self._buf[i]


def block_draws(rng: np.random.Generator, sampler: Sampler, block: int = 2048) -> Callable[[], float]:
    """Like :class:`BlockStream` (the same values in the same order) but cheaper per draw.

    Returns the ``__next__`` of an iterator over block-drawn Python floats, chained in C
    (``itertools.chain`` over the blocks' lists), so one draw runs no Python code: about half
    a :class:`BlockStream` call. Blocks start at ``FIRST_BLOCK`` values and double up to
    ``block``: a pathway has many streams (85 in ed_fragmented, 20 of them never drawn from) and
    many are used only a few times a run, so full first blocks cost more than the draws used. numpy
    draws these distributions value by value, so the block sizes do not change the values
    (``tests/test_distributions.py`` checks each family).
    """
    draw = sampler.draw
    return chain.from_iterable(map(lambda n: draw(rng, n).tolist(), _block_sizes(block))).__next__


def _block_sizes(block: int) -> Iterator[int]:
    """FIRST_BLOCK, 2·FIRST_BLOCK, ... doubling up to ``block``, then ``block`` for ever."""
    sizes = []
    size = min(FIRST_BLOCK, block)
    while size < block:
        sizes.append(size)
        size *= 2
    return chain(sizes, repeat(block))


def uniform_draws(rng: np.random.Generator, block: int = 2048) -> Callable[[], float]:
    """Block-drawn U(0,1) variates as a cheap callable (see :func:`block_draws`)."""
    return block_draws(rng, _UNIFORM, block)


class UniformStream(BlockStream):
    """Block-drawn U(0,1) variates, for routing and yes/no decisions."""

    def __init__(self, rng: np.random.Generator, block: int = 2048) -> None:
        super().__init__(rng, Sampler(lambda r, n: r.random(n), 0.5, 1 / 12), block)


_UNIFORM = Sampler(lambda r, n: r.random(n), 0.5, 1 / 12)
