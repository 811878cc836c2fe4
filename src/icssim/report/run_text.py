"""The findings of one run in plain words: waits, waiting-time standards, access, emergency use,
costs, the busiest resource, a growing waiting list, and how sure the figures are. Each function
returns HTML whose dynamic parts are escaped here; numbers are written by
:mod:`~icssim.report.numbers`."""

from __future__ import annotations

import math
from html import escape

from icssim.kinds import KINDS
from icssim.kpis import kpi_info, kpi_subjects
from icssim.report.labels import (
    WAITS_GROUP,
    cohort_label,
    group_title,
    in_sentence,
    plain_label,
    point_words,
    resource_label,
    service_label,
    wait_words,
)
from icssim.report.model_text import in_days
from icssim.report.numbers import Estimate, fmt
from icssim.report.pieces import text_html
from icssim.report.terminating import across_text, period_word, replications_text
from icssim.scenario.schema import Scenario
from icssim.units import UNIT_DAYS, span_text

#: KPIs a report leads with when its scenario does not say (``report.featured``), in order of preference.
HEADLINE = ("wait_to_treatment_median", "wait_to_assessment_median", "ae_attendances_per_year",
            "emergency_admissions_per_year", "cost_per_year")
#: KPIs the generic sentences of :func:`run_findings` already speak of
_IN_SENTENCES = ("referrals_per_year", "wait_to_assessment_median", "wait_to_treatment_median", "uptake_after_referral",
                 "share_treated", "share_ever_rejected", "share_dropped_out", "ae_attendances_per_year",
                 "emergency_admissions_per_year", "inpatient_admissions_per_year", "specialist_bed_days_per_year",
                 "share_intensive_12m", "cost_per_year", "cost_per_referral")


def featured(s: Scenario | None) -> list[str]:
    """The KPIs the scenario's domain leads with (``report.featured``), or [] when it does not say."""
    report = getattr(s, "report", None) if s is not None else None
    return list(report.featured) if report is not None else []


def featured_or(s: Scenario | None, default: tuple[str, ...]) -> list[str]:
    """The scenario's featured KPIs first, then ``default`` (each once)."""
    return list(dict.fromkeys([*featured(s), *default]))


def people(s: Scenario | None) -> str:
    """Whom the scenario's reports are about (``report.people``), ``people`` when it does not say."""
    report = getattr(s, "report", None) if s is not None else None
    return report.people if report is not None else "people"


def tile_keys(est: dict[str, Estimate], s: Scenario | None, shown) -> list[str]:
    """The KPIs of a run report's tiles: the scenario's featured ones (up to 6) when it names
    them, else the median wait to treatment, two standards, A&E and cost (and the wait to
    assessment when there is room). ``shown(k)`` says whether a KPI has a value worth a tile."""
    if featured(s):
        return [k for k in featured(s) if k in est and shown(k)][:6]
    stds = [k for k in kpi_subjects(est, "standard") if shown(k)][:2]
    keys = [k for k in ("wait_to_treatment_median",) if shown(k)] + stds
    keys += [k for k in ("ae_attendances_per_year", "cost_per_year") if shown(k)]
    if len(keys) < 5 and shown("wait_to_assessment_median"):
        keys.insert(1 if keys and keys[0] == "wait_to_treatment_median" else 0, "wait_to_assessment_median")
    return keys


def kpi_target(kpi: str, s: Scenario | None) -> float | None:
    """The target a KPI is judged against: its standard's, or its domain measure's
    (``health.measures.<name>.target``); None when it has none."""
    if s is None:
        return None
    name = kpi_info(kpi).standard
    if name is not None and name in s.scenario.standards:
        return s.scenario.standards[name].target
    health = getattr(s, "health", None)
    if kpi.startswith("share_at_exit_") and health is not None:
        measure = health.measures.get(kpi[len("share_at_exit_"):])
        return measure.target if measure is not None else None
    return None


def standard_who(std, s: Scenario | None = None) -> str:
    """Whom a standard covers: ``Urgent CYP``, ``Adults``, or ``All`` (urgency and cohort, when
    given), each cohort by its label in ``s`` (:func:`~icssim.report.labels.cohort_label`: ``Mental
    health attendances``, not ``mental_health``)."""
    cohorts = getattr(std, "cohort", None)
    names = [cohorts] if isinstance(cohorts, str) else list(cohorts or [])
    labels = [cohort_label(s, c) for c in names]
    cohort = " and ".join(labels[:1] + [_within(w) for w in labels[1:]])
    urgency = getattr(std, "urgency", None)
    text = " ".join(w for w in (urgency, _within(cohort) if urgency else cohort) if w)
    return text[:1].upper() + text[1:] if text else "All"


