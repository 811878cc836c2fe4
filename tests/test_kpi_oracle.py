"""The KPIs measured from the patient records, each against an independent recomputation.

One small fixed-seed pathway, one replication with its records kept. Every KPI of
``icssim.kpi_definitions`` that is measured from the per-patient records is recomputed here with
pandas from its documented definition (docs/scenario-format.md section 14 "How results are
measured", the patient table of docs/experiments.md, the KPI's label and docstring), not from the
code that computes it, and must agree to 1e-12 (counts exactly).

The pathway is built so that the definitions can be told apart: a GP and a letter of 3 days to 3
weeks come before the referral clock starts (``referral > arrival`` for everyone referred), some
are signposted at the GP and never referred, the assessment rejects low-risk referrals (back to
the GP, re-referred 6 weeks later), its queue and the treatment's have drop-out and missed
appointments that end in discharge, risk deteriorates into A&E, admissions and inpatient stays,
there are two cohorts with urgent and routine standards on both measures, a warm-up, and the time
unit is the week (so a forgotten conversion to days shows)."""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest

from icssim.experiments import run_replication
from icssim.model.records import VISIT_OUTCOMES
from icssim.scenario import scenario_from_dict

DAYS_PER_YEAR = 365.25  # docs/scenario-format.md: "a year 365.25 days"

#: name -> (cohort, urgency on arrival, measure, threshold as written, threshold in days)
STANDARDS = {
    "cyp_routine_treated_6_weeks": ("cyp", "routine", "referral_to_treatment", "6 weeks", 42.0),
    "cyp_urgent_assessed_1_week": ("cyp", "urgent", "referral_to_assessment", "1 week", 7.0),
    "adults_routine_treated_6_weeks": ("adults", "routine", "referral_to_treatment", "6 weeks", 42.0),
    "adults_urgent_assessed_2_weeks": ("adults", "urgent", "referral_to_assessment", "2 weeks", 14.0),
}
MEASURED = {"referral_to_treatment": "treat_start", "referral_to_assessment": "assess_start"}

RAW = {
    "scenario": {
        "name": "kpi_oracle", "time_unit": "weeks", "horizon": "3 years", "warmup": "1 year", "seed": 20261,
        "standards": {name: {"cohort": cohort, "urgency": urgency, "measure": measure, "within": within}
                      for name, (cohort, urgency, measure, within, _) in STANDARDS.items()},
    },
    "attributes": {"risk": ["green", "amber", "red"], "urgency": ["routine", "urgent"]},
    "cohorts": {
        "cyp": {"rate": "3 per week", "entry": "gp",
                "attributes": {"age": {"dist": "uniform", "low": 8, "high": 17},
                               "risk": {"values": ["green", "amber"], "weights": [1, 2]},
                               "urgency": {"values": ["routine", "urgent"], "weights": [3, 1]}}},
        "adults": {"rate": "5 per week", "entry": "gp",
                   "attributes": {"age": {"dist": "uniform", "low": 18, "high": 65},
                                  "risk": {"values": ["green", "amber"], "weights": [1, 1]},
                                  "urgency": {"values": ["routine", "urgent"], "weights": [4, 1]}}},
    },
    "services": {
        "practice": {"staff": {"gp": {"wte": 1}}, "cost_per_contact": 42},
        "team": {"staff": {"clinician": {"wte": 2, "clinical_hours_per_week": 8, "cost_per_hour": 60}},
                 "caseload": 34},
        "acute": {"staff": {"ae_staff": {"wte": 2}}, "beds": 4, "cost_per_contact": 250, "cost_per_bed_day": 900},
        "unit": {"beds": 3, "cost_per_bed_day": 700},
    },
    "pathway": {"steps": {
        "gp": {"kind": "referral", "service": "practice", "staff": ["gp"], "duration": "15 minutes",
               "next": [{"p": 0.85, "to": "assess", "after": {"dist": "uniform", "low": "3 days", "high": "3 weeks"}},
                        {"p": 0.15, "to": "signposted"}]},
        "assess": {"kind": "assessment", "service": "team", "staff": ["clinician"], "duration": "2 hours",
                   "queue": "priority", "handoff": {"dist": "exponential", "mean": "4 days"},
                   "accept": "risk >= amber", "on_reject": {"to": "gp", "after": "6 weeks"},
                   "dropout": {"mean_time": "26 weeks"},
                   "missed": {"probability": 0.2, "discharge_after": 2},
                   "next": [{"p": 0.85, "to": "treat"}, {"p": 0.15, "to": "signposted"}]},
        "treat": {"kind": "treatment", "service": "team", "staff": ["clinician"], "caseload": True,
                  "sessions": {"count": 8, "every": "1 week"}, "duration": "1 hour",
                  "dropout": {"mean_time": "30 weeks"},
                  "missed": {"probability": 0.1, "discharge_after": 2}, "next": "completed"},
        "ae": {"kind": "emergency", "service": "acute", "staff": ["ae_staff"], "duration": "4 hours",
               "next": [{"p": 0.5, "to": "admit"}, {"p": 0.5, "to": "assess"}]},
        "admit": {"kind": "admission", "service": "acute", "bed": True,
                  "duration": {"dist": "lognormal", "mean": "5 days", "sd": "2 days"},
                  "next": [{"p": 0.5, "to": "inpatient"}, {"p": 0.5, "to": "assess"}]},
        "inpatient": {"kind": "inpatient", "service": "unit", "bed": True,
                      "duration": {"dist": "lognormal", "mean": "4 weeks", "sd": "2 weeks"}, "next": "treat"},
        "signposted": {"kind": "discharge", "outcome": "signposted"},
        "completed": {"kind": "discharge", "outcome": "completed"},
    }},
    "deterioration": {"attribute": "risk", "hazard": {"green": "0.04 per week", "amber": "0.01 per week"},
                      "urgent_from": "amber", "emergency_at": "red", "emergency_step": "ae"},
}

