"""How long and how much memory a run will take, estimated before it starts.

A scenario that is valid can still be too big for the machine (millions of arrivals, many
replications). The estimate is made from the expected arrivals (rates x horizon) and two
rates measured on this engine, so that ``icssim run`` can say what it is about to do and ask
for ``--yes`` before a run that would take much longer or more memory than a user expects.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from icssim.errors import IcssimError
from icssim.scenario import Scenario
from icssim.scenario.checks import cohort_rate
from icssim.scenario.size_checks import patients_per_second

#: Memory the main process holds per simulated patient kept with its records (patient row, its
#: step visits, time-series and cost rows) and while its tables are built: measured 1.2-1.9 KB
#: held per patient of ed_fragmented (10 replications, plain-Python engine) and rounded up for
#: the data frames built when writing.
BYTES_PER_PATIENT = 2_500
#: What a Python process with numpy, pandas and matplotlib loaded holds before it simulates.
BASE_BYTES = 250 * 2**20
#: Above these, a run needs ``--yes`` (or an answer at the prompt).
MAX_SECONDS = 15 * 60
MAX_MEMORY_SHARE = 0.5


@dataclass(frozen=True)
class RunEstimate:
    """Expected size of a run: arrivals, wall time on the given workers, and peak memory."""

    patients: float
    seconds: float
    peak_bytes: float

    def describe(self) -> str:
        return (f"about {self.patients:,.0f} patient journeys, {format_duration(self.seconds)} and "
                f"{format_bytes(self.peak_bytes)} of memory")


def expected_patients(scenario: Scenario) -> float:
    """Arrivals expected in one replication (every cohort's mean rate over the horizon)."""
    horizon = scenario.scenario.horizon.to(scenario.scenario.time_unit)
    return sum(cohort_rate(scenario, c) for c in scenario.cohorts) * horizon


def estimate_run(scenarios: list[Scenario], replications: int, workers: int) -> RunEstimate:
    """Estimate for ``replications`` of each scenario on ``workers`` processes, records kept."""
    patients = sum(expected_patients(s) for s in scenarios) * replications
    seconds = patients / patients_per_second() / max(1, min(workers, replications))
    return RunEstimate(patients, seconds, BASE_BYTES + patients * BYTES_PER_PATIENT)


def confirm_size(estimate: RunEstimate, yes: bool, ask=input, interactive: bool | None = None) -> None:
    """Refuse (or ask, at a terminal) before a run over the time or memory limits, unless ``yes``."""
    memory = total_memory()
    over = []
    if estimate.seconds > MAX_SECONDS:
        over.append(f"longer than {format_duration(MAX_SECONDS)}")
    if memory and estimate.peak_bytes > MAX_MEMORY_SHARE * memory:
        over.append(f"more than half of this machine's {format_bytes(memory)} of memory")
    if not over or yes:
        return
    message = f"this run needs {estimate.describe()}: {' and '.join(over)}"
    go_on_or_refuse(f"{message}. Run it?", f"{message}. Pass --yes to run it anyway, or use fewer "
                    f"replications or a shorter horizon (nothing was written)", ask, interactive)


def go_on_or_refuse(question: str, refusal: str, ask=input, interactive: bool | None = None) -> None:
    """At a terminal, ask ``question`` and go on only on a yes; elsewhere (a script, CI) refuse
    with ``refusal``, which says how to go on (``--yes``). Used by run and sweep alike."""
    if interactive is None:
        interactive = sys.stdin.isatty()
    if not interactive:
        raise IcssimError(refusal)
    if ask(f"{question} [y/N] ").strip().lower() not in ("y", "yes"):
        raise IcssimError("not run (nothing was written)")


def total_memory() -> int | None:
    """Physical memory of this machine in bytes (None where it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return None


def format_duration(seconds: float) -> str:
    """A duration in the unit a person would use: s, min or h."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def format_bytes(n: float) -> str:
    """A size in MB or GB."""
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"
