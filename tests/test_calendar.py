"""Planning over calendar time: demand profiles, open days, capacity plans, panels, today's
waiting list, and KPIs per month and quarter."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from icssim.calendar_metrics import period_kpis, periods, waiting_at
from icssim.distributions import BlockStream, Sampler
from icssim.errors import ScenarioError
from icssim.model import compile_plan, simulate
from icssim.model.arrivals import InversionGaps, demand_profile
from icssim.model.calendar import OpenDays
from icssim.scenario import load_scenario, scenario_from_dict

HERE = Path(__file__).resolve().parent / "calendar"
EXP1 = Sampler(lambda rng, n: rng.exponential(1.0, n), 1.0, 1.0)
SEASON = [1.3, 1.2, 1.0, 1.0, 0.9, 0.8, 0.6, 0.7, 1.1, 1.1, 1.1, 1.2]


def base(**extra) -> dict:
    """A one-team clinic: cohort -> assessment (2 fixed-time servers) -> discharge."""
    d = {
        "scenario": {"name": "t", "time_unit": "days", "horizon": "2 years", "seed": 11,
                     "start_date": "2026-01-01"},
        "cohorts": {"c": {"rate": "1 per day", "entry": "assess"}},
        "services": {"team": {"staff": {"clin": {"wte": 2}}}},
        "pathway": {"steps": {
            "assess": {"kind": "assessment", "service": "team", "staff": ["clin"], "duration": "1 day",
                       "next": "done"},
            "done": {"kind": "discharge"}}},
    }
    for key, value in extra.items():
        d[key] = value
    return d


def write(tmp_path: Path, data: dict, csv: str | None = None) -> Path:
    if csv is not None:
        (tmp_path / "list.csv").write_text(csv)
    path = tmp_path / "s.yaml"
    path.write_text(json.dumps(data))
    return path


def messages(exc: ScenarioError) -> str:
    return "\n".join(str(p) for p in exc.problems)


# ------------------------------------------------------------------------------------ demand
def test_rate_profile_integral_and_inverse_are_exact():
    prof = demand_profile(2.0, 730.0, 1.0, dt.date(2026, 1, 1), 0.5, SEASON, [(400.0, 1.5)])
    # numerical integral of lambda(t) agrees with the closed form Lambda(t)
    t = np.linspace(0, 730, 730 * 200 + 1)
    lam = np.array([prof.rate(x) for x in t])
    numeric = np.concatenate([[0], np.cumsum((lam[1:] + lam[:-1]) / 2 * np.diff(t))])
    for x in (10.0, 31.0, 200.5, 400.0, 729.0):
        assert prof.cumulative(x) == pytest.approx(numeric[int(round(x * 200))], rel=2e-4)
        assert prof.inverse(prof.cumulative(x)) == pytest.approx(x, abs=1e-9)
    # growth 50% a year (365 days = 365/365.25 years), same season, and the x1.5 change at day 400
    assert prof.rate(365 + 195) / prof.rate(195) == pytest.approx(1.5 ** (365 / 365.25) * 1.5, rel=1e-12)
    # step change: x1.5 at day 400
    assert prof.rate(400.0) / prof.rate(399.999) == pytest.approx(1.5, rel=1e-4)
    assert prof.inverse(prof.cum[-1] + 1) == math.inf


def test_nonhomogeneous_arrivals_match_expected_counts_per_month():
    prof = demand_profile(3.0, 730.0, 1.0, dt.date(2026, 1, 1), 0.51, SEASON, [(500.0, 0.7)])
    per = periods(dt.date(2026, 1, 1), 730.0, "month")
    lo, hi = per["start_day"].to_numpy(), per["end_day"].to_numpy()
    expected = np.array([prof.expected(a, b) for a, b in zip(lo, hi)])
    reps = 80
    counts = np.zeros(len(per))
    rng = np.random.default_rng(2024)
    for r in range(reps):
        gaps = InversionGaps(prof, BlockStream(np.random.default_rng([2024, r]), EXP1))
        t, times = 0.0, []
        while True:
            t += gaps()
            if t >= 730.0:
                break
            times.append(t)
        counts += np.histogram(times, bins=np.append(lo, hi[-1]))[0]
    del rng
    # summed over replications each month's count is Poisson(reps x expected): Pearson chi-square
    chi2 = float((((counts - reps * expected) ** 2) / (reps * expected)).sum())
    p = stats.chi2.sf(chi2, len(per))
    assert p > 0.001, (chi2, p)
    # the test has power: the same counts are rejected against a constant (homogeneous) rate
    flat = np.full(len(per), expected.sum() / len(per)) * per["days"].to_numpy() / per["days"].mean()
    chi2_flat = float((((counts - reps * flat) ** 2) / (reps * flat)).sum())
    assert stats.chi2.sf(chi2_flat, len(per)) < 1e-6
    # and the vectorised generator agrees in total
    total = sum(len(prof.times(np.random.default_rng([7, r]))) for r in range(reps))
    assert abs(total - reps * prof.cum[-1]) < 4 * math.sqrt(reps * prof.cum[-1])


def test_engine_arrivals_follow_demand_profile():
    d = base()
    d["cohorts"]["c"]["rate"] = "20 per day"
    d["cohorts"]["c"]["demand"] = {"growth_per_year": 0.51, "seasonality": SEASON,
                                   "changes": [{"date": "2027-06-01", "factor": 1.25}]}
    d["services"]["team"]["staff"]["clin"]["wte"] = 40
    plan = compile_plan(scenario_from_dict(d))
    prof = plan.cohorts[0].profile
    rec = simulate(plan, record_visits=False)
    per = periods(dt.date(2026, 1, 1), 730.0, "month")
    got = period_kpis(rec, dt.date(2026, 1, 1), "month")["referrals"].to_numpy()
    expected = np.array([prof.expected(a, b) for a, b in zip(per["start_day"], per["end_day"])])
    z = (got - expected) / np.sqrt(expected)
    assert np.abs(z).max() < 4.5
    assert stats.chi2.sf(float((z ** 2).sum()), len(z)) > 0.001
    # July is quieter than January in the same year; 2027 is busier than 2026
    assert got[6] < got[0] and got[12:].sum() > got[:12].sum() * 1.3


def test_zero_season_month_gets_no_referrals():
    season = [1.0] * 12
    season[7] = 0.0  # August
    prof = demand_profile(5.0, 365.0, 1.0, dt.date(2026, 1, 1), 0.0, season)
    times = prof.times(np.random.default_rng(1))
    aug = (times >= 212) & (times < 243)
    assert aug.sum() == 0 and len(times) > 1000


def test_scenario_without_calendar_keys_compiles_to_the_old_plan(verification_dir):
    plan = compile_plan(load_scenario(verification_dir / "mmc.yaml"))
    assert plan.calendar is None
    assert all(c.profile is None for c in plan.cohorts)
    assert not any(s.meets or s.working_days_only for s in plan.steps)
    plan = compile_plan(scenario_from_dict(base()))  # a start date alone changes nothing
    assert plan.calendar is None and "initial" not in simulate(plan).patients


# ------------------------------------------------------------------------------------ open days
def test_open_days_skip_weekends_and_bank_holidays():
    od = OpenDays.build(dt.date(2026, 1, 1), 30, ["mon", "tue", "wed", "thu", "fri"], [dt.date(2026, 1, 5)], 1.0)
    # 1 Jan 2026 is a Thursday; 3-4 Jan weekend; 5 Jan a holiday here
    assert od.is_open(0.5) and od.is_open(1.2)
    assert not od.is_open(2.0) and not od.is_open(4.9)
    assert od.next_open_time(2.3) == 5.0 and od.next_open_time(1.7) == 1.7


def test_appointments_only_on_open_days():
    hols = ["2026-04-03", "2026-04-06", "2026-05-04"]
    d = base(calendar={"working_days": ["mon", "tue", "wed", "thu"], "bank_holidays": hols})
    d["pathway"]["steps"]["assess"]["duration"] = "2 hours"
    rec = simulate(compile_plan(scenario_from_dict(d)))
    v = rec.visits
    starts = v["t_start"][v["step"] == 0]
    dates = [dt.date(2026, 1, 1) + dt.timedelta(days=int(math.floor(t))) for t in starts]
    assert len(dates) > 500
    assert all(x.weekday() <= 3 for x in dates)
    assert not {dt.date.fromisoformat(h) for h in hols} & set(dates)
    # those who arrived on a closed day were seen no earlier than the next open day
    friday_arrivals = [i for i, t in enumerate(v["t_enter"]) if (dt.date(2026, 1, 1) + dt.timedelta(days=int(t))).weekday() == 4]
    assert friday_arrivals and all(v["t_start"][i] - v["t_enter"][i] > 0 for i in friday_arrivals)


# ------------------------------------------------------------------------------------ capacity plans
def test_capacity_plan_changes_servers_at_dates():
    d = base(capacity_plan=[
        {"date": "2026-04-01", "service": "team", "role": "clin", "change": -2, "note": "both leave"},
        {"date": "2026-07-01", "service": "team", "role": "clin", "to": 3, "note": "new team"}])
    d["cohorts"]["c"]["rate"] = "0.5 per day"
    plan = compile_plan(scenario_from_dict(d))
    assert [(round(e.time), e.caps) for e in plan.calendar.capacity] == [(90, ((0, 0),)), (181, ((0, 3),))]
    rec = simulate(plan)
    v = rec.visits
    starts = v["t_start"][v["step"] == 0]
    # nobody starts while there is no staff (apart from contacts already started before 1 April)
    assert not ((starts > 90) & (starts < 181)).any()
    ts = rec.timeseries
    closed = (ts["time"] > 100) & (ts["time"] < 181)
    assert ts["queue_assess"][closed].max() > 30  # the queue builds up...
    late = ts["time"] > 400
    assert ts["queue_assess"][late].mean() < 5  # ...and three clinicians clear it
    # utilisation is measured against the time-averaged capacity over the 730.5-day horizon
    use = rec.resources[0]
    assert use.capacity == pytest.approx((2 * 90 + 0 * 91 + 3 * 549.5) / 730.5)


def test_capacity_plan_rescales_part_time_contacts():
    d = base(capacity_plan=[{"at": "100 days", "service": "team", "role": "clin", "to": 1.5}])
    d["services"]["team"]["staff"]["clin"] = {"wte": 2, "clinical_hours_per_week": 21}
    plan = compile_plan(scenario_from_dict(d))
    ev = plan.calendar.capacity[0]
    assert ev.caps == () and ev.scales == ((0, pytest.approx(168 / (1.5 * 21 / 2))),)


# ------------------------------------------------------------------------------------ panels
def test_panel_decides_all_waiting_referrals_at_each_meeting():
    d = base(attributes={"urgency": ["routine", "urgent"]})
    d["cohorts"]["c"]["attributes"] = {"urgency": {"values": ["routine", "urgent"], "weights": [3, 1]}}
    d["cohorts"]["c"]["entry"] = "panel"
    d["pathway"]["steps"]["panel"] = {"kind": "panel", "meets": {"weekday": "tue"}, "accept": "urgency >= urgent",
                                      "on_reject": "done", "next": "assess"}
    rec = simulate(compile_plan(scenario_from_dict(d)))
    v = rec.visits
    at_panel = v["step"] == 2
    decided = v["t_end"][at_panel]
    weekdays = {(dt.date(2026, 1, 1) + dt.timedelta(days=int(t))).weekday() for t in decided}
    assert weekdays == {1}  # Tuesdays only
    assert len(np.unique(decided)) <= 105 and at_panel.sum() > 600  # many referrals, decided in batches
    assert (v["t_end"][at_panel] - v["t_enter"][at_panel]).max() <= 7 + 1e-9
    # then routed by accept: about a quarter go on to assessment, the rest are rejected
    rejected = (v["outcome"] == 1) & at_panel
    assert 0.65 < rejected.sum() / at_panel.sum() < 0.85
    # the referral clock starts on arrival at the panel, not at the meeting
    P = rec.patients
    assessed = ~np.isnan(P["assess_start"])
    assert (P["referral"][assessed] == P["arrival"][assessed]).all()


def test_panel_meetings_on_closed_days_move_to_next_open_day():
    d = base(calendar={"bank_holidays": ["2026-01-06"]})
    d["cohorts"]["c"]["entry"] = "panel"
    d["pathway"]["steps"]["panel"] = {"kind": "panel", "meets": {"weekday": "tue", "every": "1 week"},
                                      "next": "assess"}
    plan = compile_plan(scenario_from_dict(d))
    assert plan.calendar.meetings[2][:3] == (6.0, 12.0, 19.0)  # Tue 6 Jan is a holiday -> Wed 7 Jan


# ------------------------------------------------------------------------------------ today's waiting list
CSV = """id,cohort,referral_date,step,status,since,age
p1,c,2025-10-01,assess,waiting,,15
p2,c,2025-12-01,assess,,2025-12-10,
p3,c,2025-11-15,assess,in_service,,17.5
"""


def test_waiting_list_csv_keeps_true_referral_dates(tmp_path):
    d = base(initial_state={"file": "list.csv"})
    d["cohorts"]["c"]["attributes"] = {"age": {"dist": "uniform", "low": 10, "high": 18}}
    s = load_scenario(write(tmp_path, d, CSV))
    rec = simulate(compile_plan(s))
    P = rec.patients
    first = P["initial"]
    assert first.sum() == 3 and first[:3].all()
    # in service first, then the longest waiting: p3, p1, p2
    assert list(P["referral"][:3]) == [-47.0, -92.0, -31.0]
    assert list(P["assess_start"][:3]) == [0.0, 0.0, 1.0]
    # ages are given at the start date
    assert P["attr_age"][1] + 92 / 365.25 == pytest.approx(15.0)
    from icssim.metrics import compute_kpis

    k = compute_kpis(rec)
    n_new = (~first).sum()
    assert k["referrals_per_year"] == pytest.approx(n_new / 2, rel=0.01)
    waits = np.append((P["assess_start"] - P["referral"])[~first & ~np.isnan(P["assess_start"])], [47, 92, 32])
    assert k["wait_to_assessment_mean"] == pytest.approx(waits.mean())


def test_initial_waiting_list_drains_at_the_predicted_rate():
    """Backlog N, arrivals lambda = 1/day, 2 servers of fixed 1-day contacts (capacity 2/day):
    the queue falls by capacity - demand = 1 patient a day, so it is about N - t at day t."""
    d = base(initial_state={"waiting": [{"step": "assess", "cohort": "c", "count": 600,
                                         "waited": {"dist": "uniform", "low": "0 days", "high": "180 days"}}]})
    plan = compile_plan(scenario_from_dict(d))
    checks = np.array([100.0, 250.0, 400.0, 550.0])
    got = []
    for rep in range(5):
        rec = simulate(plan, replication=rep, record_visits=False)
        got.append(waiting_at(rec, checks, "assess_start"))
        assert rec.patients["initial"].sum() == 600
    mean = np.mean(got, axis=0)
    # queue + in service at day t = N + A(t) - 2t (+ up to 2 in service); sd of A(t) is sqrt(t); 5 reps
    theory = 600 + checks - 2 * checks
    assert np.all(np.abs(mean - theory) <= 4 * np.sqrt(checks / 5) + 2), (mean, theory)
    # once drained, the waiting list is small (an M/D/2 queue at 50% load)
    late = waiting_at(rec, np.array([650.0, 700.0]), "assess_start")
    assert late.max() < 15


# ------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("csv, where, text", [
    ("id,cohort,step\nx,c,assess\n", "list.csv", "missing column(s) 'referral_date'"),
    ("cohort,referral_date,step\nc,2025-10-01,assess\nadults,2025-10-01,assess\n", "row 2", "unknown cohort 'adults'"),
    ("cohort,referral_date,step\nc,2026-02-01,assess\n", "column 'referral_date'", "in the future"),
    ("cohort,referral_date,step,age\nc,2025-10-01,assess,fifteen\n", "row 1 (line 2), column 'age'", "not a number"),
    ("cohort,referral_date,step\nc,01/10/2025,assess\n", "column 'referral_date'", "not a date"),
    ("cohort,referral_date,step\nc,2025-10-01,asess\n", "column 'step'", "unknown step 'asess'"),
    ("cohort,referral_date,step,colour\nc,2025-10-01,assess,red\n", "list.csv", "unknown column 'colour'"),
    # more values than the header has columns: refused, not cut to fit
    ("cohort,referral_date,step,age\nc,2025-10-01,assess,15,x,y\n", "row 1 (line 2), after the last column 'age'",
     "2 extra value(s) 'x', 'y': the row has 6 values for the header's 4 columns; expected 4"),
    # fewer: refused, not drawn at random (an empty value keeps its comma: see the test below)
    ("cohort,referral_date,step,age\nc,2025-10-01,assess,15\nc,2025-10-01,assess\n", "row 2 (line 3), column 'age'",
     "missing: the row has 3 values for the header's 4 columns; expected 4"),
    ("cohort,referral_date,step,age\nc,2025-10-01,assess,-5\n", "row 1 (line 2), column 'age'",
     "-5 is negative: cohort 'c' draws 'age' from uniform 10 to 18, which gives no negative values"),
])
def test_bad_waiting_list_names_file_row_and_column(tmp_path, csv, where, text):
    d = base(initial_state={"file": "list.csv"})
    d["cohorts"]["c"]["attributes"] = {"age": {"dist": "uniform", "low": 10, "high": 18}}
    with pytest.raises(ScenarioError) as err:
        load_scenario(write(tmp_path, d, csv))
    msg = messages(err.value)
    assert "list.csv" in msg and where in msg and text in msg, msg


def test_waiting_list_empty_optional_value_keeps_its_comma(tmp_path):
    """``...,assess,`` (comma present) leaves the age empty, to be drawn; ``...,assess`` is short."""
    d = base(initial_state={"file": "list.csv"})
    d["cohorts"]["c"]["attributes"] = {"age": {"dist": "uniform", "low": 10, "high": 18}}
    s = load_scenario(write(tmp_path, d, "cohort,referral_date,step,age\nc,2025-10-01,assess,\n"))
    age = simulate(compile_plan(s)).patients["attr_age"][0]
    assert 10 - 92 / 365.25 <= age <= 18


def test_waiting_list_only_at_steps_where_patients_wait(tmp_path):
    """An instant step (a referral, an A&E attendance without staff) has no queue: nobody waits or is
    in service there. A delay without resources has none either: people can be in it, not wait for it."""
    d = base(initial_state={"file": "list.csv", "waiting": [
        {"step": "front", "cohort": "c", "count": 3, "waited": "1 week"},
        {"step": "pause", "cohort": "c", "count": 2, "status": "in_service", "waited": "1 week",
         "treated_for": "1 day"}]})
    d["pathway"]["steps"]["front"] = {"kind": "referral", "next": "assess"}
    d["pathway"]["steps"]["ae"] = {"kind": "emergency", "next": "assess"}
    d["pathway"]["steps"]["pause"] = {"kind": "delay", "duration": "2 weeks", "next": "assess"}
    csv = ("cohort,referral_date,step,status\n"
           "c,2025-10-01,front,waiting\n"
           "c,2025-10-01,ae,in_service\n"
           "c,2025-10-01,pause,\n"
           "c,2025-10-01,pause,in_service\n"
           "c,2025-10-01,assess,waiting\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(write(tmp_path, d, csv))
    msg = messages(err.value)
    expected = "a step with a waiting list: assess"
    for text in (f"list.csv row 1 (line 2), column 'step': 'front' (kind 'referral') has no staff, caseload slot "
                 f"or bed and no duration: patients pass straight through it, so nobody waits there; expected {expected}",
                 "list.csv row 2 (line 3), column 'step': 'ae' (kind 'emergency') has no staff",
                 "list.csv row 3 (line 4), column 'step': 'pause' (kind 'delay') has no staff, caseload slot or bed: "
                 "nobody waits for it", f"expected status 'in_service' there, or {expected}",
                 "initial_state.waiting.0.step: 'front' (kind 'referral') has no staff"):
        assert text in msg, msg
    assert "row 4" not in msg and "row 5" not in msg and "waiting.1" not in msg, msg
    # a panel holds its referrals until it meets: they can wait there
    d["pathway"]["steps"]["front"] = {"kind": "panel", "meets": {"every": "1 week"}, "next": "assess"}
    d["pathway"]["steps"]["ae"] = {"kind": "emergency", "service": "team", "staff": ["clin"], "duration": "1 hour",
                                   "next": "assess"}
    d["initial_state"]["waiting"].pop(1)
    load_scenario(write(tmp_path, d, csv.replace("c,2025-10-01,pause,\n", "")))


def test_missing_waiting_list_file(tmp_path):
    with pytest.raises(ScenarioError, match="does not exist"):
        load_scenario(write(tmp_path, base(initial_state={"file": "nope.csv"})))


@pytest.mark.parametrize("change, path, text", [
    ({"capacity_plan": [{"date": "2026-06-01", "service": "team", "role": "clin", "change": -1},
                        {"date": "2026-03-01", "service": "team", "role": "clin", "change": -1}]},
     "capacity_plan.1", "date order"),
    ({"capacity_plan": [{"date": "2029-01-01", "service": "team", "role": "clin", "change": 1}]},
     "capacity_plan.0.date", "outside the horizon"),
    ({"capacity_plan": [{"date": "2025-12-01", "service": "team", "role": "clin", "change": 1}]},
     "capacity_plan.0.date", "outside the horizon"),
    ({"capacity_plan": [{"date": "2026-03-01", "service": "team", "role": "clin", "change": -1},
                        {"date": "2026-06-01", "service": "team", "role": "clin", "change": -1.5}]},
     "capacity_plan.1.change", "cannot be negative"),
    ({"capacity_plan": [{"date": "2026-03-01", "service": "team", "role": "nurse", "change": 1}]},
     "capacity_plan.0.role", "not defined"),
])
def test_bad_capacity_plans(change, path, text):
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(base(**change))
    msg = messages(err.value)
    assert path in msg and text in msg, msg


def test_dates_need_a_start_date_and_demand_changes_in_order():
    d = base()
    del d["scenario"]["start_date"]
    d["cohorts"]["c"]["demand"] = {"seasonality": SEASON, "changes": [{"date": "2026-05-01", "factor": 2}]}
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(d)
    msg = messages(err.value)
    assert "cohorts.c.demand.seasonality" in msg and "cohorts.c.demand.changes.0.date" in msg
    d = base()
    d["cohorts"]["c"]["demand"] = {"changes": [{"at": "200 days", "factor": 2}, {"at": "100 days", "factor": 2}]}
    with pytest.raises(ScenarioError, match="date order"):
        scenario_from_dict(d)
    d["cohorts"]["c"]["demand"] = {"seasonality": [1.0] * 11}
    with pytest.raises(ScenarioError, match="12 monthly"):
        scenario_from_dict(d)


def test_panel_needs_meetings():
    d = base()
    d["pathway"]["steps"]["panel"] = {"kind": "panel", "next": "assess"}
    d["cohorts"]["c"]["entry"] = "panel"
    with pytest.raises(ScenarioError, match="needs 'meets'"):
        scenario_from_dict(d)


# ------------------------------------------------------------------------------------ outputs
def test_periods_cover_the_horizon():
    m = periods(dt.date(2026, 1, 15), 365.0, "month")
    assert m["period"].iloc[0] == "2026-01" and m["days"].iloc[0] == 17
    assert m["days"].sum() == 365 and m["period"].iloc[-1] == "2027-01"
    assert periods(dt.date(2026, 1, 1), 365.25, "month")["period"].iloc[-1] == "2026-12"  # < 1 day dropped
    q = periods(dt.date(2026, 1, 1), 365.0 * 2, "quarter")
    assert list(q["period"][:2]) == ["2026Q1", "2026Q2"] and q["days"].sum() == 730


def test_cli_writes_monthly_quarterly_tables_and_dated_plots(tmp_path):
    from icssim.cli import main

    out = tmp_path / "out"
    assert main(["run", str(HERE / "clinic.yaml"), "-n", "2", "-w", "1", "--out", str(out), "-q"]) == 0
    import pandas as pd

    monthly = pd.read_csv(out / "monthly.csv")
    quarterly = pd.read_csv(out / "quarterly.csv")
    assert set(monthly["period"]) >= {"2026-01", "2027-12"} and len(set(monthly["period"])) == 24
    assert len(set(quarterly["period"])) == 8
    row = monthly[(monthly["kpi"] == "waiting_for_assessment") & (monthly["period"] == "2026-01")].iloc[0]
    assert row["n"] == 2 and row["lower"] <= row["mean"] <= row["upper"]
    by_rep = pd.read_csv(out / "monthly_by_replication.csv")
    assert by_rep.groupby("replication")["referrals"].sum().gt(600).all()
    cost_total = by_rep.groupby("replication")["cost"].sum().mean()
    kpis = pd.read_csv(out / "kpis.csv").set_index("kpi")
    assert cost_total == pytest.approx(kpis.loc["cost_per_year", "mean"] * 2, rel=0.01)
    ts = pd.read_csv(out / "timeseries.csv")
    assert ts["date"].iloc[0] == "2026-01-01" and ts["date"].iloc[1] == "2026-01-08"  # weekly samples
    pats = pd.read_parquet(out / "patients.parquet")
    assert str(pats["referral_date"].iloc[0].date()) == "2025-09-15"  # A1 of waiting_list.csv
    for png in ("waiting_list_dates.png", "monthly_performance.png"):
        assert (out / "plots" / png).stat().st_size > 10_000


def test_office_hours_keep_weekly_clinical_hours():
    """One part-time clinician (15 clinical hours a week), 1-hour contacts, Mon-Fri: saturated, they
    still give about 15 contacts a week (the hours are delivered on the five open days)."""
    d = base(calendar={"working_days": ["mon", "tue", "wed", "thu", "fri"]})
    d["cohorts"]["c"]["rate"] = "30 per week"
    d["services"]["team"]["staff"]["clin"] = {"wte": 1, "clinical_hours_per_week": 15}
    d["pathway"]["steps"]["assess"]["duration"] = "1 hour"
    plan = compile_plan(scenario_from_dict(d))
    assert plan.steps[0].elapsed_scale == pytest.approx(168 / 15 * 5 / 7)
    rec = simulate(plan)
    starts = rec.visits["t_start"][rec.visits["step"] == 0]
    per_week = len(starts) / (730.5 / 7)
    assert 14.0 < per_week <= 15.0
    weekdays = {(dt.date(2026, 1, 1) + dt.timedelta(days=int(t))).weekday() for t in starts}
    assert weekdays == {0, 1, 2, 3, 4}


def test_in_service_groups_fill_capacity_first():
    d = base(initial_state={"waiting": [
        {"step": "assess", "cohort": "c", "count": 2, "status": "in_service", "waited": "10 days",
         "treated_for": "3 days"},
        {"step": "assess", "cohort": "c", "count": 5, "waited": {"dist": "uniform", "low": "0 days", "high": "20 days"}}]})
    rec = simulate(compile_plan(scenario_from_dict(d)))
    P = rec.patients
    # pids 0-1 are in service (started 3 days ago, referred 13 days ago), then five waiting by longest wait
    assert list(P["referral"][:2]) == [-13.0, -13.0] and list(P["assess_start"][:2]) == [-3.0, -3.0]
    w = P["referral"][2:7]
    assert (np.diff(w) >= 0).all() and (w <= 0).all() and (w >= -20).all()
    assert (P["assess_start"][2:4] == 1.0).all()  # the two servers are busy with the in-service pair on day 0
    with pytest.raises(ScenarioError, match="treated_for"):
        scenario_from_dict(base(initial_state={"waiting": [
            {"step": "assess", "cohort": "c", "count": 1, "status": "in_service", "waited": "1 day"}]}))


def test_projection_scenario_runs_from_its_waiting_list(scenarios_dir, tmp_path):
    full = scenarios_dir / "ed_projection_2026_2031.yaml"
    cal = compile_plan(load_scenario(full)).calendar
    assert len(cal.initial) == 131 and sum(g.count for g in cal.initial_groups) == 860
    assert all(r <= 0 for r in (p.referral for p in cal.initial))
    assert len(cal.capacity) >= 5 and cal.open_days is not None
    # run the first two years (the waiting-list file still resolves next to the projection file)
    short = tmp_path / "short.yaml"
    short.write_text(f"extends: {full}\nscenario: {{name: short, horizon: 2 years}}\n"
                     "capacity_plan: [{date: 2026-04-01, service: ed_service, role: therapist, change: 4}]\n")
    s = load_scenario(short)
    plan = compile_plan(s)
    rec = simulate(plan, record_visits=False)
    assert rec.patients["initial"].sum() == 131 + 860
    q = period_kpis(rec, s.scenario.start_date, "quarter")
    assert list(q["period"][:2]) == ["2026Q1", "2026Q2"] and len(q) == 8
    # referrals per quarter match the cohorts' growing, seasonal rates
    starts, ends = q["start"].map(lambda d: (d - dt.date(2026, 1, 1)).days), q["end"].map(lambda d: (d - dt.date(2026, 1, 1)).days + 1)
    expected = np.array([sum(c.profile.expected(a, b) for c in plan.cohorts) for a, b in zip(starts, ends)])
    assert np.all(np.abs(q["referrals"].to_numpy() - expected) < 4 * np.sqrt(expected))
    assert expected[-4:].sum() > 1.05 * expected[:4].sum()


def test_bad_initial_groups_and_panel_schedules():
    d = base(attributes={"urgency": ["routine", "urgent"]})
    d["cohorts"]["c"]["attributes"] = {"urgency": "routine"}
    d["initial_state"] = {"waiting": [
        {"step": "assess", "cohort": "c", "count": 3, "waited": "1 week", "attributes": {"urgency": "urgnet"}},
        {"step": "done", "cohort": "c", "count": 3, "waited": "1 week"},
        {"step": "assess", "cohort": "kids", "count": 3, "waited": "1 week"}]}
    d["pathway"]["steps"]["panel"] = {"kind": "panel", "meets": {"first": "3 years"}, "next": "assess"}
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(d)
    msg = messages(err.value)
    for text in ("initial_state.waiting.0.attributes.urgency: 'urgnet' is not one of the levels",
                 "initial_state.waiting.1.step: 'done' is a discharge step",
                 "initial_state.waiting.2.cohort: cohort 'kids' is not defined",
                 "pathway.steps.panel.meets.first"):
        assert text in msg, msg


def test_in_service_patients_continue_on_a_closed_start_date():
    d = base(calendar={"bank_holidays": ["2026-01-01"]}, initial_state={"waiting": [
        {"step": "assess", "cohort": "c", "count": 2, "status": "in_service", "waited": "1 week",
         "treated_for": "1 day"},
        {"step": "assess", "cohort": "c", "count": 3, "waited": "2 weeks"}]})
    v = simulate(compile_plan(scenario_from_dict(d))).visits
    first = {pid: t for pid, t, step in zip(v["pid"], v["t_start"], v["step"]) if pid < 5 and step == 0}
    assert first[0] == first[1] == 0.0  # in service: carry on on the holiday
    assert min(first[2], first[3], first[4]) >= 1.0  # waiting: first appointment on Friday 2 January


def test_waiting_list_from_records_matches_the_engine_queue():
    """The waiting list rebuilt from patient records equals the engine's own queue counter."""
    d = base()
    d["cohorts"]["c"]["rate"] = "1.9 per day"
    rec = simulate(compile_plan(scenario_from_dict(d)), record_visits=False)
    ts = rec.timeseries
    assert ts["waiting_assess"].max() > 20
    np.testing.assert_array_equal(waiting_at(rec, ts["time"], "assess_start"), ts["waiting_assess"])


