"""A comparison in plain words: paired differences to the baseline with their CIs and a verdict, and
the paragraph on a comparison's first screen (what changes for patients and for costs, and how
sure we are)."""

from __future__ import annotations

import math
from collections.abc import Set as AbstractSet
from html import escape

import numpy as np
import pandas as pd

from icssim.kpis import kpi_info, kpi_subjects
from icssim.report.labels import in_sentence, kpi_label_among, wait_label, wait_words, words_of
from icssim.report.numbers import change_text, diff_ci_words, fmt, fmt_diff, money, signed_pct
from icssim.report.run_text import featured, featured_or, people
from icssim.scenario.schema import Scenario

#: KPIs summarised for patients and for costs on a comparison's first screen.
PATIENT_KPIS = ("wait_to_assessment_median", "wait_to_treatment_median", "wait_to_treatment_p90",
                "uptake_after_referral", "share_treated", "share_intensive_12m", "share_ever_rejected",
                "share_dropped_out", "duplicated_assessments_per_year",
                "ae_attendances_per_year", "emergency_admissions_per_year", "inpatient_admissions_per_year",
                "specialist_bed_days_per_year", "still_waiting_at_end")
COST_KPIS = ("cost_per_year", "cost_per_referral")


def patient_kpis(s: Scenario | None) -> list[str]:
    """The KPIs summarised for patients: the scenario's featured ones (``report.featured``, e.g.
    Talking Therapies' recovery) first, then :data:`PATIENT_KPIS`."""
    return [k for k in featured_or(s, PATIENT_KPIS) if k not in COST_KPIS and kpi_info(k).group not in MONEY_GROUPS]


#: sections of the KPI tables that are about money, not patients
MONEY_GROUPS = ("Costs", "Value for money")


#: A clear difference whose whole interval is within this percentage of the baseline's mean, and which
#: does not show in the two means as the report writes them, is negligible (:func:`difference_verdict`).
NEGLIGIBLE_PCT = 1.0

#: Where the two means are not known, a clear difference is negligible when its whole interval is
#: within this percentage of the baseline (e.g. −£14 in £6.4m).
SAME_WITHIN_PCT = 0.01


#: What a comparison says, once, of scenarios that count no costs (as the run report says it)
NO_COSTS = "These scenarios give no unit costs, so no costs were counted."


def no_cost(row, base_mean: float | None = None, new_mean: float | None = None) -> bool:
    """Whether a cost (a row of differences.csv, with the two scenarios' means where known) is
    nothing in both scenarios: both means 0 and the difference 0 or not measured; a comparison
    leaves out its tiles and sentences ("£0 → £0") and says :data:`NO_COSTS` once."""
    diff = getattr(row, "diff_mean", math.nan)
    base = getattr(row, "baseline_mean", math.nan) if base_mean is None else base_mean
    new = (base + diff if pd.notna(base) and pd.notna(diff) else math.nan) if new_mean is None else new_mean
    return bool(base == 0 and new == 0 and (pd.isna(diff) or diff == 0))


def equal_by_design(row) -> bool:
    """Whether ``row`` (a row of differences.csv) is the staff establishment of a scenario that
    ``icssim compare --equal-budget`` rescaled to the baseline's budget (:func:`icssim.budget.budget_name`):
    equal to the baseline's by design, up to the rounding of the rescaled WTE (−£14 in £6.38 million)."""
    from icssim.budget import budget_name

    baseline = getattr(row, "baseline", None)
    return (getattr(row, "kpi", None) == "staff_cost_per_year" and isinstance(baseline, str)
            and str(getattr(row, "scenario", "")).endswith(budget_name("", baseline)))


def negligible(row) -> bool:
    """Whether a difference is negligible in size: its whole interval within :data:`NEGLIGIBLE_PCT`
    of the baseline's mean, and the baseline's and the scenario's means written alike at the
    report's precision ("£1,880 → £1,880"); without the means (no ``baseline_mean``), the whole
    interval within :data:`SAME_WITHIN_PCT`."""
    size = max(abs(getattr(row, "pct_lower", math.nan)), abs(getattr(row, "pct_upper", math.nan)))
    if not size < NEGLIGIBLE_PCT:   # (NaN compares False: no percentage of a baseline of 0)
        return False
    base, diff = getattr(row, "baseline_mean", math.nan), getattr(row, "diff_mean", math.nan)
    if pd.isna(base) or pd.isna(diff):
        return size < SAME_WITHIN_PCT
    unit = row.unit if isinstance(getattr(row, "unit", None), str) else kpi_info(getattr(row, "kpi", "")).unit
    return fmt(base, unit) == fmt(base + diff, unit)