def _within(words: str) -> str:
    """A label within a phrase: its first letter in lower case ("Urgent adults"), unless it starts
    an abbreviation ("Urgent CYP")."""
    return words[:1].lower() + words[1:] if words[1:2].islower() else words


def standard_label(kpi: str, s: Scenario | None, with_target: bool = True) -> str:
    """``Routine: treatment within 4 weeks (target 95%)`` for a ``within_*`` KPI, else its label."""
    name = kpi_info(kpi).standard
    std = s.scenario.standards.get(name) if s is not None and name is not None else None
    if s is None or std is None:
        return kpi_info(kpi).label
    text = standard_words(std, s)
    return text + (f" (target {std.target:.0%})" if with_target else "")


def standard_words(std, s: Scenario) -> str:
    """A standard in words: its own ``label``, else whom it covers and what it measures."""
    if getattr(std, "label", None):
        return str(std.label)
    within = span_text(std.within, s.scenario.time_unit)
    if getattr(std, "from_", None) is not None:
        return f"{standard_who(std, s)}: {point_words(std.from_, s)} to {point_words(std.to, s)} within {within}"
    what = "treatment" if std.measure == "referral_to_treatment" else "assessment"
    return f"{standard_who(std, s)}: {what} within {within}"


def standard_sentence(name: str, est: Estimate, s: Scenario | None) -> str:
    """How one waiting-time standard fares, in words, with its CI and a verdict."""
    std = s.scenario.standards.get(name) if s is not None else None
    if s is None or std is None:
        return f"Standard {escape(name)}: {escape(est.text())} of patients started within it."
    target = std.target
    lead = (f"<strong>{escape(standard_words(std, s))}</strong> (target {target:.0%}): "
            f"{escape(est.text(target=target))}")
    if math.isnan(est.mean):
        return lead + " — no patient of this urgency was measured."
    return f"{lead} — {_verdict(est, target, 'the standard')}."


def _verdict(est: Estimate, target: float, what: str) -> str:
    """Meets / falls short of / too close to call ``what`` (the standard, the target), in HTML."""
    if est.has_ci:
        lo, hi = est.bounds()
        if lo >= target:
            return f'<span class="good">meets {what}</span>'
        if hi < target:
            gap = target - est.mean
            return f'<span class="bad">falls short of {what}</span> by about {gap * 100:.0f} percentage points'
        return '<span class="unsure">too close to call</span>: the interval spans the target'
    return (f'<span class="good">meets {what}</span>' if est.mean >= target else
            f'<span class="bad">falls short of {what}</span>') + " in this single replication"



def run_findings(est: dict[str, Estimate], s: Scenario | None, meta: dict, unsteady: str = "") -> list[str]:
    """The main findings of one run as HTML sentences (waits, standards, emergencies, costs), and
    ``unsteady``, the run's steady-state warning (:attr:`~icssim.report.pieces.RunData.steady_state_warning`)."""
    out = []
    n = int(meta.get("replications", 1) or 1)
    g = est.get
    if g("referrals_per_year"):
        window = _window_text(s, meta)
        out.append(f"About <strong>{escape(g('referrals_per_year').text(with_unit=False))}</strong> "
                   f"{escape(people(s))} a year asked for help (referred on or not) in the simulation{window}, "
                   f"in {replications_text(n, s)}.")
    sentences = [_waits_sentence(est, s), *(standard_sentence(name, est[key], s)
                                         for key, name in kpi_subjects(est, "standard").items()),
                 *_featured_sentences(est, s),
                 _access_sentence(est, s), _emergency_sentence(est, s), _cost_sentence(est, s),
                 _busiest_sentence(est, s), waiting_trend(unsteady)]
    return out + [text for text in sentences if text]


