"""Measures defined as the calibration sources define them (issue 21, item 2), registered as KPIs.

Each needs the visit records (which step a patient was at, when they entered it, when it started),
so a replication that measures them must keep its visits (``record_visits=True``); without them
each is NaN. Every definition is written next to its source in ``docs/calibration.md``.

* ``intensive_12m_after_<step>``: the FREED-Up cohort (Austin et al. 2021, usual-care arm: people
  aged 16 to 25, ill for under 3 years, assessed by a specialist eating disorder service and followed
  for 12 months; 12.4% "required intensive (in-patient or day-patient) treatment"). Of the people whose
  first assessment at ``<step>`` started in the window (and at least a year before its end), aged 16 to
  25 when they asked for help and ill for under 3 years at the assessment (when the scenario has the
  attributes ``age`` and ``illness_years``), the share who started a specialist inpatient stay or day
  care (steps of kind ``inpatient`` or ``day_care``) within 12 months after it. Acute medical or
  paediatric admissions do not count.
* ``share_specialist_intensive_12m``: the same numerator over everyone who asked for help in the
  window (not the source's cohort: kept to show how much the denominator matters).
* ``bed_wait_mean_<step>`` / ``bed_wait_median_<step>``: for each step of kind ``inpatient``, the wait
  from being referred to the bed (entering the step) to admission, in days, over the admissions that
  started in the window. (Ayton et al. 2022: wait for an adult ED inpatient bed, 33 days.)
* ``referrals_received_per_year_<step>``: referrals arriving at a triage, assessment, treatment,
  inpatient or day care step (each entry counted once, however many appointments it took), in the
  window, per year; divided by the population / 100,000 a calibration target compares it with a rate
  per 100k. (RCPsych 2024: CYP referrals to community ED services, about 42 per 100k population a
  year; Ayton et al. 2022: referrals for adult ED inpatient care, about 3.6 per 100k a year.)
* ``list_growth_<step>``: how fast the waiting list at a step grows, in patients per year: the mean
  list in the last year of the window minus the mean in its first year, over the years between them
  (NaN with a window under 2 years). A stable baseline has about 0; a calibration can require it.
  ``list_growth_worst`` is the largest of them (the list that grows fastest).
"""

from __future__ import annotations

import numpy as np

from icssim.kpis import DAYS_PER_YEAR, REGISTRY, Family, Kpi, KpiInfo, Window, kpi_info, kpi_of, register

#: Step kinds that are specialist intensive care (a bed in a specialist unit, or day care).
SPECIALIST_KINDS = ("inpatient", "day_care")

#: The KPIs of this module that need the visit records.
NEEDS_VISITS = ("share_specialist_intensive_12m", "intensive_12m_after_", "bed_wait_mean_", "bed_wait_median_",
                "referrals_received_per_year_")

#: The FREED-Up cohort (Austin et al. 2021): ages 16 to 25, illness under 3 years.
COHORT_AGES = (16.0, 25.0)
COHORT_MAX_ILLNESS_YEARS = 3.0


def needs_visits(name: str) -> bool:
    return any(name == n or (n.endswith("_") and name.startswith(n)) for n in NEEDS_VISITS)


def _steps_of(w: Window, kinds: tuple[str, ...]) -> list[int]:
    return [i for i, k in enumerate(w.rec.step_kinds) if k in kinds]


def _first_specialist_start(w: Window, after: np.ndarray | None = None) -> np.ndarray:
    """Per pid (indexed by pid), the first start of specialist inpatient or day care; with ``after``
    (indexed by pid), the first start at or after that time. inf: none."""
    V, P = w.rec.visits, w.patients
    assert V is not None
    steps = _steps_of(w, SPECIALIST_KINDS)
    started = np.isin(V["step"], steps) & ~np.isnan(V["t_start"])
    size = int(max(P["pid"].max(), V["pid"].max() if len(V["pid"]) else 0)) + 1
    if after is not None:
        started &= V["t_start"] >= after[V["pid"]]
    first = np.full(size, np.inf)
    np.minimum.at(first, V["pid"][started], V["t_start"][started])
    return first


class SpecialistIntensive12m(Kpi):
    group = "Emergency and inpatient use"
    name, unit = "share_specialist_intensive_12m", "share"
    label = "Specialist inpatient or day care within 12 months of asking for help"

    def value(self, w: Window) -> float:
        V, P, rec = w.rec.visits, w.patients, w.rec
        if V is None or len(P["pid"]) == 0:
            return float("nan")
        first = _first_specialist_start(w)
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
    kinds = ("triage", "assessment", "treatment", "inpatient", "day_care")

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


