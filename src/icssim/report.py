"""A self-contained HTML report for a results folder: a run, a comparison or a sweep.

``report.html`` is built only from the files stored in the folder (``metadata.json``,
``scenario.json``, ``parameters.csv``, ``kpis.csv``, ``plots/*.png``, the patients,
visits and timeseries tables, and for comparisons ``summary.csv`` and
``differences.csv``), so ``icssim report RESULTS_DIR`` rebuilds it at any time without
re-running anything. Images are embedded as base64 data URIs and the CSS is inline: the
file opens offline, on a phone, and prints cleanly.

The page follows the STRESS-DES reporting checklist (Monks et al. 2019) for the model
description; the words are generated in :mod:`icssim.report_text`.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import math
import re
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd

from icssim import __version__
from icssim.errors import IcssimError
from icssim.metrics import DAYS_PER_YEAR, kpi_info
from icssim.report_text import (
    COST_KPIS, compare_headline, HEADLINE, PATIENT_KPIS, Estimate, cohort_rows, difference_sentence, estimates, fmt,
    diff_ci_text, fmt_diff, how_sure, queue_words, resource_rows, in_days, run_findings, span_text, standard_label, standard_who,
    step_rows,
)
from icssim.scenario.schema import Scenario

REPORT_NAME = "report.html"
PARAMETERS_NAME = "parameters.csv"
_CSS = (Path(__file__).parent / "templates" / "report.css")

#: How KPI tables are grouped (by name prefix or exact name), in page order.
KPI_GROUPS: list[tuple[str, tuple[str, ...]]] = [
    ("Waits from referral", ("wait_to_", "untreated_time_mean")),
    ("Waiting-time standards", ("within_",)),
    ("Access and outcomes", ("uptake_after_referral", "share_treated", "share_ever_rejected", "share_dropped_out",
                             "still_waiting_at_end")),
    ("Demand and flow", ("referrals_per_year", "rejected_referrals_per_year", "rereferrals_per_year",
                         "duplicated_assessments_per_year", "mean_in_system")),
    ("Emergency and inpatient use", ("ae_attendances_per_year", "emergency_admissions_per_year",
                                     "inpatient_admissions_per_year", "specialist_bed_days_per_year",
                                     "share_intensive_12m")),
    ("Capacity", ("utilisation_",)),
    ("Costs", ("cost_",)),
]
_HIDDEN_KPIS = {"events", "wall_seconds"}

#: Captions of the standard plots (by file name); other plots get their file name.
PLOT_CAPTIONS = {
    "forest.png": "Paired differences to the baseline with 95% CIs (percent of the baseline mean); "
                  "blue: the interval excludes zero.",
    "wait_ecdf.png": "Share of patients referred after the warm-up who had started, by days since referral "
                     "(one line per series, as labelled). Dashed lines: the waiting-time standards.",
    "waiting_list.png": "Patients waiting (referred, not yet seen) over the whole run: mean across "
                        "replications with its 95% CI band; grey: warm-up, excluded from the KPIs.",
    "costs.png": "Cost per year by service (observation window only); whisker: 95% CI of the total.",
}


# ----------------------------------------------------------------------------- entry points
def write_report(folder: Path | str, out: Path | str | None = None) -> Path:
    """Build the report of the results ``folder`` and write it (default ``folder/report.html``)."""
    folder = Path(folder)
    html = build_report(folder)
    target = Path(out) if out is not None else folder / REPORT_NAME
    target.write_text(html, encoding="utf-8")
    return target


def build_report(folder: Path) -> str:
    """The report's HTML for a run, compare or sweep folder (from its metadata.json ``kind``)."""
    meta = _read_json(folder / "metadata.json")
    if meta is None:
        raise IcssimError(f"{folder} is not a results folder: metadata.json is missing")
    kind = meta.get("kind", "run")
    if kind == "compare":
        return compare_report(folder, meta)
    if kind == "run":
        return run_report(folder, meta)
    return generic_report(folder, meta)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``icssim report RESULTS_DIR`` to the command line."""
    p = subparsers.add_parser("report", help="(re)build report.html of a results folder without re-running")
    p.add_argument("folder", type=Path, help="a folder written by icssim run, compare or sweep")
    p.add_argument("--out", type=Path, default=None, help="where to write (default: FOLDER/report.html)")
    p.set_defaults(handler=_cmd_report)


def _cmd_report(args: argparse.Namespace) -> int:
    if not args.folder.is_dir():
        raise IcssimError(f"{args.folder} is not a folder")
    path = write_report(args.folder, args.out)
    print(f"wrote {path}")
    return 0


# ----------------------------------------------------------------------------- parameters
def parameter_rows(scenario: Scenario) -> pd.DataFrame:
    """Every scenario value with its key path, file, line and source comment (from the YAML)."""
    from icssim.scenario import provenance

    prov = provenance(scenario)
    rows = []
    for path, value in _flatten(prov.raw):
        comment, owner = "", None
        for cut in range(len(path), 0, -1):
            if path[:cut] in prov.comments:
                comment, owner = prov.comments[path[:cut]], path[:cut]
                break
        file, line = prov.where(path)
        rows.append({"path": _dotted(path), "value": value, "source": comment,
                     "source_key": _dotted(owner) if owner and owner != path else "",
                     "file": file, "line": line})
    return pd.DataFrame(rows, columns=["path", "value", "source", "source_key", "file", "line"])


def write_parameters(scenario: Scenario, folder: Path) -> Path:
    """Write ``parameters.csv`` (path, value, source, source_key, file, line) into ``folder``."""
    path = folder / PARAMETERS_NAME
    parameter_rows(scenario).to_csv(path, index=False)
    return path


def _flatten(node: Any, path: tuple = ()) -> list[tuple[tuple, str]]:
    """(key path, value text) pairs; small mappings of plain values stay on one row."""
    if isinstance(node, dict):
        if path and node and len(node) <= 4 and all(_plain(v) for v in node.values()):
            return [(path, _value_text(node))]
        out = []
        for k, v in node.items():
            out.extend(_flatten(v, (*path, k)))
        return out
    if isinstance(node, list) and node and not all(_plain(v) for v in node):
        if all(isinstance(v, dict) and all(_plain(x) for x in v.values()) for v in node):
            return [(path, "; ".join(_value_text(v) for v in node))]
        out = []
        for i, v in enumerate(node):
            out.extend(_flatten(v, (*path, i)))
        return out
    return [(path, _value_text(node))]


def _plain(v: Any) -> bool:
    return not isinstance(v, (dict, list)) or (isinstance(v, list) and all(not isinstance(x, (dict, list)) for x in v))


def _value_text(v: Any) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_value_text(x)}" for k, x in v.items())
    if isinstance(v, list):
        return "[" + ", ".join(_value_text(x) for x in v) + "]"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else str(v)


def _dotted(path: tuple | None) -> str:
    if not path:
        return ""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


#: Keys whose values are choices about the run or labels, not data that needs a cited source.
_NO_SOURCE_NEEDED = {"name", "description", "label", "seed", "horizon", "warmup", "sample_every", "start_date",
                     "time_unit", "kind", "service", "staff", "entry", "queue", "outcome", "attribute", "role",
                     "emergency_step", "detected_step", "urgent_from", "emergency_at", "accept", "caseload", "bed",
                     "to", "when", "urgency", "measure", "attributes", "until", "deteriorate_while_waiting"}


def needs_source(path: str, value: str) -> bool:
    """Whether a parameter is a quantity taken from data (so should cite a source)."""
    last = path.replace("]", "").split(".")[-1].split("[")[0]
    if last in _NO_SOURCE_NEEDED:
        return False
    return any(ch.isdigit() for ch in str(value))


def _stored_parameters(folder: Path, raw: dict | None) -> pd.DataFrame | None:
    """parameters.csv if the run recorded it, else the scenario.json values without sources."""
    path = folder / PARAMETERS_NAME
    if path.is_file():
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        return df
    if raw is None:
        return None
    return pd.DataFrame([{"path": _dotted(p), "value": v, "source": "", "source_key": "", "file": "",
                          "line": ""} for p, v in _flatten(raw)])


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

    @classmethod
    def load(cls, folder: Path, meta: dict | None = None) -> "RunData":
        meta = meta if meta is not None else (_read_json(folder / "metadata.json") or {})
        data = cls(folder, meta)
        data.raw = _read_json(folder / "scenario.json")
        if data.raw is not None:
            from icssim.scenario import scenario_from_dict
            from icssim.errors import ScenarioError

            try:
                data.scenario = scenario_from_dict(data.raw, name=str(folder / "scenario.json"))
            except ScenarioError as exc:  # an older or newer schema: report what we can
                data.scenario_error = str(exc)
        if (folder / "kpis.csv").is_file():
            data.kpis = pd.read_csv(folder / "kpis.csv")
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

    def table(self, name: str, columns: list[str] | None = None) -> pd.DataFrame | None:
        for ext in ("parquet", "csv"):
            path = self.folder / f"{name}.{ext}"
            if path.is_file():
                try:
                    if ext == "parquet":
                        return pd.read_parquet(path, columns=columns)
                    return pd.read_csv(path, usecols=columns)
                except (ValueError, KeyError):
                    continue
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
    return (f'<figure class="{cls}"><div class="scroll"><img src="{uri}" alt="{escape(alt)}"{style}></div>'
            f"{cap}</figure>")


def plots_html(folder: Path, skip: tuple[str, ...] = ()) -> str:
    files = sorted((folder / "plots").glob("*.png")) if (folder / "plots").is_dir() else []
    order = {n: i for i, n in enumerate(PLOT_CAPTIONS)}
    files.sort(key=lambda p: (order.get(p.name, 99), p.name))
    figs = [img_html(p.read_bytes(), "image/png", _plot_title(p), PLOT_CAPTIONS.get(p.name, _plot_title(p)))
            for p in files if p.name not in skip]
    return "\n".join(figs) if figs else "<p>No plots were stored in this folder.</p>"


def _plot_title(p: Path) -> str:
    return p.stem.replace("_", " ").capitalize()


def folder_name(folder: Path) -> str:
    """The results folder's name, also while it is still the temporary ``.NAME.partial`` folder
    that :func:`icssim.results.prepare_output` writes into."""
    name = folder.name
    if name.startswith(".") and name.endswith(".partial"):
        return name[1:-len(".partial")]
    return name


def _read_json(path: Path) -> Any:
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _ul(items: list[str], cls: str = "") -> str:
    return f'<ul class="{cls}">' + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def _facts(meta: dict) -> list[str]:
    facts = []
    if meta.get("replications"):
        facts.append(f"{int(meta['replications'])} replication{'s' if meta['replications'] != 1 else ''}")
    if meta.get("seed") is not None:
        facts.append(f"seed {escape(str(meta['seed']))}")
    if meta.get("date"):
        facts.append(f"run {escape(str(meta['date'])[:16].replace('T', ' '))} UTC")
    if meta.get("icssim_version"):
        facts.append(f"icssim {escape(str(meta['icssim_version']))}")
    return facts


# ----------------------------------------------------------------------------- run report
def run_report(folder: Path, meta: dict) -> str:
    data = RunData.load(folder, meta)
    s = data.scenario
    subtitle = s.scenario.description if s is not None and s.scenario.description else ""
    page = Page(f"{data.name}: simulation report", subtitle, _facts(meta))
    page.add("summary", "Summary", run_summary_html(data))
    page.add("pathway", "Pathway", pathway_html(data))
    page.add("results", "Results with 95% confidence intervals", kpi_tables_html(data))
    page.add("plots", "Plots", plots_html(folder))
    page.add("model", "Model description (STRESS-DES)", model_html(data))
    page.add("parameters", "Parameters and their sources", parameters_html(data))
    page.add("assumptions", "Assumptions and limits", assumptions_html(data))
    page.add("reproduce", "How to reproduce", reproduce_html(data))
    return page.html()


def run_summary_html(data: RunData) -> str:
    if not data.est:
        return "<p>No KPI table (kpis.csv) was found in this folder.</p>"
    ts = data.table("timeseries")
    tiles = []
    def shown(k: str) -> bool:
        e = data.est.get(k)
        if e is None or math.isnan(e.mean):
            return False
        if k in ("ae_attendances_per_year", "cost_per_year"):
            return e.mean > 0 or (k == "ae_attendances_per_year" and data.scenario is not None and any(
                st.kind == "emergency" for st in data.scenario.pathway.steps.values()))
        return True

    stds = [k for k in data.est if k.startswith("within_") and shown(k)][:2]
    keys = [k for k in ("wait_to_treatment_median",) if shown(k)] + stds
    keys += [k for k in ("ae_attendances_per_year", "cost_per_year") if shown(k)]
    if len(keys) < 5 and shown("wait_to_assessment_median"):
        keys.insert(1 if keys and keys[0] == "wait_to_treatment_median" else 0, "wait_to_assessment_median")
    for key in keys:
        e = data.est[key]
        label = standard_label(key, data.scenario)
        ci = f'<span class="ci">95% CI {escape(e.ci_text())}</span>' if e.has_ci else ""
        cls = ""
        if key.startswith("within_") and data.scenario is not None and key[7:] in data.scenario.scenario.standards:
            target = data.scenario.scenario.standards[key[7:]].target
            lo, hi = e.bounds() if e.has_ci else (e.mean, e.mean)
            cls = "good" if lo >= target else ("bad" if hi < target else "unsure")
        tiles.append(_tile(label, e.mean, e.unit, [ci] if ci else [], cls))
    findings = run_findings(data.est, data.scenario, data.meta, ts)
    return (f'<div class="tiles">{"".join(tiles)}</div>\n'
            f'{_ul(findings, "findings")}\n<p class="sure">{how_sure(data.est, data.meta)}</p>')


def _tile(label: str, value: float, unit: str, notes: list[str], cls: str = "", text: str | None = None) -> str:
    """A headline figure; yearly units go into the label so the value stays short."""
    yearly = unit in ("per year", "GBP per year")
    if yearly:
        label += " per year"
    if text is None:
        text = fmt(value, unit, with_unit=not yearly)
    state = f" tile-{cls}" if cls else ""
    return (f'<div class="tile{state}"><span class="tile-label">{escape(label)}</span>'
            f'<span class="tile-value">{escape(text)}</span>{"".join(notes)}</div>')


def kpi_tables_html(data: RunData) -> str:
    if data.kpis is None:
        return "<p>No KPI table (kpis.csv) was found in this folder.</p>"
    left = [k for k in data.est if k not in _HIDDEN_KPIS]
    parts = []
    for title, keys in KPI_GROUPS + [("Other", ())]:
        chosen = [k for k in left if (any(k == x or (x.endswith("_") and k.startswith(x)) for x in keys)
                                      if keys else True)]
        left = [k for k in left if k not in chosen]
        if not chosen:
            continue
        rows = []
        for k in chosen:
            e = data.est[k]
            label = kpi_info(k).label
            if k.startswith("within_") and data.scenario is not None:
                std = data.scenario.scenario.standards.get(k[7:])
                if std is not None:
                    label += f" (target {std.target:.0%})"
            rows.append({"Measure": label, "Estimate": fmt(e.mean, e.unit), "95% CI": e.ci_text(),
                         "Better": {"lower": "lower", "higher": "higher"}.get(kpi_info(k).better, ""),
                         "KPI name": k})
        parts.append(f"<h3>{escape(title)}</h3>" + table_html(pd.DataFrame(rows), "kpi",
                                                               numeric=("Estimate", "95% CI"), code=("KPI name",)))
    n = int(data.meta.get("replications", 1) or 1)
    note = ("<p class=note>Means across replications with Student-t 95% confidence intervals; all waits "
            "and counts are measured over patients referred after the warm-up.</p>" if n > 1 else
            "<p class=note>One replication: no confidence intervals.</p>")
    return note + "\n".join(parts)


def pathway_html(data: RunData, heading: str = "") -> str:
    """The pathway diagram (as inline-embedded SVG) with observed flows when visits were recorded."""
    from icssim import diagram

    s = data.scenario
    if s is None:
        return f"<p>The scenario could not be read back ({escape(data.scenario_error)}).</p>"
    edges = diagram.pathway_edges(s)
    visits = data.table("visits", ["replication", "pid", "step", "outcome", "t_end"])
    per_year = None
    note = ("Arrows: the routes the scenario allows, labelled with their probabilities or conditions. "
            "No visits table was stored, so observed flows are not shown.")
    if visits is not None and len(visits):
        patients = data.table("patients", ["replication", "pid", "outcome"])
        flows = diagram.observed_flows(s, visits, patients, data.warmup_days)
        reps = int(visits["replication"].nunique()) if "replication" in visits else 1
        per = reps * data.window_years
        diagram.attach_flows(edges, flows, per)
        entered = flows.groupby("dst")["count"].sum() / per
        started = visits[(visits["t_end"] >= data.warmup_days)]
        starts = started[started["outcome"].astype(str) != "missed"].groupby("step", observed=True).size() / per
        per_year = {str(k): float(v) for k, v in starts.items()}
        for k, v in entered.items():
            if s.pathway.steps[k].kind == "discharge":
                per_year[k] = float(v)
        note = (f"Boxes: steps (patients leaving each step per year after warm-up, mean of {reps} "
                f"replication{'s' if reps != 1 else ''}). Arrows: the routes the scenario allows, labelled with "
                f"their probabilities or conditions and the patients observed moving along them per year "
                f"(and their share of moves out of that step); line width grows with the flow.")
    fig = diagram.draw_pathway(s, diagram.merge_deterioration(edges), heading, per_year)
    import matplotlib
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "icssim", "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    svg = buf.getvalue()
    # show the diagram at its natural size (never below 80% of it: text stays legible), scrolling sideways
    # inside its frame when the page is narrower
    match = re.search(rb'width="([0-9.]+)pt"', svg[:2000])
    style = ""
    if match:
        px = float(match.group(1)) * 4 / 3
        style = f"width: 100%; max-width: {px:.0f}px; min-width: {0.8 * px:.0f}px"
    return img_html(svg, "image/svg+xml", f"Pathway diagram of {s.scenario.name}", note, "diagram", style)


def model_html(data: RunData) -> str:
    s, meta = data.scenario, data.meta
    if s is None:
        return f"<p>The scenario could not be read back ({escape(data.scenario_error)}).</p>"
    info = s.scenario
    unit = info.time_unit
    std_items = [f"{escape(n)}: {st.target:.0%} of {escape(standard_who(st).lower())} referrals start "
                 f"{'treatment' if st.measure == 'referral_to_treatment' else 'assessment'} within "
                 f"{escape(span_text(st.within, unit))}" for n, st in info.standards.items()]
    objectives = (f"<p>{escape(info.description) + ' ' if info.description else ''}The model estimates, "
                  f"for this configuration of the pathway, how long patients wait from referral to assessment "
                  f"and treatment, how many meet the waiting-time standards, how many are rejected, drop out "
                  f"or reach emergency care, how busy each resource is, and what it all costs per year.</p>")
    if std_items:
        objectives += "<p>Standards measured:</p>" + _ul(std_items)
    entities = table_html(pd.DataFrame(cohort_rows(s)), numeric=("Referrals a year",))
    steps = table_html(pd.DataFrame(step_rows(s)))
    resources = table_html(pd.DataFrame(resource_rows(s))) if s.services else "<p>No services.</p>"
    queues: dict[str, list[str]] = {}
    for n, st in s.pathway.steps.items():
        if st.staff or st.caseload or st.bed:
            queues.setdefault(st.queue, []).append(n)
    det = ""
    if s.deterioration is not None:
        d = s.deterioration
        hz = ", ".join(f"{lvl} {r}" for lvl, r in d.hazard.items())
        det = (f"<p><strong>Deterioration.</strong> While waiting, a patient's {escape(d.attribute)} rises one "
               f"level at a time (hazard: {escape(hz)}).")
        if d.urgent_from:
            det += f" From {escape(d.urgent_from)} the referral becomes urgent."
        det += f" At {escape(d.emergency_at)} the patient goes to {escape(d.emergency_step)}"
        if d.detected_step and d.detection_probability > 0:
            det += (f", unless monitoring detects it first ({d.detection_probability:.0%}), in which case "
                    f"they go to {escape(d.detected_step)}")
        det += ".</p>"
    exits = sorted({st.outcome or n for n, st in s.pathway.steps.items() if st.kind == "discharge"})
    logic = (
        "<h3>2.1 Patients (entities) and cohorts</h3>"
        "<p>Patients arrive as independent Poisson streams, one per cohort, at a constant rate; each "
        "patient draws its attributes at arrival.</p>" + entities +
        "<h3>2.2 Activities and steps</h3><p>A patient joins a step's queue, waits for every resource "
        "the step uses, is served, then follows the step's routing. Staff time is a number of "
        "servers (WTE rounded up); part-time clinical hours stretch each contact in calendar time.</p>"
        + steps +
        "<h3>2.3 Resources</h3>" + resources +
        "<h3>2.4 Queue disciplines</h3>" + _ul([f"<strong>{escape(q)}</strong> ({escape(', '.join(ns))}): "
                                                f"{escape(queue_words(q))}" for q, ns in queues.items()] or
                                               ["no step queues for a resource"]) +
        "<h3>2.5 Routing, entry and exit</h3><p>Routing is drawn in the pathway diagram above and listed "
        "per step in 2.2. Patients enter at " + escape(", ".join(sorted({c.entry for c in s.cohorts.values()})))
        + " and leave through the discharge steps (" + escape(", ".join(exits)) + "), by dropping out, or "
        "by discharge after missed appointments.</p>" + det)
    n_par = n_q = n_src = 0
    params = _stored_parameters(data.folder, data.raw)
    if params is not None:
        n_par = len(params)
        n_q, n_src = _source_counts(params)
    data_txt = (f"<p>All input values are in the <a href=\"#parameters\">parameter table</a>: {n_par} values, "
                f"{n_q} of them quantities taken from data, of which {n_src} cite a source in the scenario file "
                f"(the YAML comment on the value or on the block it belongs to). Times are in {escape(unit)} "
                f"unless a unit is given.</p>")
    window = (in_days(info.horizon, s) - in_days(info.warmup, s)) / DAYS_PER_YEAR
    reps = meta.get("replications", "?")
    prec = meta.get("precision")
    exp_rows = [
        ("Initialisation", f"starts empty and idle; warm-up {span_text(info.warmup, unit)} "
                           f"(results from patients arriving after it)"),
        ("Run length", f"{span_text(info.horizon, unit)} in total; observation window {window:.3g} years"),
        ("Replications", f"{reps}" + (f" (chosen to reach ±{prec['target']:.0%} precision on "
                                      f"{', '.join(prec.get('kpis', []))})" if prec else "")),
        ("Estimation", "mean across replications with a Student-t 95% confidence interval"),
        ("Time unit", unit),
    ]
    exp_html = table_html(pd.DataFrame(exp_rows, columns=["Item", "Value"]))
    pk = meta.get("packages", {}) or {}
    impl_rows = [
        ("Software", f"icssim {meta.get('icssim_version', '?')} (Python {meta.get('python', '?')}), a "
                     f"discrete-event simulation on simpy"),
        ("Packages", ", ".join(f"{k} {v}" for k, v in pk.items())),
        ("Random numbers", f"seed {meta.get('seed', info.seed)}; one numpy PCG64 stream per source of "
                           f"randomness, seeded from (seed, replication, stream name), so scenarios run with "
                           f"the same seed share random numbers (common random numbers)"),
        ("Platform", str(meta.get("platform", "?"))),
        ("Run time", _run_time(meta)),
    ]
    impl_html = table_html(pd.DataFrame(impl_rows, columns=["Item", "Value"]))
    return ("<p class=note>Structured after the STRESS-DES checklist for reporting discrete-event "
            "simulation studies (Monks et al. 2019).</p>"
            "<h3>1. Objectives</h3>" + objectives +
            "<h3>2. Model logic</h3>" + logic +
            "<h3>3. Data</h3>" + data_txt +
            "<h3>4. Experimentation</h3>" + exp_html +
            "<h3>5. Implementation</h3>" + impl_html +
            "<h3>6. Code access</h3><p>icssim is open source; the exact scenario is stored with these "
            "results (scenario.json, parameters.csv) and identified by its hash in "
            "<a href=\"#reproduce\">How to reproduce</a>.</p>")


def _run_time(meta: dict) -> str:
    parts = []
    if meta.get("simulation_seconds"):
        parts.append(f"{meta['simulation_seconds']:g} s of simulation across replications")
    if meta.get("wall_seconds"):
        parts.append(f"{meta['wall_seconds']:g} s wall clock")
    if isinstance(meta.get("events_simulated"), int):
        parts.append(f"{meta['events_simulated']:,} events")
    if meta.get("events_per_second"):
        parts.append(f"{meta['events_per_second']:,} events per second")
    return "; ".join(parts) or "not recorded"


def parameters_html(data: RunData) -> str:
    params = _stored_parameters(data.folder, data.raw)
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
    n_q, n_src = _source_counts(params)
    note = (f"<p class=note>{len(params)} values, of which {n_q} are quantities taken from data "
            f"(rates, durations, probabilities, staffing, costs): {n_src} of these cite a source, "
            f"{n_q - n_src} do not. Sources are the comments written next to each value (or its block) in the "
            f"scenario YAML.</p>")
    if not (data.folder / PARAMETERS_NAME).is_file():
        note += "<p class=note>This folder has no parameters.csv, so sources could not be shown.</p>"
    return note + table_html(pd.DataFrame(rows), "params", raw_html=("Source",), code=("Parameter",))


def _source_counts(params: pd.DataFrame) -> tuple[int, int]:
    """(quantities needing a source, of which with a source)."""
    q = [needs_source(str(r.path), str(r.value)) for r in params.itertuples()]
    has = params["source"].astype(str).str.len() > 0
    return int(sum(q)), int(sum(1 for need, h in zip(q, has) if need and h))


def assumptions_html(data: RunData) -> str:
    s, meta = data.scenario, data.meta
    items = [
        "Referrals arrive at a constant average rate (a Poisson process): no seasonality, trends or "
        "growth in demand over the run.",
        "Staff are modelled as a number of interchangeable servers per role; part-time clinical hours "
        "stretch each contact in calendar time rather than following rosters, leave or sickness.",
        "Patients are independent: no family, school or GP capacity effects beyond the steps modelled.",
        "Each contact or session costs a fixed unit cost (or staff hours × hourly cost); bed-days cost "
        "per day. Costs are not discounted or inflated.",
        "Confidence intervals cover random variation between replications only; uncertainty in the "
        "input values themselves needs a sensitivity analysis (icssim sweep).",
    ]
    if s is not None:
        if s.scenario.warmup.value == 0:
            items.append('<span class="bad">No warm-up</span>: results include the start-up period when the '
                         "pathway is empty, which makes waits look shorter than in steady state.")
        if s.deterioration is not None:
            items.append("Physical risk escalates only while waiting (at the hazard rates given); it does not "
                         "improve without treatment, and treatment itself is not modelled as changing risk.")
        if any(st.queue == "priority" for st in s.pathway.steps.values()):
            items.append("Priority queues serve more urgent patients first and never pre-empt a patient "
                         "already being seen.")
    n = int(meta.get("replications", 1) or 1)
    if n == 1:
        items.append('<span class="bad">One replication</span>: no confidence intervals; the figures may '
                     "differ noticeably in another run.")
    params = _stored_parameters(data.folder, data.raw)
    if params is not None and len(params):
        n_q, n_src = _source_counts(params)
        if n_q > n_src:
            items.append(f"{n_q - n_src} of {n_q} quantities in the scenario (rates, durations, probabilities, "
                         f"staffing, costs) cite no source in the scenario file: treat them as assumptions to be "
                         f"checked locally (see the parameter table).")
    trend = data.table("timeseries")
    from icssim.report_text import waiting_trend

    if waiting_trend(trend, s):
        items.append("The waiting list is still growing at the end of the run, so there is no steady state: "
                     "waits depend on the run length.")
    return _ul(items)


def reproduce_html(data: RunData) -> str:
    meta = data.meta
    cmd = meta.get("command") or f"icssim run {' '.join(meta.get('scenario_files', [])[-1:])}"
    rows = [("Command", cmd), ("Scenario files", ", ".join(meta.get("scenario_files", []) or [])),
            ("Scenario SHA-256", meta.get("scenario_sha256", "")), ("Seed", meta.get("seed", "")),
            ("Replications", meta.get("replications", "")), ("icssim version", meta.get("icssim_version", "")),
            ("Python", meta.get("python", "")), ("Date (UTC)", meta.get("date", ""))]
    table = table_html(pd.DataFrame([(a, str(b)) for a, b in rows], columns=["Item", "Value"]), "repro")
    return (f"<pre><code>{escape(str(cmd))}</code></pre>"
            "<p>Running the same command with the same scenario file (same SHA-256), seed and icssim version "
            "gives identical results, whatever the number of worker processes. To rebuild this report from "
            f"the stored files without re-running: <code>icssim report {escape(folder_name(data.folder))}</code>.</p>"
            + table)


# ----------------------------------------------------------------------------- comparisons
def _scenario_folders(folder: Path, meta: dict) -> list[tuple[str, Path]]:
    """(name, sub-folder) of each scenario in a compare or sweep folder."""
    found: list[tuple[str, Path]] = []
    for entry in meta.get("scenarios", []) or []:
        if isinstance(entry, dict):
            name = str(entry.get("name") or entry.get("scenario") or "")
            sub = entry.get("folder") or entry.get("path") or name
        else:
            name = sub = str(entry)
        path = folder / str(sub)
        if path.is_dir():
            found.append((name, path))
    if not found:
        for sub in sorted(p for p in folder.iterdir() if p.is_dir() and (p / "metadata.json").is_file()):
            found.append((sub.name, sub))
    return found


def compare_report(folder: Path, meta: dict) -> str:
    subs = _scenario_folders(folder, meta)
    runs = [(n, RunData.load(p)) for n, p in subs]
    names = [n for n, _ in subs] or [str(x) for x in meta.get("scenarios", [])]
    summary = _read_csv(folder / "summary.csv")
    diffs = _read_csv(folder / "differences.csv")
    baseline = str(meta.get("baseline") or (diffs["baseline"].iloc[0] if diffs is not None and len(diffs)
                                            else (names[0] if names else "")))
    base = next((r for n, r in runs if n == baseline), runs[0][1] if runs else None)
    title = "Comparison: " + " vs ".join(names or ["?"])
    facts = _facts(meta)
    facts.insert(0, f"baseline {escape(baseline)}")
    page = Page(title, str(meta.get("description", "")), facts)
    warnings = [str(w) for w in meta.get("warnings", []) or []]
    warn = ""
    if warnings:
        warn = ('<div class="warn"><strong>Read with care:</strong>'
                + _ul([escape(w) for w in warnings]) + "</div>")
    page.add("summary", "Summary: what changes, and how sure we are",
             warn + compare_summary_html(summary, diffs, baseline, base.scenario if base else None))
    page.add("plots", "Plots", plots_html(folder))
    if summary is not None:
        page.add("results", "Results by scenario (95% CIs)", compare_table_html(summary, names))
    if diffs is not None:
        page.add("differences", "Differences to the baseline", differences_table_html(diffs))
    if runs:
        page.add("inputs", "What differs between the scenarios", input_diff_html(runs))
        page.add("pathways", "Pathways", "\n".join(
            f"<h3>{escape(n)}</h3>" + pathway_html(r) for n, r in runs))
        page.add("model", f"Model description (STRESS-DES) of the baseline, {base.name}", model_html(base))
        page.add("scenarios", "Each scenario", scenario_links_html(folder, runs))
        page.add("assumptions", "Assumptions and limits", assumptions_html(base))
    page.add("reproduce", "How to reproduce", compare_reproduce_html(folder, meta, runs))
    return page.html()


def _read_csv(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path) if path.is_file() else None


def _row(g: pd.DataFrame, kpi: str) -> SimpleNamespace:
    return SimpleNamespace(**{**g.loc[kpi].to_dict(), "kpi": kpi})


def compare_summary_html(summary: pd.DataFrame | None, diffs: pd.DataFrame | None, baseline: str,
                         scenario: Scenario | None = None) -> str:
    """First screen of a comparison: per scenario, what changes for patients and for costs
    (clear changes first, the rest in one line), and how sure we are."""
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

        def changed(k: str) -> bool:
            base_m, new_m = means.get((k, baseline)), means.get((k, scen))
            return not (base_m == 0 and new_m == 0) and not (pd.isna(g.loc[k, "diff_mean"]))

        stds = [k for k in g.index if str(k).startswith("within_")]
        services = [k for k in g.index if str(k).startswith("cost_per_year_")]
        services.sort(key=lambda k: -abs(g.loc[k, "diff_mean"]))
        blocks = []
        for title, keys in (("For patients", [*stds, *PATIENT_KPIS]), ("For costs", [*COST_KPIS, *services[:3]])):
            keys = [k for k in dict.fromkeys(keys) if k in g.index and changed(k)]
            clear, unclear = [], []
            for k in keys:
                row = _row(g, k)
                cls, _ = difference_verdict(row, kpi_info(k).better)
                label = standard_label(k, scenario) if k.startswith("within_") else None
                if cls == "unsure":
                    unit = row.unit if isinstance(row.unit, str) else kpi_info(k).unit
                    unclear.append(f"{escape((label or row.label) if isinstance(row.label, str) else k)} "
                                   f"({escape(fmt_diff(row.diff_mean, unit))}, 95% CI "
                                   f"{escape(diff_ci_text(row.diff_lower, row.diff_upper, unit))})")
                else:
                    clear.append(difference_sentence(row, means.get((k, baseline)), means.get((k, scen)), label))
            items = clear or ["No measure here changed clearly."]
            if unclear:
                items.append('<span class="unsure">No clear difference</span> (the 95% CI includes zero) in: '
                             + "; ".join(unclear) + ".")
            blocks.append(f"<h4>{title}</h4>" + _ul(items, "findings"))
        shown = g[~g.index.isin(list(_HIDDEN_KPIS))]
        clear_n = int(((shown["diff_lower"] > 0) | (shown["diff_upper"] < 0)).sum())
        sure = (f"<strong>How sure are we?</strong> {clear_n} of {len(shown)} measures differ clearly "
                f"(the 95% CI of their paired difference excludes zero)")
        sure += (f", from {n} replications per scenario run on common random numbers (replication r of each "
                 f"scenario sees the same patients arrive), so the differences are sharper than the two "
                 f"separate intervals suggest." if n else ".")
        sure += (" The intervals cover random variation only, not uncertainty in the inputs; a sweep over "
                 "uncertain inputs tests how robust the direction of each change is.")
        headline = compare_headline({k: _row(g, k) for k in g.index}, means, baseline, scen, scenario, n)
        out.append(f"<h3>{escape(scen)} compared with {escape(baseline)}</h3>"
                   f'<p class="headline">{headline}</p>'
                   f"{_compare_tiles(g, means, baseline, scen, scenario)}{''.join(blocks)}"
                   f'<p class="sure">{sure}</p>')
    return "\n".join(out)


def _compare_tiles(g: pd.DataFrame, means: dict, baseline: str, scen: str, scenario: Scenario | None) -> str:
    from icssim.report_text import difference_verdict

    keys = [k for k in ("wait_to_treatment_median", "wait_to_assessment_median") if k in g.index][:1]
    keys += [k for k in g.index if str(k).startswith("within_")][:2]
    keys += [k for k in ("ae_attendances_per_year", "emergency_admissions_per_year") if k in g.index][:1]
    keys += [k for k in ("cost_per_year",) if k in g.index]
    tiles = []
    for k in keys:
        row = _row(g, k)
        info = kpi_info(k)
        unit = row.unit if isinstance(row.unit, str) else info.unit
        label = standard_label(k, scenario) if k.startswith("within_") else (
            row.label if isinstance(row.label, str) else info.label)
        cls, words = difference_verdict(row, info.better)
        base_m, new_m = means.get((k, baseline)), means.get((k, scen))
        change = (f"{baseline} {fmt(base_m, unit, False)} → {scen} {fmt(new_m, unit, False)}"
                  if base_m is not None and new_m is not None else "")
        ci = f"95% CI {diff_ci_text(row.diff_lower, row.diff_upper, unit)}" if not pd.isna(row.diff_lower) else ""
        notes = [f'<span class="ci">{escape(change)}</span>', f'<span class="ci">{escape(ci)}</span>',
                 f'<span class="verdict {cls}">{escape(words)}</span>']
        tiles.append(_tile(label, row.diff_mean, unit, notes, cls,
                           fmt_diff(row.diff_mean, unit, unit not in ("per year", "GBP per year"))))
    return f'<div class="tiles">{"".join(tiles)}</div>'


def compare_table_html(summary: pd.DataFrame, names: list[str]) -> str:
    scen_order = list(dict.fromkeys([*names, *summary["scenario"].astype(str)]))
    rows = []
    for kpi, group in summary.groupby("kpi", sort=False):
        if kpi in _HIDDEN_KPIS:
            continue
        g = group.set_index(group["scenario"].astype(str))
        first = group.iloc[0]
        unit = first["unit"] if isinstance(first.get("unit"), str) else kpi_info(kpi).unit
        label = first["label"] if isinstance(first.get("label"), str) else kpi_info(kpi).label
        row = {"Measure": label}
        for sc in scen_order:
            if sc in g.index:
                r = g.loc[sc]
                e = Estimate(kpi, float(r["mean"]), float(r["lower"]), float(r["upper"]), int(r.get("n", 0) or 0))
                row[sc] = fmt(e.mean, unit) + (f" ({e.ci_text()})" if e.has_ci else "")
            else:
                row[sc] = ""
        rows.append(row)
    return ("<p class=note>Mean (95% CI) of each measure per scenario.</p>"
            + table_html(pd.DataFrame(rows), "kpi", numeric=tuple(scen_order)))


def differences_table_html(diffs: pd.DataFrame) -> str:
    from icssim.report_text import difference_verdict

    pairs = diffs[["scenario", "baseline"]].drop_duplicates()
    rows = []
    for r in diffs.itertuples():
        if r.kpi in _HIDDEN_KPIS:
            continue
        info = kpi_info(r.kpi)
        unit = r.unit if isinstance(r.unit, str) else info.unit
        cls, words = difference_verdict(r, info.better)
        pct = "" if pd.isna(r.pct_mean) or not math.isfinite(r.pct_mean) else f"{r.pct_mean:+.0f}%"
        row = {"Measure": r.label if isinstance(r.label, str) else info.label}
        if len(pairs) > 1:
            row["Scenario"] = f"{r.scenario} − {r.baseline}"
        row.update({"Difference": fmt_diff(r.diff_mean, unit), "95% CI": diff_ci_text(r.diff_lower, r.diff_upper, unit),
                    "Percent": pct.replace("-", "−"), "Verdict": f'<span class="{cls}">{escape(words)}</span>'})
        rows.append(row)
    what = (f"{pairs.iloc[0]['scenario']} minus {pairs.iloc[0]['baseline']}" if len(pairs) == 1
            else "scenario minus baseline")
    return (f"<p class=note>Paired differences ({escape(what)}, replication by replication) with Student-t 95% "
            f"CIs; shares in percentage points.</p>"
            + table_html(pd.DataFrame(rows), "kpi", raw_html=("Verdict",), numeric=("Difference", "95% CI", "Percent")))


def _entity(path: str) -> str | None:
    """The named thing a parameter belongs to: ``pathway.steps.assess``, ``services.camhs``, ``cohorts.cyp``."""
    parts = path.split(".")
    if parts[0] == "pathway" and len(parts) > 2 and parts[1] == "steps":
        return ".".join(parts[:3]).split("[")[0]
    if parts[0] in ("services", "cohorts") and len(parts) > 1:
        return ".".join(parts[:2]).split("[")[0]
    return None


def input_diff_html(runs: list[tuple[str, RunData]]) -> str:
    """The inputs that differ between scenarios: steps, services and cohorts that only some scenarios
    have, then every value that differs, with its source."""
    tables = {}
    for name, r in runs:
        p = _stored_parameters(r.folder, r.raw)
        if p is not None:
            tables[name] = p.drop_duplicates("path").set_index("path")
    if len(tables) < 2:
        return "<p>Only one scenario's inputs were stored.</p>"
    entities = {n: {e for e in map(_entity, t.index) if e} for n, t in tables.items()}
    everywhere = set.intersection(*entities.values())
    only = []
    for e in dict.fromkeys(e for n in tables for e in sorted(entities[n])):
        if e in everywhere:
            continue
        having = [n for n in tables if e in entities[n]]
        label = ""
        for n in having:
            key = f"{e}.label"
            if key in tables[n].index:
                label = str(tables[n].loc[key, "value"])
                break
        only.append({"Part": e, "Label": label, "Only in": ", ".join(having)})
    paths = list(dict.fromkeys(p for t in tables.values() for p in t.index))
    rows = []
    for path in paths:
        if path == "scenario.name" or (_entity(path) and _entity(path) not in everywhere):
            continue
        values = {n: (str(t.loc[path, "value"]) if path in t.index else "(not set)") for n, t in tables.items()}
        if len(set(values.values())) <= 1:
            continue
        source = ""
        for n, t in reversed(list(tables.items())):
            if path in t.index and str(t.loc[path, "source"]):
                source = str(t.loc[path, "source"])
                break
        rows.append({"Parameter": path, **values, "Source": source})
    if not rows and not only:
        return "<p>The scenarios have identical inputs apart from their names.</p>"
    out = ""
    if only:
        out += (f"<h3>Parts that only some scenarios have ({len(only)})</h3><p class=note>Their values are listed "
                f"in each scenario's own report.</p>" + table_html(pd.DataFrame(only), "params", code=("Part",)))
    if rows:
        out += (f"<h3>Values that differ ({len(rows)})</h3><p class=note>All other values of the parts the "
                f"scenarios share are the same.</p>" + table_html(pd.DataFrame(rows), "params", code=("Parameter",)))
    return out


def scenario_links_html(folder: Path, runs: list[tuple[str, RunData]]) -> str:
    items = []
    for name, r in runs:
        rel = r.folder.relative_to(folder) if r.folder.is_relative_to(folder) else r.folder
        link = (f' — full report: <a href="{escape(str(rel))}/report.html">{escape(str(rel))}/report.html</a>'
                if (r.folder / REPORT_NAME).is_file() else "")
        findings = run_findings(r.est, r.scenario, r.meta, r.table("timeseries")) if r.est else []
        items.append(f"<h3>{escape(name)}</h3><p>Results folder <code>{escape(str(rel))}</code>{link}.</p>"
                     + _ul(findings, "findings"))
    return "\n".join(items)


def compare_reproduce_html(folder: Path, meta: dict, runs: list[tuple[str, RunData]]) -> str:
    cmd = meta.get("command") or "icssim compare " + " ".join(meta.get("scenario_files", []) or [])
    rows = [("Command", cmd), ("Seed", meta.get("seed", "")), ("Replications", meta.get("replications", "")),
            ("icssim version", meta.get("icssim_version", "")), ("Date (UTC)", meta.get("date", ""))]
    for name, r in runs:
        rows.append((f"{name}: scenario SHA-256", r.meta.get("scenario_sha256", "")))
        rows.append((f"{name}: scenario files", ", ".join(r.meta.get("scenario_files", []) or [])))
    return (f"<pre><code>{escape(str(cmd))}</code></pre>"
            f"<p>To rebuild this report from the stored files: <code>icssim report {escape(folder_name(folder))}</code>.</p>"
            + table_html(pd.DataFrame([(a, str(b)) for a, b in rows], columns=["Item", "Value"]), "repro"))


# ----------------------------------------------------------------------------- sweeps and others
def generic_report(folder: Path, meta: dict) -> str:
    """A report for any other results folder (e.g. a sweep): its facts, tables and plots."""
    kind = str(meta.get("kind", "results"))
    name = str(meta.get("name") or meta.get("scenario") or folder.name)
    page = Page(f"{name}: {kind} report", str(meta.get("description", "")), _facts(meta))
    skip = {"kind", "name", "description", "packages", "tables", "plots", "store", "command"}
    facts = {k: v for k, v in meta.items() if not isinstance(v, (dict, list)) and k not in skip and v is not None}
    lists = {k: v for k, v in meta.items() if isinstance(v, (dict, list)) and k not in skip and v}
    summary = ""
    params = meta.get("parameters")
    if isinstance(params, dict) and params:
        rows = [{"Parameter": k, "Values": _value_text(v) if isinstance(v, (dict, list)) else str(v)}
                for k, v in params.items()]
        summary += "<h3>What was varied</h3>" + table_html(pd.DataFrame(rows), "params", code=("Parameter",))
        lists.pop("parameters", None)
    kpis = meta.get("kpis")
    if isinstance(kpis, list) and kpis:
        summary += "<h3>Measures</h3>" + _ul([f"{escape(kpi_info(k).label)} <code>{escape(k)}</code>"
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
        df = pd.read_csv(csv)
        cap = 200 if csv.name in first else 50
        more = f"<p class=note>First {cap} of {len(df):,} rows (all in {escape(csv.name)}).</p>" if len(df) > cap else ""
        tables.append(f"<h3>{escape(csv.name)}</h3>{more}" + table_html(_round(df.head(cap)), "kpi"))
    page.add("tables", "Tables", "\n".join(tables) or "<p>No tables.</p>")
    subs = _scenario_folders(folder, meta)
    if subs:
        runs = [(n, RunData.load(p)) for n, p in subs]
        page.add("scenarios", "Each scenario", scenario_links_html(folder, runs))
    page.add("reproduce", "How to reproduce",
             f"<pre><code>{escape(str(meta.get('command', '')))}</code></pre>"
             f"<p>To rebuild this report: <code>icssim report {escape(folder_name(folder))}</code>.</p>")
    return page.html()


def _round(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].map(lambda x: "" if pd.isna(x) else f"{x:,.4g}" if abs(x) < 1e4 else f"{x:,.0f}")
    return out