def test_beds_open_and_close_at_dates():
    d = base(capacity_plan=[{"date": "2026-07-01", "service": "ward", "role": "beds", "change": 3, "note": "open 3"},
                            {"date": "2027-01-01", "service": "ward", "role": "beds", "to": 1, "note": "close 4"}])
    d["cohorts"]["c"]["rate"] = "1 per week"
    d["cohorts"]["c"]["entry"] = "stay"
    d["services"]["ward"] = {"beds": 2, "cost_per_bed_day": 100}
    d["pathway"]["steps"]["stay"] = {"kind": "inpatient", "service": "ward", "bed": True,
                                     "duration": {"dist": "exponential", "mean": "3 weeks"}, "next": "done"}
    rec = simulate(compile_plan(scenario_from_dict(d)))
    ts = rec.timeseries
    t, used = ts["time"], ts["in_use_ward/beds"]
    assert used[t < 181].max() <= 2 and used[(t >= 181) & (t < 365)].max() == 5
    assert used[t >= 400].max() <= 1 and ts["queue_stay"][t >= 400].mean() > 5
    with pytest.raises(ScenarioError, match="cannot be negative"):
        d["capacity_plan"][1] = {"date": "2027-01-01", "service": "ward", "role": "beds", "change": -6}
        scenario_from_dict(d)


