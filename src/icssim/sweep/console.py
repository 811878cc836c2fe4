"""A finished sweep in the terminal: what it found, in the sweep file's labels, within 100 columns.

For each measure (up to four): its range over the points, with the settings at each end, and the
setting that moves it most, as the report says it. A sweep of at most :data:`MAX_ROWS` points also
gets a table of each point's settings and means, its columns numbered and named in a key below it
(labels do not fit as headers). A larger sweep, and a PSA (whose points are parameter draws), gets
no per-point rows: they are in ``points.csv`` and the report, which the last line names.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from icssim.report.numbers import fmt
from icssim.report.sweep_data import SweepData, main_effect, point_value, unsteady_sentences

#: Widest line printed.
WIDTH = 100
#: Most points shown as rows; a larger sweep is summarised in words only.
MAX_ROWS = 20
#: Most measures summarised.
MAX_KPIS = 4


def sweep_summary(folder: Path, meta: dict) -> str:
    """The sweep's findings for the terminal (lines of at most :data:`WIDTH` characters)."""
    name = str(meta.get("name") or folder.name)
    points, reps = int(meta.get("points", 0) or 0), int(meta.get("replications", 0) or 0)
    runs = f"{reps} replication{'s' if reps != 1 else ''}"
    d = SweepData(folder, meta)
    if meta.get("design") in ("psa", "sobol"):
        strategies = max(len(meta.get("scenarios") or {}), 1)
        return _wrap([f"{name}: {points // strategies:,} parameter draws x {strategies} strategies x {runs}; "
                      f"each draw's parameters and results are in points.csv, the analysis in psa.csv, "
                      f"ceac.csv, evpi.csv and report.html", *unsteady_sentences(d, psa=True)])
    lines = [f"{name}: {points:,} points x {runs}, means (95% CIs in summary.csv)"]
    lines += _ranges(d)
    if points <= MAX_ROWS:
        lines += _table(d)
    else:
        lines.append(f"  each point's settings and means: points.csv and report.html ({points:,} points)")
    return _wrap(lines + unsteady_sentences(d, psa=False))


def _ranges(d: SweepData) -> list[str]:
    if d.summary is None or d.summary.empty:
        return ["  no summary.csv was written"]
    s = d.summary
    kpis = [k for k in d.kpis if k in set(s["kpi"])][:MAX_KPIS]
    out = []
    for kpi in kpis:
        part = s[s["kpi"] == kpi].dropna(subset=["mean"])
        if part.empty:
            continue
        unit = _unit(kpi)
        lo, hi = part.loc[part["mean"].idxmin()], part.loc[part["mean"].idxmax()]
        low, high = fmt(float(lo["mean"]), unit), fmt(float(hi["mean"]), unit)
        if low == high:   # (equal as written: "69% at every point", not "from 69% (…) to 69% (…)")
            text = f"{d.label(kpi)}: {low} at every point"
        else:
            text = f"{d.label(kpi)}: from {low} ({d.settings(lo)}) to {high} ({d.settings(hi)})"
        mover = main_effect(d, part)
        if mover is not None and len(d.params) > 1:
            text += f"; {d.param_label(mover[0])} moves it most"
        out.append(f"  - {text}")
    return out


def _table(d: SweepData) -> list[str]:
    """Each point's settings and the measures' means, columns numbered, with a key below."""
    if d.points is None or d.summary is None:
        return []
    kpis = [k for k in d.kpis if k in set(d.summary["kpi"])][:MAX_KPIS]
    params = [p for p in d.params if p in d.points.columns]
    extra = [c for c in ("base", "area") if c in d.points.columns and d.points[c].nunique() > 1]
    columns = [*extra, *params, *kpis]
    header = ["point", *(f"[{i}]" for i in range(1, len(columns) + 1))]
    rows = []
    for _, row in d.points.iterrows():
        point = int(row["point"])
        cells = [str(point), *(str(row[c]) for c in extra), *(point_value(row[p]) for p in params)]
        for kpi in kpis:
            e = d.estimate(point, kpi)
            cells.append(fmt(e.mean, _unit(kpi), with_unit=False) if e is not None else "n/a")
        rows.append(cells)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    out = [""] + ["  " + "  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in [header, *rows]]
    names = [*(c for c in extra), *(d.param_label(p) for p in params),
             *(f"{d.label(k)}{_unit_words(k)}" for k in kpis)]
    out += [f"  [{i}] {n}" for i, n in enumerate(names, 1)]
    return out


def _unit(kpi: str) -> str:
    from icssim.metrics import kpi_info

    return kpi_info(kpi).unit


def _unit_words(kpi: str) -> str:
    unit = _unit(kpi)
    return {"share": " (%)", "GBP per year": " (£ a year)", "GBP": " (£)", "per year": " (a year)"}.get(
        unit, f" ({unit})" if unit else "")


def _wrap(lines: list[str]) -> str:
    out = []
    for line in lines:
        if len(line) <= WIDTH:
            out.append(line)
            continue
        indent = " " * (len(line) - len(line.lstrip(" -")))
        out += textwrap.wrap(line, WIDTH, subsequent_indent=indent + "  ", break_on_hyphens=False)
    return "\n".join(out)