#: KPI -> the patient-table column (docs/experiments.md) it counts per year of the window
PER_YEAR = {
    "rejected_referrals_per_year": "rejections",
    "rereferrals_per_year": "rereferrals",
    "duplicated_assessments_per_year": "n_duplicated_assessments",
    "ae_attendances_per_year": "n_ae",
    "emergency_admissions_per_year": "n_emergency_admissions",
    "inpatient_admissions_per_year": "n_inpatient_admissions",
    "specialist_bed_days_per_year": "bed_days",
}
TIMES = ("arrival", "referral", "assess_start", "treat_start", "first_intensive", "exit")


class Oracle:
    """The run's patient records as a table in days, and the observation window, from the docs:
    the window is [warm-up, horizon]; patient KPIs cover the people who *arrived* in it
    (scenario-format.md, section 14)."""

    def __init__(self, rec) -> None:
        self.rec = rec
        self.days = rec.hours_per_unit / 24  # days per time unit (a week here)
        assert self.days == 7.0
        table = pd.DataFrame({k: v for k, v in rec.patients.items() if np.ndim(v) == 1})
        for col in TIMES:
            table[col] = table[col] * self.days
        table["cohort_name"] = np.asarray(rec.cohorts, dtype=object)[table["cohort"].to_numpy()]
        table["outcome_name"] = np.asarray(rec.outcomes, dtype=object)[table["outcome"].to_numpy()]
        levels = rec.attribute_levels["urgency"]
        table["urgency_on_arrival"] = [levels[int(u)] for u in table["urgency0"]]
        self.all = table
        self.warmup, self.horizon = rec.warmup * self.days, rec.horizon * self.days  # days
        self.years = (self.horizon - self.warmup) / DAYS_PER_YEAR
        #: the help-seekers of the window: everyone who asked for help in it
        self.P = table[table["arrival"] >= self.warmup]
        #: of them, those whose referral clock started
        self.referred = self.P[self.P["referral"].notna()]

    def waits(self, col: str, people: pd.DataFrame | None = None) -> pd.Series:
        """Days from the referral clock's start to ``col``, of the referred who got there."""
        people = self.referred if people is None else people
        return (people[col] - people["referral"]).dropna()


def close(got: float, want: float) -> None:
    assert math.isclose(got, want, rel_tol=1e-12, abs_tol=0.0), f"KPI {got!r} != recomputed {want!r}"


@pytest.fixture(scope="module")
def run():
    rep = run_replication(scenario_from_dict(copy.deepcopy(RAW)), 0)
    assert rep.records is not None and rep.records.visits is not None
    return rep.kpis, Oracle(rep.records)


