"""The wait plots (``wait_ecdf.png``) of a run and of a comparison: what they draw, each series' waits,
in days, of everyone it counts (NaN for whoever's wait never ended in the run), and the standards
over them, each with its threshold in days and its target; and the drawing (:func:`wait_ecdf`).

A run draws the waits from referral to assessment and to treatment of the patients referred in its
observation window, with the standards that measure them; and, for a scenario with interval
standards (``from``/``to``: an emergency department's 4 and 12 hours from arrival to leaving, a
liaison team's hour from referral to assessment), the time of each such interval, with its
standards: each standard over the wait it measures. A comparison draws each scenario's wait from
referral to treatment.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from icssim.plots import PALETTE, STANDARD_COLOUR, legend_under_label, plt, scenario_colour, style
from icssim.report.labels import id_words, in_sentence, interval_words, point_words, wait_words
from icssim.scenario import Scenario
from icssim.units import in_days

#: A standard drawn on a wait plot: (threshold in days, target share).
Line = tuple[float, float]


@dataclass
class Waits:
    """What a wait plot draws: each series' waits in days (NaN: never ended in the run), the
    standards on them, and for each series what its unended waits are, in words after ``<share> of
    the <number>`` (``referred did not start treatment in the run``)."""

    waits: dict[str, np.ndarray] = field(default_factory=dict)
    standards: dict[str, Line] = field(default_factory=dict)
    never: dict[str, str] = field(default_factory=dict)
    #: what starts the waits' clock, in words inside a sentence (``report.waits``: "arrival")
    clock: str = "referral"

    def any(self) -> bool:
        """Whether any wait was measured (an emergency department has no wait to treatment: an
        empty plot of it says nothing)."""
        return any(np.isfinite(np.asarray(w, dtype=float)).any() for w in self.waits.values())

    def figure(self, title: str, xlabel: str, baseline: str | None = None):
        """The plot (:func:`wait_ecdf`); with intervals' times (``A \u2192 B``), the axis
        reads as the time from each series' start."""
        if any("\u2192" in label for label in self.waits):
            xlabel = f"Time from {self.clock}, or from the interval's start (days)"
        return wait_ecdf(self.waits, self.standards, title, xlabel, baseline=baseline, never=self.never)


#: What the unended waits from referral are, by what the wait ends at.
NEVER = {"assessment": "referred were not assessed in the run",
         "treatment": "referred did not start treatment in the run"}


def referral_standards(scenario: Scenario, measures: Sequence[str]) -> dict[str, Line]:
    """The standards (label, else name: (days, target)) on waits from referral to ``measures``; an
    interval standard measures another wait and is drawn over that wait (:func:`interval_waits`)."""
    unit = scenario.scenario.time_unit
    return {std.label or name: (in_days(std.within, unit), std.target)
            for name, std in scenario.scenario.standards.items()
            if std.from_ is None and std.measure in measures}


def referred_in_window(patients: pd.DataFrame, warmup_days: float) -> pd.DataFrame:
    """The patients a wait from referral counts: those referred who arrived after the warm-up."""
    return patients[(patients["arrival"] >= warmup_days) & patients["referral"].notna()]


def run_waits(result, patients: pd.DataFrame) -> Waits:
    """A run's wait series and standards (see the module's description); ``patients``: the run's
    patient table (:func:`icssim.metrics.patients_frame` of every replication)."""
    rec = result.records[0]
    window = referred_in_window(patients, rec.warmup * rec.hours_per_unit / 24)
    start, assessment, treatment = wait_words(result.scenario)  # (report.waits: the scenario's words)
    clock = in_sentence(start)
    names = {"assessment": f"{clock} to {assessment}", "treatment": f"{clock} to {treatment}"}
    out = Waits({names[what]: window[f"wait_to_{what}"].to_numpy(dtype=float) for what in NEVER},
                referral_standards(result.scenario, ("referral_to_assessment", "referral_to_treatment")),
                {names[what]: words for what, words in NEVER.items()})
    interval = interval_waits(result)
    return Waits(out.waits | interval.waits, out.standards | interval.standards, out.never | interval.never, clock)


