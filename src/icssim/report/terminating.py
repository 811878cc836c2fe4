"""How a report names the replications of a terminating run: "10 simulated days", not warm-ups.

A run is terminating when its front door closes (``scenario.arrivals_until``) and it has no warm-up:
each replication is then one day (or period) of the service from empty, and the confidence
intervals are across days. A run that closes within 24 hours is a day.
"""

from __future__ import annotations

from icssim.scenario.schema import Scenario
from icssim.units import span_text


def period_word(s: Scenario | None) -> str | None:
    """``"day"`` (or ``"period of 2 weeks"``) for a terminating run, None for a run with a warm-up
    or a front door that never closes."""
    if s is None or s.scenario.arrivals_until is None or s.scenario.warmup.value > 0:
        return None
    until = s.scenario.arrivals_until
    return "day" if until.to("hours") <= 24 + 1e-9 else f"period of {span_text(until)}"


def replications_text(n: int, s: Scenario | None) -> str:
    """``10 simulated days`` for a terminating run, else ``10 replications``."""
    word = period_word(s)
    if word is None:
        return f"{n} replication{'s' if n != 1 else ''}"
    if n == 1:
        return f"1 simulated {word}"
    return f"{n} simulated " + ("days" if word == "day" else f"periods ({word[len('period of '):]} each)")


def measured_over(s: Scenario | None) -> str:
    """Whose waits and counts the KPI tables are: the window's patients, or each day's."""
    word = period_word(s)
    if word is None:
        return "patients referred after the warm-up"
    return f"the patients who arrived in each simulated {word}"


def terminating_note(s: Scenario) -> str:
    """The report's assumption for a terminating run (empty when the run is not one)."""
    word = period_word(s)
    if word is None or s.scenario.arrivals_until is None:
        return ""
    return (f"A terminating run: each replication is one simulated {word} that starts empty; no arrivals "
            f"after {span_text(s.scenario.arrivals_until)} and the run goes on to {span_text(s.scenario.horizon)} "
            f"so that work in progress finishes. Results are for such a {word}, not for a steady state.")


def across_text(n: int, s: Scenario | None) -> str:
    """What the confidence intervals are across: ``10 independent replications`` or ``10 simulated days``."""
    return f"{n} independent replications" if period_word(s) is None else f"{replications_text(n, s)}, each independent"


def plot_captions(s: Scenario | None) -> dict[str, str]:
    """Captions of the standard plots that speak of warm-ups and replications, for a terminating run
    (empty for any other run)."""
    word = period_word(s)
    if word is None:
        return {}
    return {
        "wait_ecdf.png": f"Completed waits of the patients of each simulated {word}, by time since referral, as a "
                         "share of all completed waits (one line per series, as labelled; the legend gives the "
                         "share whose wait had not ended). Dashed lines: the waiting-time standards, each with a "
                         "bar at its target.",
        "waiting_list.png": f"Patients waiting (referred, not yet seen) through the simulated {word}, counted at "
                            f"regular snapshots (the plot's title says how often; a peak between two is not "
                            f"drawn): mean across the simulated {word}s with its 95% CI band.",
    }
