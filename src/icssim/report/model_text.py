"""The model described in STRESS-DES terms: resources, steps, cohorts and routing in words, as rows
of the report's tables, generated from a scenario."""

from __future__ import annotations

import math

from icssim import units
from icssim.distributions import describe_dist
from icssim.kinds import KINDS
from icssim.pathway_graph import flatten, routings
from icssim.report.numbers import fmt
from icssim.scenario.findings import cohort_rate
from icssim.scenario.schema import CaseloadPerWte, Categorical, Scenario
from icssim.units import UNIT_DAYS, Span, canonical_unit, span_text


def in_days(span: Span, s: Scenario) -> float:
    """A span in days; a span written without a unit is in the scenario's time unit."""
    return units.in_days(span, s.scenario.time_unit)


def per_year(s: Scenario, name: str) -> float:
    """A cohort's referral rate in patients per year."""
    unit = s.scenario.time_unit
    return cohort_rate(s, name) * UNIT_DAYS["year"] / UNIT_DAYS[canonical_unit(unit)]


def queue_words(q: str) -> str:
    return ("priority: most urgent first (by the urgency attribute), first come first served within a level"
            if q == "priority" else "first come, first served")


def routing_words(step) -> str:
    words = {"next": "then", "on_reject": "if rejected", "dropout": "after dropping out",
             "missed": "after missed appointments", "age_limit": "at the age limit"}
    parts = []
    for kind, branches in routings(step):
        targets = ", ".join(f"{t}" + (f" ({r})" if r else "") for t, r in flatten(branches))
        parts.append(f"{words[kind]} → {targets}")
    return "; ".join(parts)


def attribute_words(attrs: dict, unit: str) -> str:
    parts = []
    for name, d in attrs.items():
        if isinstance(d, Categorical):
            if len(d.values) == 1:
                parts.append(f"{name} = {d.values[0]}")
            elif d.weights:
                total = sum(d.weights)
                parts.append(f"{name}: " + ", ".join(f"{v} {w / total:.0%}" for v, w in zip(d.values, d.weights)))
            else:
                parts.append(f"{name}: " + "/".join(d.values) + " (equally likely)")
        else:
            parts.append(f"{name}: {describe_dist(d)}")
    return "; ".join(parts)


def resource_rows(s: Scenario) -> list[dict]:
    """One row per staff pool, caseload and bed pool, with capacity and costs."""
    rows = []
    for name, svc in s.services.items():
        for role, st in svc.staff.items():
            rows.append({"Service": name, "Resource": f"staff: {st.label or role}", "Amount": f"{st.wte:g} WTE",
                         "Servers": f"{math.ceil(st.wte)}",
                         "Availability": (f"{st.clinical_hours_per_week:g} clinical hours/week each"
                                          if st.clinical_hours_per_week else "always available"),
                         "Cost": f"£{st.cost_per_hour:g}/hour" if st.cost_per_hour else ""})
        if svc.caseload is not None:
            if isinstance(svc.caseload, CaseloadPerWte):
                staff = svc.staff.get(svc.caseload.role)
                wte, role = (staff.wte, staff.label or svc.caseload.role) if staff else (0, svc.caseload.role)
                slots = f"{svc.caseload.per_wte:g} per WTE of {role} ({svc.caseload.per_wte * wte:g})"
            else:
                slots = f"{svc.caseload}"
            rows.append({"Service": name, "Resource": "caseload slots", "Amount": slots, "Servers": "",
                         "Availability": "held for a whole treatment episode", "Cost": ""})
        if svc.beds:
            rows.append({"Service": name, "Resource": "beds", "Amount": f"{svc.beds}", "Servers": f"{svc.beds}",
                         "Availability": "held for the length of stay",
                         "Cost": f"£{svc.cost_per_bed_day:,.0f}/bed-day" if svc.cost_per_bed_day else ""})
        if svc.cost_per_contact is not None:
            rows.append({"Service": name, "Resource": "contacts", "Amount": "", "Servers": "",
                         "Availability": "", "Cost": f"£{svc.cost_per_contact:,.0f}/contact"})
    return rows


def step_rows(s: Scenario) -> list[dict]:
    unit = s.scenario.time_unit
    rows = []
    for name, st in s.pathway.steps.items():
        res = []
        if st.staff:
            res.append("staff: " + ", ".join(st.staff))
        if st.caseload:
            res.append("a caseload slot")
        if st.bed:
            res.append("a bed")
        activity = []
        if st.sessions is not None:
            activity.append(f"{describe_dist(st.sessions.count)} sessions every {span_text(st.sessions.every, unit)}")
            if st.duration is not None:
                activity.append(f"{describe_dist(st.duration, unit)} of staff time each")
        elif st.duration is not None:
            activity.append(("length of stay " if KINDS[st.kind].is_stay else "")
                            + describe_dist(st.duration, unit))
        rules = []
        if st.handoff is not None:
            rules.append(f"referral takes {describe_dist(st.handoff, unit)} to arrive")
        if st.accept:
            rules.append(f"accepts only if {st.accept}")
        if st.dropout is not None:
            rules.append(f"drop-out while waiting, mean time {span_text(st.dropout.mean_time, unit)}")
        if st.missed is not None:
            rules.append(f"{st.missed.probability:.0%} of appointments missed; discharged after "
                         f"{st.missed.discharge_after} in a row")
        if st.age_limit is not None:
            rules.append(f"leaves at age {st.age_limit.max_age:g}")
        if st.monitoring is not None:
            rules.append(f"physical-health monitoring every {span_text(st.monitoring.every, unit)}")
        kind = KINDS[st.kind]
        rows.append({"Step": name + (f" ({st.label})" if st.label else ""), "Kind": kind.label,
                     "Service": st.service or "", "Uses": "; ".join(res),
                     "Activity": "; ".join(activity), "Queue": "" if not res else st.queue,
                     "Rules": "; ".join(rules),
                     "Routing": f"exit: {st.outcome or name}" if kind.is_exit else routing_words(st)})
    return rows


def cohort_rows(s: Scenario) -> list[dict]:
    rows = []
    for name, c in s.cohorts.items():
        rate = per_year(s, name)
        how = (f"{c.rate_per_100k_per_year:g} per 100,000 a year × population {s.scenario.population:,}"
               if c.rate_per_100k_per_year else f"{c.rate}")
        rows.append({"Cohort": name + (f" ({c.label})" if c.label else ""),
                     "Referrals a year": fmt(rate, "per year", False), "From": how, "Enters at": c.entry,
                     "Attributes": attribute_words(c.attributes, s.scenario.time_unit)})
    return rows