def interval_waits(result) -> Waits:
    """The time of each interval that the scenario's interval standards measure (one series per pair
    of points, however many standards measure it), in days, and those standards. A series counts
    whom its standards count: the window's patients who reached the interval's start and then its
    end, or were on their way to its end at the horizon (NaN: still on the way)."""
    from icssim.kpi_base import window_people
    from icssim.path_times import interval_times, on_the_way

    s = result.scenario
    unit = s.scenario.time_unit
    pairs: dict[tuple[str, str], list[str]] = {}
    for name, std in s.scenario.standards.items():
        if std.from_ is not None and std.to is not None:
            pairs.setdefault((std.from_, std.to), []).append(name)
    out = Waits()
    for (start, end), names in pairs.items():
        parts = []
        for rec in result.records:
            if names[0] not in (rec.intervals or {}):
                continue
            t0, t1 = interval_times(rec, names[0])
            # as the standard counts them: who reached its start and then its end, or was on the way
            # to its end at the horizon (not those whose path never led there)
            counted = window_people(rec) & np.isfinite(t0) & (np.isfinite(t1) | on_the_way(rec, names[0]))
            times = np.full(len(t0), np.nan)
            ended = counted & np.isfinite(t1)
            times[ended] = (t1[ended] - t0[ended]) * rec.hours_per_unit / 24
            parts.append(times[counted])
        if not parts:
            continue
        label = interval_words(start, end, s)
        out.waits[label] = np.concatenate(parts)
        out.never[label] = ("were still in the pathway at the run's end" if end == "exit" else
                            f"were still on their way to {point_words(end, s, True)} at the run's end")
        for name in names:
            std = s.scenario.standards[name]
            out.standards[std.label or name] = (in_days(std.within, unit), std.target)
    return out


def comparison_waits(comparison, shown: dict[str, str]) -> Waits:
    """A comparison's waits from referral to treatment, one series per scenario by its shown name
    (:func:`icssim.budget.shown_names`), in the comparison's order, and the standards on them."""
    from icssim.metrics import patients_frame

    out = Waits()
    for res in comparison.results:
        rec = res.records[0]
        pats = pd.concat([patients_frame(r) for r in res.records], ignore_index=True)
        window = referred_in_window(pats, rec.warmup * rec.hours_per_unit / 24)
        name = shown[res.scenario.scenario.name]
        out.waits[name] = window["wait_to_treatment"].to_numpy(dtype=float)
        out.never[name] = NEVER["treatment"]
        out.standards |= referral_standards(res.scenario, ("referral_to_treatment",))
    return out


