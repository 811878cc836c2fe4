"""The KPIs of a pathway run, one class each, and :data:`DEFINED`: them in output order (the order
of the KPI columns in every table). The registry (:mod:`icssim.kpis`) starts from this list."""

from __future__ import annotations

import numpy as np

from icssim.kpi_base import DAYS_PER_YEAR, Family, Kpi, KpiInfo, Window, mean, share, standard_group


class Referrals(Kpi):
    group = "Demand and flow"
    name, unit, better = "referrals_per_year", "per year", "neutral"
    label = "Help-seekers (everyone who asks for help, referred on or not)"

    def value(self, w: Window) -> float:
        return w.arrived.sum() / w.years


class AcceptedReferrals(Kpi):
    """Help-seekers whose referral a service accepted: those whose referral clock started (they
    entered a triage, assessment or treatment step that accepted them), each counted once. Beside
    the help-seekers, it says how many of those who asked for help were taken on."""

    group = "Demand and flow"
    name, unit, better = "accepted_referrals_per_year", "per year", "neutral"
    label = "Accepted referrals (help-seekers taken on by a triage, assessment or treatment step)"

    def value(self, w: Window) -> float:
        return w.referred.sum() / w.years


class WaitSummary(Kpi):
    """Mean, median, 90th and 95th percentile of the wait from referral to ``what``."""

    group = "Waits from referral"
    STATS = {"mean": "mean", "median": "median", "p90": "90th percentile", "p95": "95th percentile"}

    def __init__(self, what: str, col: str) -> None:
        self.what, self.col = what, col
        self.names = {f"wait_to_{what}_{s}": words for s, words in self.STATS.items()}

    def owns(self, name: str) -> bool:
        return name in self.names

    def info(self, name: str) -> KpiInfo:
        return KpiInfo(f"Referral to {self.what}, {self.names[name]}", "days", group=self.group)

    def compute(self, w: Window) -> dict[str, float]:
        wait = w.wait(self.col, w.referred)
        if len(wait) == 0:
            return dict.fromkeys(self.names, np.nan)
        q = np.percentile(wait, [50, 90, 95])
        return dict(zip(self.names, (float(wait.mean()), float(q[0]), float(q[1]), float(q[2]))))


class CohortMedianWaits(Family):
    """Median waits to assessment and to treatment per cohort, when there is more than one."""

    family, group = "cohort", "Waits from referral"
    WAITS = (("assessment", "assess_start"), ("treatment", "treat_start"))

    def owns(self, name: str) -> bool:
        return any(name.startswith(f"wait_to_{what}_median_") for what, _ in self.WAITS)

    def info(self, name: str) -> KpiInfo:
        for what, _ in self.WAITS:
            prefix = f"wait_to_{what}_median_"
            if name.startswith(prefix):
                cohort = name[len(prefix):]
                return KpiInfo(f"Referral to {what}, median: {cohort}", "days", "lower", self.family, cohort,
                               self.group)
        raise KeyError(name)

    def compute(self, w: Window) -> dict[str, float]:
        out: dict[str, float] = {}
        if len(w.rec.cohorts) > 1:
            for ci, cohort in enumerate(w.rec.cohorts):
                mine = w.referred & (w.patients["cohort"] == ci)
                for what, col in self.WAITS:
                    wait = w.wait(col, mine)
                    out[f"wait_to_{what}_median_{cohort}"] = float(np.median(wait)) if len(wait) else np.nan
        return out


class ShareTreated(Kpi):
    group = "Access and outcomes"
    name, label, unit, better = "share_treated", "Help-seekers who started treatment", "share", "higher"

    def value(self, w: Window) -> float:
        return share(w.treated[w.in_window])


class Uptake(Kpi):
    group = "Access and outcomes"
    name, unit, better = "uptake_after_referral", "share", "higher"
    label = "Referred patients who started treatment (uptake)"

    def value(self, w: Window) -> float:
        return share(w.treated[w.referred])


