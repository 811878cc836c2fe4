"""The report of a sweep: its answer first, in words with confidence intervals (the optimise answer
when ``icssim optimise`` has run in the folder, else what the sweep found: the range of each measure
and which setting moves it most), then the plots, each point's settings and results under the
sweep file's labels, and what was run. Ids and key paths only where a user must type them."""

from __future__ import annotations

import math
import re
from html import escape
from pathlib import Path

import pandas as pd

from icssim.kpis import kpi_info
from icssim.report.labels import short
from icssim.report.numbers import Estimate, fmt, shown_unit, sig
from icssim.report.parameters import value_text
from icssim.report.pieces import Page, fact_items, folder_path, plots_html, table_html, ul_html
from icssim.report.psa import PSA_PLOTS, psa_html
from icssim.report.stored import read_object
from icssim.report.sweep_data import SweepData, main_effect, point_value, unsteady_sentences
from icssim.sweep.spec import PSA_DESIGNS


def sweep_report(folder: Path, meta: dict) -> str:
    d = SweepData(folder, meta)
    name = str(meta.get("name") or folder.name)
    psa = read_object(folder / "psa.json")
    if psa:  # a PSA: its answer, then its own plots (its points are draws, not settings to choose from)
        page = Page(f"{name}: probabilistic sensitivity analysis", str(meta.get("description", "")),
                    fact_items(meta))
        page.add("summary", "What the PSA says", psa_html(psa) + _unsteady_html(d, psa=True))
        page.add("plots", "Plots", plots_html(folder, skip=("cost_vs_wait.png",), first=PSA_PLOTS))
        page.add("points", "Each draw", points_html(d))
    else:
        page = Page(f"{name}: sweep report", str(meta.get("description", "")), fact_items(meta))
        page.add("summary", "What the sweep found",
                 answer_html(d) + (standards_html(d) if not d.answer else "") + findings_html(d)
                 + _unsteady_html(d, psa=False))
        page.add("plots", "Plots", plots_html(folder))
        page.add("points", "Each point", points_html(d))
    page.add("design", "What was run", design_html(d))
    page.add("reproduce", "How to reproduce",
             f"<pre><code>{escape(str(meta.get('command', '')))}</code></pre>"
             f"<p>To rebuild this report from the stored files: "
             f"<code>icssim report {escape(folder_path(folder))}</code>.</p>")
    return page.html()


def _unsteady_html(d: SweepData, psa: bool) -> str:
    return "".join(f'<div class="warn"><strong>Read with care:</strong> {escape(text)}</div>'
                   for text in unsteady_sentences(d, psa))


# ----------------------------------------------------------------------------- the answer
def answer_html(d: SweepData) -> str:
    """The optimise answer in words: the cheapest point meeting the standard, its CI, the evidence,
    and what to do about undecided points."""
    a = d.answer
    if not a:
        return ""
    targets = [str(t) for t in a.get("targets") or []]
    goal = " and ".join(_target_words(d, t) for t in targets)
    level = float(a.get("level") or d.level)
    minimise = str(a.get("minimise", ""))
    what = _objective_words(d, minimise)
    out = []
    if a.get("found") and isinstance(a.get("point"), dict):
        p = a["point"]
        point = int(p.get("index", p.get("point", -1)))
        lines = [f"<strong>Answer:</strong> the setting with the lowest {escape(what)} that meets {escape(goal)} "
                 f"(judged on the lower end of the {level:.0%} confidence interval) is "
                 f"<strong>{escape(d.settings(p))}</strong> (point {point})."]
        for t in targets:
            kpi = t.split()[0]
            mean, lower, upper = (float(p.get(f"{kpi}_{s}", math.nan)) for s in ("mean", "lower", "upper"))
            e = Estimate(kpi, mean, lower, upper, int(p.get("n", 0)))
            lines.append(f"There, {escape(d.label(kpi))} is {escape(e.text())}, from {int(p.get('n', 0))} "
                         f"replications.")
        if minimise in kpi_subjects_known(d):
            cost = d.estimate(point, minimise)
            if cost is not None:
                lines.append(f"Its {escape(what)} is {escape(_text(cost))}.")
        out.append('<p class="headline">' + " ".join(lines) + "</p>")
    else:
        out.append(f'<p class="headline"><strong>No point meets {escape(goal)}</strong> on the lower end of its '
                   f"{level:.0%} confidence interval. The closest points are listed below.</p>")
    out.append(_evidence_html(d))
    if int(a.get("runs", 0) or 0) and int(d.meta.get("runs_stored", 0) or 0) > int(a.get("runs", 0)):
        out.append(f"<p class=note>This answer is from an earlier <code>icssim optimise</code> with "
                   f"{int(a['runs'])} runs; the folder now holds {int(d.meta['runs_stored'])}: run it again to "
                   f"update it.</p>")
    return "\n".join(out)


