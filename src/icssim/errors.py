"""User-facing errors: each says where (file, line, key) and what was expected.

The CLI prints these without a traceback; anything else is a bug in icssim.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


#: The exit status of a command that ran to the end without an answer: ``optimise`` when no point
#: meets the target, ``calibrate`` when nothing fits (1 is the machine refusing, 2 a mistake in the input).
NO_ANSWER = 3


class IcssimError(Exception):
    """A mistake in the user's input or command: shown as a message, never a traceback."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario file."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        key = f" {self.path}:" if self.path else ""
        return f"{where}:{key} {self.message}"


class ScenarioError(IcssimError):
    """A scenario file that cannot be used, with every problem found in it."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class RunawayPathway(IcssimError):
    """A replication stopped because a patient went round the pathway far more often than its
    routing makes plausible (``Plan.max_moves``): a loop whose way out is never taken in practice."""


def as_yaml(value: Any) -> str:
    """``value`` as a YAML file writes it, in flow style (``true``, ``[3, 'days']``, ``{wte: 2}``),
    for a message quoting what was found: a user wrote YAML, not Python (``True``, ``None``)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {as_yaml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(as_yaml(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return repr(value) if isinstance(value, str) else str(value)

