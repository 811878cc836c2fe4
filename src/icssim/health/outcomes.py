"""What the course of illness gives: the pathway's part of each person's course (:class:`Timeline`,
the follow-up's input) and each person's outcomes over the follow-up (:class:`Outcomes`), with the
discounting both use."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

@dataclass
class Timeline:
    """What the pathway did to each person, in years since they asked for help (NaN: never).

    ``cohort``: index of the person's cohort; ``treat``: treatment started; ``leave``: left the
    pathway (or the run ended); ``admit``: first admission; ``age`` in years at asking for help;
    ``ill_before``: years ill before asking; ``group``: index of the plan's parameters that apply
    to the person (:meth:`HealthPlan.group_of`; the cohort when not given)."""

    keys: np.ndarray
    cohort: np.ndarray
    treat: np.ndarray
    leave: np.ndarray
    admit: np.ndarray
    age: np.ndarray
    ill_before: np.ndarray
    group: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.keys)


@dataclass
class Outcomes:
    """Each person's course over the follow-up (arrays of one value per person)."""

    years_in_state: np.ndarray  # [person, state] undiscounted, dead last
    qalys: np.ndarray  # discounted
    qalys_undiscounted: np.ndarray
    life_years: np.ndarray  # undiscounted
    state_costs: np.ndarray  # discounted
    died: np.ndarray  # years to death, NaN if alive at the end of follow-up
    remissions: np.ndarray
    relapses: np.ndarray
    first_remission: np.ndarray  # years to the first remission, NaN if none
    dui: np.ndarray  # years ill before treatment started (NaN if never treated)
    state_at: np.ndarray  # [person, whole year 0..] state at each anniversary
    male: np.ndarray
    remission: np.ndarray  # [state] bool: which states are remission (dead last, False)
    discount_costs: float  # the annual rate the pathway's costs are discounted at
    events: np.ndarray  # [person, event] expected number of each health event over the follow-up
    event_names: tuple[str, ...]
    event_labels: tuple[str, ...]
    event_costs: np.ndarray  # [person] their discounted cost (included in state_costs)
    #: [person, event] expected number of each event while the person was in the pathway
    events_in_pathway: np.ndarray | None = None
    #: [person] health state when they left the pathway (dead last; NaN-free: dead if they died first)
    state_at_leave: np.ndarray | None = None
    #: [person, event] discounted cost of each event over the follow-up
    event_cost_by_event: np.ndarray | None = None
    event_services: tuple[str | None, ...] = ()  # [event] the service whose contact it is, or None
    event_payers: tuple[str, ...] = ()  # [event] who pays for it: its own payer, else its service's
    measures: tuple = ()  # the plan's declared exit measures (:attr:`HealthPlan.measures`)
    #: [person] times their course sent them back into the pathway (``health.returns``)
    returns: np.ndarray | None = None
    return_rules: tuple[str, ...] = ()  # the plan's return rules by name (none: nobody can be sent back)


#: the :class:`Outcomes` fields with one row per person (the others are per state, event or plan)
PER_PERSON = ("years_in_state", "qalys", "qalys_undiscounted", "life_years", "state_costs", "died", "remissions",
              "relapses", "first_remission", "dui", "state_at", "male", "events", "event_costs", "events_in_pathway",
              "state_at_leave", "event_cost_by_event", "returns")


def scatter(out: Outcomes, who: np.ndarray, n: int) -> Outcomes:
    """``out``, the outcomes of the people ``who`` (indices) of ``n``, as rows of all ``n``: the
    others get NaN, or -1 in integer and False in boolean fields (people nobody followed)."""
    full: dict[str, Any] = {}
    for name in PER_PERSON:
        value = getattr(out, name)
        if value is None:
            continue
        fill = np.nan if value.dtype.kind == "f" else (False if value.dtype.kind == "b" else -1)
        rows = np.full((n, *value.shape[1:]), fill, dtype=value.dtype)
        rows[who] = value
        full[name] = rows
    return replace(out, **full)


def discounted_span(rate: float, t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
    """∫ exp(−δt) dt over [t0, t1] with δ = ln(1 + rate) (continuous, equivalent to annual ``rate``)."""
    if rate == 0:
        return t1 - t0
    delta = np.log1p(rate)
    return (np.exp(-delta * t0) - np.exp(-delta * t1)) / delta


def discount_factor(rate: float, t: np.ndarray) -> np.ndarray:
    """What £1 spent ``t`` years after asking for help is worth today: (1 + rate)^−t."""
    return np.power(1.0 + rate, -np.asarray(t, dtype=float))
