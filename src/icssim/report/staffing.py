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


def role_wte(s: Scenario) -> dict[str, dict[str, float]]:
    """WTE of each staff role, by service: ``{"therapist": {"cyp_ed": 25.0, "adult_ed": 18.0}}``."""
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for name, svc in s.services.items():
        for role, staff in svc.staff.items():
            out[role][name] = float(staff.wte)
    return out


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
    """``ed_integrated assumes 80 WTE of therapists against 43 in ed_fragmented (91.5 WTE in all
    against 49.1)``: the role that differs most, and the totals."""
    (bn, bs), (sn, ss) = base, scen
    b, n = role_wte(bs), role_wte(ss)
    roles = set(b) | set(n)
    if not roles:
        return ""
    diff = {r: sum(n.get(r, {}).values()) - sum(b.get(r, {}).values()) for r in roles}
    top = max(sorted(roles), key=lambda r: abs(diff[r]))
    if diff[top] == 0:
        return f" Both assume the same staff ({_wte(sum(sum(v.values()) for v in b.values()))} WTE)."
    tb, tn = (sum(sum(v.values()) for v in x.values()) for x in (b, n))
    names = role_names([bs, ss])
    return (f" {escape(sn)} assumes <strong>{_wte(sum(n.get(top, {}).values()))} WTE of "
            f"{escape(_plural(top, names))}"
            f"</strong> against {_wte(sum(b.get(top, {}).values()))} in {escape(bn)} ({_wte(tn)} WTE of staff in "
            f"all against {_wte(tb)}).")


def staffing_html(scenarios: list[tuple[str, Scenario]]) -> str:
    """A table: one row per staff role (WTE per scenario, the services it works in), then the total WTE
    and the establishment's cost a year."""
    if not scenarios or not any(s.services for _, s in scenarios):
        return ""
    per = {name: role_wte(s) for name, s in scenarios}
    roles = list(dict.fromkeys(r for name in per for r in per[name]))
    if not roles:
        return ""
    names = role_names([s for _, s in scenarios])
    rows = []
    for role in roles:
        plural = _plural(role, names)
        row = {"Staff": plural[:1].upper() + plural[1:]}   # (not capitalize(): "CBT therapists" stays)
        for name, s in scenarios:
            by = per[name].get(role, {})
            where = ", ".join(f"{service_label(s, svc)} {_wte(w)}" for svc, w in by.items())
            row[name] = (f"{_wte(sum(by.values()))} WTE" + (f" ({where})" if len(by) > 1 else "")) if by else "–"
        rows.append(row)
    rows.append({"Staff": "All staff", **{name: f"{_wte(sum(sum(v.values()) for v in per[name].values()))} WTE"
                                          for name, _ in scenarios}})
    rows.append({"Staff": "Establishment cost a year",
                 **{name: money(establishment_cost(s)) for name, s in scenarios}})
    plan = any(s.capacity_plan for _, s in scenarios)
    note = ("<p class=note>Whole-time equivalents as each scenario file states them"
            + (" at the start (a staffing plan changes them during the run)" if plan else "")
            + "; the cost is WTE × hourly cost × paid hours a year.</p>")
    return ("<h4>What each scenario assumes in staff</h4>"
            + table_html(pd.DataFrame(rows), "kpi") + note)
