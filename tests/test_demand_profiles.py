"""Repeating demand profiles (issue 25): hour-of-day and day-of-week x hour multipliers on a cohort's
rate, generated exactly by inversion, and a front door that closes (``scenario.arrivals_until``)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy import stats

from icssim.errors import ScenarioError
from icssim.model import compile_plan, simulate
from icssim.model.arrivals import demand_profile
from icssim.scenario import scenario_from_dict

# an emergency department's shape: quiet nights, a late-morning peak (mean about 1)
HOURLY = [0.3, 0.25, 0.2, 0.2, 0.2, 0.25, 0.4, 0.7, 1.1, 1.5, 1.7, 1.7,
          1.6, 1.5, 1.45, 1.4, 1.35, 1.3, 1.25, 1.2, 1.1, 0.9, 0.6, 0.4]


def _scenario(demand: dict, horizon: str = "100 days", **info) -> dict:
    return {"scenario": {"name": "profile", "time_unit": "hours", "horizon": horizon, "seed": 11, **info},
            "cohorts": {"walk_in": {"rate": "4 per hour", "entry": "home", "demand": demand}},
            "pathway": {"steps": {"home": {"kind": "discharge"}}}}


def _hour_counts(rec, period: int = 24) -> np.ndarray:
    t = rec.patients["arrival"]
    return np.bincount((np.floor(t).astype(int)) % period, minlength=period)


def test_hourly_counts_follow_the_profile_and_a_flat_rate_is_rejected():
    rec = simulate(compile_plan(scenario_from_dict(_scenario({"hourly": HOURLY}))))
    counts = _hour_counts(rec)
    # given the total, the counts are multinomial with the profile's shares: the profile's own
    # expected counts fit (goodness of fit, 23 degrees of freedom)
    expected = np.array(HOURLY) / sum(HOURLY) * counts.sum()
    assert stats.chisquare(counts, expected).pvalue > 0.001
    # and the test has power: the same counts against a flat rate with the same total are rejected
    flat = np.full(24, counts.sum() / 24)
    assert stats.chisquare(counts, flat).pvalue < 1e-10
    # the total is Poisson around rate x mean multiplier x hours
    total = sum(HOURLY) * 4 * 100
    assert abs(counts.sum() - total) < 4 * np.sqrt(total)


def test_hourly_profile_combines_with_growth_and_step_changes():
    horizon = 24.0 * 20
    prof = demand_profile(2.0, horizon, 1 / 24, None, growth_per_year=0.5, changes=[(240.0, 2.0)], hours=HOURLY)
    k = np.log1p(0.5) / (365.25 * 24)
    for t in (0.5, 9.25, 239.9, 240.0, 250.7, 470.1):
        want = 2.0 * np.exp(k * t) * (2.0 if t >= 240 else 1.0) * HOURLY[int(t) % 24]
        assert prof.rate(t) == pytest.approx(want, rel=1e-9)
    # the cumulative intensity is the exact integral of that rate
    grid = np.linspace(0, horizon, 200_001)
    rates = np.array([prof.rate(t) for t in grid[:-1]])
    assert prof.cumulative(horizon) == pytest.approx(float((rates * np.diff(grid)).sum()), rel=1e-3)


def test_weekly_profile_starts_on_the_weekday_of_the_start_date():
    weekly = [[1.0] * 24 for _ in range(7)]
    weekly[5] = [3.0] * 24  # Saturdays are three times as busy
    start = dt.date(2026, 1, 1)  # a Thursday
    rec = simulate(compile_plan(scenario_from_dict(
        _scenario({"weekly": weekly}, horizon="70 days", start_date=start.isoformat()))))
    by_day = np.bincount((np.floor(rec.patients["arrival"] / 24).astype(int) + start.weekday()) % 7, minlength=7)
    expected = np.array([1, 1, 1, 1, 1, 3, 1.0]) / 9 * by_day.sum()
    assert stats.chisquare(by_day, expected).pvalue > 0.001
    assert by_day[5] > 2.5 * by_day[4]


def test_closed_hours_have_no_arrivals():
    hours = [0.0] * 8 + [1.0] * 12 + [0.0] * 4  # open 08:00 to 20:00
    rec = simulate(compile_plan(scenario_from_dict(_scenario({"hourly": hours}, horizon="30 days"))))
    hour = np.floor(rec.patients["arrival"]) % 24
    assert rec.arrivals > 1000
    assert ((hour >= 8) & (hour < 20)).all()


def test_arrivals_until_closes_the_front_door_and_work_in_progress_finishes():
    d = _scenario({"hourly": [1.0] * 24}, horizon="30 hours", arrivals_until="18 hours")
    d["services"] = {"ed": {"staff": {"doctor": {"wte": 5}}}}
    d["pathway"]["steps"] = {"see": {"kind": "treatment", "service": "ed", "staff": ["doctor"],
                                     "duration": {"dist": "exponential", "mean": "1 hour"}, "next": "home"},
                             "home": {"kind": "discharge"}}
    d["cohorts"]["walk_in"]["entry"] = "see"
    rec = simulate(compile_plan(scenario_from_dict(d)))
    assert rec.arrivals > 30
    assert rec.patients["arrival"].max() < 18
    assert rec.in_system_end == 0  # twelve hours after closing, everyone has been seen
    # a cohort without a demand block closes too
    del d["cohorts"]["walk_in"]["demand"]
    rec = simulate(compile_plan(scenario_from_dict(d)))
    assert rec.patients["arrival"].max() < 18


@pytest.mark.parametrize("demand, words", [
    ({"hourly": [1.0] * 23}, "24 multipliers"),
    ({"hourly": [0.0] * 24}, "must not all be 0"),
    ({"weekly": [[1.0] * 24] * 6}, "7 rows"),
    ({"hourly": [1.0] * 24, "weekly": [[1.0] * 24] * 7}, "not several"),
])
def test_bad_profiles_are_refused(demand, words):
    with pytest.raises(ScenarioError, match=words):
        scenario_from_dict(_scenario(demand))


# ---------------------------------------------------------------- a profile as a CSV file
def _write_scenario(tmp_path, demand: dict, **info):
    from ruamel.yaml import YAML

    path = tmp_path / "ed.yaml"
    with path.open("w") as handle:
        YAML().dump(_scenario(demand, "20 days", **info), handle)
    return path


def _arrivals(scenario) -> np.ndarray:
    return simulate(compile_plan(scenario)).patients["arrival"]


def test_a_csv_profile_gives_the_arrivals_of_the_same_hourly_list(tmp_path):
    """24 rows, a header, a comment citing the source and labels: the same arrivals, to the bit."""
    from icssim.scenario import load_scenario

    rows = "\n".join(f"{h:02d}:00,{v}" for h, v in enumerate(HOURLY))
    (tmp_path / "ed_hourly.csv").write_text(f"# source: an ED's arrivals by hour\nhour,multiplier\n{rows}\n")
    from_csv = load_scenario(_write_scenario(tmp_path, {"profile": "ed_hourly.csv"}))
    from_list = scenario_from_dict(_scenario({"hourly": HOURLY}, "20 days"))
    np.testing.assert_array_equal(_arrivals(from_csv), _arrivals(from_list))


@pytest.mark.parametrize("layout", ["7x24", "168"])
def test_a_csv_week_profile_gives_the_arrivals_of_the_same_weekly_table(tmp_path, layout):
    week = [[h * (1.0 + 0.1 * day) for h in HOURLY] for day in range(7)]
    if layout == "7x24":
        text = "\n".join(["Mon,Tue,Wed,Thu,Fri,Sat,Sun"[4 * d:4 * d + 3] + "," + ",".join(map(str, row))
                          for d, row in enumerate(week)])
    else:
        text = "\n".join(str(v) for row in week for v in row)
    (tmp_path / "week.csv").write_text(text + "\n")
    from icssim.scenario import load_scenario

    from_csv = load_scenario(_write_scenario(tmp_path, {"profile": "week.csv"}, start_date="2025-01-01"))
    from_table = scenario_from_dict(_scenario({"weekly": week}, "20 days", start_date="2025-01-01"))
    np.testing.assert_array_equal(_arrivals(from_csv), _arrivals(from_table))


@pytest.mark.parametrize("text, words", [
    ("\n".join(["1"] * 23), ["found 23 rows", "24 rows (hour of day)"]),
    ("\n".join(["1"] * 10 + ["-0.5"] + ["1"] * 13), ["line 11", "a number >= 0", "'-0.5'"]),
    ("hour,multiplier\n" + "\n".join(["00:00,1"] * 4 + ["04:00,lots"] + ["05:00,1"] * 19),
     ["line 6", "found 'lots'"]),
    ("\n".join(["1"] * 6 + ["1,2,3"] + ["1"] * 17), ["line 7", "found 3 values", "expected 1 multiplier"]),
    ("\n".join(["0"] * 24), ["must not all be 0"]),
])
def test_bad_csv_profiles_are_refused_naming_the_file_and_the_line(tmp_path, text, words):
    from icssim.scenario import load_scenario

    (tmp_path / "bad.csv").write_text(text + "\n")
    path = _write_scenario(tmp_path, {"profile": "bad.csv"})
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "bad.csv" in message and "cohorts.walk_in.demand.profile" in message and str(path) in message
    for w in words:
        assert w in message, message


def test_a_missing_csv_profile_or_one_beside_hourly_is_refused(tmp_path):
    from icssim.scenario import load_scenario

    with pytest.raises(ScenarioError, match="demand profile file .*nowhere.csv.* does not exist"):
        load_scenario(_write_scenario(tmp_path, {"profile": "nowhere.csv"}))
    (tmp_path / "ok.csv").write_text("\n".join(map(str, HOURLY)) + "\n")
    with pytest.raises(ScenarioError, match="one of 'hourly', 'weekly' or 'profile'"):
        load_scenario(_write_scenario(tmp_path, {"profile": "ok.csv", "hourly": HOURLY}))
