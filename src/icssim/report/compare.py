"""The report of a scenario comparison: paired differences, per-scenario KPIs and how the inputs differ."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from icssim.kpis import kpi_info, kpi_subjects
from icssim.report.economics import cost_effectiveness_html, plane_caption, value_row, value_summary_html
from icssim.report.labels import absent_kpis, has_subject, kpi_label_among
from icssim.report.pieces import (
    HIDDEN_KPIS,
    PLOT_CAPTIONS,
    REPORT_NAME,
    Page,
    RunData,
    fact_items,
    folder_path,
    plots_html,
    replications_and_precision,
    table_html,
    text_html,
    ul_html,
)
from icssim.report.staffing import TOTAL_COST_BESIDE_ACTIVITY, cost_bases_html, staff_sentence, staffing_html
from icssim.report.run import assumptions_html, input_file_rows, model_html, pathway_html, tile_html
from icssim.report.compare_inputs import input_diff_html
from icssim.report.compare_text import (
    MONEY_GROUPS,
    NO_COSTS,
    difference_texts,
    equal_by_design,
    forest_left_out,
    no_cost,
    patient_kpis,
)
from icssim.report.numbers import change_text, settled_differences, signed_pct
from icssim.report.run_text import featured
from icssim.report_text import (
    COST_KPIS,
    Estimate,
    compare_headline,
    difference_sentence,
    fmt,
    run_findings,
)
from icssim.scenario.schema import Scenario


# ----------------------------------------------------------------------------- comparisons
def scenario_folders(folder: Path, meta: dict) -> list[tuple[str, Path]]:
    """(name, sub-folder) of each scenario in a compare or sweep folder."""
    found: list[tuple[str, Path]] = []
    for entry in meta.get("scenarios", []) or []:
        if isinstance(entry, dict):
            name = str(entry.get("name") or entry.get("scenario") or "")
            sub = entry.get("folder") or entry.get("path") or name
        else:
            name = sub = str(entry)
        try:   # a scenario's folder lies inside the comparison's, whatever metadata.json says
            from icssim.output_folder import inside

            path = inside(folder, str(sub))
        except Exception:
            continue
        if path.is_dir():
            found.append((name, path))
    if not found:
        for sub in sorted(p for p in folder.iterdir() if p.is_dir() and (p / "metadata.json").is_file()):
            found.append((sub.name, sub))
    return found


def compare_report(folder: Path, meta: dict) -> str:
    subs = scenario_folders(folder, meta)
    runs = [(n, RunData.load(p)) for n, p in subs]
    names = [n for n, _ in subs] or [str(x) for x in meta.get("scenarios", [])]
    summary = _read_csv(folder / "summary.csv")
    diffs = settled_differences(_read_csv(folder / "differences.csv"))   # (no rounding noise shown as a difference)
    baseline = str(meta.get("baseline") or (diffs["baseline"].iloc[0] if diffs is not None and len(diffs)
                                            else (names[0] if names else "")))
    base = next((r for n, r in runs if n == baseline), runs[0][1] if runs else None)
    title = "Comparison: " + " vs ".join(names or ["?"])
    facts = fact_items(meta)
    facts.insert(0, f"baseline {escape(baseline)}")
    page = Page(title, str(meta.get("description", "")), facts)
    warnings = [str(w) for w in meta.get("warnings", []) or []]
    warn = ""
    if warnings:
        warn = ('<div class="warn"><strong>Read with care:</strong>'
                + ul_html([text_html(w) for w in warnings]) + "</div>")
    ce = _read_csv(folder / "cost_effectiveness.csv")
    page.add("summary", "Summary: what changes, and how sure we are",
             warn + compare_summary_html(summary, diffs, baseline, base.scenario if base else None,
                                         {n: r.scenario for n, r in runs if r.scenario is not None}, ce)
             + cost_effectiveness_html(ce))
    absent = _absent_everywhere([r.scenario for _, r in runs], summary["kpi"].unique() if summary is not None else ())
    scenarios = [r.scenario for _, r in sorted(runs, key=lambda run: run[0] != baseline)]   # (baseline first)
    page.add("plots", "Plots", plots_html(folder, captions=_plot_captions(
        ce, diffs, summary, baseline, {n: r.scenario for n, r in runs}, absent)))
    if summary is not None:
        page.add("results", "Results by scenario (95% CIs)",
                 compare_table_html(summary[~summary["kpi"].isin(absent)], names, scenarios))
    if diffs is not None:
        page.add("differences", "Differences to the baseline",
                 differences_table_html(diffs[~diffs["kpi"].isin(absent)], scenarios,
                                        {n: r.scenario for n, r in runs}))
    if runs:
        page.add("inputs", "What differs between the scenarios", input_diff_html(runs))
        page.add("pathways", "Pathways", "\n".join(
            f"<h3>{escape(n)}</h3>" + pathway_html(r) for n, r in runs))
        page.add("model", f"Model description (STRESS-DES) of the baseline, {base.name}", model_html(base))
        page.add("scenarios", "Each scenario", scenario_links_html(folder, runs))
        page.add("assumptions", "Assumptions and limits", assumptions_html(base))
    page.add("reproduce", "How to reproduce", compare_reproduce_html(folder, meta, runs))
    return page.html()


def _plot_captions(ce: pd.DataFrame | None, diffs: pd.DataFrame | None, summary: pd.DataFrame | None,
                   baseline: str, scenarios: dict[str, Scenario | None], absent: set[str]) -> dict[str, str]:
    """The captions of a comparison's plane and forest plot for what they could not draw: a plane
    with nothing on it says so and why; a forest plot names the measures it leaves out."""
    left_out = forest_left_out(diffs, summary, baseline, scenarios.get(baseline), absent, scenarios)
    return {"ce_plane.png": plane_caption(ce, PLOT_CAPTIONS["ce_plane.png"]),
            "forest.png": " ".join(filter(None, (PLOT_CAPTIONS["forest.png"], left_out)))}


def _read_csv(path: Path) -> pd.DataFrame | None:
    from icssim.report.stored import read_table

    return read_table(path, required=("scenario",), rows=True)


def _row(g: pd.DataFrame, kpi: str) -> SimpleNamespace:
    return SimpleNamespace(**{**g.loc[kpi].to_dict(), "kpi": kpi})


def compare_summary_html(summary: pd.DataFrame | None, diffs: pd.DataFrame | None, baseline: str,
                         scenario: Scenario | None = None, scenarios: dict[str, Scenario] | None = None,
                         ce: pd.DataFrame | None = None) -> str:
    """First screen of a comparison: per scenario, what changes for patients and for costs
    (clear changes first, the rest in one line), its value for money (from ``ce``, the rows of
    cost_effectiveness.csv, when the scenarios have a health block), what each scenario assumes in
    staff, and how sure we are. ``scenarios`` (name → scenario) gives the staff each one assumes."""
    scenarios = scenarios or {}
    from icssim.report_text import difference_verdict

    if diffs is None or diffs.empty:
        return "<p>No differences.csv was found in this folder.</p>"
    means = {}
    n = None
    if summary is not None:
        means = {(r.kpi, str(r.scenario)): r.mean for r in summary.itertuples()}
        if "n" in summary:
            n = int(summary["n"].max())
    elif "baseline_mean" in diffs:
        means = {(r.kpi, baseline): r.baseline_mean for r in diffs.itertuples()}
        means |= {(r.kpi, str(r.scenario)): r.baseline_mean + r.diff_mean for r in diffs.itertuples()}
    out = []
    for scen, group in diffs.groupby("scenario", sort=False):
        scen = str(scen)
        g = group.drop_duplicates("kpi").set_index("kpi")
        variant = scenarios.get(scen)

        def changed(k: str) -> bool:
            base_m, new_m = means.get((k, baseline)), means.get((k, scen))
            return not (base_m == 0 and new_m == 0) and not (pd.isna(g.loc[k, "diff_mean"]))

        stds = list(kpi_subjects(g.index, "standard"))
        services = _largest_changes(g, list(kpi_subjects(g.index, "service")))
        blocks, any_unclear = [], False
        for title, keys in (("For patients", [*stds, *patient_kpis(scenario)]),
                            ("For costs", [*COST_KPIS, *services])):
            keys = [k for k in dict.fromkeys(keys) if k in g.index and changed(k)]
            clear, unclear = [], []
            for k in keys:
                row = _row(g, k)
                cls, _ = difference_verdict(row, kpi_info(k).better)
                label = kpi_label_among(k, [scenario, variant], stored=row.label)
                if cls == "unsure":
                    unit = row.unit if isinstance(row.unit, str) else kpi_info(k).unit
                    diff, interval = difference_texts(row, unit)
                    unclear.append(f"{escape((label or row.label) if isinstance(row.label, str) else k)} "
                                   f"({escape(', '.join(filter(None, (diff, interval))))})")
                else:
                    clear.append(difference_sentence(row, means.get((k, baseline)), means.get((k, scen)), label))
            costless = title == "For costs" and not keys and "cost_per_year" in g.index and no_cost(
                _row(g, "cost_per_year"), means.get(("cost_per_year", baseline)), means.get(("cost_per_year", scen)))
            items = clear or [NO_COSTS if costless else "No measure here changed clearly."]
            if unclear:
                any_unclear = True
                items.append('<span class="unsure">No clear difference</span> (the 95% CI includes zero) in: '
                             + "; ".join(unclear) + ".")
            if title == "For patients":
                items += _unpaired_standards(g, means, baseline, scen, scenario, variant)
            blocks.append(f"<h4>{title}</h4>" + ul_html(items, "findings"))
        shown = g[~g.index.isin(list(HIDDEN_KPIS))]
        clear_n = int(((shown["diff_lower"] > 0) | (shown["diff_upper"] < 0)).sum())
        sure = (f"<strong>How sure are we?</strong> {clear_n} of {len(shown)} measures differ clearly "
                f"(the 95% CI of their paired difference excludes zero)")
        sure += (f", from {n} replications per scenario run on common random numbers (replication r of each "
                 f"scenario sees the same patients arrive), so the differences are sharper than the two "
                 f"separate intervals suggest." if n else ".")
        sure += (" The intervals cover random variation only, not uncertainty in the inputs; a sweep over "
                 "uncertain inputs tests how robust the direction of each change is.")
        if any_unclear:
            sure += (" Where a difference is not clear, more replications narrow its interval: <code>icssim compare "
                     "… --precision 0.1</code> adds them until the chosen differences are known to within 10% of "
                     "themselves; one that stays unclear is small against the model's variation.")
        headline = compare_headline({k: _row(g, k) for k in g.index}, means, baseline, scen, scenario, n, variant)
        staff = ""
        if baseline in scenarios and scen in scenarios:
            pair = [(baseline, scenarios[baseline]), (scen, scenarios[scen])]
            headline = headline.replace(" It costs", staff_sentence(*pair) + " It costs", 1) if (
                " It costs" in headline) else headline + staff_sentence(*pair)
            staff = staffing_html(pair)
        out.append(f"<h3>{escape(scen)} compared with {escape(baseline)}</h3>"
                   f'<p class="headline">{headline}</p>{value_summary_html(value_row(ce, scen))}'
                   f"{_compare_tiles(g, means, baseline, scen, scenario, variant)}{staff}{''.join(blocks)}"
                   f'<p class="sure">{sure}</p>')
    return "\n".join(out)


def _unpaired_standards(g: pd.DataFrame, means: dict, baseline: str, scen: str, scenario: Scenario | None,
                        variant: Scenario | None) -> list[str]:
    """A sentence for each waiting-time standard only one of the two scenarios declares: it has a
    share in that scenario's results but no paired difference (differences.csv pairs the measures
    both scenarios have), so it would otherwise be missing from the comparison without a word."""
    out = []
    for k in kpi_subjects(dict.fromkeys(k for k, _ in means), "standard"):
        if k in g.index and pd.notna(g.loc[k, "diff_mean"]):
            continue
        own = [(name, s) for name, s in ((baseline, scenario), (scen, variant))
               if pd.notna(means.get((k, name), float("nan"))) or has_subject(k, s)]
        if len(own) != 1:
            continue
        name, s = own[0]
        mean = means.get((k, name))
        value = f": {fmt(mean, 'share')} in {name}" if mean is not None and pd.notna(mean) else ""
        out.append(f"<strong>{escape(kpi_label_among(k, [s]))}</strong>{escape(value)}"
                   f" — only {escape(name)} has this standard, so it has no paired difference.")
    return out


def _largest_changes(g: pd.DataFrame, kpis: list[str], each: int = 3) -> list[str]:
    """The ``each`` largest increases and the ``each`` largest savings among ``kpis`` (services'
    costs), so that what a total's change is made of reads both ways: a new team's cost beside the
    beds it saves."""
    change = g.loc[kpis, "diff_mean"] if kpis else pd.Series(dtype=float)
    up = change[change > 0].sort_values(ascending=False).index[:each]
    down = change[change < 0].sort_values().index[:each]
    return [*up, *down]


def _compare_tiles(g: pd.DataFrame, means: dict, baseline: str, scen: str, scenario: Scenario | None,
                   variant: Scenario | None = None) -> str:
    """The headline measures as tiles, under one line that names the two scenarios (each tile gives
    only the two values, baseline → variant: the names once, not in every tile)."""
    from icssim.report_text import difference_verdict

    def measured(k: str) -> bool:   # a value in these scenarios, and not nothing in both (A&E visits of an A&E model)
        row = _row(g, k)
        return pd.notna(row.diff_mean) and not (row.diff_mean == 0 and means.get((k, baseline)) == 0)

    keys = [k for k in featured(scenario) if k in g.index][:6]
    if not keys:
        keys = [k for k in ("wait_to_treatment_median", "wait_to_assessment_median") if k in g.index and measured(k)][:1]
        keys += list(kpi_subjects(g.index, "standard"))[:2]
        keys += [k for k in ("ae_attendances_per_year", "emergency_admissions_per_year")
                 if k in g.index and measured(k)][:1]
    keys += [k for k in ("cost_per_year", "staff_cost_per_year") if k in g.index and k not in keys]
    # no tile of "£0 → £0" where neither scenario counts a cost (the headline says so once: NO_COSTS)
    keys = [k for k in keys if not (_is_cost(k) and no_cost(_row(g, k), means.get((k, baseline)),
                                                             means.get((k, scen))))]
    tiles = []
    for k in keys:
        row = _row(g, k)
        info = kpi_info(k)
        unit = row.unit if isinstance(row.unit, str) else info.unit
        label = kpi_label_among(k, [scenario, variant], stored=row.label)
        cls, words = difference_verdict(row, info.better)
        base_m, new_m = means.get((k, baseline)), means.get((k, scen))
        yearly = unit in ("per year", "GBP per year")   # (in the tile's label)
        change = change_text(base_m, new_m, unit, not yearly) if base_m is not None and new_m is not None else ""
        diff, ci = difference_texts(row, unit, not yearly)
        notes = [f'<span class="ci">{escape(change)}</span>', f'<span class="ci">{escape(ci)}</span>',
                 f'<span class="verdict {cls}">{escape(words)}</span>']
        tiles.append(tile_html(label, row.diff_mean, unit, notes, cls, diff))
    if not tiles:
        return ""
    key = _breakable(f"Each tile: {baseline} → {scen}, the difference with its 95% CI.", (baseline, scen))
    return f'<p class="note tiles-key">{key}</p><div class="tiles">{"".join(tiles)}</div>'


def _is_cost(kpi: str) -> bool:
    """Whether a KPI is money: a total, a staff establishment's or a service's cost."""
    return kpi in (*COST_KPIS, "staff_cost_per_year") or kpi_info(kpi).group in MONEY_GROUPS


def _breakable(text: str, names: Sequence[str], longer_than: int = 18) -> str:
    """``text`` as HTML, each of ``names`` longer than a tile's line (``ed_integrated_at_ed_fragmented_budget``)
    allowed to break after its underscores; shorter names break only at spaces, as words do."""
    html = escape(text)
    for name in sorted({n for n in names if len(n) > longer_than}, key=len, reverse=True):
        html = html.replace(escape(name), escape(name).replace("_", "_<wbr>"))
    return html


def _absent_everywhere(scenarios: list[Scenario | None], names: Iterable[str] = ()) -> set[str]:
    """KPIs of things none of the scenarios has (no A&E step in either: no A&E attendances), which
    the tables leave out as the run report does, rather than show zeros beside a measure of the same
    name from the course of illness."""
    known = [s for s in scenarios if s is not None]
    if not known:
        return set()
    names = list(names)
    return set.intersection(*(absent_kpis(s, names) for s in known))


def compare_table_html(summary: pd.DataFrame, names: list[str], scenarios: Sequence[Scenario | None] = ()) -> str:
    """Each measure's mean (95% CI) in each scenario, labelled in the scenarios' words."""
    scen_order = list(dict.fromkeys([*names, *summary["scenario"].astype(str)]))
    kpis = set(summary["kpi"])
    rows = []
    for kpi, group in summary.groupby("kpi", sort=False):
        if kpi in HIDDEN_KPIS:
            continue
        g = group.set_index(group["scenario"].astype(str))
        first = group.iloc[0]
        unit = first["unit"] if isinstance(first.get("unit"), str) else kpi_info(kpi).unit
        row = {"Measure": _measure(kpi, first.get("label"), scenarios, kpis)}
        for sc in scen_order:
            if sc in g.index:
                r = g.loc[sc]
                e = Estimate(kpi, float(r["mean"]), float(r["lower"]), float(r["upper"]), int(r.get("n", 0) or 0))
                row[sc] = fmt(e.mean, unit) + (f" ({e.ci_text()})" if e.has_ci else "")
            else:
                row[sc] = ""
        rows.append(row)
    return ("<p class=note>Mean (95% CI) of each measure per scenario.</p>"
            + table_html(pd.DataFrame(rows), "kpi", numeric=tuple(scen_order)) + _cost_bases(summary))


_TOTAL, _ACTIVITY = "cost_per_year", "activity_cost_per_year"


def _cost_bases(summary: pd.DataFrame) -> str:
    """The note on total cost and activity cost under a table that shows both (:func:`cost_bases_html`)."""
    if not {"kpi", "scenario", "mean"} <= set(summary.columns):
        return ""
    means = {(str(r.kpi), str(r.scenario)): float(r.mean) for r in summary.itertuples()}
    names = dict.fromkeys(str(s) for s in summary["scenario"])
    return cost_bases_html({n: (means[(_TOTAL, n)], means[(_ACTIVITY, n)]) for n in names
                            if (_TOTAL, n) in means and (_ACTIVITY, n) in means})


def _measure(kpi: str, stored: object, scenarios: Sequence[Scenario | None], kpis: Iterable[str] = ()) -> str:
    """A measure's name in a comparison's tables: in the words of the scenarios (the baseline first)
    that :func:`~icssim.report.labels.words_of` chooses when they were read back, else the label
    stored with the results; the total cost says how it prices the teams where the table (of
    ``kpis``) shows the activity cost too."""
    if kpi == _TOTAL and _ACTIVITY in kpis:
        return TOTAL_COST_BESIDE_ACTIVITY
    return kpi_label_among(kpi, scenarios, stored=stored)


def differences_table_html(diffs: pd.DataFrame, scenarios: Sequence[Scenario | None] = (),
                           by_name: dict[str, Scenario | None] | None = None) -> str:
    """Each paired difference to the baseline with its interval, percentage and verdict; each row
    named as the first screen names it (:func:`~icssim.report.labels.words_of`): in the words of its
    own pair, the baseline and that scenario, given ``by_name`` (name → scenario), else of
    ``scenarios`` (the baseline first)."""
    from icssim.report_text import difference_verdict

    pairs = diffs[["scenario", "baseline"]].drop_duplicates()
    kpis = set(diffs["kpi"])
    rows = []
    for r in diffs.itertuples():
        if r.kpi in HIDDEN_KPIS:
            continue
        info = kpi_info(r.kpi)
        unit = r.unit if isinstance(r.unit, str) else info.unit
        cls, words = difference_verdict(r, info.better)
        pct = "" if pd.isna(r.pct_mean) or equal_by_design(r) else signed_pct(float(r.pct_mean))
        pair = ([by_name.get(str(r.baseline)), by_name.get(str(r.scenario))] if by_name else scenarios)
        row = {"Measure": _measure(r.kpi, r.label, pair, kpis)}
        if len(pairs) > 1:
            row["Scenario"] = f"{r.scenario} − {r.baseline}"
        diff, interval = difference_texts(r, unit)
        row.update({"Difference": diff, "95% CI": interval.removeprefix("95% CI ") or "–",
                    "Percent": pct, "Verdict": f'<span class="{cls}">{escape(words)}</span>'})
        rows.append(row)
    what = (f"{pairs.iloc[0]['scenario']} minus {pairs.iloc[0]['baseline']}" if len(pairs) == 1
            else "scenario minus baseline")
    return (f"<p class=note>Paired differences ({escape(what)}, replication by replication) with Student-t 95% "
            f"CIs; shares in percentage points.</p>"
            + table_html(pd.DataFrame(rows), "kpi", raw_html=("Verdict",), numeric=("Difference", "95% CI", "Percent"))
            + _cost_bases(_levels(diffs)))


def _levels(diffs: pd.DataFrame) -> pd.DataFrame:
    """Each scenario's mean of each measure from differences.csv (the baseline's and the
    baseline's plus the difference), as summary.csv gives them."""
    if not {"kpi", "scenario", "baseline", "baseline_mean", "diff_mean"} <= set(diffs.columns):
        return pd.DataFrame(columns=["kpi", "scenario", "mean"])
    base = diffs.assign(scenario=diffs["baseline"], mean=diffs["baseline_mean"])
    other = diffs.assign(mean=diffs["baseline_mean"] + diffs["diff_mean"])
    return pd.concat([base, other])[["kpi", "scenario", "mean"]].drop_duplicates(["kpi", "scenario"])


