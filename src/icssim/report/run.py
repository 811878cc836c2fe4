"""The report of a single-scenario run: summary tiles, KPI tables, pathway, model description (STRESS-DES), parameters, assumptions and how to reproduce it."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from icssim import pathway_graph
from icssim.errors import IcssimError
from icssim.kinds import KINDS
from icssim.kpis import kpi_groups, kpi_info
from icssim.report.labels import absent_kpis, group_title, kpi_label, left_out
from icssim.report.model_section import arrival_rates, model_html
from icssim.report.numbers import fmt
from icssim.report.terminating import measured_over, period_word, replications_text, terminating_note
from icssim.scenario.schema import Scenario
from icssim.report.parameters import needs_source, source_counts, stored_parameters
from icssim.report.pieces import (
    HIDDEN_KPIS,
    PARAMETERS_NAME,
    Page,
    RunData,
    fact_items,
    folder_path,
    img_html,
    plots_html,
    table_html,
    ul_html,
)
from icssim.report.run_text import how_sure, kpi_target, run_findings, standard_label, tile_keys


# ----------------------------------------------------------------------------- run report
def run_report(folder: Path, meta: dict, plots_ready: Callable[[], object] | None = None,
               tables: dict[str, pd.DataFrame] | None = None) -> str:
    """The run's report; ``plots_ready`` (if given) is called before the plots are embedded;
    ``tables``, the run's tables in memory, are used in place of their files."""
    data = RunData.load(folder, meta, tables)
    s = data.scenario
    subtitle = s.scenario.description if s is not None and s.scenario.description else ""
    page = Page(f"{data.name}: simulation report", subtitle, fact_items(meta, data.scenario))
    # the sections without plots first, while the plots and the diagram are drawn elsewhere
    sections = {"summary": run_summary_html(data), "results": kpi_tables_html(data), "model": model_html(data),
                "parameters": parameters_html(data), "assumptions": assumptions_html(data),
                "reproduce": reproduce_html(data)}
    if plots_ready is not None:
        plots_ready()
    page.add("summary", "Summary", sections["summary"])
    page.add("pathway", "Pathway", pathway_html(data))
    page.add("results", "Results with 95% confidence intervals", sections["results"])
    page.add("plots", "Plots", plots_html(folder, s=data.scenario))
    page.add("model", "Model description (STRESS-DES)", sections["model"])
    page.add("parameters", "Parameters and their sources", sections["parameters"])
    page.add("assumptions", "Assumptions and limits", sections["assumptions"])
    page.add("reproduce", "How to reproduce", sections["reproduce"])
    return page.html()


def run_summary_html(data: RunData) -> str:
    if not data.est:
        return "<p>No KPI table (kpis.csv) was found in this folder.</p>"
    tiles = []
    def shown(k: str) -> bool:
        e = data.est.get(k)
        if e is None or math.isnan(e.mean):
            return False
        if k in ("ae_attendances_per_year", "cost_per_year"):
            return e.mean > 0 or (k == "ae_attendances_per_year" and data.scenario is not None and any(
                KINDS[st.kind].counts_ae for st in data.scenario.pathway.steps.values()))
        return True

    for key in tile_keys(data.est, data.scenario, shown):
        e = data.est[key]
        label = standard_label(key, data.scenario)
        cls = ""
        target = kpi_target(key, data.scenario)
        ci = f'<span class="ci">95% CI {escape(e.ci_text(target))}</span>' if e.has_ci else ""
        if target is not None:
            lo, hi = e.bounds() if e.has_ci else (e.mean, e.mean)
            cls = "good" if lo >= target else ("bad" if hi < target else "unsure")
        yearly = e.unit in ("per year", "GBP per year")
        tiles.append(tile_html(label, e.mean, e.unit, [ci] if ci else [], cls, e.value_text(not yearly, target)))
    findings = run_findings(data.est, data.scenario, data.meta, data.steady_state_warning)
    return (f'<div class="tiles">{"".join(tiles)}</div>\n'
            f'{ul_html(findings, "findings")}\n<p class="sure">{how_sure(data.est, data.meta, data.scenario)}</p>')


def tile_html(label: str, value: float, unit: str, notes: list[str], cls: str = "", text: str | None = None) -> str:
    """A headline figure; yearly units go into the label so the value stays short."""
    yearly = unit in ("per year", "GBP per year")
    if yearly:
        label += " per year"
    if text is None:
        text = fmt(value, unit, with_unit=not yearly)
    state = f" tile-{cls}" if cls else ""
    return (f'<div class="tile{state}"><span class="tile-label">{escape(label)}</span>'
            f'<span class="tile-value">{escape(text)}</span>{"".join(notes)}</div>')


