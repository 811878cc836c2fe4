"""Words for the HTML report: numbers with their CIs, plain-language findings, and the model
described in STRESS-DES terms, all generated from a scenario and its stored results.

Every function returns HTML fragments whose dynamic parts are escaped here; the page
itself is assembled in :mod:`icssim.report`.
"""

from __future__ import annotations

from icssim import units

import math
from dataclasses import dataclass
from html import escape

import numpy as np
import pandas as pd

from icssim.distributions import describe_dist
from icssim.kinds import KINDS
from icssim.pathway_graph import flatten, routings
from icssim.kpis import kpi_info, kpi_subjects
from icssim.scenario.findings import cohort_rate
from icssim.scenario.schema import Categorical, CaseloadPerWte, Scenario
from icssim.units import UNIT_DAYS, Span, span_text

# ----------------------------------------------------------------------------- numbers


@dataclass(frozen=True)
class Estimate:
    """A KPI's mean with its 95% confidence interval (NaN bounds when there is one replication)."""

    kpi: str
    mean: float
    lower: float
    upper: float
    n: int

    @property
    def has_ci(self) -> bool:
        return self.n > 1 and not (math.isnan(self.lower) or math.isnan(self.upper))

    @property
    def unit(self) -> str:
        return kpi_info(self.kpi).unit

    def bounds(self) -> tuple[float, float]:
        """The CI clipped to the quantity's natural range (never below 0; shares at most 1)."""
        lo, hi = self.lower, self.upper
        if self.unit in ("days", "per year", "share", "GBP", "GBP per year", "patients"):
            lo, hi = max(lo, 0.0), max(hi, 0.0)
        if self.unit == "share":
            lo, hi = min(lo, 1.0), min(hi, 1.0)
        return lo, hi

    def text(self, with_unit: bool = True) -> str:
        """``3.9 days (95% CI 3.0 to 4.8)``, or just the value without a CI."""
        value = fmt(self.mean, self.unit, with_unit)
        if not self.has_ci:
            return value
        return f"{value} (95% CI {self.ci_text()})"

    def ci_text(self) -> str:
        """The CI's bounds, written with the same precision as the mean."""
        if not self.has_ci:
            return "–"
        lo, hi = self.bounds()
        like = self.mean if self.unit not in ("share",) and not self.unit.startswith("GBP") else None
        return f"{fmt(lo, self.unit, False, like)} to {fmt(hi, self.unit, False, like)}"

    @property
    def relative_half_width(self) -> float:
        if not self.has_ci or self.mean == 0:
            return math.nan
        return (self.upper - self.lower) / 2 / abs(self.mean)


def estimates(table: pd.DataFrame) -> dict[str, Estimate]:
    """Estimates keyed by KPI from a kpis.csv-like table (columns kpi, mean, lower, upper, n)."""
    out = {}
    for row in table.itertuples():
        n = int(row.n) if not pd.isna(row.n) else 0
        out[row.kpi] = Estimate(row.kpi, float(row.mean), float(row.lower), float(row.upper), n)
    return out


