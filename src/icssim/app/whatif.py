"""A what-if: one scenario run at several values of one or two of its numbers, and the answer
drawn (a measure and the cost per year, with 95% CIs, against the first number; one line per
value of the second). The measure is the one chosen on the form, by default the first the
scenario features (``report.featured``: an emergency department's 4-hour standard), else the
mean wait to treatment; each is named in the scenario's words and drawn in readable units
(an emergency department's times in minutes or hours, shares as percentages).

Written as ``results/whatif-<scenario>-<key>[-x-<key2>]/``: ``whatif.csv`` (one row per
value(s) and KPI: mean, 95% CI, and whether the run came from the cache), ``whatif.png`` and
``metadata.json``, published atomically like every icssim results folder.
"""

from __future__ import annotations

import json
import time
from textwrap import fill
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The KPIs a what-if plot draws against the parameter, if the scenario has them and features
#: none (:func:`measures`): the first is replaced by the measure chosen, the cost always drawn.
WHATIF_KPIS = ("wait_to_treatment_mean", "cost_per_year")
#: The KPI always drawn beside the measure.
COST = WHATIF_KPIS[1]
#: Most values of one number, and most runs (value pairs) in one what-if.
MAX_VALUES = 8
MAX_POINTS = 36
#: Colours of the lines for the second number's values (NHS blue, then distinct hues).
COLOURS = ("#005EB8", "#DA291C", "#009639", "#ED8B00", "#7C2855", "#00A9CE", "#425563", "#AE2573")
MARKERS = ("o", "s", "^", "D")


@dataclass
class Point:
    """One run of a what-if: the values of its numbers (as typed) and the scenario with them."""

    values: tuple[str, ...]
    scenario: Any
    raw: dict


def folder_name(name: str, keys: list[str]) -> str:
    """``whatif-<scenario>-<key>`` or ``whatif-<scenario>-<key>-x-<key2>`` (dots as underscores)."""
    return ("whatif-" + name + "-" + "-x-".join(k.replace(".", "_") for k in keys))[:120]


def measures(scenario) -> list[tuple[str, str]]:
    """The measures a what-if of ``scenario`` may draw beside the cost, as (KPI, label in the
    scenario's words): those it features (``report.featured``, the cost apart), else the mean wait
    to treatment; then each of its waiting-time standards not among them (ed_freed's FREED
    standards). The first is the default."""
    from icssim.report.labels import kpi_label

    featured = list(getattr(getattr(scenario, "report", None), "featured", None) or [])
    kpis = [k for k in dict.fromkeys(featured) if k != COST] or [WHATIF_KPIS[0]]
    standards = getattr(getattr(scenario, "scenario", None), "standards", None) or {}
    kpis += [f"within_{name}" for name in standards if f"within_{name}" not in kpis]
    return [(k, kpi_label(k, scenario)) for k in kpis]


def plotted_kpis(table, scenario=None, measure: str | None = None) -> list[str]:
    """The KPIs the plot draws: ``measure`` (else the first of :func:`measures` with a value, else
    the first of :data:`WHATIF_KPIS`) and the cost, each only where the runs measured it (an
    emergency department has no wait to treatment: a panel of it would be empty)."""
    measured = set(table.loc[table["mean"].notna(), "kpi"]) if "mean" in table else set(table["kpi"])
    if measure is None and scenario is not None:
        measure = next((k for k, _ in measures(scenario) if k in measured), None)
    kpis = [k for k in dict.fromkeys([measure or WHATIF_KPIS[0], COST]) if k in measured]
    return kpis or list(dict.fromkeys(table["kpi"]))[:1]


def write_whatif(table, keys: list[str], name: str, replications: int, out: Path, cached: int,
                 scenario=None, measure: str | None = None, words: dict[str, str] | None = None) -> Path:
    """Write the what-if's folder: ``whatif.csv``, ``whatif.png`` and ``metadata.json``; the plot
    draws ``measure`` (by default the first the scenario features) and the cost, in the words of
    ``scenario``; ``words``: each number's name on the scenario's page, for the axes (else its key)."""
    from icssim import plots
    from icssim.metrics import kpi_info
    from icssim.output_folder import write_output
    from icssim.tables import write_table

    def write(tmp: Path) -> None:
        write_table(table, tmp, "whatif", parquet=False)
        plots.save(whatif_figure(table, keys, name, kpi_info, replications, scenario, measure, words),
                   tmp / "whatif.png")
        points = int(table[keys].drop_duplicates().shape[0])
        (tmp / "metadata.json").write_text(json.dumps({
            "kind": "whatif", "scenario": name, "parameters": keys, "replications": replications,
            "points": points, "points_from_cache": cached, "kpis": plotted_kpis(table, scenario, measure),
            "date": time.strftime("%Y-%m-%dT%H:%M:%S")}, indent=2))

    return write_output(out, False, write)