def test_initial_patients_leave_at_the_age_limit(tmp_path):
    d = base(initial_state={"file": "list.csv"})
    d["cohorts"]["c"]["attributes"] = {"age": {"dist": "uniform", "low": 10, "high": 17}}
    d["cohorts"]["c"]["rate"] = "0.01 per day"
    d["services"]["team"]["staff"]["clin"]["wte"] = 0  # nobody is seen: only the age limit moves them
    d["pathway"]["steps"]["assess"]["age_limit"] = {"max_age": 18, "then": "done"}
    csv = ("cohort,referral_date,step,age\n"
           "c,2025-12-01,assess,17.5\n"   # turns 18 half a year after the start
           "c,2025-12-01,assess,18.2\n")  # already too old: leaves at once
    rec = simulate(compile_plan(load_scenario(write(tmp_path, d, csv))))
    P = rec.patients
    exits = dict(zip(P["pid"], P["exit"]))
    assert exits[1] == 0.0
    assert exits[0] == pytest.approx(0.5 * 365.25, abs=1e-6)


@pytest.mark.parametrize("days_per_unit", [1.0, 1 / 24, 1 / 7])
def test_day_end_is_the_exact_first_time_of_the_next_day(days_per_unit):
    """The engine remembers the end of an open day (``OpenDays.day_end``) instead of asking the calendar
    at every dispatch: the answers stay the same only if that end is exact to the last bit."""
    from icssim.model.calendar import OpenDays

    days = OpenDays.build(dt.date(2026, 1, 1), 400, ["mon", "tue", "wed", "thu", "fri"], [dt.date(2026, 4, 3)],
                          days_per_unit)

    def day(t):
        return int(t * days_per_unit + 1e-9)

    rng = np.random.default_rng(3)
    units = 399 / days_per_unit
    times = np.concatenate([rng.uniform(0, units, 2000), np.arange(0, 399) / days_per_unit])
    for t in times.tolist():
        end = days.day_end(t)
        assert end > t and day(end) == day(t) + 1 and day(math.nextafter(end, -math.inf)) == day(t)
        assert days.is_open(math.nextafter(end, -math.inf)) == days.is_open(t)
    assert days.day_end(401 / days_per_unit) == math.inf
    for d in range(1, 400):  # and the start of each day, which ends a run of closed days
        start = days.day_start(d)
        assert day(start) == d and day(math.nextafter(start, -math.inf)) == d - 1


