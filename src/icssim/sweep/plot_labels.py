"""How a sweep's plots name and colour what they show: a parameter's and a KPI's axis label (in the
base scenario's words, with its unit and scale), the series (one per base scenario / area) and
each one's colour, the same in every plot, and where the legend goes.

Apart from :mod:`icssim.sweep.plots` (the plots a sweep's design calls for) because the
cost-against-wait plot (:mod:`icssim.sweep.frontier`) shares them: each imports these without
importing the other."""

from __future__ import annotations

import textwrap

from icssim.metrics import kpi_info
from icssim.plots import PALETTE
from icssim.units import key_unit


def param_axis(run, path: str) -> str:
    """A parameter's axis label: its label (else its path) and its unit."""
    p = run.sweep.spec.parameters.get(path)
    label = (p.label if p and p.label else path)
    unit = p.unit if p and p.unit else key_unit(path)
    return f"{label} ({unit})" if unit else label


def kpi_name(run, kpi: str) -> str:
    """A KPI's label in the base scenario's words, without explanations in brackets (a plot's title
    and axis are short): ``Routine CYP: treatment within 4 weeks``, not ``within_cyp_routine_4_weeks``."""
    from icssim.report.labels import kpi_label, short

    bases = getattr(run.sweep, "bases", None) or {}
    return short(kpi_label(kpi, next(iter(bases.values()), None), with_target=False))


def kpi_axis(kpi: str, run=None) -> tuple[str, float]:
    """Axis label and scale: shares in %, yearly money in £ million."""
    info = kpi_info(kpi)
    label = kpi_name(run, kpi) if run is not None else info.label
    if info.unit == "share":
        return f"{label} (%)", 100.0
    if info.unit == "GBP per year":
        return f"{label} (£ million a year)", 1e-6
    if info.unit == "GBP":
        return f"{label} (£)", 1.0
    return (f"{label} ({info.unit})" if info.unit else label), 1.0


#: Characters on a line of a line plot's y-axis label (10 pt along the 7 × 4.2 in figure's axes) and
#: of its title (11 pt across them): a longer KPI label ("Adults: referral to first therapy session,
#: share who reached its end before leaving (%)") is wrapped, not run off the figure.
AXIS_CHARS, TITLE_CHARS = 42, 64


def wrapped(text: str, width: int) -> str:
    """``text`` on lines of at most ``width`` characters, broken at spaces (each line of a text
    already on several lines wrapped on its own)."""
    return "\n".join(wrapped_line for line in text.split("\n")
                     for wrapped_line in (textwrap.wrap(line, width, break_on_hyphens=False) or [line]))


def colour_of(run, label: str) -> str:
    """One colour per base scenario / area, the same in every plot of the sweep."""
    names = [name for name, _ in point_series(run)]
    return PALETTE[names.index(label) % len(PALETTE)] if label in names else PALETTE[0]


def legend_below(ax, ncol: int = 2) -> None:
    """The legend under the axes, where it covers neither the data nor a standard's label."""
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=ncol, frameon=False)


def point_series(run) -> list[tuple[str, list[int]]]:
    """The sweep's series, one per base scenario / area (``base / area``), each with its points'
    indices, in the order of the points."""
    groups: dict[str, list[int]] = {}
    for p in run.points:
        label = " / ".join([p.base] + ([p.area] if p.area else []))
        groups.setdefault(label, []).append(p.index)
    return list(groups.items())