class ShareIntensive12m(Kpi):
    group = "Emergency and inpatient use"
    name, unit = "share_intensive_12m", "share"
    label = "Admitted or in day care within 12 months of asking for help"

    def value(self, w: Window) -> float:
        P, rec = w.patients, w.rec
        observable = w.in_window & (P["arrival"] <= rec.horizon - DAYS_PER_YEAR / w.days)
        to_intensive = (P["first_intensive"] - P["arrival"])[observable] * w.days
        return share(to_intensive <= DAYS_PER_YEAR)


class UntreatedTime(Kpi):
    group = "Waits from referral"
    name, label, unit = "untreated_time_mean", "Help-seeking to treatment start, mean", "days"

    def value(self, w: Window) -> float:
        P = w.patients
        return mean((P["treat_start"] - P["arrival"])[w.in_window & w.treated] * w.days)


class PerYear(Kpi):
    """A patient counter (column ``col`` of the records) summed over the window, per year."""

    unit = "per year"

    def __init__(self, name: str, col: str, label: str, group: str) -> None:
        self.name, self.col, self.label, self.group = name, col, label, group

    def value(self, w: Window) -> float:
        return w.per_year(self.col)


class ShareEverRejected(Kpi):
    group = "Access and outcomes"
    name, label, unit = "share_ever_rejected", "Patients with a rejected referral", "share"

    def value(self, w: Window) -> float:
        return share(w.patients["rejections"][w.in_window] > 0)


class ShareDroppedOut(Kpi):
    group = "Access and outcomes"
    name, label, unit = "share_dropped_out", "Dropped out or discharged after missed appointments", "share"

    def value(self, w: Window) -> float:
        codes = [w.rec.outcomes.index(o) for o in ("dropped_out", "discharged_missed")]
        return share(np.isin(w.patients["outcome"], codes)[w.in_window])


class StillWaiting(Kpi):
    group = "Access and outcomes"
    name, label, unit = "still_waiting_at_end", "Referred in window, still waiting for treatment at end", "patients"

    def value(self, w: Window) -> float:
        return float((w.referred & ~w.treated & np.isnan(w.patients["exit"])).sum())


class WithinStandard(Family):
    """Share of the patients who asked for help in the window and were referred (of the standard's
    urgency on arrival and cohort, if given) who started within the standard's threshold, among
    those who started (NHS clock-stop), the clock running from referral."""

    prefix, family, label, unit, better = "within_", "standard", "Within standard: {}", "share", "higher"
    group = "Waiting-time standards"

    def compute(self, w: Window) -> dict[str, float]:
        return {f"within_{name}": self.within(w, *std) for name, std in w.standards.items()}

    @staticmethod
    def within(w: Window, threshold: float, level: str | None, measure: str,
               cohort: str | tuple[str, ...] | None = None) -> float:
        P, rec = w.patients, w.rec
        col = "treat_start" if measure == "referral_to_treatment" else "assess_start"
        group = w.referred & ~np.isnan(P[col]) & standard_group(rec, level, cohort)
        wait = (P[col] - P["referral"])[group] * w.days
        return share(wait <= threshold) if len(wait) else np.nan


class Utilisation(Family):
    prefix, family, label, unit, better = "utilisation_", "resource", "Utilisation of {}", "share", "neutral"
    group = "Capacity"

    def compute(self, w: Window) -> dict[str, float]:
        return {f"utilisation_{r.name}": r.busy_area / (r.capacity * w.rec.window)
                for r in w.rec.resources if r.capacity > 0 and r.queued_for}


class Cost(Kpi):
    """Each service counted once: a staffed team at its establishment, other care at unit costs
    (:attr:`Window.costs_once`)."""
    group = "Costs"
    name, label, unit = "cost_per_year", "Total cost", "GBP per year"

    def value(self, w: Window) -> float:
        return float(w.costs_once.sum() / w.years)