def difference_verdict(row, better: str) -> tuple[str, str]:
    """(css class, words) for a paired difference, the one verdict of every view of a comparison:

    * ``no clear difference`` (class ``unsure``): the 95% CI includes zero;
    * ``clearly different but negligible`` (``neutral``): the CI excludes zero, but the difference
      is :func:`negligible` in size: within 1% of the baseline and too small to show in the two
      means as the report writes them (a clinic's cost per person "£1,880 → £1,880", +£1.64). Such
      a difference is real but does not matter: it is not called better or worse, and the
      headline does not list it among what changes (:func:`compare_headline`);
    * ``equal by design (equal budgets)`` (``neutral``): the staff establishment of a scenario
      rescaled to the baseline's budget (:func:`equal_by_design`);
    * otherwise ``clearly better`` / ``clearly worse`` (``good`` / ``bad``) by the KPI's
      ``better`` direction, or ``clearly higher`` / ``clearly lower`` (``neutral``) for a KPI
      with no better direction."""
    if equal_by_design(row):
        return "neutral", "equal by design (equal budgets)"
    lo, hi = row.diff_lower, row.diff_upper
    if pd.isna(getattr(row, "diff_mean", 0.0)):
        return "unsure", "not measured in these scenarios"
    if pd.isna(lo) or pd.isna(hi):
        return "unsure", "single replication: no interval"
    if lo <= 0 <= hi:
        return "unsure", "no clear difference"
    if negligible(row):
        return "neutral", "clearly different but negligible"
    up = lo > 0
    if better == "neutral":
        return "neutral", "clearly higher" if up else "clearly lower"
    good = (up and better == "higher") or (not up and better == "lower")
    return ("good", "clearly better") if good else ("bad", "clearly worse")


def difference_texts(row, unit: str, with_unit: bool = True) -> tuple[str, str]:
    """(the difference, its interval in words) as every view of a comparison writes them:
    ``+£1.26 million a year`` and ``95% CI +£1.16 million to +£1.35 million a year`` (or ``the same
    in every replication``, :func:`~icssim.report.numbers.diff_ci_words`), the difference with the
    decimals of its interval (``+0.1 points, 95% CI −1.1 to +1.3 points``); a staff establishment
    equal by design (:func:`equal_by_design`) is ``£0`` and ``rescaled to the same budget``: what
    it differs by (−£14 in £6.38 million) is the rounding of the rescaled WTE to three decimals."""
    if equal_by_design(row):
        return fmt(0.0, unit, with_unit), "rescaled to the same budget (equal to the rounding of WTE)"
    lo, hi = row.diff_lower, row.diff_upper
    like = None if pd.isna(lo) or pd.isna(hi) else max(abs(lo), abs(hi))   # (the precision of its interval)
    return fmt_diff(row.diff_mean, unit, with_unit, like), diff_ci_words(lo, hi, unit)


def difference_sentence(row, base_mean: float | None, new_mean: float | None,
                        label_override: str | None = None) -> str:
    """``Referral to treatment, median: 110 → 45 days (−65 days, 95% CI −80 to −50; −59%) — clearly better``."""
    info = kpi_info(row.kpi)
    unit = row.unit if isinstance(row.unit, str) else info.unit
    label = row.label if isinstance(row.label, str) else info.label
    cls, words = difference_verdict(row, info.better)
    head = f"<strong>{escape(label if label_override is None else label_override)}</strong>: "
    if base_mean is not None and new_mean is not None:
        head += f"{escape(change_text(base_mean, new_mean, unit))} "
    diff, interval = difference_texts(row, unit)
    ci = f", {interval}" if interval else ""
    pct = ""
    if unit != "share" and not equal_by_design(row) and (text := _pct_text(row)):
        pct = f"; {text}"
    return f'{head}({escape(diff + ci + pct)}) — <span class="{cls}">{words}</span>.'


def _pct_text(row) -> str:
    p = getattr(row, "pct_mean", np.nan)
    return "" if p is None or pd.isna(p) else signed_pct(float(p))


