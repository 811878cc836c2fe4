"""What each compared scenario assumes in staff: WTE by role (summed over services, with the services
named), and what that establishment costs a year, beside each other on a comparison's first screen.
A variant that achieves more with twice the therapists says so here, next to what it achieves."""

from __future__ import annotations

from collections import defaultdict
from html import escape

import pandas as pd

from icssim.budget import establishment_cost
from icssim.report.labels import service_label
from icssim.report.numbers import money
from icssim.report.pieces import table_html
from icssim.scenario.schema import Scenario


#: paid hours a year from which a role's ``wte`` counts posts on duty around the clock (24 hours ×
#: 365 days or more: an A&E clinician or a 24/7 liaison practitioner), not whole-time equivalents
AROUND_THE_CLOCK = 8760.0
POSTS = "on duty"


def role_wte(s: Scenario) -> dict[str, dict[str, float]]:
    """WTE of each staff role, by service: ``{"therapist": {"cyp_ed": 25.0, "adult_ed": 18.0}}``."""
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for name, svc in s.services.items():
        for role, staff in svc.staff.items():
            out[role][name] = float(staff.wte)
    return out


def role_units(scenarios: list[Scenario]) -> dict[str, str]:
    """Each role's unit in reports: "on duty" (posts on duty at any time) where every service of
    every scenario pays it around the clock (:data:`AROUND_THE_CLOCK`), else "WTE". The two do
    not add up: a post on duty around the clock takes more than five WTE to fill."""
    around: dict[str, bool] = {}
    for s in scenarios:
        for svc in s.services.values():
            for role, staff in svc.staff.items():
                around[role] = around.get(role, True) and staff.paid_hours_per_year >= AROUND_THE_CLOCK
    return {role: POSTS if always else "WTE" for role, always in around.items()}


def _staff(amount: float, unit: str) -> str:
    return f"{_wte(amount)} {unit}"


#: How a total of each unit reads in the staffing table's rows and the sentence: posts on duty first.
UNIT_TOTALS = {POSTS: "All staff on duty around the clock", "WTE": "All staff in WTE"}


def _totals(per: dict[str, dict[str, float]], units: dict[str, str]) -> dict[str, float]:
    """All staff, each unit summed on its own (posts on duty first): ``{"on duty": 15, "WTE": 2}``.
    The two never add up: a post on duty around the clock takes more than five WTE to fill."""
    return {unit: sum(sum(per[r].values()) for r in per if units[r] == unit) for unit in UNIT_TOTALS}


def _present(units: dict[str, str]) -> list[str]:
    """The units of the roles of ``units``, posts on duty first."""
    return [u for u in UNIT_TOTALS if u in units.values()]


def _in_all(new: dict[str, float], base: dict[str, float] | None, present: list[str]) -> str:
    """The totals in the staffing sentence: one "X against Y" per unit, posts on duty first
    ("staff in all: 15 on duty around the clock against 12, and 2 WTE against 0"); WTE alone as
    "88.5 WTE of staff in all against 60.1 WTE"; without ``base`` (both the same), the totals alone."""
    if present == ["WTE"]:
        wte = _staff(new["WTE"], "WTE")
        return f"{wte} of staff in all" + (f" against {_staff(base['WTE'], 'WTE')}" if base is not None else "")
    words = {POSTS: f"{POSTS} around the clock", "WTE": "WTE"}
    parts = [f"{_wte(new[u])} {words[u]}" + (f" against {_wte(base[u])}" if base is not None else "")
             for u in present]
    return "staff in all: " + ", and ".join(parts)


def _wte(x: float) -> str:
    return f"{x:,.1f}".removesuffix(".0")


def role_names(scenarios: list[Scenario]) -> dict[str, str]:
    """Each staff role's name in reports: the first ``label`` any service gives it, else its key."""
    names: dict[str, str] = {}
    for s in scenarios:
        for svc in s.services.values():
            for role, staff in svc.staff.items():
                if staff.label and role not in names:
                    names[role] = staff.label
    return names


def _plural(role: str, names: dict[str, str] | None = None) -> str:
    words = (names or {}).get(role) or role.replace("_", " ")
    return words if words.endswith("s") else words + "s"


def staff_sentence(base: tuple[str, Scenario], scen: tuple[str, Scenario]) -> str:
    """``ed_integrated assumes 80 WTE of therapists against 54 in ed_fragmented (88.5 WTE of staff in
    all against 60.1 WTE)``: the role that differs most, and the totals, one "X against Y" per unit
    (``staff in all: 15 on duty around the clock against 12, and 2 WTE against 0``)."""
    (bn, bs), (sn, ss) = base, scen
    b, n = role_wte(bs), role_wte(ss)
    roles = set(b) | set(n)
    if not roles:
        return ""
    units = role_units([bs, ss])
    diff = {r: sum(n.get(r, {}).values()) - sum(b.get(r, {}).values()) for r in roles}
    top = max(sorted(roles), key=lambda r: abs(diff[r]))
    present = _present(units)
    if all(diff[r] == 0 for r in roles):
        return f" Both assume the same staff ({_in_all(_totals(b, units), None, present)})."
    amount, words = _wte(sum(n.get(top, {}).values())), escape(_plural(top, role_names([bs, ss])))
    role = f"{amount} WTE of {words}" if units[top] == "WTE" else f"{amount} {words} {POSTS}"
    return (f" {escape(sn)} assumes <strong>{role}</strong> against {_wte(sum(b.get(top, {}).values()))} in "
            f"{escape(bn)} ({_in_all(_totals(n, units), _totals(b, units), present)}).")