def test_the_scenario_exercises_every_kpi(run):
    """What the recomputations below rely on to tell right from wrong: every feature is there."""
    k, o = run
    P, R = o.P, o.referred
    assert o.rec.warmup > 0 and (o.all["arrival"] < o.warmup).sum() > 100
    assert set(P["cohort_name"]) == {"cyp", "adults"} and len(P) > 500
    # the clock starts after the GP and the letter (3 days or more; less only by way of A&E): later
    # than asking for help, for everyone referred
    assert 0.5 < len(R) / len(P) < 0.9
    assert ((R["referral"] - R["arrival"]) > 0).all() and ((R["referral"] - R["arrival"]) >= 3).mean() > 0.9
    assert (R["referral"] - R["arrival"]).median() > 14
    # rejections and re-referrals, signposting, drop-out, discharge after missed appointments
    assert 0.1 < (P["rejections"] > 0).mean() < 0.9 and P["rereferrals"].sum() > 50
    counts = P["outcome_name"].value_counts()
    for outcome in ("dropped_out", "discharged_missed", "signposted", "completed", "in_system"):
        assert counts.get(outcome, 0) >= 10, (outcome, counts)
    # waits to both starts, several weeks long, in both cohorts and both urgencies
    assert R["assess_start"].notna().sum() > 300 and R["treat_start"].notna().sum() > 300
    assert o.waits("treat_start").median() > 14
    assert set(R["urgency_on_arrival"]) == {"routine", "urgent"}
    # urgency changes after arrival (deterioration), so urgency on arrival is not the last urgency
    last = np.asarray(o.rec.attribute_levels["urgency"])[P["attr_urgency"].astype(int)]
    assert (last != P["urgency_on_arrival"]).sum() > 20
    # emergencies, admissions, specialist bed-days, duplicated assessments, intensive care
    for col in PER_YEAR.values():
        assert P[col].sum() > 0, col
    # someone referred in the window is still waiting for treatment at the end
    assert (R["treat_start"].isna() & R["exit"].isna()).sum() > 0
    # the shares are shares, not 0 or 1
    for name in ("share_treated", "uptake_after_referral", "share_intensive_12m", "share_ever_rejected",
                 "share_dropped_out", *(f"within_{s}" for s in STANDARDS)):
        assert 0 < k[name] < 1, (name, k[name])


def test_the_referral_clock_starts_on_entering_the_first_step_that_accepts(run):
    """The ``referral`` the KPIs start from is what the visits say (scenario-format.md 7.1): the
    entry, hand-off included, into an assessment or treatment step that did not reject them, and
    no such step served, booked or lost them before it."""
    _, o = run
    rec = o.rec
    V = pd.concat([pd.DataFrame(rec.visits), pd.DataFrame(rec.in_progress)], ignore_index=True)
    kinds = np.asarray(rec.step_kinds, dtype=object)[V["step"].to_numpy()]
    V = V[np.isin(kinds, ["triage", "assessment", "treatment"])]
    V = V.assign(t_enter=V["t_enter"] * o.days, pid=V["pid"].astype(int))
    referral = o.referred.set_index("pid")["referral"]
    # the clock's start is the entry into one of their visits to such a step that did not reject them
    entries = V[V["outcome"] != VISIT_OUTCOMES.index("rejected")].groupby("pid")["t_enter"].agg(set)
    assert all(t in entries[pid] for pid, t in referral.items())
    # a visit that was served, missed, dropped out of or discharged for misses had been accepted:
    # none of them began before the clock started, and everyone who had one has a clock
    accepted = V[V["outcome"].isin([VISIT_OUTCOMES.index(x)
                                    for x in ("served", "missed", "dropped_out", "discharged_missed")])]
    first = accepted.groupby("pid")["t_enter"].min()
    clock = o.all.set_index("pid")["referral"].loc[first.index]
    assert clock.notna().all() and (clock <= first).all()
    assert (clock == first).mean() > 0.95


def test_referrals_and_accepted_referrals_per_year(run):
    k, o = run
    close(k["referrals_per_year"], len(o.P) / o.years)
    close(k["accepted_referrals_per_year"], len(o.referred) / o.years)


@pytest.mark.parametrize("what, col", [("assessment", "assess_start"), ("treatment", "treat_start")])
def test_waits_from_referral(run, what, col):
    """scenario-format.md 14: from the referral clock's start to the first start of an assessment
    (or treatment), in days, over the patients who had both; percentiles by linear interpolation."""
    k, o = run
    wait = o.waits(col)
    assert len(wait) > 300
    close(k[f"wait_to_{what}_mean"], wait.mean())
    close(k[f"wait_to_{what}_median"], wait.median())
    close(k[f"wait_to_{what}_p90"], wait.quantile(0.9))
    close(k[f"wait_to_{what}_p95"], wait.quantile(0.95))
    for cohort in ("cyp", "adults"):
        mine = o.waits(col, o.referred[o.referred["cohort_name"] == cohort])
        close(k[f"wait_to_{what}_median_{cohort}"], mine.median())
    # measured from asking for help instead, every one of them would be different
    from_arrival = (o.referred[col] - o.referred["arrival"]).dropna()
    assert abs(from_arrival.mean() - wait.mean()) > 1 and abs(from_arrival.median() - wait.median()) > 1


