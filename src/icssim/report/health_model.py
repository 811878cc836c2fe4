"""The course of illness of a run (the scenario's ``health:`` block) in words and tables, for the
model section of the reports (STRESS-DES "model logic"): states, where people start, transitions
with their hazards by pathway status, treatment, mortality, follow-up and re-referral."""

from __future__ import annotations

from html import escape

import pandas as pd

from icssim.distributions import describe_dist
from icssim.report.pieces import table_html, ul_html
from icssim.scenario.health import STATUSES, Health, HealthReturn, HealthState, Transition
from icssim.scenario.schema import Scenario
from icssim.units import span_text


def health_model_html(s: Scenario) -> str:
    """The course of illness as the model runs it, or "" for a scenario without one."""
    h = s.health
    if h is None:
        return ""
    unit = s.scenario.time_unit
    return ("<h3>2.6 Course of illness</h3>"
            + _overview_html(h, unit)
            + "<p><strong>States.</strong></p>" + table_html(pd.DataFrame(_state_rows(h, unit)))
            + "<p><strong>Transitions</strong> (hazards while untreated, waiting and treated):</p>"
            + table_html(pd.DataFrame([_transition_row(t) for t in h.transitions]))
            + _returns_html(h, unit))


def _overview_html(h: Health, unit: str) -> str:
    follow = "to the end of life (age 101)" if h.follow_up == "lifetime" else f"for {span_text(h.follow_up, unit)}"
    items = [f"Each person is followed {follow} from the day they ask for help, whether or not they stay in "
             f"the pathway, as a continuous-time multi-state process; costs are discounted at "
             f"{h.discount.costs:.1%} a year and QALYs at {h.discount.qalys:.1%}."]
    if h.by is not None:
        items.append(f"Parameters may differ by the person's {escape(h.by)}.")
    items.append("Starting states: " + escape(_start_text(h)) + ".")
    treated = ("Treated hazards apply from the start of treatment while the person is in the pathway")
    if h.treated_hazards_for is not None:
        treated += (f", and for at least {span_text(h.treated_hazards_for, unit)} from each start of treatment, "
                    f"also after leaving it")
    items.append(treated + "; waiting hazards while waiting in the pathway; untreated hazards otherwise.")
    if h.untreated_duration is not None:
        u = h.untreated_duration
        items.append(f"Time ill before treatment (the {escape(u.attribute)} attribute plus the wait to treatment) "
                     f"scales the treated hazards of the marked transitions by exp(−{u.effect_per_year:g} × years "
                     f"beyond {span_text(u.after, unit)})" + (" (the null case: no effect)" if u.effect_per_year == 0
                                                             else "") + ".")
    if h.on_admission:
        items.append(f"A first admission moves the person to {escape(h.on_admission)}.")
    if h.mortality is not None:
        m = h.mortality
        items.append(f"Background mortality from the {escape(m.life_table)} life table by age "
                     f"({escape(m.age_attribute)}) and sex ({m.female_share:.0%} female), times each state's rate "
                     f"ratio; a death takes the person out of the pathway.")
    if h.escalation:
        items.append("Entering a state while waiting escalates: " + escape(", ".join(
            f"{state} → {kind}" for state, kind in h.escalation.items())) + ".")
    return ul_html(items)


def _start_text(h: Health) -> str:
    parts = []
    for level, shares in h.start_by_level().items():
        text = ", ".join(f"{state} {share:.0%}" for state, share in shares.items() if share > 0)
        parts.append(f"{level}: {text}" if level is not None else text)
    return "; ".join(parts)


def _per_level(value: float | dict[str, float], fmt: str) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{level} {v:{fmt}}" for level, v in value.items())
    return f"{value:{fmt}}"


def _state_rows(h: Health, unit: str) -> list[dict[str, str]]:
    return [{"State": f"{name} ({st.label})" if st.label else name,
             "Utility": _per_level(st.utility, ".2f"),
             "Mortality rate ratio": _per_level(st.mortality_rr, "g"),
             "Remission": "yes" if st.remission else "",
             "Then": _tunnel_text(st, unit)} for name, st in h.states.items()]


def _tunnel_text(st: HealthState, unit: str) -> str:
    if st.then is None or st.after is None:
        return "absorbing" if st.absorbing else ""
    return f"{st.then} after {span_text(st.after, unit)}"


def _transition_row(t: Transition) -> dict[str, str]:
    who = []
    if t.cohorts:
        who.append(", ".join(t.cohorts))
    if t.when:
        who.extend(f"{attr}: {', '.join(levels)}" for attr, levels in t.when.items())
    rates = t.rate.by_status()
    return {"From": ", ".join(t.from_), "To": t.to, "Who": "; ".join(who) or "everyone",
            **{status.capitalize(): str(rate) for status, rate in zip(STATUSES, rates)},
            "Scaled by time untreated": "yes" if t.scaled_by_untreated_duration else ""}


def _returns_html(h: Health, unit: str) -> str:
    if not h.returns:
        return ""
    return "<p><strong>Re-referral by the course of illness.</strong></p>" + ul_html(
        [escape(_return_text(name, r, unit)) for name, r in h.returns.items()])


def _return_text(name: str, r: HealthReturn, unit: str) -> str:
    after = f"leaving with {', '.join(r.outcomes)}" if r.outcomes else "leaving the pathway"
    moves = f"a move from {', '.join(r.from_)} into {', '.join(r.to)}" if r.from_ else f"entering {', '.join(r.to)}"
    text = (f"{name}: after {after}, {moves}{' (or being there on leaving)' if r.at_exit else ''} sends the person "
            f"back to {r.step} with probability {r.probability:g}, after a delay ({describe_dist(r.delay, unit)}), if "
            f"they are still there then")
    return text