class _Differences:
    """The rows of differences.csv by KPI, with each scenario's means, read for the headline."""

    def __init__(self, rows: dict, means: dict, baseline: str, scen: str) -> None:
        self.rows, self.means, self.baseline, self.scen = rows, means, baseline, scen

    def clear(self, k: str) -> bool:
        """Whether the 95% CI of ``k``'s difference excludes zero."""
        r = self.rows.get(k)
        return r is not None and not pd.isna(r.diff_lower) and (r.diff_lower > 0 or r.diff_upper < 0)

    def notable(self, k: str) -> bool:
        """Whether ``k`` changes clearly and by more than a :func:`negligible` amount: what the
        headline lists as better or worse."""
        return self.clear(k) and not negligible(self.rows[k])

    def ci(self, k: str) -> str:
        """``95% CI …`` or ``the same in every replication`` (:func:`diff_ci_words`)."""
        r = self.rows[k]
        return diff_ci_words(r.diff_lower, r.diff_upper, self.unit(k))

    def unit(self, k: str) -> str:
        r = self.rows[k]
        return r.unit if isinstance(getattr(r, "unit", None), str) else kpi_info(k).unit

    def change(self, k: str) -> str:
        b, m = self.means.get((k, self.baseline)), self.means.get((k, self.scen))
        return change_text(b, m, self.unit(k)) if b is not None and m is not None else ""


def compare_headline(rows: dict, means: dict, baseline: str, scen: str, s: Scenario | None,
                     n: int | None, variant: Scenario | None = None) -> str:
    """One paragraph in plain words: what changes for patients and for costs, and how sure we are.

    ``rows`` maps KPI names to rows of differences.csv (attribute access); ``means`` maps
    (KPI, scenario) to the scenario's mean. What it lists as changing (the standards met, the
    featured measures, emergency care, "Worse for patients") is what :func:`difference_verdict`
    calls clearly better or worse: a clear but negligible difference is left out. ``s`` is the
    baseline's scenario; a standard is named as ``variant`` (the other's) words it when it has it.
    """
    d = _Differences(rows, means, baseline, scen)
    parts = _patient_parts(d, s, variant)
    text = escape("; ".join(parts)).replace("&lt;strong&gt;", "<strong>").replace("&lt;/strong&gt;", "</strong>")
    text = text[:1].upper() + text[1:].replace("&lt;strong&gt;", "<strong>").replace("&lt;/strong&gt;", "</strong>")
    text += "." if parts else ""
    text += _cost_text(d)
    text += _worse_text(d, s, variant)
    n_clear = sum(d.clear(k) for k in rows if k not in ("events", "wall_seconds"))
    n_all = sum(1 for k in rows if k not in ("events", "wall_seconds"))
    text += (f" {n_clear} of {n_all} measures differ clearly (95% CI of the paired difference excludes zero)"
             + (f" over {n} paired replications." if n else "."))
    return text