class ActivityCost(Kpi):
    """Every contact, bed-day and monitoring contact at its unit cost, staffed teams' too: what the
    care given would cost bought by the item (not added to the establishment, whose staff it prices)."""
    group = "Costs"
    name, label, unit = "activity_cost_per_year", "Activity cost (all care at unit costs)", "GBP per year"

    def value(self, w: Window) -> float:
        return float(w.costs.sum() / w.years)


class StaffCost(Kpi):
    # no group: shown under "Other", as before the KPI sections came from the registry
    name, unit = "staff_cost_per_year", "GBP per year"
    label = "Staff establishment cost (staff × hourly cost × paid hours)"

    def value(self, w: Window) -> float:
        return float(sum(r.cost_per_year for r in w.rec.resources))


class CostPerReferral(Kpi):
    group = "Costs"
    name, label, unit = "cost_per_referral", "Total cost per help-seeker (undiscounted)", "GBP"

    def value(self, w: Window) -> float:
        referrals = w.in_window.sum()
        return float(w.costs_once.sum() / referrals) if referrals else np.nan


class ServiceCost(Family):
    prefix, family, label, unit = "cost_per_year_", "service", "Cost per year: {}", "GBP per year"
    group = "Costs"
    zero_when_absent = True   # a service a scenario does not have costs it nothing

    def compute(self, w: Window) -> dict[str, float]:
        costs = w.costs_once  # each service counted once (see Cost)
        return {f"cost_per_year_{name}": float(costs[:, i].sum() / w.years) for i, name in enumerate(w.rec.services)}


class MeanInSystem(Kpi):
    group = "Demand and flow"
    name, label, unit, better = "mean_in_system", "Mean number in the pathway (L)", "patients", "neutral"

    def value(self, w: Window) -> float:
        return w.rec.in_system_area / w.rec.window


class RisingLists(Kpi):
    """How many steps' waiting lists clearly rise through the observation window of this
    replication (:func:`icssim.warmup.rising_in_replication`): a sweep's or a PSA's runs keep no
    time series, so this is how they tell a point or a draw that is not in a steady state."""
    group = "Capacity"
    name, label, unit = "waiting_lists_rising", "Waiting lists still clearly rising through the window", "lists"

    def value(self, w: Window) -> float:
        if w.rec.warmup <= 0:
            # nothing is tested without a warm-up (rising_in_replication): its module, which loads
            # pandas and scipy.stats (a second), is not imported for it (validate's one-day run)
            return 0.0
        from icssim.warmup import rising_in_replication

        return float(len(rising_in_replication(w.rec)))


#: Every KPI defined here, in output order.
_DEMAND, _EMERGENCY = "Demand and flow", "Emergency and inpatient use"

DEFINED: list[Kpi] = [
    Referrals(),
    AcceptedReferrals(),
    WaitSummary("assessment", "assess_start"),
    WaitSummary("treatment", "treat_start"),
    CohortMedianWaits(),
    ShareTreated(),
    Uptake(),
    ShareIntensive12m(),
    UntreatedTime(),
    PerYear("rejected_referrals_per_year", "rejections", "Referrals rejected (bounced)", _DEMAND),
    ShareEverRejected(),
    PerYear("rereferrals_per_year", "rereferrals", "Re-referrals after rejection", _DEMAND),
    PerYear("duplicated_assessments_per_year", "n_duplicated_assessments",
            "Duplicated assessments (assessed again before treatment)", _DEMAND),
    PerYear("ae_attendances_per_year", "n_ae", "A&E attendances", _EMERGENCY),
    PerYear("emergency_admissions_per_year", "n_emergency_admissions", "Emergency (acute) admissions", _EMERGENCY),
    PerYear("inpatient_admissions_per_year", "n_inpatient_admissions", "Specialist inpatient admissions", _EMERGENCY),
    PerYear("specialist_bed_days_per_year", "bed_days", "Specialist bed-days", _EMERGENCY),
    ShareDroppedOut(),
    StillWaiting(),
    WithinStandard(),
    Utilisation(),
    Cost(),
    ActivityCost(),
    StaffCost(),
    CostPerReferral(),
    ServiceCost(),
    MeanInSystem(),
    RisingLists(),
]
