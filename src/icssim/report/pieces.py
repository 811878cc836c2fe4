"""Shared pieces of the HTML reports: the stored run data, the page shell, tables, images and plots."""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from html import escape
from pathlib import Path

import pandas as pd

from icssim import __version__
from icssim.errors import ScenarioError
from icssim.metrics import DAYS_PER_YEAR
from icssim.report.model_text import in_days
from icssim.report.numbers import Estimate, estimates
from icssim.report.stored import check_recorded, read_json, read_object, read_table
from icssim.report.terminating import plot_captions, replications_text
from icssim.scenario import scenario_from_dict
from icssim.scenario.schema import Scenario
from icssim.tables import read_csv

REPORT_NAME = "report.html"
PARAMETERS_NAME = "parameters.csv"
_CSS = Path(__file__).parents[1] / "templates" / "report.css"

HIDDEN_KPIS = {"events", "wall_seconds"}

#: Captions of the standard plots (by file name); other plots get their file name.
PLOT_CAPTIONS = {
    "forest.png": "Paired differences to the baseline with 95% CIs: shares (%) as differences in percentage "
                  "points, in a panel of their own; other measures as a percent of the baseline mean. Each "
                  "scenario has its colour in every plot of this comparison; hollow: the interval includes "
                  "zero; an arrowhead marks an interval cut where the measure cannot go (below zero, or a "
                  "share above 100%).",
    "wait_ecdf.png": "Completed waits (clock stopped) within each time since referral, as a share of all "
                     "completed waits, for patients referred after the warm-up (one line per series, as "
                     "labelled; the legend gives the share of those referred whose wait had not ended by the "
                     "end of the run). The axis is cut at a high percentile; the note under it gives the share "
                     "of waits beyond. Dashed lines: the waiting-time standards, each with a bar at its target. "
                     "An emergency department's plot is in hours and also shows the times its standards "
                     "measure (e.g. arrival to leaving).",
    "waiting_list.png": "Patients waiting (referred, not yet seen) over the whole run, counted at regular "
                        "snapshots (the plot's title says how often; a peak that comes and goes between two "
                        "snapshots is not drawn): mean across replications with its 95% CI band; grey: warm-up, "
                        "excluded from the KPIs.",
    "costs.png": "Cost per year by service (observation window only), each service in one colour in every "
                 "cost plot of a run and its comparison; whisker: 95% CI of the total.",
    "ce_plane.png": "Cost-effectiveness plane: incremental QALYs (x) and cost (y) per person who asked for help "
                    "against the baseline, one point per paired replication, the mean with its 95% CIs, and "
                    "lines at £20,000 and £30,000 per QALY (below a line: cost-effective at that threshold).",
}



# ----------------------------------------------------------------------------- stored data
@dataclass
class RunData:
    """What a run folder holds, loaded lazily and tolerant of missing optional files."""

    folder: Path
    meta: dict
    raw: dict | None = None
    scenario: Scenario | None = None
    scenario_error: str = ""
    kpis: pd.DataFrame | None = None
    est: dict[str, Estimate] = field(default_factory=dict)
    #: tables already in memory, by name, as written to the folder (a run being written): read
    #: from here rather than from their files
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path, meta: dict | None = None, tables: dict[str, pd.DataFrame] | None = None) -> RunData:
        meta = meta if meta is not None else (read_object(folder / "metadata.json") or {})
        data = cls(folder, meta, tables=dict(tables or {}))
        data.raw = read_json(folder / "scenario.json")
        if data.raw is not None:
            try:
                data.scenario = scenario_from_dict(data.raw, name=str(folder / "scenario.json"))
            except ScenarioError as exc:  # an older or newer schema: report what we can
                data.scenario_error = str(exc)
        data.kpis = read_table(folder / "kpis.csv", required=("kpi", "mean", "lower", "upper", "n"))
        if data.kpis is not None:
            data.est = estimates(data.kpis)
        return data

    @property
    def name(self) -> str:
        return str(self.meta.get("scenario") or (self.scenario.scenario.name if self.scenario else self.folder.name))

    @property
    def warmup_days(self) -> float:
        return in_days(self.scenario.scenario.warmup, self.scenario) if self.scenario else 0.0

    @property
    def window_years(self) -> float:
        if self.scenario is None:
            return math.nan
        s = self.scenario.scenario
        return (in_days(s.horizon, self.scenario) - in_days(s.warmup, self.scenario)) / DAYS_PER_YEAR

    @cached_property
    def steady_state_warning(self) -> str:
        """What a reader must know when a waiting list still moves through the observation window
        (:func:`icssim.warmup.unsettled_lists`; "" when every list settles or nothing can be
        tested): computed once, for the summary and the assumptions alike."""
        ts = self.table("timeseries")
        if ts is None or ts.empty or self.scenario is None:
            return ""
        from icssim.warmup import steady_state_warning, unsettled_lists

        return steady_state_warning(self.scenario.scenario.name, unsettled_lists(ts, self.warmup_days))

    def table(self, name: str, columns: list[str] | None = None) -> pd.DataFrame | None:
        held = self.tables.get(name)
        if held is not None and (columns is None or all(c in held for c in columns)):
            return held.copy(deep=False) if columns is None else held[columns]
        for ext in ("parquet", "csv"):
            path = self.folder / f"{name}.{ext}"
            if path.is_file():
                try:
                    table = (pd.read_parquet(path, columns=columns) if ext == "parquet"
                             else read_csv(path, usecols=columns))
                except (ValueError, KeyError):   # (an older folder's table, without the columns)
                    check_recorded(path)   # ... unless the record says the file is not as written
                    continue
                check_recorded(path, table)   # (a CSV cut at a line break reads as fewer rows)
                return table
        return None