def _cost_bases(data: RunData, shown: list[str]) -> str:
    """Under the table that shows both the total cost and the activity cost: why they differ."""
    from icssim.report.staffing import cost_bases_html

    total, activity = "cost_per_year", "activity_cost_per_year"
    if total not in shown or activity not in shown:
        return ""
    return cost_bases_html({"": (data.est[total].mean, data.est[activity].mean)})


def kpi_tables_html(data: RunData) -> str:
    if data.kpis is None:
        return "<p>No KPI table (kpis.csv) was found in this folder.</p>"
    parts = []
    absent = absent_kpis(data.scenario, data.est)
    dropped = [k for k in data.est if k in absent and left_out(data.est[k].mean)]
    for title, chosen in kpi_groups(k for k in data.est if k not in HIDDEN_KPIS and k not in dropped):
        rows = []
        for k in chosen:
            e = data.est[k]
            label = kpi_label(k, data.scenario)
            if k == "cost_per_year" and "activity_cost_per_year" in chosen:
                from icssim.report.staffing import TOTAL_COST_BESIDE_ACTIVITY

                label = TOTAL_COST_BESIDE_ACTIVITY
            # the id a user types (--kpi, a sweep's kpis:) on hovering, not in a column of its own
            rows.append({"Measure": f'<span title="{escape(k)}">{escape(label)}</span>',
                         "Estimate": fmt(e.mean, e.unit), "95% CI": e.ci_text(),
                         "Better": {"lower": "lower", "higher": "higher"}.get(kpi_info(k).better, "")})
        parts.append(f"<h3>{escape(group_title(title, data.scenario))}</h3>" + table_html(pd.DataFrame(rows), "kpi", raw_html=("Measure",),
                                                               numeric=("Estimate", "95% CI"))
                     + _cost_bases(data, chosen))
    n = int(data.meta.get("replications", 1) or 1)
    note = (f"<p class=note>Means across {replications_text(n, data.scenario)} with Student-t 95% confidence "
            f"intervals; all waits and counts are measured over {measured_over(data.scenario)}.</p>" if n > 1 else
            "<p class=note>One replication: no confidence intervals.</p>")
    if any(k.startswith("utilisation_in_full_") for k in data.est):
        note += ("<p class=note>Utilisation is the busy time within the observation window, cut at the "
                 "horizon; the rows \u201ccounting work started before the horizon in full\u201d add the rest of "
                 "each service still in progress at the horizon, to its scheduled end. Waits and times at each "
                 "stage are of what was over by the horizon; what was still open is counted beside them.</p>")
    note += ("<p class=note>Each measure's name to type (in <code>--kpi</code>, a sweep's <code>kpis:</code> or "
             "<code>report.featured</code>) shows when you point at it, and is in the <code>kpi</code> column of "
             "kpis.csv.</p>")
    if dropped:
        note += (f"<p class=note>Not shown, because this scenario has no such step or route: "
                 f"{escape('; '.join(kpi_label(k, data.scenario) for k in dropped))}.</p>")
    return note + "\n".join(parts)


#: The pathway diagram, drawn with a run's plots (on another process) while the report is written.
DIAGRAM = "pathway.svg"


def pathway_html(data: RunData, heading: str = "") -> str:
    """The pathway diagram (as inline-embedded SVG) with observed flows when visits were recorded:
    the one drawn with the run's plots (``plots/pathway.svg``) if there is one, else drawn here."""
    s = data.scenario
    if s is None:
        return f"<p>The scenario could not be read back ({escape(data.scenario_error)}).</p>"
    drawn = data.folder / "plots" / DIAGRAM
    if drawn.is_file() and not heading:
        svg, note = drawn.read_bytes(), pathway_note(data.table("visits", ["replication"]), data.scenario)
    else:
        from icssim.plots import svg_bytes

        fig, note = pathway_figure(data, heading)
        svg = svg_bytes(fig)
    # at most its natural size, fitting the page's column on a desktop (the drawing is made for a column of
    # about 1,100 px); on a phone the stylesheet keeps it wide enough to read and it scrolls sideways
    match = re.search(rb'width="([0-9.]+)pt"', svg[:2000])
    style = ""
    if match:
        px = float(match.group(1)) * 4 / 3
        style = f"width: 100%; max-width: {px:.0f}px"
        note += " On a narrow screen, scroll the diagram sideways."
    return img_html(svg, "image/svg+xml", f"Pathway diagram of {s.scenario.name}", note, "diagram", style)


