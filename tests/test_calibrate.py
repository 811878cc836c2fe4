"""``icssim calibrate``: recovering known parameters, resuming, and bad input (issue 21)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import run_cli, shipped
from icssim.calibrate.runner import calibrate
from icssim.errors import IcssimError, ScenarioError

HERE = Path(__file__).resolve().parent
TRUTH = {"cohorts.customers.rate": 7.0, "pathway.steps.service.duration.mean": 1.1}


def write_base(folder: Path, horizon: float = 200) -> Path:
    text = (HERE / "sweep" / "mmc_small.yaml").read_text().replace("horizon: 1200", f"horizon: {horizon:g}")
    path = folder / "mmc_small.yaml"
    path.write_text(text)
    return path


def write_cal(folder: Path, targets: dict, parameters: dict | None = None, **settings) -> Path:
    write_base(folder)
    data = {"calibration": {"name": "t", "seed": 11, "population": 30, "generations": 4,
                            "max_simulations": 400, **settings},
            "scenario": "mmc_small.yaml",
            "parameters": parameters or {"cohorts.customers.rate": {"low": 3, "high": 12},
                                         "pathway.steps.service.duration.mean": {"low": 0.5, "high": 1.4}},
            "targets": targets}
    path = folder / "cal.yaml"
    path.write_text(json.dumps(data, indent=1))
    return path


def observed(folder: Path) -> dict[str, float]:
    """KPIs of the base scenario at the true values (mean of 3 replications, seeds not used by the fit)."""
    import copy

    from icssim.experiments import run_replication
    from icssim.scenario import load_scenario, provenance, scenario_from_dict
    from icssim.sweep.paths import set_path

    raw = copy.deepcopy(provenance(load_scenario(write_base(folder))).raw)
    for path, value in TRUTH.items():
        set_path(raw, path, value)
    scenario = scenario_from_dict(raw, name="truth")
    reps = [run_replication(scenario, r, 999, keep_records=False).kpis for r in range(3)]
    return {k: float(np.mean([rep[k] for rep in reps])) for k in ("referrals_per_year", "utilisation_desk/server")}


def test_recovers_known_parameters(tmp_path):
    """Simulate with chosen values, calibrate from wide priors to those outputs: the truth lies in the
    95% credible interval of each parameter, and each posterior is much narrower than its prior."""
    seen = observed(tmp_path)
    targets = {"arrivals": {"kpi": "referrals_per_year", "value": seen["referrals_per_year"],
                            "sd": 0.03 * seen["referrals_per_year"], "source": "simulated truth"},
               "busy": {"kpi": "utilisation_desk/server", "value": seen["utilisation_desk/server"],
                        "sd": 0.03, "source": "simulated truth"}}
    run = calibrate(write_cal(tmp_path, targets), out=tmp_path / "out", workers=2)
    summary = pd.read_csv(tmp_path / "out" / "posterior_summary.csv").set_index("parameter")
    for path, truth in TRUTH.items():
        row = summary.loc[path]
        assert row["lower_95"] <= truth <= row["upper_95"], (path, truth, row.to_dict())
    width = summary.loc["cohorts.customers.rate", "upper_95"] - summary.loc["cohorts.customers.rate", "lower_95"]
    assert width < 0.5 * (12 - 3)
    duration = summary.loc["pathway.steps.service.duration.mean"]   # (the utilisation target pins it, given the rate)
    assert duration["upper_95"] - duration["lower_95"] < 0.5 * (1.4 - 0.5)
    posterior = pd.read_csv(tmp_path / "out" / "posterior.csv")
    assert len(posterior) == 30 and set(TRUTH) <= set(posterior.columns)
    for name in ("report.md", "fit.csv", "psa_parameters.yaml", "plots/pairs.png", "plots/fit_arrivals.png",
                 "plots/fit_busy.png", "generations.csv", "metadata.json"):
        assert (tmp_path / "out" / name).exists(), name
    assert "Nothing fits" not in (tmp_path / "out" / "report.md").read_text()
    meta = json.loads((tmp_path / "out" / "metadata.json").read_text())
    assert meta["kind"] == "calibration" and meta["fits"]

    # resuming: a second call replays every stored simulation and gives the same posterior
    again = calibrate(tmp_path / "cal.yaml", out=tmp_path / "out", workers=1)
    assert again.ran_now == 0
    assert np.allclose(again.final.theta, run.final.theta)
    assert pd.read_csv(tmp_path / "out" / "posterior.csv").equals(posterior)

    # more rows for a larger PSA: the same run written again, each particle in about its weight's share
    write_cal(tmp_path, targets, posterior_draws=90)
    longer = calibrate(tmp_path / "cal.yaml", out=tmp_path / "out", workers=1)
    assert longer.ran_now == 0
    rows = pd.read_csv(tmp_path / "out" / "posterior.csv")
    assert len(rows) == 90 and list(rows.columns) == list(posterior.columns)
    weights = longer.final.weights / longer.final.weights.sum()
    counts = np.bincount(rows["particle"], minlength=len(weights))
    assert np.all(np.abs(counts - 90 * weights) < 1 + 1e-9)
    assert (rows.groupby("particle")[list(TRUTH)].nunique() == 1).all().all()  # a particle's values, each time


def test_resume_goes_on_with_more_generations(tmp_path):
    targets = {"arrivals": {"kpi": "referrals_per_year", "value": 60000, "sd": 2000, "source": "s"}}
    path = write_cal(tmp_path, targets, population=12, generations=1, max_simulations=200)
    first = calibrate(path, out=tmp_path / "out", workers=1)
    assert len(first.generations) == 1 and first.ran_now == 24    # 2 x 12 prior draws (not the 4 as shipped)
    write_cal(tmp_path, targets, population=12, generations=2, max_simulations=200)
    second = calibrate(path, out=tmp_path / "out", workers=2)
    assert len(second.generations) == 2
    assert np.allclose(second.generations[0].theta, first.generations[0].theta)
    assert 12 <= second.ran_now < 24 + 12 * 20   # only generation 1 is new


def test_contradictory_targets_say_nothing_fits(tmp_path):
    targets = {"low": {"kpi": "referrals_per_year", "value": 40000, "sd": 500, "source": "s"},
               "high": {"kpi": "referrals_per_year", "value": 90000, "sd": 500, "source": "s"}}
    path = write_cal(tmp_path, targets, population=10, generations=1, max_simulations=100)
    code, err = run_cli(["calibrate", str(path), "--out", str(tmp_path / "out"), "-w", "1", "-q"])
    assert code == 3   # done, no answer: not 1, the machine refusing
    assert "nothing fits" in err
    assert "Nothing fits" in (tmp_path / "out" / "report.md").read_text()


def test_budget_too_large_is_refused_without_yes(tmp_path):
    targets = {"arrivals": {"kpi": "referrals_per_year", "value": 60000, "sd": 2000, "source": "s"}}
    path = write_cal(tmp_path, targets, population=10, max_simulations=100_000)
    code, err = run_cli(["calibrate", str(path), "--out", str(tmp_path / "out"), "-w", "1", "-q",
                         "--budget", "0.05"])   # 3 seconds
    assert code == 2
    assert "--yes" in err and "max_simulations" in err
    assert not (tmp_path / "out").exists()


TARGET = {"arrivals": {"kpi": "referrals_per_year", "value": 60000, "sd": 2000, "source": "s"}}


@pytest.mark.parametrize(("parameters", "targets", "message"), [
    ({"cohorts.customers.rat": {"low": 1, "high": 2}}, TARGET,
     "cal.yaml:.*parameters.cohorts.customers.rat.*did you mean 'cohorts.customers.rate'"),
    ({"cohorts.customers.rate": {"low": 5, "high": 2}}, TARGET, r"cal.yaml:\d+: parameters.cohorts.customers.rate.*"
                                                               "below 'high'"),
    ({"cohorts.customers.rate": {"low": -3, "high": 2}}, TARGET, r"cal.yaml:\d+: parameters.cohorts.customers.rate: "
                                                                "the prior reaches -3.*narrow the prior"),
    ({"cohorts.customers.rate": {"dist": "beta", "mean": 0.5, "sd": 0.6}}, TARGET, "needs sd below"),
    (None, {"a": {"kpi": "waits_forever", "value": 1, "sd": 1, "source": "s"}},
     r"cal.yaml:\d+: targets.a.kpi: unknown measure 'waits_forever'"),
    (None, {"a": {"kpi": "referrals_per_year", "value": 1, "source": "s"}}, "exactly one of 'sd', 'tolerance'"),
    (None, {"a": {"kpi": "referrals_per_year", "value": 1, "sd": 1}}, r"targets.a.source: required key is missing"),
    (None, {"a": {"kpi": "referrals_per_year", "value": 1, "sd": 1, "source": "s", "held_out": True}},
     "every target is held out"),
    (None, {"a": {"kpi": "referrals_per_year", "value": 5, "low": 1, "high": 3, "source": "s"}},
     "outside its own interval"),
])
def test_bad_input_names_file_line_and_key(tmp_path, parameters, targets, message):
    path = write_cal(tmp_path, targets, parameters)
    code, err = run_cli(["calibrate", str(path), "--out", str(tmp_path / "out"), "-w", "1", "-q"])
    assert code == 2, err
    assert __import__("re").search(message, err), err
    assert not (tmp_path / "out").exists()


def test_unknown_key_in_settings_suggests(tmp_path):
    path = write_cal(tmp_path, TARGET, populaton=10)
    with pytest.raises(ScenarioError, match="did you mean 'population'"):
        calibrate(path, out=tmp_path / "out")


def test_store_of_another_calibration_is_refused(tmp_path):
    path = write_cal(tmp_path, TARGET, population=10, generations=1, max_simulations=100)
    calibrate(path, out=tmp_path / "out", workers=1)
    write_cal(tmp_path, {"arrivals": {**TARGET["arrivals"], "value": 70000}}, population=10, generations=1)
    with pytest.raises(IcssimError, match="different calibration"):
        calibrate(path, out=tmp_path / "out", workers=1)


def test_measures_on_the_fragmented_baseline():
    """The source-defined measures: specialist care only (not acute admissions), the FREED-Up cohort's
    intensive care after assessment, the wait for a bed, referrals received (also to a bed) and the
    growth of each waiting list, each on one replication of the shipped baseline."""
    from icssim.calibrate.measures import compute_measures
    from icssim.experiments import run_replication, standards_of
    from icssim.kpis import Window
    from icssim.scenario import load_scenario

    scenario = load_scenario(HERE.parent / "scenarios" / "ed_fragmented.yaml")
    rep = run_replication(scenario, 0, 1, keep_records=True, record_visits=True)
    m = compute_measures(Window(rep.records, standards_of(scenario)))
    assert 0 < m["share_specialist_intensive_12m"] < rep.kpis["share_intensive_12m"]
    # the source's cohort (assessed by the specialist service) needs intensive care more often than
    # everyone who asked a GP for help
    assert m["intensive_12m_after_adult_ed_assessment"] > m["share_specialist_intensive_12m"]
    assert m["bed_wait_mean_adult_inpatient"] >= m["bed_wait_median_adult_inpatient"] >= 0
    assert m["referrals_received_per_year_cyp_ed_assessment"] > 0
    assert m["referrals_received_per_year_adult_inpatient"] > 0
    assert {"bed_wait_mean_cyp_inpatient", "referrals_received_per_year_camhs_triage",
            "list_growth_adult_ed_treatment", "list_growth_worst"} <= set(m)
    growth = [v for k, v in m.items() if k.startswith("list_growth_") and k != "list_growth_worst"]
    assert m["list_growth_worst"] == max(growth)


def test_list_growth_sees_a_list_that_grows():
    """Too few adult specialist beds for the step-ups: the bed queue grows year on year."""
    from icssim.calibrate.measures import compute_measures
    from icssim.experiments import run_replication, standards_of
    from icssim.kpis import Window

    scenario = shipped("ed_fragmented", horizon="4 years", **{"services.adult_inpatient.beds": 5})
    rep = run_replication(scenario, 0, 1, keep_records=True, record_visits=False)
    m = compute_measures(Window(rep.records, standards_of(scenario)))
    assert m["list_growth_adult_inpatient"] > 5 and m["list_growth_worst"] >= m["list_growth_adult_inpatient"]


def test_intensive_after_assessment_counts_only_the_cohort_and_12_months():
    """One person assessed at day 400 (age 20, ill 1 year), admitted to a specialist bed 200 days later;
    one assessed at day 420 (age 40: outside the cohort); one assessed at day 430 and admitted 400 days
    later (after 12 months): the share is 1/2."""
    from types import SimpleNamespace

    from icssim.calibrate.measures import IntensiveAfterAssessment
    from icssim.kpis import Window

    nan = np.nan
    visits = {"pid": np.array([0, 0, 1, 2, 2]), "step": np.array([0, 1, 0, 0, 1]),
              "t_enter": np.array([390, 590, 410, 425, 820.0]), "t_start": np.array([400, 600, 420, 430, 830.0]),
              "t_end": np.array([401, 700, 421, 431, 900.0]), "t_queue": np.full(5, nan), "outcome": np.zeros(5)}
    patients = {"pid": np.arange(3), "arrival": np.array([300, 310, 320.0]), "referral": np.array([310, 320, 330.0]),
                "attr_age": np.array([20, 40, 22.0]), "attr_illness_years": np.array([1.0, 1.0, 1.0])}
    rec = SimpleNamespace(visits=visits, patients=patients, steps=("ed_assessment", "inpatient"),
                          step_kinds=("assessment", "inpatient"), warmup=365.0, horizon=2000.0, hours_per_unit=24.0,
                          window=1635.0)
    w = Window.__new__(Window)
    w.rec, w.patients, w.days = rec, patients, 1.0
    assert IntensiveAfterAssessment().compute(w) == {"intensive_12m_after_ed_assessment": 0.5}


def test_shipped_calibration_file_loads_and_sets_complements():
    """The shipped file is valid; a split's complement branch is set to 1 - p, so the scenario stays valid."""
    from icssim.calibrate.runner import prepare, values_of

    run = prepare(HERE.parent / "scenarios" / "calibration" / "ed_fragmented.yaml", out=Path("/nonexistent/x"))
    theta = np.array([run.priors.bounds[k].mean() for k in range(len(run.priors.names))])
    values = values_of(run, theta)
    p = values["pathway.steps.adult_ed_treatment.next.0.p"]
    assert values["pathway.steps.adult_ed_treatment.next.1.p"] == pytest.approx(1 - p)
    q = values["pathway.steps.adult_ed_treatment.next.0.next.0.p"]       # a split nested in a branch
    assert values["pathway.steps.adult_ed_treatment.next.0.next.1.p"] == pytest.approx(1 - q)
    assert values["deterioration.hazard.green"].endswith(" per week")
    assert any(t.held_out for t in run.cal.spec.targets.values())


