"""Measures defined as the calibration sources define them (issue 21, item 2), registered as KPIs.

Each needs the visit records (which step a patient was at, when they entered it, when it started),
so a replication that measures them must keep its visits (``record_visits=True``); without them
each is NaN. Every definition is written next to its source in ``docs/calibration.md``.

* ``share_specialist_intensive_12m``: of the people who asked for help in the observation window
  (and at least a year before its end), the share who *started* a specialist inpatient stay or day
  care (steps of kind ``inpatient`` or ``day_care``) within 12 months of asking for help. Acute
  medical or paediatric admissions do not count. (Austin et al. 2021: "inpatient or day care within
  12 months", 12.4% in usual care.)
* ``bed_wait_mean_<step>`` / ``bed_wait_median_<step>``: for each step of kind ``inpatient``, the wait
  from being referred to the bed (entering the step) to admission, in days, over the admissions that
  started in the window. (Ayton et al. 2022: wait for an adult ED inpatient bed, 33 days.)
* ``referrals_received_per_year_<step>``: referrals arriving at a step (each entry counted once,
  however many appointments it took), in the window, per year; divided by the population / 100,000
  a calibration target compares it with a rate per 100k. (RCPsych 2024: CYP referrals to community
  ED services, about 42 per 100k population a year.)
"""

from __future__ import annotations

import numpy as np

from icssim.kpis import DAYS_PER_YEAR, REGISTRY, Family, Kpi, KpiInfo, Window, register

#: Step kinds that are specialist intensive care (a bed in a specialist unit, or day care).
SPECIALIST_KINDS = ("inpatient", "day_care")

#: The KPIs of this module that need the visit records.
NEEDS_VISITS = ("share_specialist_intensive_12m", "bed_wait_mean_", "bed_wait_median_",
                "referrals_received_per_year_")


def needs_visits(name: str) -> bool:
    return any(name == n or (n.endswith("_") and name.startswith(n)) for n in NEEDS_VISITS)


def _steps_of(w: Window, kinds: tuple[str, ...]) -> list[int]:
    return [i for i, k in enumerate(w.rec.step_kinds) if k in kinds]


class SpecialistIntensive12m(Kpi):
    group = "Emergency and inpatient use"
    name, unit = "share_specialist_intensive_12m", "share"
    label = "Specialist inpatient or day care within 12 months of asking for help"

    def value(self, w: Window) -> float:
        V, P, rec = w.rec.visits, w.patients, w.rec
        if V is None or len(P["pid"]) == 0:
            return float("nan")
        steps = _steps_of(w, SPECIALIST_KINDS)
        started = np.isin(V["step"], steps) & ~np.isnan(V["t_start"])
        first = np.full(int(max(P["pid"].max(), V["pid"].max() if len(V["pid"]) else 0)) + 1, np.inf)
        np.minimum.at(first, V["pid"][started], V["t_start"][started])
        observable = w.in_window & (P["arrival"] <= rec.horizon - DAYS_PER_YEAR / w.days)
        delay = (first[P["pid"]] - P["arrival"])[observable] * w.days
        return float((delay <= DAYS_PER_YEAR).mean()) if len(delay) else float("nan")


class _StepFamily(Family):
    """KPIs named ``<prefix><step>``, one per step of the kinds in :attr:`kinds`."""

    family = "step"
    prefixes: tuple[str, ...] = ()
    labels: dict[str, str] = {}
    kinds: tuple[str, ...] | None = None

    def owns(self, name: str) -> bool:
        return any(name.startswith(p) for p in self.prefixes)

    def info(self, name: str) -> KpiInfo:
        prefix = next(p for p in self.prefixes if name.startswith(p))
        step = name[len(prefix):]
        return KpiInfo(self.labels[prefix].format(step), self.unit, self.better, self.family, step, self.group)

    def steps(self, w: Window) -> list[tuple[int, str]]:
        return [(i, s) for i, (s, k) in enumerate(zip(w.rec.steps, w.rec.step_kinds))
                if self.kinds is None or k in self.kinds]


class BedWait(_StepFamily):
    group, unit = "Emergency and inpatient use", "days"
    prefixes = ("bed_wait_mean_", "bed_wait_median_")
    labels = {"bed_wait_mean_": "Wait for a bed at {}, mean", "bed_wait_median_": "Wait for a bed at {}, median"}
    kinds = ("inpatient",)

    def compute(self, w: Window) -> dict[str, float]:
        V = w.rec.visits
        out: dict[str, float] = {}
        for i, step in self.steps(w):
            if V is None:
                out[f"bed_wait_mean_{step}"] = out[f"bed_wait_median_{step}"] = float("nan")
                continue
            mine = (V["step"] == i) & (V["t_start"] >= w.rec.warmup) & ~np.isnan(V["t_start"])
            wait = (V["t_start"] - V["t_enter"])[mine] * w.days
            out[f"bed_wait_mean_{step}"] = float(wait.mean()) if len(wait) else float("nan")
            out[f"bed_wait_median_{step}"] = float(np.median(wait)) if len(wait) else float("nan")
        return out


class ReferralsReceived(_StepFamily):
    group, unit, better = "Demand and flow", "per year", "neutral"
    prefixes = ("referrals_received_per_year_",)
    labels = {"referrals_received_per_year_": "Referrals received at {}"}
    kinds = ("triage", "assessment", "treatment")

    def compute(self, w: Window) -> dict[str, float]:
        V = w.rec.visits
        out: dict[str, float] = {}
        for i, step in self.steps(w):
            if V is None:
                out[f"referrals_received_per_year_{step}"] = float("nan")
                continue
            mine = (V["step"] == i) & (V["t_enter"] >= w.rec.warmup)
            entries = {(int(p), float(t)) for p, t in zip(V["pid"][mine], V["t_enter"][mine])}
            out[f"referrals_received_per_year_{step}"] = len(entries) / w.years
        return out


MEASURES: list[Kpi] = [SpecialistIntensive12m(), BedWait(), ReferralsReceived()]


def measure_of(name: str) -> Kpi | None:
    """The measure of this module that owns ``name``, if any."""
    return next((m for m in MEASURES if m.owns(name)), None)


def compute_measures(w: Window) -> dict[str, float]:
    """Every measure of this module for one replication (NaN without visit records)."""
    out: dict[str, float] = {}
    for m in MEASURES:
        out.update(m.compute(w))
    return out


def register_measures() -> None:
    """Add the measures to the KPI registry (:mod:`icssim.kpis`), so that ``icssim run`` and sweeps
    report them too (once; a calibration computes them itself without registering them, so that
    importing this module changes no other command's tables)."""
    for m in MEASURES:
        if not any(k is m for k in REGISTRY):
            register(m)