def test_engine_answers_for_closed_days_as_the_calendar_would(monkeypatch):
    """During closed days the engine answers "closed" itself for a step whose retry is set
    (``Simulation._closed``); asking ``calendar.closed_until`` every time gives the same records."""
    from icssim.model import calendar

    scenario = Path(__file__).parents[1] / "scenarios" / "ed_projection_2026_2031.yaml"  # office hours
    plan = dataclasses.replace(compile_plan(load_scenario(scenario)), horizon=2 * 365.25)
    original = calendar.closed_until
    calls = {"remembered": 0, "forgotten": 0}

    def run(rep, forget):
        def closed_until(sim, s):
            calls["forgotten" if forget else "remembered"] += 1
            closed = original(sim, s)
            if forget:
                sim.closed_end = -math.inf
            return closed

        monkeypatch.setattr(calendar, "closed_until", closed_until)
        return simulate(plan, replication=rep)

    for rep in range(2):
        remembered, forgotten = run(rep, False), run(rep, True)
        for key in remembered.patients:
            np.testing.assert_array_equal(remembered.patients[key], forgotten.patients[key])
        np.testing.assert_array_equal(remembered.visits["t_start"], forgotten.visits["t_start"])
    assert calls["forgotten"] > 2 * calls["remembered"] > 0