def test_unknown_complement_path_is_refused(tmp_path):
    params = {"cohorts.customers.rate": {"low": 3, "high": 12, "complement": "cohorts.customers.rat"}}
    path = write_cal(tmp_path, TARGET, params)
    code, err = run_cli(["calibrate", str(path), "--out", str(tmp_path / "out"), "-w", "1", "-q"])
    assert code == 2 and "complement" in err and "did you mean 'cohorts.customers.rate'" in err, err


def test_interrupted_run_resumes_to_the_same_posterior_whatever_the_workers(tmp_path, monkeypatch):
    """Ctrl-C part-way (here: the 25th simulation raises KeyboardInterrupt) keeps what finished; the
    same call again completes it, and the posterior equals that of an uninterrupted run on 2 workers."""
    from icssim.calibrate import work

    path = write_cal(tmp_path, TARGET, population=10, generations=2, max_simulations=200)
    reference = calibrate(path, out=tmp_path / "reference", workers=2)
    real, calls = work.simulate, []

    def flaky(item):
        calls.append(item)
        if len(calls) == 25:
            raise KeyboardInterrupt
        return real(item)

    monkeypatch.setattr(work, "simulate", flaky)
    with pytest.raises(KeyboardInterrupt):
        calibrate(path, out=tmp_path / "out", workers=1)
    monkeypatch.setattr(work, "simulate", real)
    from icssim.calibrate.store import Store

    store = Store(tmp_path / "out")
    assert store.count() == 24
    store.close()
    resumed = calibrate(path, out=tmp_path / "out", workers=1)
    assert resumed.ran_now > 0
    for a, b in zip(resumed.generations, reference.generations):
        assert a.proposals == b.proposals
        assert np.allclose(a.theta, b.theta) and np.allclose(a.weights, b.weights)


def test_fit_plot_axis_names_the_measure_and_its_unit_and_spans_the_posterior():
    from types import SimpleNamespace

    from icssim.calibrate.plots import _axis_label, _focus

    assert _axis_label(SimpleNamespace(kpi="bed_wait_mean_adult_inpatient", per_100k=False)).endswith("(days)")
    assert _axis_label(SimpleNamespace(kpi="uptake_after_referral", per_100k=False)).endswith("(share, 0 to 1)")
    per_100k = _axis_label(SimpleNamespace(kpi="referrals_received_per_year_adult_inpatient", per_100k=True))
    assert per_100k.endswith("(a year per 100,000 people)")
    # a prior draw of 3,000 days does not stretch the axis: it spans the target and the posterior
    left, right = _focus([17.0, 49.0, 33.0, float("nan"), 20.0, 52.0])
    assert left < 17 and 52 < right < 60