def _featured_sentences(est: dict[str, Estimate], s: Scenario | None) -> list[str]:
    """A sentence for each KPI the scenario features that the generic sentences do not speak of
    (its domain's outcome measures, the physical condition's events ...), judged against its
    target when it has one."""
    out = []
    for k in featured(s):
        e = est.get(k)
        if e is None or math.isnan(e.mean) or k in _IN_SENTENCES or kpi_info(k).standard is not None:
            continue
        target = kpi_target(k, s)
        lead = f"<strong>{escape(plain_label(k, s))}</strong>"
        if target is None:
            out.append(f"{lead}: {escape(e.text())}.")
        else:
            out.append(f"{lead} (target {target:.0%}): {escape(e.text(target=target))} — "
                       f"{_verdict(e, target, 'the target')}.")
    return out


def _waits_sentence(est: dict[str, Estimate], s: Scenario | None = None) -> str:
    """The generic waits' medians and 90th percentiles, in the scenario's words where it gives them
    (``report.waits``: "Waits from arrival: half started first clinical assessment …")."""
    g = est.get
    start, assessment, treatment = wait_words(s)
    wa, wt = g("wait_to_assessment_median"), g("wait_to_treatment_median")
    parts = []
    if wa and not math.isnan(wa.mean):
        p90 = g("wait_to_assessment_p90")
        who = "half of referred patients" if start == "Referral" else "half"
        parts.append(f"{who} started <strong>{escape(assessment)}</strong> within "
                     f"{escape(wa.text())}" + (f", and 90% within {escape(fmt(p90.mean, 'days'))}" if p90 else ""))
    if wt and not math.isnan(wt.mean):
        p90 = g("wait_to_treatment_p90")
        parts.append(f"half started <strong>{escape(treatment)}</strong> within {escape(wt.text())}"
                     + (f", and 90% within {escape(fmt(p90.mean, 'days'))}" if p90 else ""))
    if parts:
        return f"{escape(group_title(WAITS_GROUP, s))}: " + "; ".join(parts) + "."
    return ""


def _access_sentence(est: dict[str, Estimate], s: Scenario | None) -> str:
    g = est.get
    access = []
    has_treatment = s is None or any(KINDS[st.kind].treatment_list for st in s.pathway.steps.values())
    if not has_treatment:
        pass
    elif g("uptake_after_referral") and not math.isnan(g("uptake_after_referral").mean):
        access.append(f"{escape(g('uptake_after_referral').text())} of patients referred in the window had "
                      f"started treatment by the end of the run")
    elif g("share_treated") and not math.isnan(g("share_treated").mean):
        access.append(f"{escape(g('share_treated').text())} of patients who asked for help in the window had "
                      f"started treatment by the end of the run")
    if g("share_ever_rejected") and g("share_ever_rejected").mean > 0:
        access.append(f"{escape(g('share_ever_rejected').text())} had a referral rejected at least once")
    if g("share_dropped_out") and g("share_dropped_out").mean > 0:
        access.append(f"{escape(g('share_dropped_out').text())} dropped out or were discharged after "
                      f"missed appointments")
    if access:
        return _sentence("; ".join(access)) + "."
    return ""


def _emergency_sentence(est: dict[str, Estimate], s: Scenario | None) -> str:
    g = est.get
    emerg = []
    for key, words in (("ae_attendances_per_year", "A&amp;E attendances"),
                       ("emergency_admissions_per_year", "emergency admissions"),
                       ("inpatient_admissions_per_year", "specialist inpatient admissions"),
                       ("specialist_bed_days_per_year", "specialist bed-days")):
        e = g(key)
        if e is not None and e.mean > 0:
            emerg.append(f"{words}: <strong>{escape(e.text())}</strong>")
    e = g("share_intensive_12m")
    if e is not None and not math.isnan(e.mean) and e.mean > 0:
        emerg.append(f"<strong>{escape(e.text())}</strong> of patients were admitted or in day care within "
                     f"12 months of asking for help")
    if emerg:
        ae, adm = g("ae_attendances_per_year"), g("emergency_admissions_per_year")
        same = ("; every A&amp;E attendance led to an emergency admission in this scenario, so the two "
                "counts are equal" if ae is not None and adm is not None and ae.mean > 0
                and math.isclose(ae.mean, adm.mean) else "")
        return "Emergency and inpatient use — " + "; ".join(emerg) + same + "."
    elif s is not None and any(KINDS[st.kind].counts_ae or KINDS[st.kind].counts_admission
                               for st in s.pathway.steps.values()):
        return "No A&amp;E attendances or emergency admissions were simulated."
    return ""