def kpi_subjects_known(d: SweepData) -> set[str]:
    return set(d.summary["kpi"]) if d.summary is not None else set()


def _evidence_html(d: SweepData) -> str:
    t = d.assessed
    if t is None or "status" not in t:
        return f"<p>{escape(str(d.answer.get('evidence', '')))}.</p>" if d.answer else ""
    counts = t["status"].value_counts().to_dict()
    meets, undecided, fails = (int(counts.get(k, 0)) for k in ("meets", "undecided", "fails"))
    items = [f"{meets} of {len(t)} points meet the target, {fails} fall short and {undecided} "
             f"{'is' if undecided == 1 else 'are'} undecided (the interval straddles the target)."]
    if undecided:
        und = t[t["status"] == "undecided"]
        best = t[t["status"] == "meets"]["objective"].min() if meets else math.inf
        cheaper = und[und["objective"] < best]
        names = "; ".join(f"point {int(r['point'])} ({escape(d.settings(r))})" for _, r in und.head(5).iterrows())
        n = int(und["n"].max()) if "n" in und else 0
        hint = (f"More replications would decide {'them' if undecided > 1 else 'it'}"
                + (f", and {len(cheaper)} of them would be cheaper than the answer" if len(cheaper) and meets else "")
                + f": run <code>icssim optimise … --max-replications {max(2 * n, 10)}</code>, which adds "
                  "replications only to undecided points that could beat the answer.")
        items.append(f"Undecided: {names}. {hint}")
    return ul_html(items, "findings")


def _target_words(d: SweepData, target: str) -> str:
    parts = target.split()
    if len(parts) != 3:
        return target
    kpi, op, value = parts
    try:
        v = float(value)
    except ValueError:
        return target
    words = {">=": "at least", ">": "more than", "<=": "at most", "<": "less than"}.get(op, op)
    return f"{d.label(kpi)} {words} {fmt(v, kpi_info(kpi).unit)}"


def _objective_words(d: SweepData, minimise: str) -> str:
    if minimise in d.params:
        return d.param_label(minimise)
    if "+" in minimise or "*" in minimise:
        return minimise
    return short(d.label(minimise)).lower() if minimise else "objective"


# ----------------------------------------------------------------------------- the standards
def standards_html(d: SweepData) -> str:
    """Whether any point meets each target among the sweep's measures (a waiting-time standard's,
    or a domain measure's), in words: plainly when none does, with the closest point; else how many
    do, on their mean and on the lower (or upper) end of their confidence interval. The optimise
    answer (:func:`answer_html`) says it for the targets it was given."""
    from icssim.report.run_text import kpi_target

    if d.summary is None or d.summary.empty:
        return ""
    s = d.summary
    kpis = [k for k in d.kpis if k in set(s["kpi"])] or list(dict.fromkeys(s["kpi"]))
    none, some = [], []
    for kpi in kpis:
        target, better = kpi_target(kpi, d.scenario), kpi_info(kpi).better
        part = s[s["kpi"] == kpi].dropna(subset=["mean"])
        if target is None or better not in ("higher", "lower") or part.empty:
            continue
        unit = kpi_info(kpi).unit
        high = better == "higher"
        meets = part["mean"] >= target if high else part["mean"] <= target
        sure = (part["lower"] >= target) if high else (part["upper"] <= target)
        goal = f"{d.label(kpi)} (target: {'at least' if high else 'at most'} {fmt(target, unit)})"
        if not meets.any():
            best = part.loc[part["mean"].idxmax() if high else part["mean"].idxmin()]
            e = Estimate(kpi, float(best["mean"]), float(best["lower"]), float(best["upper"]), int(best["n"]))
            none.append(f"<strong>No point meets the standard</strong> {escape(goal)}: none of the "
                        f"{len(part):,} points reaches its target. The closest is {escape(_text(e))} at "
                        f"{escape(d.settings(best))}; reaching the target needs settings beyond those swept.")
        else:
            some.append(f"{escape(goal)}: met at {int(meets.sum()):,} of {len(part):,} points on their mean, "
                        f"{int(sure.fillna(False).sum()):,} of them on the "
                        f"{'lower' if high else 'upper'} end of their {d.level:.0%} confidence interval too.")
    out = "".join(f'<p class="headline">{text}</p>' for text in none)
    if some:
        out += "<h3>The standards</h3>" + ul_html(some, "findings")
    return out