def sig(x: float, digits: int = 3) -> float:
    """``x`` rounded to ``digits`` significant figures."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - int(math.floor(math.log10(abs(x)))))


def number(x: float, like: float | None = None) -> str:
    """A plain number to about three significant figures, with thousands separators. With
    ``like``, the precision suits ``like`` instead (so a CI's bounds match its mean)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    a = abs(x) if like is None or math.isnan(like) else abs(like)
    if a == 0:
        return "0" if x == 0 else f"{sig(x, 2):g}"
    digits = int(math.floor(math.log10(a)))
    if digits >= 2:
        q = 10 ** (digits - 2)
        return f"{round(x / q) * q:,.0f}"
    decimals = 1 if digits >= 0 else 1 - digits
    return f"{x:,.{decimals}f}"


def money(x: float) -> str:
    if math.isnan(x):
        return "n/a"
    if abs(x) >= 1e6:
        return f"£{x / 1e6:,.2f} million"
    return f"£{sig(x):,.0f}" if abs(x) >= 100 else f"£{x:,.2f}"


def fmt(x: float, unit: str, with_unit: bool = True, like: float | None = None) -> str:
    """``x`` formatted for its unit: shares as percentages, GBP with a pound sign, days with 'days'."""
    if x is None or math.isnan(x):
        return "n/a"
    if unit == "share":
        p = x * 100
        return f"{p:.0f}%" if abs(p) >= 10 or p == 0 else f"{p:.1f}%"
    if unit.startswith("GBP"):
        text = money(x)
        return text + (" a year" if with_unit and unit == "GBP per year" else "")
    text = number(x, like)
    if not with_unit or not unit:
        return text
    if unit == "per year":
        return f"{text} a year"
    if unit == "days" and text == "1":
        return "1 day"
    return f"{text} {unit}"


def fmt_diff(x: float, unit: str, with_unit: bool = True, like: float | None = None) -> str:
    """A signed difference: percentage points for shares, otherwise the unit's own format."""
    if x is None or math.isnan(x):
        return "n/a"
    sign = "+" if x > 0 else ("−" if x < 0 else "±")
    if unit == "share":
        p = abs(x) * 100
        text = f"{sign}{p:.0f}" if abs(like * 100 if like is not None else p) >= 10 else f"{sign}{p:.1f}"
        return text + (" points" if with_unit else "")
    if like is not None and not unit.startswith("GBP"):
        like = abs(like)
    return sign + fmt(abs(x), unit, with_unit, like if not unit.startswith("GBP") else None)


def diff_ci_text(lower: float, upper: float, unit: str, like: float | None = None) -> str:
    """``−10.4 to +116 days``: a difference's CI with the unit written once."""
    if pd.isna(lower) or pd.isna(upper):
        return "–"
    like = max(abs(lower), abs(upper))
    return f"{fmt_diff(lower, unit, False, like)} to {fmt_diff(upper, unit, True, like)}"


def in_days(span: Span, s: Scenario) -> float:
    """A span in days; a span written without a unit is in the scenario's time unit."""
    return units.in_days(span, s.scenario.time_unit)


def per_year(s: Scenario, name: str) -> float:
    """A cohort's referral rate in patients per year."""
    unit = s.scenario.time_unit
    from icssim.units import canonical_unit

    return cohort_rate(s, name) * UNIT_DAYS["year"] / UNIT_DAYS[canonical_unit(unit)]


# ----------------------------------------------------------------------------- findings of a run
#: KPIs shown as the headline tiles of a run report, in order of preference.
HEADLINE = ("wait_to_treatment_median", "wait_to_assessment_median", "ae_attendances_per_year",
            "emergency_admissions_per_year", "cost_per_year")


def standard_who(std) -> str:
    """Whom a standard covers: ``Urgent cyp``, ``Adults``, or ``All`` (urgency and cohort, when given)."""
    cohort = getattr(std, "cohort", None)
    if cohort and len(cohort) <= 4:  # an abbreviation such as CYP
        cohort = cohort.upper()
    words = [w for w in (getattr(std, "urgency", None), cohort) if w]
    text = " ".join(words)
    return text[:1].upper() + text[1:] if words else "All"


def standard_label(kpi: str, s: Scenario | None, with_target: bool = True) -> str:
    """``Routine: treatment within 4 weeks (target 95%)`` for a ``within_*`` KPI, else its label."""
    name = kpi_info(kpi).standard
    std = s.scenario.standards.get(name) if s is not None and name is not None else None
    if std is None:
        return kpi_info(kpi).label
    what = "treatment" if std.measure == "referral_to_treatment" else "assessment"
    text = f"{standard_who(std)}: {what} within {span_text(std.within, s.scenario.time_unit)}"
    return text + (f" (target {std.target:.0%})" if with_target else "")


def standard_sentence(name: str, est: Estimate, s: Scenario | None) -> str:
    """How one waiting-time standard fares, in words, with its CI and a verdict."""
    std = s.scenario.standards.get(name) if s is not None else None
    if std is None:
        return f"Standard {escape(name)}: {escape(est.text())} of patients started within it."
    target = std.target
    what = "treatment" if std.measure == "referral_to_treatment" else "assessment"
    lead = (f"<strong>{escape(standard_who(std))} referrals, {escape(what)} within "
            f"{escape(span_text(std.within, s.scenario.time_unit))}</strong> (target {target:.0%}): "
            f"{escape(est.text())}")
    if math.isnan(est.mean):
        return lead + " — no patient of this urgency was measured."
    if est.has_ci:
        lo, hi = est.bounds()
        if lo >= target:
            verdict = '<span class="good">meets the standard</span>'
        elif hi < target:
            gap = target - est.mean
            verdict = (f'<span class="bad">falls short of the standard</span> by about '
                       f"{gap * 100:.0f} percentage points")
        else:
            verdict = '<span class="unsure">too close to call</span>: the interval spans the target'
    else:
        verdict = ('<span class="good">meets the standard</span>' if est.mean >= target else
                   '<span class="bad">falls short of the standard</span>') + " in this single replication"
    return f"{lead} — {verdict}."


def run_findings(est: dict[str, Estimate], s: Scenario | None, meta: dict,
                 ts: pd.DataFrame | None) -> list[str]:
    """The main findings of one run as HTML sentences (waits, standards, emergencies, costs)."""
    out = []
    n = int(meta.get("replications", 1) or 1)
    g = est.get
    if g("referrals_per_year"):
        window = _window_text(s, meta)
        out.append(f"About <strong>{escape(g('referrals_per_year').text(with_unit=False))}</strong> referrals "
                   f"a year were simulated{window}, in {n} replication{'s' if n != 1 else ''}.")
    wa, wt = g("wait_to_assessment_median"), g("wait_to_treatment_median")
    parts = []
    if wa and not math.isnan(wa.mean):
        p90 = g("wait_to_assessment_p90")
        parts.append(f"half of referred patients started <strong>assessment</strong> within "
                     f"{escape(wa.text())}" + (f", and 90% within {escape(fmt(p90.mean, 'days'))}" if p90 else ""))
    if wt and not math.isnan(wt.mean):
        p90 = g("wait_to_treatment_p90")
        parts.append(f"half started <strong>treatment</strong> within {escape(wt.text())}"
                     + (f", and 90% within {escape(fmt(p90.mean, 'days'))}" if p90 else ""))
    if parts:
        out.append("Waits from referral: " + "; ".join(parts) + ".")
    for key, name in kpi_subjects(est, "standard").items():
        out.append(standard_sentence(name, est[key], s))
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
        out.append(_sentence("; ".join(access)) + ".")
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
        out.append("Emergency and inpatient use — " + "; ".join(emerg) + ".")
    elif s is not None and any(KINDS[st.kind].counts_ae or KINDS[st.kind].counts_admission
                               for st in s.pathway.steps.values()):
        out.append("No A&amp;E attendances or emergency admissions were simulated.")
    cost = g("cost_per_year")
    if cost is not None and cost.mean == 0:
        out.append("The scenario gives no unit costs, so no costs were counted.")
    elif cost is not None:
        text = f"Total cost <strong>{escape(cost.text())}</strong>"
        cpr = g("cost_per_referral")
        if cpr is not None and not math.isnan(cpr.mean):
            text += f", or {escape(fmt(cpr.mean, 'GBP'))} per referral"
        services = {svc: est[k].mean for k, svc in kpi_subjects(est, "service").items() if est[k].mean > 0}
        if services and cost.mean > 0:
            top, value = max(services.items(), key=lambda kv: kv[1])
            text += f"; the largest share ({value / cost.mean:.0%}) is spent in {escape(top)}"
        out.append(text + ".")
    util = {res: est[k] for k, res in kpi_subjects(est, "resource").items() if not math.isnan(est[k].mean)}
    if util:
        name, e = max(util.items(), key=lambda kv: kv[1].mean)
        busy = f"The busiest resource is <strong>{escape(name)}</strong> at {escape(e.text())} utilisation"
        if e.mean >= 0.9:
            busy += ": it is close to or at capacity, so it limits how fast patients move on"
        out.append(busy + ".")
    trend = waiting_trend(ts, s)
    if trend:
        out.append(trend)
    return out


def how_sure(est: dict[str, Estimate], meta: dict) -> str:
    """One paragraph on the precision of the estimates."""
    n = int(meta.get("replications", 1) or 1)
    if n <= 1:
        return ("<strong>How sure are we?</strong> Only one replication was run, so these figures are a "
                "single possible outcome with no confidence intervals. Run again with "
                "<code>--replications 10</code> (or <code>--precision 0.05</code>) before relying on them.")
    rel = {k: e.relative_half_width for k, e in est.items()
           if k in HEADLINE + ("wait_to_treatment_mean", "referrals_per_year")
           and not math.isnan(e.relative_half_width)}
    text = (f"<strong>How sure are we?</strong> Each range is a 95% confidence interval across {n} "
            f"independent replications (Student t), clipped at natural limits such as 0 and 100%. "
            f"It reflects random variation in the simulation, not uncertainty in the input values.")
    if rel:
        worst = max(rel, key=rel.get)
        text += (f" The widest headline interval is ±{rel[worst]:.0%} of its mean "
                 f"({escape(kpi_info(worst).label.lower())})")
        text += (", so more replications would sharpen it (<code>--precision 0.05</code> adds them until "
                 "every chosen KPI is within ±5%)." if rel[worst] > 0.1 else ".")
    pr = meta.get("precision")
    if pr:
        state = "was reached" if pr.get("reached") else "was NOT reached (replication cap hit)"
        text += f" A precision target of ±{pr.get('target', 0):.0%} {state}."
    return text


def _window_text(s: Scenario | None, meta: dict) -> str:
    if s is None:
        return f" over a run of {escape(str(meta.get('horizon', '?')))}"
    h, w = s.scenario.horizon, s.scenario.warmup
    unit = s.scenario.time_unit
    years = (in_days(h, s) - in_days(w, s)) / UNIT_DAYS["year"]
    warm = f" after a warm-up of {escape(span_text(w, unit))}" if w.value > 0 else " (no warm-up)"
    return f" over an observation window of {years:.3g} years{warm}"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def waiting_trend(ts: pd.DataFrame | None, s: Scenario | None) -> str:
    """A warning when the number waiting keeps rising through the observation window."""
    if ts is None or ts.empty or s is None:
        return ""
    cols = [c for c in ts.columns if c.startswith("waiting_")]
    if not cols:
        return ""
    warm = in_days(s.scenario.warmup, s)
    window = ts[ts["time"] >= warm]
    if window["time"].nunique() < 10:
        return ""
    mean = window.groupby("time")[cols].mean()
    total = mean.sum(axis=1)
    k = max(len(total) // 5, 1)
    first, last = float(total.iloc[:k].mean()), float(total.iloc[-k:].mean())
    t = total.index.to_numpy(dtype=float)
    slope = float(np.polyfit(t, total.to_numpy(dtype=float), 1)[0]) if len(t) > 2 else 0.0
    rise = slope * (t[-1] - t[0])  # fitted rise over the window
    level = float(total.mean())
    if not (rise > 0.3 * max(level, 1.0) and last > 1.2 * first and last - first >= 5):
        return ""
    growth = (mean.iloc[-k:].mean() - mean.iloc[:k].mean()).sort_values(ascending=False)
    step = growth.index[0].removeprefix("waiting_")
    return (f'<span class="bad">The waiting list keeps growing</span>: the number waiting rose from about '
            f"{first:,.0f} to {last:,.0f} during the observation window, most at "
            f"<strong>{escape(step)}</strong>. Demand exceeds capacity there, so waits lengthen the longer "
            f"the model runs and the averages above depend on the run length.")


# ----------------------------------------------------------------------------- comparisons
#: KPIs summarised for patients and for costs on a comparison's first screen.
PATIENT_KPIS = ("wait_to_assessment_median", "wait_to_treatment_median", "wait_to_treatment_p90",
                "uptake_after_referral", "share_treated", "share_intensive_12m", "share_ever_rejected", "share_dropped_out", "duplicated_assessments_per_year",
                "ae_attendances_per_year", "emergency_admissions_per_year", "inpatient_admissions_per_year",
                "specialist_bed_days_per_year", "still_waiting_at_end")
COST_KPIS = ("cost_per_year", "cost_per_referral")


def difference_verdict(row, better: str) -> tuple[str, str]:
    """(css class, words) for a paired difference: clearly better / worse, or no clear difference."""
    lo, hi = row.diff_lower, row.diff_upper
    if pd.isna(lo) or pd.isna(hi):
        return "unsure", "single replication: no interval"
    if lo <= 0 <= hi:
        return "unsure", "no clear difference"
    up = lo > 0
    if better == "neutral":
        return "neutral", "clearly higher" if up else "clearly lower"
    good = (up and better == "higher") or (not up and better == "lower")
    return ("good", "clearly better") if good else ("bad", "clearly worse")


def difference_sentence(row, base_mean: float | None, new_mean: float | None,
                        label_override: str | None = None) -> str:
    """``Referral to treatment, median: 110 → 45 days (−65 days, 95% CI −80 to −50; −59%) — clearly better``."""
    info = kpi_info(row.kpi)
    unit = row.unit if isinstance(row.unit, str) else info.unit
    label = row.label if isinstance(row.label, str) else info.label
    cls, words = difference_verdict(row, info.better)
    head = f"<strong>{escape(label if label_override is None else label_override)}</strong>: "
    if base_mean is not None and new_mean is not None:
        head += f"{escape(fmt(base_mean, unit, False))} → {escape(fmt(new_mean, unit))} "
    diff = fmt_diff(row.diff_mean, unit)
    ci = ""
    if not (pd.isna(row.diff_lower) or pd.isna(row.diff_upper)):
        ci = f", 95% CI {diff_ci_text(row.diff_lower, row.diff_upper, unit, row.diff_mean)}"
    pct = ""
    if unit != "share" and not pd.isna(getattr(row, "pct_mean", np.nan)) and math.isfinite(row.pct_mean):
        pct = f"; {row.pct_mean:+.0f}%".replace("-", "−")
    return f'{head}({escape(diff + ci + pct)}) — <span class="{cls}">{words}</span>.'


# ----------------------------------------------------------------------------- STRESS-DES
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
            rows.append({"Service": name, "Resource": f"staff: {role}", "Amount": f"{st.wte:g} WTE",
                         "Servers": f"{math.ceil(st.wte)}",
                         "Availability": (f"{st.clinical_hours_per_week:g} clinical hours/week each"
                                          if st.clinical_hours_per_week else "always available"),
                         "Cost": f"£{st.cost_per_hour:g}/hour" if st.cost_per_hour else ""})
        if svc.caseload is not None:
            if isinstance(svc.caseload, CaseloadPerWte):
                wte = svc.staff[svc.caseload.role].wte if svc.caseload.role in svc.staff else 0
                slots = f"{svc.caseload.per_wte:g} per WTE of {svc.caseload.role} ({svc.caseload.per_wte * wte:g})"
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
                     "Referrals a year": f"{rate:,.1f}", "From": how, "Enters at": c.entry,
                     "Attributes": attribute_words(c.attributes, s.scenario.time_unit)})
    return rows


