"""Fair comparisons: the staff establishment a scenario pays for, and the same scenario rescaled to
another's budget.

``icssim compare --equal-budget BASE VARIANT`` runs four scenarios on common random numbers: the
baseline, the baseline with the variant's budget, the variant with the baseline's budget, and the
variant. The difference between the variant at the baseline's budget and the baseline is what the
pathway's design does; the difference between the baseline at the variant's budget and the
baseline is what the money does. Rescaling multiplies every staff role's WTE by one factor, so
the mix of roles (and caseloads set per WTE) keeps its shape.
"""

from __future__ import annotations

from collections.abc import Sequence

from icssim.errors import IcssimError
from icssim.scenario import Scenario, scenario_from_dict
from icssim.scenario.initial_state import anchored_raw


def establishment_cost(s: Scenario) -> float:
    """Staff establishment per year at the start: WTE × cost per hour × paid hours, all roles."""
    return sum(staff.wte * staff.cost_per_hour * staff.paid_hours_per_year
               for svc in s.services.values() for staff in svc.staff.values())


def at_budget(s: Scenario, budget: float, name: str) -> Scenario:
    """``s`` with every staff role's WTE scaled so that its establishment cost is ``budget``."""
    cost = establishment_cost(s)
    if not cost > 0:
        raise IcssimError(f"{s.scenario.name!r} has no staff cost (cost_per_hour on its staff roles), so it "
                          "cannot be rescaled to another budget")
    if s.capacity_plan:
        raise IcssimError(f"{s.scenario.name!r} has a capacity_plan: rescaling its staff to another budget "
                          "would not rescale the plan's changes; compare at equal budgets without one")
    factor = budget / cost
    raw = anchored_raw(s)
    for svc in raw.get("services", {}).values():
        for staff in (svc.get("staff") or {}).values():
            staff["wte"] = round(float(staff["wte"]) * factor, 3)
    raw["scenario"]["name"] = name
    raw["scenario"]["description"] = (f"{s.scenario.name} with every staff role's WTE × {factor:.3f}, so that "
                                      f"its establishment costs £{budget:,.0f} a year (icssim --equal-budget)")
    return scenario_from_dict(raw, name=f"{name} (from {s.scenario.name})")


def budget_name(scenario: str, budget_of: str) -> str:
    """The name of ``scenario`` rescaled to the staff budget of ``budget_of`` (a folder name)."""
    return f"{scenario}_at_{budget_of}_budget"[:100]


def equal_budget_set(*scenarios: Scenario) -> list[Scenario]:
    """The four scenarios of an equal-budget comparison (``compare --equal-budget``), the baseline
    first: the two given, and each at the other's staff budget."""
    if len(scenarios) != 2:
        raise IcssimError(f"--equal-budget compares exactly two scenarios (a baseline and a variant), "
                          f"found {len(scenarios)}")
    base, variant = scenarios
    b, v = base.scenario.name, variant.scenario.name
    return [base,
            at_budget(base, establishment_cost(variant), budget_name(b, v)),
            at_budget(variant, establishment_cost(base), budget_name(v, b)),
            variant]


def shown_names(names: Sequence[str]) -> dict[str, str]:
    """How plots name a comparison's scenarios: one rescaled to another's budget (by
    :func:`equal_budget_set`) reads "ed_integrated at ed_fragmented's staff budget", not its
    folder name; every other name is kept."""
    shown = {name: name for name in names}
    for scenario in names:
        for budget_of in names:
            rescaled = budget_name(scenario, budget_of)
            if scenario != budget_of and rescaled in shown:
                shown[rescaled] = f"{scenario} at {budget_of}'s staff budget"
    return shown