def test_dated_plots_drawn_with_the_run_plots_on_two_workers_are_those_drawn_on_one(tmp_path):
    """A dated scenario's plots join the run's standard plots, drawn together on the workers: the
    same five files, byte for byte, on one worker and on two."""
    from icssim.experiments import run
    from icssim.results import write_run

    result = run(load_scenario(HERE / "clinic.yaml"), replications=2, workers=1)
    drawn = {}
    for workers in (1, 2):
        out = write_run(result, tmp_path / f"out{workers}", workers=workers)
        drawn[workers] = {p.name: p.read_bytes() for p in sorted((out / "plots").glob("*.png"))}
    assert list(drawn[1]) == ["costs.png", "monthly_performance.png", "wait_ecdf.png",
                              "waiting_list.png", "waiting_list_dates.png"]
    assert drawn[1] == drawn[2]


def test_a_results_folder_carries_its_waiting_list_and_reads_back_when_moved(tmp_path):
    """The waiting-list CSV is copied into the results folder (inputs/), scenario.json names that
    copy and metadata.json its SHA-256, so the report of a moved folder still reads the scenario."""
    import hashlib
    import shutil

    from icssim.cli import main
    from icssim.experiments import run
    from icssim.results import write_run

    write_run(run(load_scenario(HERE / "clinic.yaml"), replications=1, workers=1), tmp_path / "out")
    moved = tmp_path / "elsewhere" / "out"
    shutil.move(tmp_path / "out", moved)
    source = (HERE / "waiting_list.csv").read_bytes()
    assert (moved / "inputs" / "waiting_list.csv").read_bytes() == source
    assert json.loads((moved / "scenario.json").read_text())["initial_state"]["file"] == "inputs/waiting_list.csv"
    meta = json.loads((moved / "metadata.json").read_text())
    assert meta["input_files"] == {"inputs/waiting_list.csv": hashlib.sha256(source).hexdigest()}
    assert main(["report", str(moved)]) == 0
    html = (moved / "report.html").read_text()
    assert "could not be read back" not in html
    assert "Input file inputs/waiting_list.csv SHA-256" in html and "Pathway diagram of calendar_clinic" in html