# ----------------------------------------------------------------------------- HTML pieces
class Page:
    """An HTML page assembled from titled sections, with a table of contents."""

    def __init__(self, title: str, subtitle: str = "", facts: list[str] | None = None) -> None:
        self.title, self.subtitle, self.facts = title, subtitle, facts or []
        self.sections: list[tuple[str, str, str]] = []

    def add(self, ident: str, title: str, body: str) -> None:
        self.sections.append((ident, title, body))

    def html(self) -> str:
        nav = "".join(f'<a href="#{i}">{escape(t)}</a>' for i, t, _ in self.sections)
        body = "\n".join(f'<section id="{i}"><h2>{escape(t)}</h2>\n{b}\n</section>' for i, t, b in self.sections)
        facts = "".join(f"<li>{f}</li>" for f in self.facts)
        css = _CSS.read_text(encoding="utf-8")
        return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="icssim {escape(__version__)}">
<title>{escape(self.title)}</title>
<style>
{css}
</style>
</head>
<body>
<header>
<p class="kicker">icssim simulation report</p>
<h1>{escape(self.title)}</h1>
{f'<p class="lede">{escape(self.subtitle)}</p>' if self.subtitle else ''}
<ul class="facts">{facts}</ul>
<nav aria-label="Contents">{nav}</nav>
</header>
<main>
{body}
</main>
<footer>Written by icssim {escape(__version__)}. This file is self-contained: it needs no network access.</footer>
</body>
</html>
"""


def table_html(df: pd.DataFrame, cls: str = "", raw_html: tuple[str, ...] = (), numeric: tuple[str, ...] = (),
               code: tuple[str, ...] = ()) -> str:
    """A scrollable HTML table; columns in ``raw_html`` are inserted unescaped (already HTML),
    ``numeric`` columns are right-aligned and ``code`` columns set in a monospace font."""
    def attr(c: str) -> str:
        classes = (["num"] if c in numeric else []) + (["code"] if c in code else [])
        return f' class="{" ".join(classes)}"' if classes else ""

    head = "".join(f'<th scope="col"{attr(c)}>{escape(str(c))}</th>' for c in df.columns)
    rows = []
    for rec in df.itertuples(index=False):
        cells = []
        for col, value in zip(df.columns, rec):
            text = value if col in raw_html else escape("" if value is None or (isinstance(value, float)
                                                                                and math.isnan(value))
                                                        else str(value))
            cells.append(f"<td{attr(col)}>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="table-wrap"><table class="{cls}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def img_html(data: bytes, mime: str, alt: str, caption: str = "", cls: str = "", style: str = "") -> str:
    """An embedded image (base64 data URI) in a figure with a caption."""
    uri = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    style = f' style="{escape(style)}"' if style else ""
    # a diagram wider than a phone opens scrolled to its middle, where the pathway starts
    centre = (' onload="var f=this.parentNode;f.scrollLeft=(f.scrollWidth-f.clientWidth)/2"'
              if cls == "diagram" else "")
    return (f'<figure class="{cls}"><div class="scroll"><img src="{uri}" alt="{escape(alt)}"{style}{centre}></div>'
            f"{cap}</figure>")


def plots_html(folder: Path, skip: tuple[str, ...] = (), s: Scenario | None = None,
               first: dict[str, str] | None = None, captions: dict[str, str] | None = None) -> str:
    """Every stored plot with its caption, the standard ones in their order; ``first``: captions
    of plots (by file name) to show before the others, in that order (a PSA's); ``captions``:
    captions (by file name) in place of the standard ones, in the standard order (what a
    comparison's plane or forest plot could not draw)."""
    files = sorted((folder / "plots").glob("*.png")) if (folder / "plots").is_dir() else []
    order = {n: i for i, n in enumerate({**(first or {}), **PLOT_CAPTIONS})}
    files.sort(key=lambda p: (order.get(p.name, 99), p.name))
    # a terminating run: days, not warm-ups
    captions = {**PLOT_CAPTIONS, **plot_captions(s), **(first or {}), **(captions or {})}
    alts = {name: caption.split(":")[0] for name, caption in (first or {}).items()}
    figs = [img_html(p.read_bytes(), "image/png", alts.get(p.name, _plot_title(p)),
                     captions.get(p.name, _plot_title(p))) for p in files if p.name not in skip]
    return "\n".join(figs) if figs else "<p>No plots were stored in this folder.</p>"


#: What a sweep plot shows, by its file name's prefix (the rest names the KPI).
SWEEP_PLOTS = {"heatmap_": "{} at each pair of settings (mean)",
               "line_": "{} against the setting varied (mean and 95% CI band)",
               "scatter_": "{} at each point against each setting varied (mean and 95% CI)",
               "tornado_": "What moves {}: the change when each setting moves to its low and high value"}


def _plot_title(p: Path) -> str:
    """A plot's caption from its file name: a sweep plot's KPI by its label."""
    from icssim.kpis import kpi_info, kpi_of

    if p.stem == "cost_vs_wait":
        return ("Cost against wait at every point (mean and 95% CI), each labelled with its point number as in "
                "points.csv (with more than 40 points, the frontier's); the line joins the points no other point "
                "beats on both.")
    for prefix, words in SWEEP_PLOTS.items():
        rest = p.stem.removeprefix(prefix)
        if rest != p.stem:
            label = rest.replace("_", " ")
            if kpi_of(rest) is not None:
                info = kpi_info(rest)
                label = (f"The share within the {info.standard.replace('_', ' ')} standard"
                         if info.standard is not None else info.label)
            return words.format(label)
    return p.stem.replace("_", " ").capitalize()


def folder_name(folder: Path) -> str:
    """The results folder's name, also while it is still the temporary ``.NAME.partial-PID-XXXX``
    folder that :func:`icssim.output_folder.prepare_output` writes into."""
    name = folder.name
    temporary = re.fullmatch(r"\.(.+)\.partial(-[0-9]+-[0-9a-f]+)?", name)
    return temporary.group(1) if temporary else name


def folder_path(folder: Path) -> str:
    """The results folder as a user types it for ``icssim report``: relative to the current folder when
    inside it (``results/ed_integrated``), else its name (a full path would make the report depend on
    where the folder was written); quoted for a shell if it needs to be."""
    import shlex

    path = folder.parent / folder_name(folder)
    try:
        text = str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        text = path.name
    return shlex.quote(text)


def text_html(text: str) -> str:
    """Plain text (a warning, a sentence) as HTML: escaped, with `backticked` commands as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def ul_html(items: list[str], cls: str = "") -> str:
    return f'<ul class="{cls}">' + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def fact_items(meta: dict, s: Scenario | None = None) -> list[str]:
    facts = []
    if meta.get("replications"):
        facts.append(replications_text(int(meta["replications"]), s))
    if meta.get("seed") is not None:
        facts.append(f"seed {escape(str(meta['seed']))}")
    if meta.get("date"):
        facts.append(f"run {escape(str(meta['date'])[:16].replace('T', ' '))} UTC")
    if meta.get("icssim_version"):
        facts.append(f"icssim {escape(str(meta['icssim_version']))}")
    return facts


def replications_and_precision(meta: dict) -> str:
    """How many replications a run or comparison had, and the ``--precision`` target that chose
    them, if one did: what it was judged on and whether it was reached."""
    reps = meta.get("replications", "")
    prec = meta.get("precision")
    if not prec:
        return f"{reps}"
    on = ", ".join(prec.get("kpis", []))
    what, of = ((f"the paired differences of {on} to the baseline", "themselves") if "judged" in prec
                else (on, "their means"))
    state = "reached" if prec.get("reached") else "not reached: the cap stopped it"
    return f"{reps} (added until {what} were within ±{prec['target']:.0%} of {of}; {state})"
