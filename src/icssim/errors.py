"""User-facing errors: each says where (file, line, key) and what was expected.

The CLI prints these without a traceback; anything else is a bug in icssim.
"""

from __future__ import annotations

from dataclasses import dataclass


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