def pathway_figure(data: RunData, heading: str = "") -> tuple[Any, str]:
    """The pathway diagram's figure, with the flows observed in the visits table, and its caption."""
    from icssim import diagram

    s = data.scenario
    if s is None:
        raise IcssimError(f"{data.folder}: the scenario could not be read back ({data.scenario_error})")
    edges = pathway_graph.pathway_edges(s)
    visits = data.table("visits", ["replication", "pid", "step", "outcome", "t_end"])
    per_year = None
    if visits is not None and len(visits):
        patients = data.table("patients", ["replication", "pid", "outcome"])
        flows = pathway_graph.observed_flows(s, visits, patients, data.warmup_days)
        reps = int(visits["replication"].nunique()) if "replication" in visits else 1
        per = reps * data.window_years
        pathway_graph.attach_flows(edges, flows, per)
        entered = flows.groupby("dst")["count"].sum() / per
        started = visits[(visits["t_end"] >= data.warmup_days)]
        starts = started[started["outcome"] != "missed"].groupby("step", observed=True).size() / per
        per_year = {str(k): float(v) for k, v in starts.items()}
        for k, v in entered.items():
            if KINDS[s.pathway.steps[k].kind].is_exit:
                per_year[k] = float(v)
    fig = diagram.draw_pathway(s, pathway_graph.merge_deterioration(edges), heading, per_year)
    return fig, pathway_note(visits, s)


def pathway_note(visits: pd.DataFrame | None, s: Scenario | None = None) -> str:
    """The diagram's caption: what its boxes and arrows count (a terminating run has no warm-up to
    speak of: its replications are simulated days)."""
    if visits is None or not len(visits):
        return ("Arrows: the routes the scenario allows, labelled with their probabilities or conditions. "
                "No visits table was stored, so observed flows are not shown.")
    reps = int(visits["replication"].nunique()) if "replication" in visits else 1
    if period_word(s) is not None:
        return (f"Boxes: steps (patients leaving each step, as a rate per year, mean of "
                f"{replications_text(reps, s)}). Arrows: the routes the scenario allows, labelled with their "
                f"probabilities or conditions and the patients observed moving along them (and their share of "
                f"moves out of that step); line width grows with the flow.")
    return (f"Boxes: steps (patients leaving each step per year after warm-up, mean of {reps} "
            f"replication{'s' if reps != 1 else ''}). Arrows: the routes the scenario allows, labelled with "
            f"their probabilities or conditions and the patients observed moving along them per year "
            f"(and their share of moves out of that step); line width grows with the flow. The boxes count "
            f"everyone in the pathway after the warm-up, including people who asked for help before it ended; "
            f"the KPI tables count only people who asked for help after the warm-up, so their counts (A&E "
            f"attendances, admissions) are lower.")


def parameters_html(data: RunData) -> str:
    params = stored_parameters(data.folder, data.raw)
    if params is None or params.empty:
        return "<p>No scenario.json was found in this folder.</p>"
    rows = []
    for r in params.itertuples():
        src = str(r.source or "")
        owner = str(getattr(r, "source_key", "") or "")
        if src and owner:
            cell = f'{escape(src)} <span class="inherited">(noted on {escape(owner)})</span>'
        elif src:
            cell = escape(src)
        elif needs_source(str(r.path), str(r.value)):
            cell = '<span class="missing bad-soft">no source given</span>'
        else:
            cell = '<span class="missing">model structure or run setting</span>'
        where = f"{Path(str(r.file)).name}:{r.line}" if str(getattr(r, "line", "")) not in ("", "nan", "None") else ""
        rows.append({"Parameter": str(r.path), "Value": str(r.value), "Source": cell, "Where": where})
    n_q, n_src = source_counts(params)
    note = (f"<p class=note>{len(params)} values, of which {n_q} are quantities taken from data "
            f"(rates, durations, probabilities, staffing, costs): {n_src} of these cite a source, "
            f"{n_q - n_src} do not. Sources are the comments written next to each value (or its block) in the "
            f"scenario YAML.</p>")
    if not (data.folder / PARAMETERS_NAME).is_file():
        note += "<p class=note>This folder has no parameters.csv, so sources could not be shown.</p>"
    return note + table_html(pd.DataFrame(rows), "params", raw_html=("Source",), code=("Parameter",))


