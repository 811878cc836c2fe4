"""The shipped urgent mental health example (issue 25): both scenarios load, cite their numbers, run,
and show the integrated liaison team's effect on the 1-hour response and on time in the department."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from icssim import experiments
from icssim.path_times import interval_times, on_the_way, point_times
from icssim.scenario import load_scenario, provenance, scenario_from_dict

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
NAMES = ("urgent_mh_fragmented", "urgent_mh_integrated")


def _short(name: str, days: int = 16):
    raw = provenance(load_scenario(SCENARIOS / f"{name}.yaml")).raw
    return scenario_from_dict({**raw, "scenario": {**raw["scenario"], "horizon": f"{days} days", "warmup": "2 days"}})


@pytest.fixture(scope="module")
def kpis() -> dict[str, dict[str, float]]:
    out = {}
    for name in NAMES:
        reps = [experiments.run_replication(_short(name), i, keep_records=False).kpis for i in range(2)]
        out[name] = {k: float(np.mean([r[k] for r in reps])) for k in reps[0]}
    return out


@pytest.mark.parametrize("name", NAMES)
def test_every_number_is_cited_or_an_assumption(name):
    lines = (SCENARIOS / f"{name}.yaml").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        code = line.split("#")[0]
        numbers = any(ch.isdigit() for ch in code.split(":", 1)[-1])
        if numbers and ":" in code and "name:" not in code and "label:" not in code:
            # the source is on the line, or in the comment lines just above it
            above = [x for x in lines[max(0, i - 3):i] if x.strip().startswith("#")]
            comment = " ".join([line.partition("#")[2], *above])
            assert any(w in comment for w in ("domain:", "assumption", "derived", "as fragmented", "calibrated")), line


def test_the_integrated_team_answers_within_the_hour(kpis):
    frag, integ = kpis["urgent_mh_fragmented"], kpis["urgent_mh_integrated"]
    assert frag["within_liaison_1_hour"] < 0.2 < 0.8 < integ["within_liaison_1_hour"]
    assert integ["time_in_system_mean_minutes_mental_health"] < frag["time_in_system_mean_minutes_mental_health"]
    assert integ["within_mh_twelve_hours"] > frag["within_mh_twelve_hours"]
    # the report's per-stage waits and time-in-department measures are there
    for k in ("stage_wait_mean_minutes_triage", "stage_time_mean_minutes_psychiatry_called_in",
              "time_in_system_p95_minutes", "within_four_hours", "within_twelve_hours"):
        assert k in frag
    # two stages of one visit are not counted as duplicated assessments
    assert frag["duplicated_assessments_per_year"] == 0 == integ["duplicated_assessments_per_year"]


def test_the_comparison_leads_with_the_department_s_own_measures(tmp_path):
    """An emergency department has no referral-to-treatment wait and no A&E attendances to count:
    the comparison's first screen leads with its standards (in the scenario's words) and cost, and
    says nothing of measures these scenarios do not have."""
    from icssim.cli import main

    files = []
    for name in NAMES:
        path = tmp_path / f"{name}.yaml"
        path.write_text(f"extends: {SCENARIOS / name}.yaml\nscenario: {{horizon: 16 days, warmup: 2 days}}\n")
        files.append(str(path))
    assert main(["compare", *files, "-n", "2", "--out", str(tmp_path / "out"), "-q", "-w", "1"]) == 0
    html = (tmp_path / "out" / "report.html").read_text()
    summary = html.split('<section id="summary">')[1].split("</section>")[0]
    assert "Mental health attendances: 4 hours from arrival to leaving the ED" in summary
    assert "Psychiatric assessment within 1 hour of referral" in summary
    for absent in ("referral to treatment", "Referral to treatment", "n/a", "A&amp;E attendances per year",
                   "single replication"):
        assert absent not in summary, absent
    assert not (tmp_path / "out" / "plots" / "wait_ecdf.png").exists()   # no waits from referral to draw
    # no one waits for treatment in an ED: those still there at the end are counted as what they are
    assert "waiting for treatment" not in html and "Referred in window, still in the pathway at end" in html


@pytest.mark.parametrize("name, referral, into, after", [
    ("urgent_mh_fragmented", "refer_psychiatry", "psychiatry_called_in", "ed_assessment"),
    ("urgent_mh_integrated", "refer_liaison", "liaison_assessment", "triage"),
])
def test_the_liaison_clock_starts_when_the_referral_is_made(name, referral, into, after):
    """The 1-hour standard runs "from referral in the ED" (domain file, section 2) in both scenarios:
    its ``from`` is the start of a referral step (which takes no time), the very moment the patient
    starts waiting for psychiatry (fragmented: after physical care) or for the liaison team
    (integrated: at triage), and the share within the hour is the share of those intervals."""
    s = _short(name, days=10)
    std = s.scenario.standards["liaison_1_hour"]
    assert std.from_ == referral and s.pathway.steps[referral].kind == "referral"
    assert std.cohort == "mental_health" and std.within.to("hours") == 1
    rep = experiments.run_replication(s, 0)
    rec = rep.records
    t0, t1 = interval_times(rec, "liaison_1_hour")
    V, P = rec.visits, rec.patients
    row = {int(p): i for i, p in enumerate(P["pid"])}
    mh = set(P["pid"][P["cohort"] == rec.cohorts.index("mental_health")].astype(int))
    waits = (V["step"] == rec.steps.index(into)) & np.isin(V["pid"], list(mh))  # (not the ward referrals)
    starts = {row[int(p)]: t for p, t in zip(V["pid"][waits], V["t_enter"][waits])}
    referred = np.flatnonzero(np.isfinite(t0))
    assert len(referred) > 50 and set(starts) <= set(referred)
    # the clock starts as the wait for psychiatry (or liaison) starts, not before nor after
    assert all(t0[i] == t for i, t in starts.items())
    # and after the step named: the ED clinician (fragmented) or triage (integrated)
    done = point_times(rec, rec.steps.index(after), 1, "arrival")
    assert np.all(done[referred] <= t0[referred])
    if name.endswith("fragmented"):  # referred after physical care: hours after arrival
        assert np.mean((t0 - P["arrival"])[referred]) * rec.hours_per_unit > 1.5
    else:  # referred at triage
        assert np.mean((t0 - P["arrival"])[referred]) * rec.hours_per_unit < 1.0
    # the reported share is the share of these intervals within the hour, among the window's patients
    # who reached the assessment (and those past the hour still waiting for it at the horizon)
    seen = (P["arrival"] >= rec.warmup) & np.isfinite(t0) & np.isfinite(t1)
    late = (P["arrival"] >= rec.warmup) & np.isfinite(t0) & ~np.isfinite(t1)
    late &= on_the_way(rec, "liaison_1_hour") & ((rec.horizon - t0) * rec.hours_per_unit > 1)
    within = ((t1[seen] - t0[seen]) * rec.hours_per_unit <= 1 + 1e-9).sum() / (seen.sum() + late.sum())
    assert rep.kpis["within_liaison_1_hour"] == pytest.approx(within)


def test_the_comparison_measures_the_same_path_time_in_both_and_says_what_it_is(tmp_path, capsys):
    """The generic "Referral to assessment, median" compared the ED clinician (fragmented) with the
    liaison team (integrated) for mental health attendances, timed from a clock that triage starts on
    arrival, under a name that said neither. Both scenarios now time each patient from arrival
    (``from: arrival``) to a psychiatric assessment (each its own step, the same name and label), and
    the generic wait says what it measures in these pathways (``report.waits``)."""
    from icssim.cli import main

    scenarios = [load_scenario(SCENARIOS / f"{name}.yaml") for name in NAMES]
    times = [s.scenario.path_times for s in scenarios]
    assert set(times[0]) == set(times[1]) >= {"mh_assessment", "mh_referral", "ed_clinician"}
    for name in times[0]:
        a, b = times[0][name], times[1][name]
        assert (a.label, a.from_, a.cohort) == (b.label, b.from_, b.cohort)   # like for like
    assert times[0]["mh_assessment"].from_ == "arrival" and times[0]["mh_assessment"].cohort == "mental_health"
    assert (times[0]["mh_assessment"].to, times[1]["mh_assessment"].to) == ("psychiatric_assessment",
                                                                           "liaison_assessment")
    assert times[0]["ed_clinician"].to == times[1]["ed_clinician"].to == "ed_assessment"
    assert scenarios[0].report.waits == scenarios[1].report.waits   # a comparison reads the baseline's words
    for s in scenarios:   # triage, where the mental health attendances enter, starts the referral clock on arrival
        assert s.pathway.steps[s.cohorts["mental_health"].entry].kind == "triage"

    files = []
    for name in NAMES:
        path = tmp_path / f"{name}.yaml"
        path.write_text(f"extends: {SCENARIOS / name}.yaml\nscenario: {{horizon: 16 days, warmup: 2 days}}\n")
        files.append(str(path))
    assert main(["compare", *files, "-n", "2", "--out", str(tmp_path / "out"), "-w", "1"]) == 0
    console = capsys.readouterr().out
    summary = (tmp_path / "out" / "report.html").read_text().split('<section id="summary">')[1].split("</section>")[0]
    for text in (console, summary):
        assert "Referral to assessment" not in text
        assert "Mental health attendances: arrival to psychiatric assessment, median" in text
        assert "Arrival to first clinical assessment (ED clinician, or liaison where it comes first), median" in text


def test_the_path_time_is_the_time_from_arrival_to_the_assessment(kpis):
    """``path_time_*_mh_assessment`` against the records: the time from arrival to the first start of
    each scenario's own psychiatric assessment, of the mental health attendances of the window."""
    for name, step in zip(NAMES, ("psychiatric_assessment", "liaison_assessment")):
        rep = experiments.run_replication(_short(name, days=10), 0)
        rec, P = rep.records, rep.records.patients
        t1 = point_times(rec, rec.steps.index(step), 0, "exit")
        mine = (P["arrival"] >= rec.warmup) & (P["cohort"] == rec.cohorts.index("mental_health"))
        reached = mine & np.isfinite(t1)
        minutes = (t1 - P["arrival"])[reached] * rec.hours_per_unit * 60
        assert rep.kpis["path_time_median_minutes_mh_assessment"] == pytest.approx(np.median(minutes))
        assert rep.kpis["path_time_mean_minutes_mh_assessment"] == pytest.approx(minutes.mean())
        left = mine & ~np.isnan(P["exit"])
        assert rep.kpis["path_time_reached_mh_assessment"] == pytest.approx((left & reached).sum() / left.sum())
    frag, integ = kpis["urgent_mh_fragmented"], kpis["urgent_mh_integrated"]
    median = "path_time_median_minutes_mh_assessment"
    assert integ[median] < 60 < 3 * 60 < frag[median]
    assert frag["path_time_reached_mh_assessment"] < 0.8 < 0.99 < integ["path_time_reached_mh_assessment"]
