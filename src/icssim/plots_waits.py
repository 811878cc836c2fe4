"""What the wait plots (``wait_ecdf.png``) of a run and of a comparison draw: each series' waits,
in days, of everyone it counts (NaN for whoever's wait never ended in the run), and the standards
over them, each with its threshold in days and its target (:func:`icssim.plots.wait_ecdf`).

A run draws the waits from referral to assessment and to treatment of the patients referred in its
observation window, with the standards that measure them; and, for a scenario with interval
standards (``from``/``to``: an emergency department's 4 and 12 hours from arrival to leaving, a
liaison team's hour from referral to assessment), the time of each such interval, with its
standards: each standard over the wait it measures. A comparison draws each scenario's wait from
referral to treatment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from icssim.report.labels import point_words
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

    def any(self) -> bool:
        """Whether any wait was measured (an emergency department has no wait to treatment: an
        empty plot of it says nothing)."""
        return any(np.isfinite(np.asarray(w, dtype=float)).any() for w in self.waits.values())

    def figure(self, title: str, xlabel: str, baseline: str | None = None):
        """The plot (:func:`icssim.plots.wait_ecdf`); with intervals' times (``A \u2192 B``), the axis
        reads as the time from each series' start."""
        from icssim.plots import wait_ecdf

        if any("\u2192" in label for label in self.waits):
            xlabel = "Time from referral, or from the interval's start (days)"
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
    out = Waits({f"referral to {what}": window[f"wait_to_{what}"].to_numpy(dtype=float) for what in NEVER},
                referral_standards(result.scenario, ("referral_to_assessment", "referral_to_treatment")),
                {f"referral to {what}": words for what, words in NEVER.items()})
    interval = interval_waits(result)
    return Waits(out.waits | interval.waits, out.standards | interval.standards, out.never | interval.never)


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
        label = f"{point_words(start, s, True)} \u2192 {point_words(end, s, True)}"
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