@pytest.mark.parametrize("name", list(STANDARDS))
def test_waiting_time_standards(run, name):
    """scenario-format.md 14 and the standard's keys: the share of the window's patients of the
    standard's cohort and urgency *on arrival* whose wait from the referral clock's start met
    ``within``, among those who started (assessment or treatment, by its measure)."""
    k, o = run
    cohort, urgency, measure, _, within_days = STANDARDS[name]
    col = MEASURED[measure]
    R = o.referred
    group = R[(R["cohort_name"] == cohort) & (R["urgency_on_arrival"] == urgency) & R[col].notna()]
    assert len(group) >= 20
    wait = group[col] - group["referral"]
    want = (wait <= within_days).mean()
    close(k[f"within_{name}"], want)
    # the clock from asking for help gives another share
    assert ((group[col] - group["arrival"]) <= within_days).mean() != want


def test_access_shares(run):
    k, o = run
    P, R = o.P, o.referred
    treated = P["treat_start"].notna()
    # "Help-seekers who started treatment"
    close(k["share_treated"], treated.mean())
    # "Referred patients who started treatment (uptake)": among those whose clock started
    close(k["uptake_after_referral"], R["treat_start"].notna().mean())
    assert k["uptake_after_referral"] != k["share_treated"]
    # "Patients with a rejected referral"
    close(k["share_ever_rejected"], (P["rejections"] > 0).mean())
    # "Dropped out or discharged after missed appointments": how they last left
    left = P["outcome_name"]
    close(k["share_dropped_out"], left.isin(["dropped_out", "discharged_missed"]).mean())
    assert (left == "discharged_missed").mean() > 0.01 and (left == "dropped_out").mean() > 0.01


def test_untreated_time_runs_from_asking_for_help(run):
    """"Help-seeking to treatment start, mean": from arrival, not from referral."""
    k, o = run
    treated = o.P[o.P["treat_start"].notna()]
    want = (treated["treat_start"] - treated["arrival"]).mean()
    close(k["untreated_time_mean"], want)
    from_referral = (treated["treat_start"] - treated["referral"]).mean()
    assert want - from_referral > 7  # the GP, the letter and the rejections come first


def test_still_waiting_at_end(run):
    """"Referred in window, still waiting for treatment at end": the window's people whose clock
    started, who have not started treatment and have not left (no ``exit``)."""
    k, o = run
    R = o.referred
    want = int((R["treat_start"].isna() & R["exit"].isna()).sum())
    assert k["still_waiting_at_end"] == want
    assert want < int(R["treat_start"].isna().sum())  # most of the untreated have left


def test_share_intensive_within_12_months(run):
    """"Admitted or in day care within 12 months of asking for help": of the window's people who
    asked at least 12 months before the horizon (who can be followed for 12 months), those whose
    first intensive care (``first_intensive``) began within 365.25 days of asking."""
    k, o = run
    followed = o.P[o.P["arrival"] <= o.horizon - DAYS_PER_YEAR]
    assert 0 < len(followed) < len(o.P)
    close(k["share_intensive_12m"], ((followed["first_intensive"] - followed["arrival"]) <= DAYS_PER_YEAR).mean())


@pytest.mark.parametrize("name", list(PER_YEAR))
def test_counts_per_year(run, name):
    """A counter of the patient table summed over the window's help-seekers, per year of the window."""
    k, o = run
    col = PER_YEAR[name]
    close(k[name], o.P[col].sum() / o.years)


def test_mean_in_system_and_cost_per_help_seeker(run):
    """L, the mean number in the pathway over the window: each person's time in it (from asking for
    help to leaving, or to the horizon) that falls in the window, over the window's length. And the
    total cost over the window shared by its help-seekers."""
    k, o = run
    A = o.all
    until = A["exit"].fillna(o.horizon).clip(upper=o.horizon)
    inside = (until - A["arrival"].clip(lower=o.warmup)).clip(lower=0)
    assert math.isclose(k["mean_in_system"], inside.sum() / (o.horizon - o.warmup), rel_tol=1e-12)
    close(k["cost_per_referral"], k["cost_per_year"] * o.years / len(o.P))
