"""Waits and times at every stage, and standards on any interval (issue 25), against queueing theory.

Two M/M/1 queues in tandem (triage, then a doctor) are a Jackson network: the wait at each is the
M/M/1 wait, and the time from arrival to exit is the sum of two independent exponentials with
rates mu_i - lambda (hypoexponential), whose distribution gives the 4-hour standard exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from icssim import experiments
from icssim.errors import ScenarioError
from icssim.kpis import kpi_info
from icssim.scenario import scenario_from_dict

LAM, MU1, MU2 = 1 / 15, 1 / 10, 1 / 12  # per minute


def _tandem(**info) -> dict:
    return {
        "scenario": {"name": "tandem", "time_unit": "minutes", "horizon": "250 days", "warmup": "5 days",
                     "seed": 7, **info},
        "cohorts": {"walk_in": {"rate": "4 per hour", "entry": "triage"}},
        "services": {"ed": {"staff": {"nurse": {"wte": 1}, "doctor": {"wte": 1}}}},
        "pathway": {"steps": {
            "triage": {"kind": "assessment", "service": "ed", "staff": ["nurse"],
                       "duration": {"dist": "exponential", "mean": "10 minutes"}, "next": "see"},
            "see": {"kind": "treatment", "service": "ed", "staff": ["doctor"],
                    "duration": {"dist": "exponential", "mean": "12 minutes"}, "next": "home"},
            "home": {"kind": "discharge"}}},
    }


@pytest.fixture(scope="module")
def kpis() -> dict[str, float]:
    s = scenario_from_dict(_tandem(stage_waits=True, standards={
        "four_hours": {"from": "arrival", "to": "exit", "within": "4 hours"},
        "doctor_within_1_hour": {"from": "triage.end", "to": "see.start", "within": "1 hour"},
        "rtt": {"within": "1 hour"},  # an ordinary standard, unchanged
    }))
    # visits are kept for the stage KPIs even when the records are not; the mean of 8
    # replications (about 190,000 patients) puts the standard error of each mean wait near 2%
    reps = [experiments.run_replication(s, i, keep_records=False).kpis for i in range(8)]
    return {k: float(np.mean([r[k] for r in reps])) for k in reps[0]}


def test_waits_at_each_stage_match_mm1(kpis):
    for step, mu in (("triage", MU1), ("see", MU2)):
        rho = LAM / mu
        assert kpis[f"stage_wait_mean_minutes_{step}"] == pytest.approx(rho / (mu - LAM), rel=0.06)
        assert kpis[f"stage_time_mean_minutes_{step}"] == pytest.approx(1 / (mu - LAM), rel=0.06)
        # the M/M/1 wait's 90th percentile: P(Wq > t) = rho e^{-(mu - lam) t}
        p90 = math.log(rho / 0.1) / (mu - LAM)
        assert kpis[f"stage_wait_p90_minutes_{step}"] == pytest.approx(p90, rel=0.06)


def test_time_in_system_and_interval_standards_match_the_jackson_network(kpis):
    a, b = MU1 - LAM, MU2 - LAM
    assert kpis["time_in_system_mean_minutes"] == pytest.approx(1 / a + 1 / b, rel=0.06)

    def over(t: float) -> float:  # P(T > t) for the hypoexponential sojourn
        return (b * math.exp(-a * t) - a * math.exp(-b * t)) / (b - a)

    assert kpis["within_four_hours"] == pytest.approx(1 - over(240), abs=0.01)
    assert over(kpis["time_in_system_p90_minutes"]) == pytest.approx(0.10, abs=0.012)
    # from triage's end to the doctor's start is the wait at the doctor (no hand-off)
    assert kpis["within_doctor_within_1_hour"] == pytest.approx(1 - LAM / MU2 * math.exp(-(MU2 - LAM) * 60), abs=0.02)
    assert 0 <= kpis["within_rtt"] <= 1


def test_stage_kpis_are_labelled_and_grouped(kpis):
    info = kpi_info("stage_wait_mean_minutes_see")
    assert (info.label, info.unit, info.subject) == ("Wait for see, mean", "minutes", "see")
    assert kpi_info("time_in_system_p95_minutes").label == "Time from arrival to leaving, 95th percentile"
    assert kpi_info("within_four_hours").standard == "four_hours"


def test_scenarios_that_do_not_ask_get_none():
    rep = experiments.run_replication(scenario_from_dict(_tandem(horizon="5 days", warmup=0)), 0)
    assert not [k for k in rep.kpis if k.startswith(("stage_", "time_in_system_"))]


@pytest.mark.parametrize("std, words", [
    ({"from": "arrival", "to": "nowhere", "within": "1 hour"}, "step 'nowhere' is not defined"),
    ({"from": "exit", "to": "see", "within": "1 hour"}, "cannot start at exit"),
    ({"from": "see", "to": "arrival", "within": "1 hour"}, "cannot end at arrival"),
    ({"from": "see", "within": "1 hour"}, "both 'from' and 'to'"),
    ({"from": "arrival", "to": "exit", "measure": "referral_to_assessment", "within": "1 hour"}, "not both"),
    ({"from": "see.middle", "to": "exit", "within": "1 hour"}, "from"),
])
def test_bad_intervals_are_refused(std, words):
    with pytest.raises(ScenarioError, match=words):
        scenario_from_dict(_tandem(standards={"bad": std}))


def test_a_standard_may_cover_several_cohorts():
    """An ED's attendance standards leave out the hospital's ward referrals: 'cohort' lists the
    cohorts a standard covers. Two walk-in cohorts queue; ward referrals skip straight to the
    doctor and would all pass."""
    raw = _tandem(horizon="20 days", warmup="1 day", standards={
        "all": {"from": "arrival", "to": "exit", "within": "30 minutes"},
        "attendances": {"from": "arrival", "to": "exit", "within": "30 minutes", "cohort": ["walk_in", "ambulance"]},
        "walk_in_only": {"from": "arrival", "to": "exit", "within": "30 minutes", "cohort": "walk_in"}})
    raw["cohorts"] = {"walk_in": {"rate": "2 per hour", "entry": "triage"},
                      "ambulance": {"rate": "2 per hour", "entry": "triage"},
                      "ward": {"rate": "20 per hour", "entry": "home"}}
    rep = experiments.run_replication(scenario_from_dict(raw), 0)
    P, rec = rep.records.patients, rep.records
    stay = (P["exit"] - P["arrival"])[P["arrival"] >= rec.warmup]
    cohort = P["cohort"][P["arrival"] >= rec.warmup]
    ed = np.isin(cohort, [rec.cohorts.index("walk_in"), rec.cohorts.index("ambulance")])
    assert rep.kpis["within_attendances"] == pytest.approx(float((stay[ed] <= 30).mean()), abs=1e-3)
    assert rep.kpis["within_all"] > rep.kpis["within_attendances"] + 0.2   # the ward referrals all pass
    walk = cohort == rec.cohorts.index("walk_in")
    assert rep.kpis["within_walk_in_only"] == pytest.approx(float((stay[walk] <= 30).mean()), abs=1e-3)


def test_an_unknown_cohort_in_a_list_is_named():
    with pytest.raises(ScenarioError, match=r"cohort.*'walkin'.*walk_in"):
        scenario_from_dict(_tandem(standards={"s": {"within": "1 hour", "cohort": ["walk_in", "walkin"]}}))


def _revisits() -> dict:
    """The tandem with a hand-off before the doctor and a third of patients sent back to triage
    after seeing them (and so entering 'see' again): the first entry is not the only one."""
    raw = _tandem(horizon="20 days", warmup="1 day", standards={
        "doctor_1_hour_from_referral": {"from": "see.enter", "to": "see.start", "within": "1 hour"},
        "referred_within_30_minutes": {"from": "arrival", "to": "see.enter", "within": "30 minutes"}},
        path_times={"referral_to_doctor": {"label": "Referral to the doctor", "from": "see.enter", "to": "see.end"}})
    raw["cohorts"]["walk_in"]["rate"] = "2 per hour"   # with the returns, the doctor is 57% busy
    see = raw["pathway"]["steps"]["see"]
    see["handoff"] = {"dist": "exponential", "mean": "20 minutes"}
    see["next"] = [{"p": 0.3, "to": "triage"}, {"p": 0.7, "to": "home"}]
    return raw


def test_a_step_entry_is_the_first_visit_entered_and_starts_its_hand_off_and_queue():
    """``<step>.enter`` is when the patient was first sent to the step (the first visit's
    ``t_enter``, before its hand-off and queue); a standard from it to the step's start is the
    share of first visits whose hand-off and queue together took no longer than the threshold."""
    from icssim.path_times import ENTER, interval_times, on_the_way, point_times

    rep = experiments.run_replication(scenario_from_dict(_revisits()), 0)
    rec = rep.records
    see = rec.steps.index("see")
    visits = {k: np.concatenate([rec.visits[k], rec.in_progress[k]]) for k in ("pid", "step", "t_enter", "t_start")}
    at = visits["step"] == see
    first: dict[int, tuple[float, float]] = {}  # each patient's first visit of 'see': (entered, started)
    for pid, entered, started in sorted(zip(visits["pid"][at], visits["t_enter"][at], visits["t_start"][at]),
                                        key=lambda v: (v[0], v[1])):
        first.setdefault(int(pid), (float(entered), float(started)))
    assert np.bincount(visits["pid"][at].astype(int)).max() > 1   # some entered 'see' more than once

    entered = point_times(rec, see, ENTER, "arrival")
    pids = rec.patients["pid"].astype(int)
    np.testing.assert_array_equal(entered, [first[p][0] if p in first else np.inf for p in pids])
    t0, t1 = interval_times(rec, "doctor_1_hour_from_referral")
    np.testing.assert_array_equal(t0, entered)

    # the share of the window's first visits whose hand-off and queue took an hour or less; still
    # waiting at the horizon after more than an hour is a breach, less is not counted
    window = rec.patients["arrival"] >= rec.warmup
    waits = [first[p][1] - first[p][0] if first[p][1] == first[p][1] else
             (np.inf if (rec.horizon - first[p][0]) > 60 else np.nan)
             for p in pids[window] if p in first]
    waits = np.array([w for w in waits if w == w])
    assert rep.kpis["within_doctor_1_hour_from_referral"] == pytest.approx(float((waits <= 60).mean()), abs=1e-12)
    assert 0.5 < rep.kpis["within_doctor_1_hour_from_referral"] < 1   # the hand-off and queue take time

    # nobody can be known to be on the way to a step's entry: those who reached it are measured
    assert not on_the_way(rec, "referred_within_30_minutes").any()
    t0, t1 = interval_times(rec, "referred_within_30_minutes")
    reached = window & np.isfinite(t1)
    assert rep.kpis["within_referred_within_30_minutes"] == pytest.approx(
        float(((t1 - t0)[reached] <= 30).mean()), abs=1e-12)
    # a path time from a step's entry is measured over those who reached both
    times = (interval_times(rec, "path_time:referral_to_doctor")[1] - entered)[window & np.isfinite(entered)]
    assert rep.kpis["path_time_mean_minutes_referral_to_doctor"] == pytest.approx(
        float(times[np.isfinite(times)].mean()))


def test_a_misspelt_point_of_a_step_is_named():
    with pytest.raises(ScenarioError, match=r"found 'see\.entry'; did you mean 'see\.enter'\?"):
        scenario_from_dict(_tandem(standards={"bad": {"from": "see.entry", "to": "see.start", "within": "1 hour"}}))


def test_ed_freed_has_the_freed_standards():
    """The FREED stream's three standards (domain: Standards, FREED), each timed from the GP's
    referral to the FREED team, beside the base's CYP and adult standards."""
    from pathlib import Path

    from icssim.scenario import load_scenario

    s = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "ed_freed.yaml")
    stds = s.scenario.standards
    assert {"cyp_urgent_1_week", "cyp_routine_4_weeks", "adult_4_weeks_proposed"} <= set(stds)
    expected = {
        "freed_engagement_48_hours": ("freed_engagement.start", 2, "engagement call within 48 hours"),
        "freed_assessment_2_weeks": ("freed_assessment.start", 14, "assessment within 2 weeks"),
        "freed_treatment_4_weeks": ("freed_treatment.start", 28, "treatment within 4 weeks")}
    for name, (to, days, words) in expected.items():
        std = stds[name]
        assert (std.from_, std.to, std.target) == ("freed_engagement.enter", to, 0.95)
        assert std.within.to("days") == pytest.approx(days)
        assert std.label == f"FREED referrals: {words}"


def test_a_referral_point_reads_as_the_referral_in_words():
    # the FREED standards' clock starts at freed_engagement.enter: "the referral to", not "the start of"
    from helpers import SCENARIOS

    from icssim.report.labels import point_words
    from icssim.scenario import load_scenario

    s = load_scenario(SCENARIOS / "ed_freed.yaml")
    assert point_words("freed_engagement.enter", s) == "the referral to FREED engagement call"
    assert point_words("freed_engagement.enter", s, brief=True) == "referred to FREED engagement call"
    assert point_words("freed_engagement.start", s, brief=True) == "FREED engagement call"


def test_a_wait_from_a_step_s_referral_to_its_start_is_named_once_in_the_legend():
    from helpers import SCENARIOS

    from icssim.report.labels import interval_words
    from icssim.scenario import load_scenario

    s = load_scenario(SCENARIOS / "ed_freed.yaml")
    assert interval_words("freed_engagement.enter", "freed_engagement.start", s) == (
        "FREED engagement call: referral \u2192 start")
    assert interval_words("freed_engagement.enter", "freed_assessment.start", s) == (
        "referred to FREED engagement call \u2192 FREED assessment")
