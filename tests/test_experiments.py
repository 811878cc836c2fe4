"""Replications, confidence intervals and comparisons (issue: numbers a planner can defend)."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from icssim.errors import IcssimError
from icssim.comparability import comparability
from icssim.experiments import compare, run, run_replication, summarise

from helpers import shipped


def test_serial_and_parallel_replications_are_identical():
    s = shipped("ed_fragmented", horizon="1 year", warmup="2 months")
    serial = run(s, replications=3, workers=1, keep_records=False).kpis
    parallel = run(s, replications=3, workers=2, keep_records=False).kpis
    pd.testing.assert_frame_equal(serial, parallel)


def test_summary_is_a_student_t_interval():
    table = pd.DataFrame({"x": [1.0, 2.0, 4.0, 7.0]})
    row = summarise(table).loc["x"]
    half = stats.t.ppf(0.975, 3) * np.std([1, 2, 4, 7], ddof=1) / 2
    assert row["mean"] == pytest.approx(3.5) and row["half_width"] == pytest.approx(half)
    assert row["lower"] == pytest.approx(3.5 - half)


def test_bad_experiment_input_is_refused():
    s = shipped("ed_fragmented", horizon="1 year", warmup="2 months")
    with pytest.raises(IcssimError, match="at least 1"):
        run(s, replications=0)
    with pytest.raises(IcssimError, match="horizon"):
        comparability([s, shipped("ed_integrated", horizon="2 years", warmup="2 months")])


def test_compare_differences_are_paired():
    a = shipped("ed_fragmented", horizon="1 year", warmup="2 months")
    b = shipped("ed_integrated", horizon="1 year", warmup="2 months")
    cmp = compare([a, b], replications=3, workers=1, keep_records=False)
    diffs = cmp.differences().set_index("kpi")
    d = diffs.loc["duplicated_assessments_per_year"]
    per_rep = cmp.results[1].kpis["duplicated_assessments_per_year"] - cmp.results[0].kpis["duplicated_assessments_per_year"]
    assert d["diff_mean"] == pytest.approx(per_rep.mean()) and d["diff_upper"] < 0
    # the interval is the Student-t interval of the per-replication differences (replication r of B
    # minus replication r of A); a difference of means alone is the same paired or not, its interval is not
    for kpi in ("duplicated_assessments_per_year", "ae_attendances_per_year", "cost_per_year"):
        d = diffs.loc[kpi]
        x = cmp.results[0].kpis[kpi].to_numpy()
        y = cmp.results[1].kpis[kpi].to_numpy()
        n = len(x)
        assert n == d["n"] == 3
        half = stats.t.ppf(0.975, n - 1) * np.std(y - x, ddof=1) / np.sqrt(n)
        assert d["diff_half_width"] == pytest.approx(half, rel=1e-12), kpi
        assert (d["diff_lower"], d["diff_upper"]) == pytest.approx(((y - x).mean() - half, (y - x).mean() + half),
                                                                  rel=1e-12), kpi
        if kpi == "duplicated_assessments_per_year":
            continue  # none in integrated care (0 in every replication): any pairing gives the same interval
        # unpaired (Welch's interval), or paired in another order, the interval would differ
        vx, vy = np.var(x, ddof=1) / n, np.var(y, ddof=1) / n
        welch = stats.t.ppf(0.975, (vx + vy) ** 2 / ((vx ** 2 + vy ** 2) / (n - 1))) * np.sqrt(vx + vy)
        other = stats.t.ppf(0.975, n - 1) * np.std(y[[1, 2, 0]] - x, ddof=1) / np.sqrt(n)
        assert abs(welch - half) > 0.01 * half and abs(other - half) > 0.01 * half, kpi


def test_without_the_follow_up_every_pathway_kpi_is_the_same():
    # a calibration skips the course of illness after the run: the health KPIs go, nothing else moves
    from icssim.calibrate.measures import needs_follow_up

    scenario = shipped("ed_fragmented", horizon="2 years", warmup="6 months")
    full = run_replication(scenario, 1, 2026)
    pathway = run_replication(scenario, 1, 2026, follow_up=False)
    health = {k for k in full.kpis if needs_follow_up(k)}
    assert {"qalys_per_person", "cost_per_person"} <= health
    assert not health & set(pathway.kpis)
    same = {k: v for k, v in full.kpis.items() if k not in health and k != "wall_seconds"}
    assert len(same) > 40
    assert {k: pathway.kpis[k] for k in same} == same


def test_a_replication_frees_the_records_it_does_not_keep_before_the_collector_resumes(monkeypatch):
    """run_replication keeps the cyclic collector paused until the records it does not return are
    freed by reference counting (so its next pass does not scan them), and leaves the collector
    as it found it."""
    import gc
    import weakref
    from pathlib import Path

    import icssim.experiments as experiments
    from icssim.scenario import load_scenario

    scenario = load_scenario(Path(__file__).parent / "sweep" / "mmc_small.yaml")
    made = []
    simulate = experiments.simulate

    def simulate_and_watch(*args, **kwargs):
        records = simulate(*args, **kwargs)
        made.append(weakref.ref(records))
        return records

    alive_on_resume = []
    enable = gc.enable

    def enable_and_look():
        alive_on_resume.append(made[-1]() is not None)
        enable()

    monkeypatch.setattr(experiments, "simulate", simulate_and_watch)
    monkeypatch.setattr(gc, "enable", enable_and_look)
    assert gc.isenabled()
    dropped = experiments.run_replication(scenario, 0, keep_records=False)
    kept = experiments.run_replication(scenario, 0, keep_records=True)
    assert alive_on_resume == [False, True] and dropped.records is None and kept.records is made[-1]()
    assert gc.isenabled()
    gc.disable()
    try:
        experiments.run_replication(scenario, 0, keep_records=False)
        assert not gc.isenabled()  # a collector the caller had switched off stays off
    finally:
        enable()
    assert dropped.kpis == kept.kpis


def test_a_service_one_scenario_lacks_costs_it_nothing_in_the_differences():
    """An integrated team that replaces two separate ones is a change of its whole cost: the paired
    differences carry every service's cost, 0 where a scenario has no such service; other KPIs
    of one scenario only (a utilisation) have no difference."""
    import pandas as pd
    from types import SimpleNamespace

    from icssim.experiments import Comparison

    def result(name, **kpis):
        return SimpleNamespace(kpis=pd.DataFrame(kpis), scenario=SimpleNamespace(scenario=SimpleNamespace(name=name)))

    a = result("a", cost_per_year=[10.0, 12.0], cost_per_year_adult_ed=[4.0, 5.0], **{"utilisation_adult_ed/x": [0.5, 0.6]})
    b = result("b", cost_per_year=[11.0, 12.0], cost_per_year_ed_service=[6.0, 6.0])
    diffs = Comparison([a, b], []).differences().set_index("kpi")
    assert diffs.loc["cost_per_year_ed_service", "diff_mean"] == 6.0
    assert diffs.loc["cost_per_year_ed_service", "baseline_mean"] == 0.0
    assert diffs.loc["cost_per_year_adult_ed", "diff_mean"] == -4.5
    assert "utilisation_adult_ed/x" not in diffs.index


def _agree(comparison) -> pd.DataFrame:
    """differences.csv's rows with summary.csv's mean of each scenario and of the baseline beside them."""
    means = comparison.summary().set_index(["kpi", "scenario"])["mean"]
    diffs = comparison.differences()
    return diffs.assign(summary_base=[means.get((k, b), np.nan) for k, b in zip(diffs["kpi"], diffs["baseline"])],
                        summary_new=[means.get((k, s), np.nan) for k, s in zip(diffs["kpi"], diffs["scenario"])])


def test_a_service_one_scenario_lacks_costs_it_nothing_in_the_summary_too():
    """summary.csv carries the cost of a service a scenario lacks at 0, as differences.csv does: the
    compare report had to fill those rows from differences.csv (a setdefault) to write "£0 → £6"."""
    from types import SimpleNamespace

    from icssim.experiments import Comparison, Replication, RunResult

    def result(name, **kpis):
        reps = [Replication(r, {k: v[r] for k, v in kpis.items()}, None) for r in range(2)]
        return RunResult(SimpleNamespace(scenario=SimpleNamespace(name=name)), 0, reps)

    a = result("a", cost_per_year=[10.0, 12.0], cost_per_year_adult_ed=[4.0, 5.0], **{"utilisation_adult_ed/x": [0.5, 0.6]})
    b = result("b", cost_per_year=[11.0, 12.0], cost_per_year_ed_service=[6.0, 6.0])
    summary = Comparison([a, b], []).summary().set_index(["kpi", "scenario"])
    assert summary.loc[("cost_per_year_ed_service", "a"), ["mean", "lower", "upper", "n"]].tolist() == [0, 0, 0, 2]
    assert summary.loc[("cost_per_year_adult_ed", "b"), "mean"] == 0.0
    assert ("utilisation_adult_ed/x", "b") not in summary.index      # not a cost: no row where it is absent
    rows = _agree(Comparison([a, b], []))
    assert np.allclose(rows["summary_base"], rows["baseline_mean"])
    assert np.allclose(rows["summary_new"], rows["baseline_mean"] + rows["diff_mean"])


def test_summary_and_differences_agree_for_the_services_only_the_integrated_pathway_has():
    """The shipped ED pathways: the integrated one has services the fragmented one lacks. For each
    service's cost, summary.csv's baseline mean plus differences.csv's difference is the variant's mean."""
    a = shipped("ed_fragmented", horizon="1 year", warmup="2 months")
    b = shipped("ed_integrated", horizon="1 year", warmup="2 months")
    only_b = set(b.services) - set(a.services)
    assert only_b
    rows = _agree(compare([a, b], replications=2, workers=1, keep_records=False))
    costs = rows[rows["kpi"].str.startswith("cost_per_year_")].set_index("kpi")
    assert {f"cost_per_year_{s}" for s in only_b} <= set(costs.index)
    assert (costs.loc[[f"cost_per_year_{s}" for s in only_b], "summary_base"] == 0).all()
    assert np.allclose(costs["summary_base"], costs["baseline_mean"])
    assert np.allclose(costs["summary_new"], costs["baseline_mean"] + costs["diff_mean"])