def _pct_text(row) -> str:
    p = getattr(row, "pct_mean", np.nan)
    return "" if p is None or pd.isna(p) or not math.isfinite(p) else f"{p:+.0f}%".replace("-", "−")


def compare_headline(rows: dict, means: dict, baseline: str, scen: str, s: Scenario | None,
                     n: int | None) -> str:
    """One paragraph in plain words: what changes for patients and for costs, and how sure we are.

    ``rows`` maps KPI names to rows of differences.csv (attribute access); ``means`` maps
    (KPI, scenario) to the scenario's mean.
    """
    def clear(k: str) -> bool:
        r = rows.get(k)
        return r is not None and not pd.isna(r.diff_lower) and (r.diff_lower > 0 or r.diff_upper < 0)

    def unit(k: str) -> str:
        r = rows[k]
        return r.unit if isinstance(getattr(r, "unit", None), str) else kpi_info(k).unit

    def change(k: str) -> str:
        b, m = means.get((k, baseline)), means.get((k, scen))
        return f"{fmt(b, unit(k), False)} → {fmt(m, unit(k))}" if b is not None and m is not None else ""

    parts = []
    k = "wait_to_treatment_median"
    if k in rows:
        r = rows[k]
        ci = diff_ci_text(r.diff_lower, r.diff_upper, unit(k))
        if clear(k):
            parts.append(f"patients start treatment <strong>{'sooner' if r.diff_mean < 0 else 'later'}</strong> "
                         f"(median wait from referral {change(k)}, a change of {fmt_diff(r.diff_mean, 'days')}, "
                         f"95% CI {ci})")
        else:
            parts.append(f"the median wait from referral to treatment does not change clearly ({change(k)}, "
                         f"95% CI {ci})")
    stds = [k for k in kpi_subjects(rows, "standard") if clear(k)]
    if stds:
        up = sum(rows[k].diff_mean > 0 for k in stds)
        lead = ("more patients start within the waiting-time standards" if up == len(stds) else
                "fewer patients start within the waiting-time standards" if up == 0 else
                "the share starting within the waiting-time standards changes")
        parts.append(f"{lead} (" + "; ".join(f"{standard_label(k, s, False)}: {change(k)}" for k in stds) + ")")
    emerg = [k for k in ("ae_attendances_per_year", "emergency_admissions_per_year",
                         "inpatient_admissions_per_year", "specialist_bed_days_per_year") if clear(k)]
    if emerg:
        down = sum(rows[k].diff_mean < 0 for k in emerg)
        lead = ("fewer need emergency or inpatient care" if down == len(emerg) else
                "more need emergency or inpatient care" if down == 0 else "emergency and inpatient care changes")
        parts.append(f"{lead} (" + ", ".join(f"{kpi_info(k).label.lower().replace('a&e', 'A&E')} {_pct_text(rows[k])}"
                                             for k in emerg) + ")")
    text = escape("; ".join(parts)).replace("&lt;strong&gt;", "<strong>").replace("&lt;/strong&gt;", "</strong>")
    text = text[:1].upper() + text[1:].replace("&lt;strong&gt;", "<strong>").replace("&lt;/strong&gt;", "</strong>")
    text += "." if parts else ""
    k = "cost_per_year"
    if k in rows:
        r = rows[k]
        ci = diff_ci_text(r.diff_lower, r.diff_upper, unit(k))
        if clear(k):
            more = r.diff_mean > 0
            text += (f" It costs <strong>{escape(money(abs(r.diff_mean)))} a year {'more' if more else 'less'}</strong> "
                     f"({escape(_pct_text(r))}, 95% CI {escape(ci)}; {escape(change(k))}).")
        else:
            text += f" Total cost does not change clearly ({escape(change(k))}, 95% CI {escape(ci)})."
    worse = []
    for k in dict.fromkeys([*PATIENT_KPIS, *kpi_subjects(rows, "standard")]):
        if k in rows and clear(k):
            better = kpi_info(k).better
            if better == "neutral":
                continue
            if (rows[k].diff_mean > 0) == (better == "lower"):
                label = standard_label(k, s, False) if kpi_info(k).standard is not None else kpi_info(k).label
                worse.append(f"{label} ({change(k)})")
    if worse:
        text += ' <span class="bad">Worse for patients:</span> ' + escape("; ".join(worse)) + "."
    n_clear = sum(clear(k) for k in rows if k not in ("events", "wall_seconds"))
    n_all = sum(1 for k in rows if k not in ("events", "wall_seconds"))
    text += (f" {n_clear} of {n_all} measures differ clearly (95% CI of the paired difference excludes zero)"
             + (f" over {n} paired replications." if n else "."))
    return text