def scenario_links_html(folder: Path, runs: list[tuple[str, RunData]]) -> str:
    items = []
    for name, r in runs:
        rel = r.folder.relative_to(folder) if r.folder.is_relative_to(folder) else r.folder
        link = (f' — full report: <a href="{escape(str(rel))}/report.html">{escape(str(rel))}/report.html</a>'
                if (r.folder / REPORT_NAME).is_file() else "")
        findings = run_findings(r.est, r.scenario, r.meta, r.steady_state_warning) if r.est else []
        items.append(f"<h3>{escape(name)}</h3><p>Results folder <code>{escape(str(rel))}</code>{link}.</p>"
                     + ul_html(findings, "findings"))
    return "\n".join(items)


def compare_reproduce_html(folder: Path, meta: dict, runs: list[tuple[str, RunData]]) -> str:
    cmd = meta.get("command") or "icssim compare " + " ".join(meta.get("scenario_files", []) or [])
    rows = [("Command", cmd), ("Seed", meta.get("seed", "")), ("Replications", replications_and_precision(meta)),
            ("icssim version", meta.get("icssim_version", "")), ("Date (UTC)", meta.get("date", ""))]
    for name, r in runs:
        rows.append((f"{name}: scenario SHA-256", r.meta.get("scenario_sha256", "")))
        rows.append((f"{name}: scenario files", ", ".join(r.meta.get("scenario_files", []) or [])))
        rows += input_file_rows(r.meta, f"{name}: ")
    return (f"<pre><code>{escape(str(cmd))}</code></pre>"
            f"<p>To rebuild this report from the stored files: <code>icssim report {escape(folder_path(folder))}</code>.</p>"
            + table_html(pd.DataFrame([(a, str(b)) for a, b in rows], columns=["Item", "Value"]), "repro"))