class IntensiveAfterAssessment(_StepFamily):
    """The FREED-Up measure (see the module docstring), one per assessment step."""

    group, unit = "Emergency and inpatient use", "share"
    prefixes = ("intensive_12m_after_",)
    labels = {"intensive_12m_after_": "Specialist inpatient or day care within 12 months of assessment at {} "
                                      "(ages 16-25, ill under 3 years)"}
    kinds = ("assessment",)

    def compute(self, w: Window) -> dict[str, float]:
        return {f"intensive_12m_after_{step}": self._share(w, i) for i, step in self.steps(w)}

    def _share(self, w: Window, step: int) -> float:
        V, P, rec = w.rec.visits, w.patients, w.rec
        if V is None or len(P["pid"]) == 0:
            return float("nan")
        size = int(max(P["pid"].max(), V["pid"].max() if len(V["pid"]) else 0)) + 1
        assessed = np.full(size, np.inf)
        mine = (V["step"] == step) & ~np.isnan(V["t_start"])
        np.minimum.at(assessed, V["pid"][mine], V["t_start"][mine])
        at = assessed[P["pid"]]
        year = DAYS_PER_YEAR / w.days
        cohort = np.isfinite(at) & (at >= rec.warmup) & (at <= rec.horizon - year)
        if "attr_age" in P:
            cohort &= (P["attr_age"] >= COHORT_AGES[0]) & (P["attr_age"] <= COHORT_AGES[1])
        if "attr_illness_years" in P:
            ill = P["attr_illness_years"] + (at - P["arrival"]) * w.days / DAYS_PER_YEAR
            cohort &= ill < COHORT_MAX_ILLNESS_YEARS
        first = _first_specialist_start(w, after=assessed)
        delay = first[P["pid"]][cohort] - at[cohort]
        return float((delay <= year).mean()) if len(delay) else float("nan")


class ListGrowth(_StepFamily):
    """Growth of each queueing step's waiting list over the window, in patients per year."""

    group, unit, better = "Demand and flow", "patients per year", "lower"
    prefixes = ("list_growth_",)
    labels = {"list_growth_": "Growth of the waiting list at {} (last year minus first, per year)"}

    def compute(self, w: Window) -> dict[str, float]:
        rec, ts = w.rec, w.rec.timeseries
        t = np.asarray(ts["time"], dtype=float)
        year = DAYS_PER_YEAR / w.days
        span = (rec.horizon - rec.warmup) / year
        out: dict[str, float] = {}
        for _, step in self.steps(w):
            series = ts.get(f"waiting_{step}")
            if series is None:
                continue
            y = np.asarray(series, dtype=float)
            first = y[(t >= rec.warmup) & (t < rec.warmup + year)]
            last = y[(t > rec.horizon - year) & (t <= rec.horizon)]
            ok = span >= 2 and len(first) and len(last)
            out[f"list_growth_{step}"] = float((last.mean() - first.mean()) / (span - 1)) if ok else float("nan")
        finite = [v for v in out.values() if np.isfinite(v)]
        out["list_growth_worst"] = max(finite) if finite else float("nan")
        return out


MEASURES: list[Kpi] = [SpecialistIntensive12m(), IntensiveAfterAssessment(), BedWait(), ReferralsReceived(),
                       ListGrowth()]


def measure_of(name: str) -> Kpi | None:
    """The measure of this module that owns ``name``, if any."""
    return next((m for m in MEASURES if m.owns(name)), None)


def compute_measures(w: Window) -> dict[str, float]:
    """Every measure of this module for one replication (NaN without visit records)."""
    out: dict[str, float] = {}
    for m in MEASURES:
        out.update(m.compute(w))
    return out


def needs_follow_up(name: str) -> bool:
    """Whether the KPI ``name`` is measured on the course of illness after the run, so that a
    calibration targeting it must run the follow-up."""
    kpi = kpi_of(name)
    return kpi is not None and kpi.needs_outcomes


def measure_info(name: str) -> KpiInfo:
    """Label and unit of a measure or any registered KPI (the measures are not registered by default)."""
    own = next((m for m in MEASURES if m.owns(name)), None)
    return own.info(name) if own is not None else kpi_info(name)


def register_measures() -> None:
    """Add the measures to the KPI registry (:mod:`icssim.kpis`), so that ``icssim run`` and sweeps
    report them too (once; a calibration computes them itself without registering them, so that
    importing this module changes no other command's tables)."""
    for m in MEASURES:
        if not any(k is m for k in REGISTRY):
            register(m)