def _cost_sentence(est: dict[str, Estimate], s: Scenario | None = None) -> str:
    cost = est.get("cost_per_year")
    if cost is not None and cost.mean == 0:
        return "The scenario gives no unit costs, so no costs were counted."
    elif cost is not None:
        text = f"Total cost <strong>{escape(cost.text())}</strong>"
        cpr = est.get("cost_per_referral")
        if cpr is not None and not math.isnan(cpr.mean):
            text += f", or {escape(fmt(cpr.mean, 'GBP'))} per person asking for help"
        services = {svc: est[k].mean for k, svc in kpi_subjects(est, "service").items() if est[k].mean > 0}
        if services and cost.mean > 0:
            top, value = max(services.items(), key=lambda kv: kv[1])
            text += f"; the largest share ({value / cost.mean:.0%}) is spent in {escape(service_label(s, top))}"
        staff = est.get("staff_cost_per_year")
        if staff is not None and staff.mean > 0:   # in the total, in place of its teams' unit costs
            share = f" ({staff.mean / cost.mean:.0%})" if cost.mean > 0 else ""
            text += (f". Of the total, {escape(fmt(staff.mean, 'GBP per year'))}{share} is the staff establishment "
                     f"the scenario assumes: each team is costed by its establishment, other care (e.g. GP, "
                     f"A&amp;E, beds) at unit costs")
        return text + "."
    return ""


def _busiest_sentence(est: dict[str, Estimate], s: Scenario | None = None) -> str:
    util = {res: est[k] for k, res in kpi_subjects(est, "resource").items() if not math.isnan(est[k].mean)}
    if util:
        name, e = max(util.items(), key=lambda kv: kv[1].mean)
        busy = (f"The busiest resource is <strong>{escape(resource_label(s, name))}</strong> at {escape(e.text())} "
                "utilisation")
        if e.mean >= 0.9:
            busy += ": it is close to or at capacity, so it limits how fast patients move on"
        return busy + "."
    return ""


def how_sure(est: dict[str, Estimate], meta: dict, s: Scenario | None = None) -> str:
    """One paragraph on the precision of the estimates (across simulated days, for a terminating run)."""
    n = int(meta.get("replications", 1) or 1)
    if n <= 1:
        return ("<strong>How sure are we?</strong> Only one replication was run, so these figures are a "
                "single possible outcome with no confidence intervals. Run again with "
                "<code>--replications 10</code> (or <code>--precision 0.05</code>) before relying on them.")
    rel = {k: e.relative_half_width for k, e in est.items()
           if k in HEADLINE + ("wait_to_treatment_mean", "referrals_per_year")
           and not math.isnan(e.relative_half_width)}
    text = (f"<strong>How sure are we?</strong> Each range is a 95% confidence interval across {across_text(n, s)} "
            f"(Student t), clipped at natural limits such as 0 and 100%. "
            f"It reflects random variation in the simulation, not uncertainty in the input values.")
    if rel:
        worst = max(rel, key=rel.get)
        text += (f" The widest headline interval is ±{rel[worst]:.0%} of its mean "
                 f"({escape(in_sentence(plain_label(worst, s)))})")
        more = "replications" if period_word(s) is None else "simulated days"
        text += (f", so more {more} would sharpen it (<code>--precision 0.05</code> adds them until "
                 "every chosen KPI is within ±5%)." if rel[worst] > 0.1 else ".")
    pr = meta.get("precision")
    if pr:
        state = "was reached" if pr.get("reached") else "was NOT reached (replication cap hit)"
        text += f" A precision target of ±{pr.get('target', 0):.0%} {state}."
    return text


def _window_text(s: Scenario | None, meta: dict) -> str:
    if s is None:
        return f" over a run of {escape(str(meta.get('horizon', '?')))}"
    if period_word(s) is not None:  # a terminating run: each replication is a day from empty
        return f" of a {period_word(s)} that starts empty"
    h, w = s.scenario.horizon, s.scenario.warmup
    unit = s.scenario.time_unit
    years = (in_days(h, s) - in_days(w, s)) / UNIT_DAYS["year"]
    warm = f" after a warm-up of {escape(span_text(w, unit))}" if w.value > 0 else " (no warm-up)"
    return f" over an observation window of {years:.3g} years{warm}"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def waiting_trend(text: str) -> str:
    """The steady-state warning ``text`` (plain; "" when none) as a finding."""
    return f'<span class="bad">Not in a steady state</span>: {text_html(text)}' if text else ""
