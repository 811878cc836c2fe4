"""The report of any other results folder (a sweep, a warm-up study): its facts, tables and plots."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

import pandas as pd

from icssim.metrics import kpi_info
from icssim.report.compare import scenario_folders, scenario_links_html
from icssim.report.parameters import value_text
from icssim.report.pieces import (
    Page,
    RunData,
    fact_items,
    folder_path,
    plots_html,
    table_html,
    ul_html,
)
from icssim.report.stored import read_table
from icssim.tables import RECORD_KEY


# ----------------------------------------------------------------------------- sweeps and others
def generic_report(folder: Path, meta: dict) -> str:
    """A report for any other results folder (e.g. a sweep): its facts, tables and plots."""
    kind = str(meta.get("kind", "results"))
    name = str(meta.get("name") or meta.get("scenario") or folder.name)
    page = Page(f"{name}: {kind} report", str(meta.get("description", "")), fact_items(meta))
    skip = {"kind", "name", "description", "packages", "tables", "plots", "store", "command", RECORD_KEY}
    facts = {k: v for k, v in meta.items() if not isinstance(v, (dict, list)) and k not in skip and v is not None}
    lists = {k: v for k, v in meta.items() if isinstance(v, (dict, list)) and k not in skip and v}
    summary = ""
    params = meta.get("parameters")
    if isinstance(params, dict) and params:
        rows = [{"Parameter": k, "Values": value_text(v) if isinstance(v, (dict, list)) else str(v)}
                for k, v in params.items()]
        summary += "<h3>What was varied</h3>" + table_html(pd.DataFrame(rows), "params", code=("Parameter",))
        lists.pop("parameters", None)
    kpis = meta.get("kpis")
    if isinstance(kpis, list) and kpis:
        summary += "<h3>Measures</h3>" + ul_html([f"{escape(kpi_info(k).label)} <code>{escape(k)}</code>"
                                               for k in kpis])
        lists.pop("kpis", None)
    summary += "<h3>Facts</h3>" + table_html(pd.DataFrame([(k.replace("_", " "), str(v)) for k, v in facts.items()],
                                                          columns=["Item", "Value"]), "repro")
    for k, v in lists.items():
        summary += (f"<h3>{escape(k.replace('_', ' ').capitalize())}</h3>"
                    f"<pre><code>{escape(json.dumps(v, indent=2, default=str)[:4000])}</code></pre>")
    page.add("summary", "Summary", summary)
    page.add("plots", "Plots", plots_html(folder))
    tables = []
    first = {"points.csv": 0, "summary.csv": 1, "differences.csv": 2}
    for csv in sorted(folder.glob("*.csv"), key=lambda p: (first.get(p.name, 9), p.name)):
        df = read_table(csv)
        if df is None:   # (gone since the folder was listed)
            continue
        cap = 200 if csv.name in first else 50
        more = f"<p class=note>First {cap} of {len(df):,} rows (all in {escape(csv.name)}).</p>" if len(df) > cap else ""
        tables.append(f"<h3>{escape(csv.name)}</h3>{more}" + table_html(_round(df.head(cap)), "kpi"))
    page.add("tables", "Tables", "\n".join(tables) or "<p>No tables.</p>")
    subs = scenario_folders(folder, meta)
    if subs:
        runs = [(n, RunData.load(p)) for n, p in subs]
        page.add("scenarios", "Each scenario", scenario_links_html(folder, runs))
    page.add("reproduce", "How to reproduce",
             f"<pre><code>{escape(str(meta.get('command', '')))}</code></pre>"
             f"<p>To rebuild this report: <code>icssim report {escape(folder_path(folder))}</code>.</p>")
    return page.html()


def _round(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].map(lambda x: "" if pd.isna(x) else f"{x:,.4g}" if abs(x) < 1e4 else f"{x:,.0f}")
    return out