# ----------------------------------------------------------------------------- findings
def findings_html(d: SweepData) -> str:
    """For each measure of the sweep: its range over the points (with the settings at each end) and
    the setting that moves it most (the spread of its means over that setting's values)."""
    if d.summary is None or d.summary.empty:
        return "<p>No summary.csv was found in this folder.</p>"
    s = d.summary
    kpis = [k for k in d.kpis if k in set(s["kpi"])] or list(dict.fromkeys(s["kpi"]))
    items = []
    for kpi in kpis[:4]:
        part = s[s["kpi"] == kpi].dropna(subset=["mean"])
        if part.empty:
            continue
        unit = kpi_info(kpi).unit
        lo, hi = part.loc[part["mean"].idxmin()], part.loc[part["mean"].idxmax()]
        e_lo, e_hi = (Estimate(kpi, float(r["mean"]), float(r["lower"]), float(r["upper"]), int(r["n"]))
                      for r in (lo, hi))
        low, high = fmt(e_lo.mean, unit), fmt(e_hi.mean, unit)
        if low == high:   # (equal as written: not "from 69% (…) to 69% (…)"; nor can a setting move it)
            items.append(f"<strong>{escape(d.label(kpi))}</strong>: {escape(low)} at every point.")
            continue
        text = (f"<strong>{escape(d.label(kpi))}</strong>: from {escape(low)} "
                f"({escape(d.settings(lo))}) to {escape(high)} ({escape(d.settings(hi))})")
        mover = main_effect(d, part)
        if mover is not None:
            path, first, last = mover
            apart = shown_unit(first[1], unit) != shown_unit(last[1], unit)   # (each its own unit then)
            text += (f"; {escape(d.param_label(path))} moves it most "
                     f"({escape(fmt(first[1], unit, apart, first[1]))} at "
                     f"{escape(point_value(first[0]))} → {escape(fmt(last[1], unit))} at "
                     f"{escape(point_value(last[0]))})")
        items.append(text + ".")
    n = int(d.meta.get("replications", 0) or 0)
    note = ""
    if n:
        note = (f"<p class=note>Means over {n} replications per point; each point's {d.level:.0%} confidence "
                f"intervals are in the table below. Where two points' intervals overlap, the sweep cannot tell "
                f"them apart: more replications (<code>replications:</code> in the sweep file) sharpen them.</p>")
    return "<h3>The range of each measure</h3>" + ul_html(items, "findings") + note


# ----------------------------------------------------------------------------- tables
def points_html(d: SweepData) -> str:
    """One row per point: its settings under their labels, then each measure's mean (95% CI)."""
    if d.summary is None or d.points is None:
        return "<p>No points.csv was found in this folder.</p>"
    kpis = [k for k in d.kpis if k in set(d.summary["kpi"])]
    status = {}
    if d.assessed is not None and "status" in d.assessed:
        status = dict(zip(d.assessed["point"].astype(int), d.assessed["status"]))
    rows = []
    drawn = d.meta.get("design") in PSA_DESIGNS   # (drawn values to three significant figures)
    units = _measure_units(d.summary)
    for _, p in d.points.head(200).iterrows():
        row = {"Point": str(int(p["point"]))}
        for extra in ("base", "area"):
            if extra in p and d.points[extra].nunique() > 1:
                row[extra.capitalize()] = str(p[extra])
        for path in d.params:
            if path in p:
                row[d.param_label(path)] = _with_unit(p[path], d.param_unit(path), drawn)
        for kpi in kpis:
            e = d.estimate(int(p["point"]), kpi)
            row[_headed(d.label(kpi), units.get(kpi))] = "" if e is None else _text(e, False).replace(" (95% CI ", " (")
        if status:
            row["Target"] = status.get(int(p["point"]), "")
        rows.append(row)
    more = (f"<p class=note>First 200 of {len(d.points):,} points (all in points.csv).</p>"
            if len(d.points) > 200 else "")
    return ("<p class=note>Mean of each measure at each point, with its 95% confidence interval in brackets; "
            "every value is in summary.csv and points.csv.</p>" + more + table_html(pd.DataFrame(rows), "kpi"))


