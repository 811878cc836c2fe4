"""What one replication produces: columns of per-patient and per-visit records and counters.

The engine fills these; :mod:`icssim.metrics` turns them into KPIs and tables. Columns
are numpy arrays (built zero-copy from the engine's typed ``array`` buffers), so a
million patients cost about 100 bytes each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Outcome codes of a single step visit.
VISIT_OUTCOMES = (
    "served", "rejected", "dropped_out", "emergency", "missed", "discharged_missed",
    "aged_out", "escalated", "died",
)


@dataclass
class ResourceUse:
    """Time-averaged use of one resource over the observation window."""

    name: str
    service: str
    kind: str
    role: str
    capacity: int
    busy_area: float  # resource-units x time units in the window
    hours_available: float  # clinical hours per time unit (staff pools)
    queued_for: bool = True  # False for staff only charged for (no step queues for them)
    cost_per_year: float = 0.0  # staff establishment cost (time-averaged under a capacity plan)
    #: resource-units x time units of work started before the horizon that runs on past it (the
    #: rest of each service in progress then, to its scheduled end); not in ``busy_area``
    busy_beyond: float = 0.0


@dataclass
class RunRecords:
    """Everything one replication recorded (plain arrays; no files, no plots)."""

    scenario: str
    seed: int
    replication: int
    time_unit: str
    horizon: float
    warmup: float
    sample_every: float
    hours_per_unit: float
    steps: tuple[str, ...]
    step_kinds: tuple[str, ...]
    services: tuple[str, ...]
    cohorts: tuple[str, ...]
    attributes: tuple[str, ...]
    attribute_levels: dict[str, tuple[str, ...]]
    outcomes: tuple[str, ...]
    patients: dict[str, np.ndarray]
    visits: dict[str, np.ndarray] | None
    timeseries: dict[str, np.ndarray]
    costs: np.ndarray  # [bucket, service, category], bucket width = sample_every
    resources: list[ResourceUse]
    arrivals: int
    exits: int
    in_system_end: int
    in_system_area: float  # patients x time units in the window
    events: int
    wall_seconds: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)
    #: each person's course of illness (:class:`icssim.health.outcomes.Outcomes`), when the scenario
    #: has a ``health:`` block; filled after the run, aligned with :attr:`patients`
    health: Any = None
    #: each person's course of illness in the pathway as the engine ran it (by pid:
    #: :class:`icssim.health.person.Person`), when the run had a ``health:`` block; the follow-up
    #: carries on from it. Only of people who asked for help from :attr:`courses_from` on (the
    #: engine keeps no other: their courses are not followed)
    course: Any = None
    courses_from: float = -math.inf
    #: who pays for each service (in the order of :attr:`services`), set from the scenario
    payers: tuple[str, ...] = ()
    #: steps whose waits and times are reported (``scenario.stage_waits``; empty: none)
    stages: tuple[int, ...] = ()
    #: those of :attr:`stages` that queue for staff, caseload or beds (their waits are reported)
    stage_queues: tuple[int, ...] = ()
    #: each interval standard's (from step, which point of it, to step, which point of it): step -1
    #: is the patient's arrival (from) or exit (to); the point :data:`icssim.path_times.START`,
    #: ``END`` or ``ENTER``; see :mod:`icssim.stage_kpis`
    intervals: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    #: each path time's cohorts (``scenario.path_times``; empty: all), by its name among
    #: :attr:`intervals` (``path_time:<name>``)
    path_cohorts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: the visits still in progress at the horizon (censored), when visits are recorded: the
    #: columns of :attr:`visits`, with ``t_end`` the horizon (the time reached, not an end),
    #: ``t_start`` NaN for those still waiting (in a queue, a hand-off or a panel's list), and
    #: ``outcome`` -1 (none yet). A patient between steps (on a routing delay) has no visit open.
    in_progress: dict[str, np.ndarray] | None = None

    @property
    def window(self) -> float:
        """Length of the observation window (horizon minus warm-up) in time units."""
        return self.horizon - self.warmup