def assumptions_html(data: RunData) -> str:
    s, meta = data.scenario, data.meta
    between = "replications" if period_word(s) is None else f"simulated {period_word(s)}s"
    items = [
        ("Referrals arrive as Poisson processes; " + escape(arrival_rates(s))) if s is not None else
        "Referrals arrive as Poisson processes.",
        "Staff are modelled as a number of interchangeable servers per role; part-time clinical hours "
        "stretch each contact in calendar time rather than following rosters, leave or sickness.",
        "Patients are independent: no family, school or GP capacity effects beyond the steps modelled.",
        "Each contact or session costs a fixed unit cost (or staff hours × hourly cost); bed-days cost "
        "per day; a team with a staff establishment costs that establishment. "
        + (f"The value for money discounts costs at {s.health.discount.costs:.1%} and QALYs at "
           f"{s.health.discount.qalys:.1%} a year; the yearly costs and the budget impact are neither "
           "discounted nor inflated." if s is not None and s.health is not None
           else "Costs are not discounted or inflated."),
        f"Confidence intervals cover random variation between {between} only; uncertainty in the "
        "input values themselves needs a sensitivity analysis (icssim sweep).",
    ]
    if s is not None:
        if period_word(s) is not None:
            items.append(escape(terminating_note(s)))
        elif s.scenario.warmup.value == 0 and s.initial_state is not None:
            items.append("No warm-up: the run starts from the waiting lists and caseloads given (initial_state), "
                         "and measures from the first day.")
        elif s.scenario.warmup.value == 0:
            items.append('<span class="bad">No warm-up</span>: results include the start-up period when the '
                         "pathway is empty, which makes waits look shorter than in steady state.")
        if s.deterioration is not None:
            setters = [st.label or n for n, st in s.pathway.steps.items() if s.deterioration.attribute in st.sets]
            changed = (f"it changes otherwise only where a step sets it when the step ends ({', '.join(setters)})"
                       if setters else "treatment itself is not modelled as changing risk")
            items.append("Physical risk escalates only while waiting (at the hazard rates given); it does not "
                         f"improve without treatment, and {escape(changed)}.")
        if any(st.queue == "priority" for st in s.pathway.steps.values()):
            items.append("Priority queues serve more urgent patients first and never pre-empt a patient "
                         "already being seen.")
    n = int(meta.get("replications", 1) or 1)
    if n == 1:
        items.append('<span class="bad">One replication</span>: no confidence intervals; the figures may '
                     "differ noticeably in another run.")
    params = stored_parameters(data.folder, data.raw)
    if params is not None and len(params):
        n_q, n_src = source_counts(params)
        if n_q > n_src:
            items.append(f"{n_q - n_src} of {n_q} quantities in the scenario (rates, durations, probabilities, "
                         f"staffing, costs) cite no source in the scenario file: treat them as assumptions to be "
                         f"checked locally (see the parameter table).")
    if data.steady_state_warning:
        items.append("A waiting list still moves through the observation window, so there is no steady state: "
                     "waits, costs and outcomes depend on the run length (see the summary).")
    return ul_html(items)


def input_file_rows(meta: dict, prefix: str = "") -> list[tuple[str, str]]:
    """One row per input file the run copied into its folder (a waiting list): path and SHA-256."""
    label = f"{prefix}input file" if prefix else "Input file"
    return [(f"{label} {path} SHA-256", digest) for path, digest in (meta.get("input_files") or {}).items()]


def reproduce_html(data: RunData) -> str:
    meta = data.meta
    cmd = meta.get("command") or f"icssim run {' '.join(meta.get('scenario_files', [])[-1:])}"
    rows = [("Command", cmd), ("Scenario files", ", ".join(meta.get("scenario_files", []) or [])),
            ("Scenario SHA-256", meta.get("scenario_sha256", "")),
            *input_file_rows(meta), ("Seed", meta.get("seed", "")),
            ("Replications", meta.get("replications", "")), ("icssim version", meta.get("icssim_version", "")),
            ("Python", meta.get("python", "")), ("Date (UTC)", meta.get("date", ""))]
    table = table_html(pd.DataFrame([(a, str(b)) for a, b in rows], columns=["Item", "Value"]), "repro")
    inputs = " and input files" if meta.get("input_files") else ""
    return (f"<pre><code>{escape(str(cmd))}</code></pre>"
            f"<p>Running the same command with the same scenario file{inputs} (same SHA-256), seed and icssim version "
            "gives identical results, whatever the number of worker processes. To rebuild this report from "
            f"the stored files without re-running: <code>icssim report {escape(folder_path(data.folder))}</code>.</p>"
            + table)