def _measure_units(summary: pd.DataFrame) -> dict[str, str]:
    """Each measure's unit as summary.csv stores it (``per 1,000 help-seekers``, ``QALYs``), for a
    table's header: its cells are written without their unit."""
    if "unit" not in summary:
        return {}
    first = summary.drop_duplicates("kpi")
    return {str(k): str(u) for k, u in zip(first["kpi"], first["unit"]) if isinstance(u, str) and u}


def _headed(label: str, unit: str | None) -> str:
    """A measure's column header with the unit its cells leave out (not a share's or a sum of
    money's, which their cells show as % and £; not a unit the label already names)."""
    if not unit or unit == "share" or unit.startswith("GBP") or unit.lower() in label.lower():
        return label
    return f"{label} ({unit})"


def design_html(d: SweepData) -> str:
    meta = d.meta
    rows = [{"Setting": d.param_label(k), "Values": value_text(v) if isinstance(v, (dict, list)) else str(v),
             "Key path (in the sweep file)": k} for k, v in d.params.items()]
    out = ""
    if rows:
        out += "<h3>What was varied</h3>" + table_html(pd.DataFrame(rows), "params",
                                                      code=("Key path (in the sweep file)",))
    if d.kpis:
        out += "<h3>Measures</h3>" + ul_html([f"{escape(d.label(k))} <code>{escape(k)}</code>" for k in d.kpis])
    facts = [("Design", meta.get("design")), ("Points", meta.get("points")),
             ("Replications per point", meta.get("replications")), ("Seed", meta.get("seed")),
             ("Seeding", meta.get("seeding")), ("Runs stored", f"{meta.get('runs_stored')} of "
                                                          f"{meta.get('runs_expected')}"),
             ("Base scenarios", ", ".join(meta.get("scenarios") or {})),
             ("Simulation time, all runs", f"{float(meta.get('simulation_seconds_total') or 0):,.0f} s"),
             ("Sweep file", meta.get("sweep_file")), ("Sweep file SHA-256", meta.get("sweep_sha256")),
             ("icssim version", meta.get("icssim_version")), ("Date (UTC)", meta.get("date"))]
    out += "<h3>Facts</h3>" + table_html(pd.DataFrame([(a, str(b)) for a, b in facts if b not in (None, "")],
                                                       columns=["Item", "Value"]), "repro")
    files = sorted(p.name for p in d.folder.glob("*.csv"))
    if files:
        out += ("<p class=note>Tables in this folder: " + ", ".join(f"<code>{escape(f)}</code>" for f in files)
                + ".</p>")
    return out


# ----------------------------------------------------------------------------- helpers
def _text(e: Estimate, with_unit: bool = True) -> str:
    """An estimate with its CI, or without it when every replication gave the same value (a cost
    fixed by the settings)."""
    return e.text(with_unit) if e.has_ci and e.lower != e.upper else fmt(e.mean, e.unit, with_unit)


_NUMBER_AND_UNIT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


def _with_unit(v, unit: str | None, drawn: bool = False) -> str:
    """A setting's value at a point with its unit: ``£1,589`` (a ``unit: GBP``), ``£47.60``,
    ``0.0242 per month`` (a ``unit: per month``, or a cell of a table of draws written with its
    unit); a value with no unit as :func:`_value` writes it. ``drawn`` (a PSA's values, drawn at
    random): numbers to three significant figures, not the eight decimals of the draw."""
    number, written = v, ""
    if isinstance(v, str):
        match = _NUMBER_AND_UNIT.match(v)
        if match is None:
            return v
        number, written = float(match.group(1)), match.group(2)
    unit = written or unit
    if not isinstance(number, (int, float)) or isinstance(number, bool) or not math.isfinite(number):
        return point_value(v)
    x = float(number)
    if not unit:
        return f"{sig(x):,g}" if drawn else point_value(v)
    if unit.upper() in ("GBP", "£"):
        return f"−£{abs(x):,.2f}" if x < 0 and abs(x) < 100 else (
            f"£{x:,.2f}" if abs(x) < 100 else ("−" if x < 0 else "") + f"£{abs(x):,.0f}")
    shown = sig(x) if drawn else x
    return f"{shown:,g} {unit}" if abs(shown) < 1e6 else f"{shown:,.0f} {unit}"