def _patient_parts(d: _Differences, s: Scenario | None, variant: Scenario | None = None) -> list[str]:
    rows, clear, notable, change = d.rows, d.clear, d.notable, d.change
    parts = []
    k = "wait_to_treatment_median"
    if k in rows and pd.notna(rows[k].diff_mean):   # (not measured where no step counts as treatment)
        r = rows[k]
        diff = difference_texts(r, "days")[0]
        words = words_of(k, [s, variant])
        start, _, treatment = (in_sentence(w) for w in wait_words(words))
        wait = f"the median wait from {start} to {treatment}"
        if notable(k) and wait_label(k, words) is None:
            parts.append(f"patients start treatment <strong>{'sooner' if r.diff_mean < 0 else 'later'}</strong> "
                         f"(median wait from referral {change(k)}, a change of {diff}, {d.ci(k)})")
        elif notable(k):   # (in the scenario's words, report.waits: "to first therapy session")
            parts.append(f"{wait} is <strong>{'shorter' if r.diff_mean < 0 else 'longer'}</strong> "
                         f"({change(k)}, a change of {diff}, {d.ci(k)})")
        elif clear(k):
            parts.append(f"{wait} changes by a negligible amount ({change(k)}, {diff}, {d.ci(k)})")
        else:
            parts.append(f"{wait} does not change clearly ({change(k)}, {d.ci(k)})")
    stds = [k for k in kpi_subjects(rows, "standard") if notable(k)]
    if stds:
        up = sum(rows[k].diff_mean > 0 for k in stds)
        lead = ("more patients start within the waiting-time standards" if up == len(stds) else
                "fewer patients start within the waiting-time standards" if up == 0 else
                "the share starting within the waiting-time standards changes")
        parts.append(f"{lead} (" + "; ".join(_with_change(kpi_label_among(k, [s, variant], False), change(k))
                                      for k in stds) + ")")
    own = [k for k in patient_kpis(s) if k in featured(s) and k in rows and notable(k)
           and kpi_info(k).standard is None and k not in PATIENT_KPIS]
    # a label that names its group ("Adults: referral to first therapy session, median", a path time
    # of one cohort) is a clause of its own, as written: not lower-cased after "for <people>:"
    labels = {k: kpi_label_among(k, [s, variant]) for k in own}
    plain = [k for k in own if ": " not in labels[k]]
    if plain:
        parts.append(f"for {people(s)}: " + "; ".join(f"{_lower(labels[k])} {change(k)}" for k in plain))
    parts += [f"{labels[k]} {change(k)}" for k in own if k not in plain]
    emerg = [k for k in ("ae_attendances_per_year", "emergency_admissions_per_year",
                         "inpatient_admissions_per_year", "specialist_bed_days_per_year") if k in rows and notable(k)]
    if emerg:
        down = sum(rows[k].diff_mean < 0 for k in emerg)
        lead = ("fewer need emergency or inpatient care" if down == len(emerg) else
                "more need emergency or inpatient care" if down == 0 else "emergency and inpatient care changes")
        parts.append(f"{lead} (" + ", ".join(f"{kpi_info(k).label.lower().replace('a&e', 'A&E')} {_pct_text(rows[k])}"
                                             for k in emerg) + ")")
    return parts


def _with_change(label: str, change: str) -> str:
    """``Label: 13% → 41%``, or after a comma where the label names its group after a colon of its
    own (``All attendances: 4 hours from arrival to leaving the ED, 13% → 41%``, not two colons)."""
    return f"{label}, {change}" if ": " in label else f"{label}: {change}"


def _lower(label: str) -> str:
    """A label inside a sentence: its first letter lower case unless it starts an abbreviation (LTC, A&E)."""
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


def _cost_text(d: _Differences) -> str:
    rows, change = d.rows, d.change
    text = ""
    k = "cost_per_year"
    if k in rows and no_cost(rows[k], d.means.get((k, d.baseline)), d.means.get((k, d.scen))):
        return f" {NO_COSTS}"
    if k in rows:
        r = rows[k]
        lead = " Its total cost (each team at its staff establishment, other care at unit costs)"
        if d.notable(k):
            more = r.diff_mean > 0
            text += (f"{lead} is <strong>{escape(money(abs(r.diff_mean)))} a year {'more' if more else 'less'}"
                     f"</strong> ({escape(_pct_text(r))}, {escape(d.ci(k))}; {escape(change(k))}).")
        elif d.clear(k):
            text += (f"{lead} changes by a negligible amount ({escape(change(k))}, "
                     f"{escape(difference_texts(r, d.unit(k))[0])}, {escape(d.ci(k))}).")
        else:
            text += f"{lead} does not change clearly ({escape(change(k))}, {escape(d.ci(k))})."
        text += _staff_in_total(d)
    return text


def _staff_in_total(d: _Differences) -> str:
    """What each scenario pays for its staff: part of the total cost, in place of its teams'
    contacts at unit costs (kpi_base.Window.costs_once). Said as part of the total, not of the
    total's change (which a new team's cost can exceed, where it saves care elsewhere)."""
    staff = "staff_cost_per_year"
    if staff not in d.rows:
        return ""
    row = d.rows[staff]
    s = row.diff_mean
    base, new = d.means.get((staff, d.baseline)), d.means.get((staff, d.scen))
    if no_cost(row, base, new):   # (no hourly costs: not "£0 → £0 a year")
        return ""
    if equal_by_design(row):
        level = f": {escape(money(base))} a year in both" if base is not None else ""
        return f" The <strong>staff establishment</strong> it assumes is the same by design (equal budgets{level})."
    level = ""
    if base is not None and new is not None:
        pct = f", {signed_pct(100 * s / base)}" if base else ""
        level = f" ({escape(money(base))} → {escape(money(new))} a year{pct})"
    if s == 0 or negligible(row):
        return f" The <strong>staff establishment</strong> it assumes, which the total includes, is the same{level}."
    return (f" The <strong>staff establishment</strong> it assumes, which the total includes, costs "
            f"{escape(money(abs(s)))} a year {'more' if s > 0 else 'less'}{level}.")