def staffing_html(scenarios: list[tuple[str, Scenario]]) -> str:
    """A table: one row per staff role (WTE per scenario, the services it works in), then all staff,
    a row per unit (posts on duty around the clock, WTE), and the establishment's cost a year."""
    if not scenarios or not any(s.services for _, s in scenarios):
        return ""
    per = {name: role_wte(s) for name, s in scenarios}
    roles = list(dict.fromkeys(r for name in per for r in per[name]))
    if not roles:
        return ""
    names = role_names([s for _, s in scenarios])
    units = role_units([s for _, s in scenarios])
    rows = []
    for role in roles:
        plural = _plural(role, names)
        row = {"Staff": plural[:1].upper() + plural[1:]}   # (not capitalize(): "CBT therapists" stays)
        for name, s in scenarios:
            by = per[name].get(role, {})
            where = ", ".join(f"{service_label(s, svc)} {_wte(w)}" for svc, w in by.items())
            row[name] = (_staff(sum(by.values()), units[role]) + (f" ({where})" if len(by) > 1 else "")) if by else "–"
        rows.append(row)
    totals = {name: _totals(per[name], units) for name in per}
    for unit in _present(units):   # one row per unit: posts on duty and WTE do not add up
        rows.append({"Staff": UNIT_TOTALS[unit], **{name: _staff(totals[name][unit], unit) for name, _ in scenarios}})
    costs = {name: establishment_cost(s) for name, s in scenarios}
    priced = any(costs.values())   # (no hourly costs in any: no row of "£0", and the note says so)
    if priced:
        rows.append({"Staff": "Establishment cost a year", **{name: money(c) for name, c in costs.items()}})
    plan = any(s.capacity_plan for _, s in scenarios)
    note = ("<p class=note>Whole-time equivalents as each scenario file states them"
            + (" at the start (a staffing plan changes them during the run)" if plan else "")
            + (f"; the cost is {'staff (WTE, or posts on duty)' if POSTS in units.values() else 'WTE'} × hourly "
               "cost × paid hours a year." if priced else "; no scenario gives its staff an hourly cost.")
            + (" \"On duty\": posts filled around the clock (paid 24 hours a day), counted apart from the WTE: "
               "each takes more than five WTE to fill." if POSTS in units.values() else "") + "</p>")
    return ("<h4>What each scenario assumes in staff</h4>"
            + table_html(pd.DataFrame(rows), "kpi") + note)


#: The total cost's label beside the activity cost, with how it prices the teams (the note of
#: :func:`cost_bases_html` under the table says more).
TOTAL_COST_BESIDE_ACTIVITY = "Total cost (each team at its staff establishment, other care at unit costs; see the note)"


def cost_bases_html(totals: dict[str, tuple[float, float]]) -> str:
    """Why a table shows the total cost beside a larger (or smaller) activity cost: ``totals`` maps
    a scenario's name ("" for a single run) to its (total cost, activity cost) a year; a note in
    words when both are there, "" else. The total counts each staffed team once, at its staff
    establishment, and other care at unit costs (kpi_definitions.Cost); the activity cost prices
    every contact at its unit cost, the teams' too (kpi_definitions.ActivityCost)."""
    known = {n: (t, a) for n, (t, a) in totals.items() if pd.notna(t) and pd.notna(a)}
    if not known:
        return ""
    above = [n for n, (t, a) in known.items() if a > t]
    below = [n for n, (t, a) in known.items() if a < t]

    def who(names: list[str]) -> str:
        named = [n for n in names if n]
        return f" (in {', '.join(named)})" if named and len(named) < len(known) else ""

    why = []
    if above:
        why.append(f"the activity cost is the higher{who(above)}: the teams' contacts, priced one by one at "
                   f"unit costs, would cost more than the staff the scenario pays for them")
    if below:
        why.append(f"the activity cost is the lower{who(below)}: the staff the scenario pays for cost more than "
                   f"their contacts at unit costs (time not spent in contacts is paid for too)")
    reading = (" Here " + "; ".join(why) + ".") if why else ""
    return ("<p class=note><strong>Total cost and activity cost</strong> are two ways of pricing the same care. "
            "The <em>total cost</em> counts each staffed team once, at its staff establishment (staff × hourly "
            "cost × paid hours, whether busy or not), and all other care at unit costs; it is the cost the "
            "summary speaks of. The <em>activity cost</em> prices all care, the teams' contacts included, at "
            f"unit costs: what the care given would cost bought item by item.{escape(reading, quote=False)}</p>")