# ----------------------------------------------------------------------------- drawing
def wait_ecdf(waits: dict[str, np.ndarray], standards: dict[str, Any], title: str,
              xlabel: str = "Wait from referral to treatment start (days)", *,
              baseline: str | None = None, never: dict[str, str] | None = None) -> plt.Figure:
    """Empirical CDFs of completed waits (one line per series) with standards as vertical lines.

    Each array of ``waits`` holds the wait, in days, of everyone its series counts (the patients
    referred in the window), NaN for whoever's wait never ended in the run (never started, or still
    waiting at its end). A curve is the share of the completed waits (clock stopped) within each
    wait, so it ends at 100%, as the standards count them (NHS clock stops); its legend entry says
    how many waits never ended (``never``: what they are, for each series, in words after
    ``<share> of the <number>``, e.g. ``referred did not start treatment in the run``).

    The axis is cut at a high percentile (:func:`_wait_axis`) and the plot says what lies beyond
    it. A standard is ``{name: days}`` or ``{name: (days, target)}``: a target is drawn as a bar
    across its standard's line at that share. Waits under a few days are read in hours (an
    emergency department's).

    ``baseline``: the series are a comparison's scenarios, in its order, and this one is its
    baseline: each scenario takes its colour by its position (:func:`scenario_colour`), and the
    baseline is drawn dashed, over the others, so that none hides it."""
    lines = {name: (v if isinstance(v, tuple) else (float(v), None)) for name, v in standards.items()}
    fig, ax = plt.subplots(figsize=(7, 4.4))
    done = {label: np.sort(np.asarray(w, dtype=float)[np.isfinite(np.asarray(w, dtype=float))])
            for label, w in waits.items()}
    right, cut_by = _wait_axis(list(done.values()), [days for days, _ in lines.values()])
    scale, unit = (24.0, "hours") if right <= 3.0 else (1.0, "days")
    right_shown = right * scale
    beyond = []
    for i, (label, w) in enumerate(done.items()):
        n_all = len(waits[label])
        if len(w) == 0:
            continue
        unended = 1 - len(w) / n_all if n_all else 0.0
        entry = f"{label}{' (baseline)' if label == baseline else ''}: {len(w):,} completed waits"
        if unended > 0:
            entry += f"; {_share_text(unended)} of the {n_all:,} {(never or {}).get(label, 'did not end in the run')}"
        x, y = np.concatenate([[0.0], w * scale]), np.arange(0, len(w) + 1) / len(w)
        is_base = label == baseline
        ax.step(x, y, where="post", color=scenario_colour(i) if baseline is not None else PALETTE[i % len(PALETTE)],
                linestyle=(0, (5, 2)) if is_base else "-", linewidth=2.2 if is_base else 1.5,
                zorder=4 if is_base else 3, label=textwrap.fill(entry, 100, subsequent_indent="  "))
        off = float((w > right).mean())
        if off >= 0.0005:
            beyond.append(f"{_share_text(off)} of {label}")
    by_days: dict[float, list[str]] = {}
    targets: dict[float, set[float]] = {}
    for name, (days, target) in lines.items():
        by_days.setdefault(days, []).append(name)
        if target is not None:
            targets.setdefault(days, set()).add(target)
    one_target = len(set().union(*targets.values())) == 1 if targets else False
    names_at: list[Any] = []
    for k, (days, names) in enumerate(sorted(by_days.items())):
        at = days * scale
        ax.axvline(at, color=STANDARD_COLOUR, linestyle="--", linewidth=1)
        # the standards' names at the foot of their line (left of it near the right edge): the curves rise,
        # so past a standard's line they are above its foot
        left = at > 0.6 * right_shown
        # each further standard a step higher, so that close lines' names do not cover each other
        names_at.append(ax.text(at, 0.02 + 0.1 * (k % 3), "\n".join(id_words(n) for n in names), va="bottom",
                                ha="right" if left else "left", fontsize=7.5, color=STANDARD_COLOUR, zorder=6,
                                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.9, "pad": 2}))
        for target in sorted(targets.get(days, ())):   # the target: a bar across the line at its share
            ax.plot([at], [target], marker="_", markersize=12, markeredgewidth=2.5, color=STANDARD_COLOUR, zorder=7)
            if not one_target:   # (one target for all: the note gives it)
                ax.annotate(f"{target:.0%}", (at, target), xytext=(-7 if left else 7, 0), textcoords="offset points",
                            ha="right" if left else "left", va="center", fontsize=7, color=STANDARD_COLOUR, zorder=7,
                            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
    ax.set_xlim(0, right_shown)
    ax.set_ylim(0, 1.01)
    _unstack(ax, names_at)
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    xlabel = xlabel.replace("(days)", f"({unit})")
    notes = [f"Axis cut at {_number(right_shown)} {unit} ({cut_by})"
             + (f"; completed later, off the axis: {', '.join(beyond)}" if beyond else "")]
    if lines:  # the curves are everyone's; a standard covers only the patients it names
        target_words = ""
        if targets:
            shared = next(iter(targets.values()))
            target_words = (f"; bar across a line: its target ({next(iter(shared)):.0%})" if one_target
                            else "; bar across a line: its target")
        notes.append("Curves: all patients. Dashed lines: standards, each for the patients it names" + target_words)
    style(ax, title, xlabel, "Share of completed waits (cumulative)")
    legend_under_label(ax, notes)
    return fig


def _unstack(ax: plt.Axes, texts: list[Any]) -> None:
    """Move each text up (a tenth of the axis at a time) until it covers none before it."""
    if len(texts) < 2:
        return
    fig = ax.figure
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]  # (Agg's: these figures are drawn on it)
    placed: list[Any] = []
    for text in texts:
        x, y = text.get_position()
        while y < 0.85 and any(text.get_window_extent(renderer).overlaps(box) for box in placed):
            y += 0.1
            text.set_position((x, y))
        placed.append(text.get_window_extent(renderer))


def _wait_axis(waits: list[np.ndarray], standards: list[float]) -> tuple[float, str]:
    """Where a wait plot's axis ends (days) and why: at the 98th percentile of the completed waits of
    the series that wait longest, but, where that would squash the standards into the left tenth of
    the axis (an axis to 980 days with 7- and 28-day lines), at ten times the longest standard or the
    90th percentile, whichever is further; never short of the standards."""
    done = [w for w in waits if len(w)]
    p98 = max((float(np.percentile(w, 98)) for w in done), default=0.0)
    longest = max(standards, default=0.0)
    right, why = p98, "the 98th percentile of the completed waits in the series that waits longest"
    if longest > 0 and p98 > 10 * longest:
        p90 = max(float(np.percentile(w, 90)) for w in done)
        right, why = ((10 * longest, "ten times the longest standard, so that the standards stay readable")
                      if 10 * longest >= p90 else
                      (p90, "the 90th percentile of the completed waits in the series that waits longest, "
                            "so that the standards stay readable"))
    if longest * 1.2 > right:
        right, why = longest * 1.2, "past the longest standard"
    if right <= 0:
        return 1.0, "no wait was longer"
    return right, why


def _share_text(share: float) -> str:
    """A share for a plot's note: ``8%``, ``0.4%``, ``<0.1%``."""
    if share < 0.001:
        return "<0.1%"
    return f"{share:.0%}" if share >= 0.095 else f"{share:.1%}"


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 20 else f"{value:.3g}"