def _worse_text(d: _Differences, s: Scenario | None, variant: Scenario | None = None) -> str:
    rows, notable, change = d.rows, d.notable, d.change
    worse = []
    for k in dict.fromkeys([*patient_kpis(s), *kpi_subjects(rows, "standard")]):
        if k in rows and notable(k):
            better = kpi_info(k).better
            if better == "neutral":
                continue
            if (rows[k].diff_mean > 0) == (better == "lower"):
                label = kpi_label_among(k, [s, variant], False)
                worse.append(f"{label} ({change(k)})")
    if worse:
        return ' <span class="bad">Worse for patients:</span> ' + escape("; ".join(worse)) + "."
    return ""


def forest_left_out(diffs: pd.DataFrame | None, summary: pd.DataFrame | None, baseline: str,
                    s: Scenario | None, absent: AbstractSet[str] = frozenset(),
                    scenarios: dict[str, Scenario | None] | None = None) -> str:
    """The measures a comparison's forest plot (``forest.png``: the baseline's featured measures,
    then ``icssim.results.HEADLINE_KPIS``, as percentages of the baseline's mean) leaves out of a
    scenario's rows because it cannot draw them, and why, in words ("" when it leaves out none):
    one of the two has no value for it (nothing it measures happened in any replication, e.g. no
    one asked for help), or the baseline's mean is 0, so a change has no percentage of it. A
    measure neither has (no treatment step: no wait to treatment), or that is 0 in both, is not
    missing from the comparison, and ``absent`` (things none of the scenarios has) is not named.
    ``s`` is the baseline's scenario, ``scenarios`` each one's by name: a measure is named as the
    rest of the comparison names it (:func:`~icssim.report.labels.words_of`)."""
    from icssim.budget import shown_names
    from icssim.results import HEADLINE_KPIS

    if diffs is None or diffs.empty or not {"kpi", "scenario", "pct_mean", "diff_mean"} <= set(diffs.columns):
        return ""
    means: dict[tuple[str, str], float] = {}
    if summary is not None and {"kpi", "scenario", "mean"} <= set(summary.columns):
        means = {(str(r.kpi), str(r.scenario)): float(r.mean) for r in summary.itertuples()}
    headline = [k for k in featured_or(s, HEADLINE_KPIS) if k not in absent]
    names = list(dict.fromkeys(map(str, diffs["scenario"])))
    shown = shown_names([baseline, *names])
    parts = []
    for scen in names:
        g = diffs[diffs["scenario"].astype(str) == scen].drop_duplicates("kpi").set_index("kpi")
        reasons: dict[str, list[str]] = {}
        for k in headline:
            row = g.loc[k] if k in g.index else None
            if row is not None and pd.notna(row["pct_mean"]):
                continue   # drawn
            base_m, new_m = (means.get((k, n), math.nan) for n in (baseline, scen))
            lacking = [shown[n] for n, m in ((baseline, base_m), (scen, new_m)) if not math.isfinite(m)]
            if row is not None and pd.notna(row["diff_mean"]):
                if base_m != 0 or new_m == 0 or row["diff_mean"] == 0:
                    continue   # (0 in both: nothing changed, and the tables say so)
                why = f"{shown[baseline]}'s mean is 0, so a change has no percentage of it"
            elif len(lacking) == 1:
                why = f"no value in {lacking[0]}: in no replication was there anyone to measure"
            elif row is not None and not lacking:
                why = f"no replication in which both {shown[scen]} and {shown[baseline]} have a value"
            else:
                continue   # neither has it (not in these scenarios' pathways)
            reasons.setdefault(why, []).append(kpi_label_among(k, [s, (scenarios or {}).get(scen)], False))
        parts += [f"Left out for {shown[scen]} ({why}): {'; '.join(labels)}." for why, labels in reasons.items()]
    return " ".join(parts)
