"""What every executor backend (:mod:`icssim.executors`) shares: the types of its work, the results
in order with a bounded look-ahead, the retry limit for lost workers, and the default worker count."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any, TypeVar

from icssim.errors import IcssimError

T = TypeVar("T")
R = TypeVar("R")
Initializer = Callable[..., None]
Stream = Generator[R, None, None]   # results of a map; closing it stops the work under way

#: How many times an item whose worker process was lost (out of memory?) is run again.
RETRIES = 3

ALL = 1 << 62            # no bound on the look-ahead
END = object()           # the end of the items


def default_workers() -> int:
    """All the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class Closing:
    """``with executor:`` closes it."""

    def __enter__(self: Any) -> Any:
        return self

    def __exit__(self: Any, *exc: object) -> None:
        self.close()


class LostWorker(IcssimError):
    """An item lost its worker process more than :data:`RETRIES` times."""

    def __init__(self, item: Any, times: int) -> None:
        super().__init__(f"{item!r} lost its worker process {times} times (out of memory?)")
        self.item, self.times = item, times


def take(it: Iterator[T], n: int) -> Iterator[T]:
    for _ in range(max(n, 0)):
        item: Any = next(it, END)
        if item is END:
            return
        yield item


def in_order(submit: Callable[[Any], Any], items: Iterable[Any], ahead: int | None, stop: Callable[[], None],
             cancel: Callable[[list[Any]], object]) -> Stream[Any]:
    """Results of the futures ``submit(item)`` in the order of ``items``, at most ``ahead`` under way."""
    todo = iter(items)
    pending: deque[Any] = deque()
    try:
        while True:
            for item in take(todo, (ahead or ALL) - len(pending)):
                pending.append(submit(item))
            if not pending:
                return
            yield pending.popleft().result()
    except BaseException:  # Ctrl-C, SIGTERM, an error, or the caller stopped early: stop the workers now
        stop()
        raise
    finally:
        if pending:
            cancel(list(pending))