def whatif_figure(table, keys: list[str], name: str, kpi_info, replications: int | None = None, scenario=None,
                  measure: str | None = None, words: dict[str, str] | None = None):
    """The measure and the cost (:func:`plotted_kpis`) against the first number, named in the words
    of ``scenario`` (:func:`icssim.report.labels.kpi_label`). One number: the mean with its 95% CI
    shaded. Two: one line per value of the second, with 95% CI bars, each line set a little aside
    and marked differently so that lines which coincide stay visible. Each number is named by
    ``words`` (its name on the scenario's page), else by its key."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    import icssim.stage_kpis  # noqa: F401 (registers the step and path-time KPIs: their units)
    from icssim.report.labels import kpi_label

    kpis = plotted_kpis(table, scenario, measure)
    named = {k: (words or {}).get(k) or k for k in keys}
    fig, axes = plt.subplots(1, len(kpis), figsize=(5.4 * len(kpis), 3.9), squeeze=False)
    series = [(None, table)] if len(keys) == 1 else list(table.groupby(keys[1], sort=False))
    xs = table[keys[0]].map(_as_number)
    span = float(xs.max() - xs.min()) or 1.0
    for ax, kpi in zip(axes[0], kpis):
        info = kpi_info(kpi)
        rows = table[table["kpi"] == kpi]
        scale, unit = _axis(rows, info.unit, getattr(getattr(scenario, "scenario", None), "time_unit", None))
        for i, (level, part) in enumerate(series):
            part = part[part["kpi"] == kpi].assign(x=lambda d: d[keys[0]].map(_as_number)).sort_values("x")
            colour = COLOURS[i % len(COLOURS)]
            mean, lower, upper = part["mean"] / scale, part["lower"] / scale, part["upper"] / scale
            if level is None:
                ax.plot(part["x"], mean, marker="o", color=colour, label="mean")
                ax.fill_between(part["x"], lower, upper, color=colour, alpha=0.15, linewidth=0, label="95% CI")
            else:
                x = part["x"] + (i - (len(series) - 1) / 2) * 0.015 * span
                ax.errorbar(x, mean, yerr=[mean - lower, upper - mean], color=colour, marker=MARKERS[i % 4],
                            capsize=3, linewidth=1.4,
                            label=f"{named[keys[1]] if words else _short(keys[1])} = {level}")
        label = kpi_label(kpi, scenario) if scenario is not None else info.label
        ax.set_title(fill(f"{label} ({'95% CI shaded' if len(keys) == 1 else 'bars: 95% CI'})", 60), fontsize=10,
                     loc="left")
        ax.set_xticks(sorted(set(xs.dropna())))   # the values run, not a scale between them
        ax.set_xlabel(fill(f"{named[keys[0]]}{_unit_of(table[keys[0]], keys[0])}", 70), fontsize=8.5)
        ax.set_ylabel(unit, fontsize=9)
        ax.yaxis.set_major_formatter(FuncFormatter(
            (lambda v, _: f"{v * 100:g}%") if info.unit == "share" else
            (lambda v, _: f"{v:,.0f}" if abs(v) >= 1000 else f"{v:g}")))
        ax.grid(alpha=0.3)
        if len(keys) == 1:
            ax.legend(fontsize=8, frameon=False)
    what = named[keys[0]] if len(keys) == 1 else f"{named[keys[0]]} and {named[keys[1]]}"
    each = f" ({replications} replications at each value; Student-t CIs)" if replications else ""
    fig.suptitle(f"{name}: what if {what} changed{each}", fontsize=11, x=0.01, ha="left")
    fig.tight_layout()
    if len(keys) > 1:   # one legend for both panels, below them, clear of the bars
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(len(labels), 4),
                   fontsize=8.5, frameon=False, title=named[keys[1]], title_fontsize=8.5)
    return fig


def _axis(rows, unit: str, time_unit: str | None) -> tuple[float, str]:
    """(what to divide a KPI's values by, the axis's unit): money from a million in millions, a
    share as a percentage, and a time in the unit the reports write it in
    (:mod:`icssim.report.numbers`: an emergency department's waits in minutes, or hours when long),
    not in days."""
    from icssim.report.numbers import in_unit, waits_in

    top = float(rows["upper"].abs().max()) if len(rows) else float("nan")
    if unit == "share":
        return 1.0, "% of patients"
    if unit.startswith("GBP") and top >= 1e6:
        return 1e6, f"{unit}, millions"
    size = float(rows["mean"].abs().max()) if len(rows) else float("nan")   # (not a wide CI's bound)
    if size == size and size > 0:
        with waits_in(time_unit):
            per, _, shown = in_unit(1.0, unit, size)
        if shown != unit:
            return 1.0 / per, shown
    return 1.0, unit


def _short(key: str) -> str:
    """The last parts of a key, enough to tell the line's number apart: ``clinician.wte``."""
    return ".".join(key.split(".")[-2:])


def _unit_of(values, key: str) -> str:
    """The unit typed with the values (`` (weeks)``), if they carry one, else the unit of the key's
    number (`` (WTE)``, :func:`icssim.units.key_unit`)."""
    from icssim.units import key_unit

    units = {str(v).split(maxsplit=1)[1] for v in values if len(str(v).split(maxsplit=1)) == 2}
    unit = units.pop() if len(units) == 1 else key_unit(key)
    return f" ({unit})" if unit else ""


def _as_number(value: Any) -> float:
    """A swept value on the plot's axis: a number, or the number at the front of a span (``2 weeks``)."""
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).split()[0])
    except (ValueError, IndexError):
        return float("nan")


def whatif_note(folder: Path) -> str:
    """What a what-if folder holds, in words (from its metadata.json), or "" for any other folder."""
    if not (folder / "whatif.png").is_file():
        return ""
    try:
        meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
        text = (f"{meta['scenario']} at {meta['points']} combination(s) of {' and '.join(meta['parameters'])}, "
                f"{meta['replications']} replications each")
        cached = int(meta.get("points_from_cache", 0))
    except (OSError, ValueError, KeyError, TypeError):
        return "A what-if."
    return text + (f"; {cached} of them taken from earlier runs (the cache)." if cached else ".")
