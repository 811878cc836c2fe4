"""Probabilistic sensitivity analysis: draws with the moments asked for, impossible distributions
refused, and the decision measures (acceptability, frontier, EVPI) against hand computations."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from icssim.health.psa import (acceptability, draw_table, evpi, incremental, net_benefit_variance_shares,
                               people_affected, variance_shares)
from icssim.scenario.initial_state import anchored_raw
from icssim.sweep.draws import frozen, psa_values
from icssim.sweep.spec import Parameter

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("dist, mean, sd", [("beta", 0.75, 0.05), ("gamma", 0.024, 0.008),
                                            ("lognormal", 10.7, 2.8), ("normal", 5.0, 1.0)])
def test_draws_have_the_mean_and_sd_asked_for(dist, mean, sd):
    p = Parameter(dist=dist, mean=mean, sd=sd)
    assert frozen(p).mean() == pytest.approx(mean)
    assert frozen(p).std() == pytest.approx(sd)
    draws = np.array([v["x"] for v in psa_values({"x": p}, {}, 4096, seed=3)])
    assert draws.mean() == pytest.approx(mean, rel=0.01)
    assert draws.std() == pytest.approx(sd, rel=0.03)


def test_a_beta_on_a_range_keeps_to_it_with_the_mean_and_sd_asked_for():
    """A source's value with its range (a mortality rate ratio 10.7, 3.5 to 14): every draw in the
    range, the mean and sd as asked (a lognormal of that mean and sd reaches 17)."""
    p = Parameter(dist="beta", mean=10.7, sd=2.6, low=3.5, high=14)
    assert frozen(p).mean() == pytest.approx(10.7)
    assert frozen(p).std() == pytest.approx(2.6)
    draws = np.array([v["x"] for v in psa_values({"x": p}, {}, 4096, seed=3)])
    assert 3.5 <= draws.min() and draws.max() <= 14
    assert draws.mean() == pytest.approx(10.7, rel=0.01)


@pytest.mark.parametrize("raw, words", [
    ({"dist": "beta", "mean": 1.2, "sd": 0.1}, "mean between 0 and 1"),
    ({"dist": "beta", "mean": 0.5, "sd": 0.6}, "needs sd below"),
    ({"dist": "beta", "mean": 15, "sd": 1, "low": 3.5, "high": 14}, "on 3.5 to 14 needs a mean between them"),
    ({"dist": "beta", "mean": 10.7, "sd": 6, "low": 3.5, "high": 14}, "needs sd below 4.874"),
    ({"dist": "beta", "mean": 10.7, "sd": 1, "low": 3.5}, "needs both 'low' and 'high'"),
    ({"dist": "gamma", "mean": 10.7, "sd": 1, "low": 3.5, "high": 14}, "not 'values' or a range"),
    ({"dist": "gamma", "mean": -3, "sd": 1}, "mean above 0"),
    ({"dist": "gamma", "mean": 3}, "needs 'mean' and 'sd'"),
])
def test_impossible_distributions_are_refused(raw, words):
    with pytest.raises(ValidationError, match=words):
        Parameter(**raw)


def _table(costs: dict[str, list[float]], qalys: dict[str, list[float]]) -> pd.DataFrame:
    rows = [{"draw": d, "strategy": s, "cost": c, "qalys": q, "replications": 1}
            for s in costs for d, (c, q) in enumerate(zip(costs[s], qalys[s]))]
    return pd.DataFrame(rows)


def test_evpi_is_zero_without_uncertainty_about_the_decision():
    table = _table({"a": [100, 120, 90], "b": [50, 60, 40]}, {"a": [1.0, 1.1, 0.9], "b": [1.2, 1.3, 1.1]})
    value = evpi(table, [20_000.0])
    assert value["evpi_per_person"].iloc[0] == pytest.approx(0.0)
    ceac = acceptability(table, [20_000.0]).set_index("strategy")
    assert ceac.loc["b", "probability_best"] == 1.0 and ceac.loc["b", "on_frontier"]


def test_evpi_and_acceptability_by_hand():
    # two draws: b better in draw 0 by 1,000, a better in draw 1 by 3,000 (at wtp 10,000)
    table = _table({"a": [0, 0], "b": [0, 0]}, {"a": [1.0, 1.3], "b": [1.1, 1.0]})
    ceac = acceptability(table, [10_000.0]).set_index("strategy")
    assert ceac.loc["a", "probability_best"] == 0.5 and ceac.loc["b", "probability_best"] == 0.5
    assert ceac.loc["a", "on_frontier"] and not ceac.loc["b", "on_frontier"]
    # E[max] = (11,000 + 13,000) / 2 = 12,000; max E = a: (10,000 + 13,000) / 2 = 11,500
    assert evpi(table, [10_000.0])["evpi_per_person"].iloc[0] == pytest.approx(500.0)
    inc = incremental(table, "a")
    assert inc["delta_qalys"].tolist() == pytest.approx([0.1, -0.3])


def test_draw_table_and_variance_shares():
    frame = pd.DataFrame({"point": [0, 0, 1, 1, 2, 2, 3, 3], "replication": [0, 1] * 4,
                          "cost_per_person": [1.0] * 8,
                          "qalys_per_person": [1.0, 1.2, 2.0, 2.2, 1.5, 1.7, 2.5, 2.7]})
    bases = {0: ("a", 0), 1: ("a", 1), 2: ("b", 0), 3: ("b", 1)}
    table = draw_table(frame, bases)
    assert table.set_index(["draw", "strategy"]).loc[(1, "a"), "qalys"] == pytest.approx(2.1)
    shares = variance_shares(frame, bases).set_index("strategy")
    # noise variance 0.02 within draws; draw means 1.1 and 2.1: variance 0.5, minus 0.02 / 2
    assert shares.loc["a", "parameter_variance"] == pytest.approx(0.5 - 0.01)
    assert shares.loc["a", "noise_variance"] == pytest.approx(0.02)


def test_net_benefit_variance_pairs_each_replication_with_the_baselines():
    """Noise the strategies share (the same random numbers in replication r of a draw) cancels in
    the incremental net benefit: here b − a is 0.5 in both replications of draw 0 and 1.0 and 1.2
    in draw 1, though each strategy's own QALYs vary within every draw."""
    qalys = {("a", 0): [1.0, 1.2], ("a", 1): [2.0, 2.2], ("b", 0): [1.5, 1.7], ("b", 1): [3.0, 3.4]}
    bases = {0: ("a", 0), 1: ("a", 1), 2: ("b", 0), 3: ("b", 1)}
    rows = [{"point": point, "replication": r, "cost_per_person": 100.0 + r, "qalys_per_person": q}
            for point, key in bases.items() for r, q in enumerate(qalys[key])]
    frame = pd.DataFrame(rows[::-1])   # (the order of the stored runs does not matter)
    split = net_benefit_variance_shares(frame, bases, "a", thresholds=[1.0]).iloc[0]
    assert split["strategy"] == "b against a" and split["kpi"] == "net_benefit_at_1"
    # within draws: 0 and var(1.0, 1.2) = 0.02, mean 0.01; draw means 0.5 and 1.1: 0.18 − 0.01 / 2
    assert split["noise_variance"] == pytest.approx(0.01)
    assert split["parameter_variance"] == pytest.approx(0.175)
    assert split["share_parameters"] == pytest.approx(0.175 / 0.185)
    own = variance_shares(frame, bases).set_index("strategy")
    assert own.loc["b", "noise_variance"] == pytest.approx((0.02 + 0.08) / 2)   # each level alone is noisier
    assert net_benefit_variance_shares(frame[frame["replication"] == 0], bases, "a").empty   # one replication


def test_icssim_psa_writes_the_decision(tiny_psa):
    out = tiny_psa.out
    for name in ("psa.csv", "ceac.csv", "evpi.csv", "psa.json", "plots/ceac.png", "plots/psa_plane.png"):
        assert (out / name).is_file(), name
    # no frontier across parameter draws: which draw of which strategy no other beats on cost and
    # wait means nothing (a grid sweep's is for choosing a setting); the plane compares the strategies
    assert not (out / "plots" / "cost_vs_wait.png").exists()
    assert "plots/cost_vs_wait.png" not in json.loads((out / "metadata.json").read_text())["plots"]
    table = pd.read_csv(out / "psa.csv")
    assert len(table) == 6 and set(table["strategy"]) == {"fragmented", "integrated"}
    assert table.groupby("draw")["health.states.ill_moderate.utility"].nunique().max() == 1
    assert table["health.transitions.2.rate.treated"].str.endswith(" per month").all()
    assert set(pd.read_csv(out / "evppi.csv").columns) == {"group", "wtp", "evppi_per_person", "evppi_population"}
    ceac = pd.read_csv(out / "ceac.csv")
    assert np.allclose(ceac.groupby("wtp")["probability_best"].sum(), 1.0)
    # the answer's ICER is the ratio of the mean differences over the draws in psa.csv
    wide = table.pivot(index="draw", columns="strategy", values=["cost", "qalys"])
    d_cost = (wide["cost"]["integrated"] - wide["cost"]["fragmented"]).mean()
    d_qalys = (wide["qalys"]["integrated"] - wide["qalys"]["fragmented"]).mean()
    (row,) = json.loads((out / "psa.json").read_text())["incremental"]
    assert (row["strategy"], row["baseline"], row["draws"]) == ("integrated", "fragmented", 3)
    assert row["delta_cost"] == pytest.approx(d_cost) and row["delta_qalys"] == pytest.approx(d_qalys)
    assert row["icer"] == pytest.approx(d_cost / d_qalys)


def test_people_affected_is_the_discounted_annuity_of_the_yearly_help_seekers():
    # each year's help-seekers discounted to today, the first year's undiscounted: the annuity-due
    r, n = 0.035, 10
    assert people_affected(1_000, n, r) == pytest.approx(1_000 * (1 - (1 + r) ** -n) / (1 - 1 / (1 + r)))
    assert people_affected(250, 4, 0.0) == pytest.approx(1_000)
    assert people_affected(1_000, 1, 0.2) == pytest.approx(1_000)


def test_a_psa_gives_the_population_evpi_of_the_baseline_s_help_seekers(tiny_psa):
    """Without 'population' in the PSA file, the decision concerns the baseline scenario's
    help-seekers a year (its cohorts' rates per 100,000 times its population) for 10 years,
    discounted at its cost discount rate; every population figure is the per-person one times that."""
    from icssim.scenario import load_scenario

    out = tiny_psa.out
    base = load_scenario(ROOT / "scenarios" / "ed_fragmented.yaml")
    per_year = sum(c.rate_per_100k_per_year for c in base.cohorts.values()) * base.scenario.population / 1e5
    who = json.loads((out / "psa.json").read_text())["population"]
    assert who["people_per_year"] == pytest.approx(per_year) and who["years"] == 10
    assert who["discount_rate"] == base.health.discount.costs
    assert who["people"] == pytest.approx(people_affected(per_year, 10, base.health.discount.costs))
    value = pd.read_csv(out / "evpi.csv")
    assert np.allclose(value["evpi_population"], value["evpi_per_person"] * who["people"])
    assert "evppi_population" in pd.read_csv(out / "evppi.csv")   # (empty: 3 draws are too few to regress on)
    said = [line for line in tiny_psa.printed if "EVPI £" in line]
    assert said and all(f"for {per_year:,.0f} people a year over 10 years" in line for line in said), said


def test_a_psa_report_answers_the_decision_first(tiny_psa):
    """The report of a PSA folder opens with the decision (mean differences, ICER, the chance the
    best strategy is best, EVPI per person and for the population, EVPPI by parameter), then the
    PSA's plots with their captions; not a sweep's ranges or its cost-against-wait frontier."""
    html = (tiny_psa.out / "report.html").read_text()
    answer = html.split('<section id="summary">')[1].split("</section>")[0]
    assert "<h2>What the PSA says</h2>" in answer and "integrated</strong> against fragmented costs" in answer
    assert "QALYs per help-seeker on average" in answer and "of the draws" in answer
    assert "for the people the decision affects" in answer and "Population figures are for" in answer
    assert "Too few draws to estimate what learning each parameter would be worth" in answer
    assert "The range of each measure" not in html and "Cost against wait" not in html
    plots = html.split('<section id="plots">')[1].split("</section>")[0]
    assert plots.index("Cost-effectiveness plane") < plots.index("acceptability curve") < plots.index(
        "Expected value of perfect information")
    assert "<h2>Each draw</h2>" in html


def test_population_is_for_a_psa_and_is_checked(tmp_path):
    from icssim.sweep.spec import SweepSpec

    base = {"sweep": {"name": "p"}, "base": "b.yaml"}
    with pytest.raises(ValidationError, match="'population' .* is for a probabilistic sensitivity analysis"):
        SweepSpec(**base, population={"years": 5}, parameters={"a.b": {"values": [1, 2]}})
    psa = {**base, "design": "psa", "samples": 4, "parameters": {"a.b": {"dist": "beta", "mean": 0.5, "sd": 0.1}}}
    with pytest.raises(ValidationError, match="years"):
        SweepSpec(**psa, population={"years": 0})
    with pytest.raises(ValidationError, match="people_per_year"):
        SweepSpec(**psa, population={"people_per_year": -5})
    assert SweepSpec(**psa, population={"people_per_year": 300}).population.years == 10


def test_a_psas_strategies_share_each_draws_seed_and_the_draws_differ(tiny_psa):
    """Common random numbers between the strategies within a draw, but not across draws: with one
    seed for every draw, the mean over the draws would carry one replication's noise however many
    draws were made."""
    runs = pd.read_csv(tiny_psa.out / "runs.csv")
    points = pd.read_csv(tiny_psa.out / "points.csv")
    seeds = runs.groupby("point")["seed"].first()
    path = "services.adult_inpatient.cost_per_bed_day"
    by_draw = points.assign(seed=points["point"].map(seeds)).groupby(path)
    assert by_draw.ngroups == 3
    assert (by_draw["seed"].nunique() == 1).all() and (by_draw["base"].nunique() == 2).all()
    assert by_draw["seed"].first().nunique() == 3


def test_icssim_psa_refuses_a_sweep_without_distributions(tmp_path):
    from helpers import SCENARIOS, run_cli

    sweep = tmp_path / "grid.yaml"
    sweep.write_text(f"""
sweep: {{name: not_psa}}
base: {SCENARIOS / 'ed_fragmented.yaml'}
parameters:
  services.adult_inpatient.beds: [16, 17]
""")
    code, err = run_cli(["psa", str(sweep), "--out", str(tmp_path / "out"), "--yes"])
    assert code == 2 and "needs a sweep file with 'design: psa'" in err
    assert not (tmp_path / "out").exists()


def test_evppi_finds_the_parameter_that_drives_the_decision():
    from icssim.health.psa import evppi

    rng = np.random.default_rng(4)
    theta, noise = rng.uniform(-1, 1, 400), rng.uniform(-1, 1, 400)
    table = _table({"a": [0.0] * 400, "b": [0.0] * 400}, {"a": [0.0] * 400, "b": list(0.1 * theta)})
    params = pd.DataFrame({"draw": range(400), "theta": theta, "noise": noise})
    result = evppi(table, params, {"theta": ["theta"], "noise": ["noise"]}, 10_000.0).set_index("group")
    full = evpi(table, [10_000.0])["evpi_per_person"].iloc[0]
    # b's net benefit is 1,000 x theta: knowing theta is all there is to know; noise is worth nothing
    assert result.loc["theta", "evppi_per_person"] == pytest.approx(full, rel=0.02)
    assert result.loc["noise", "evppi_per_person"] < 0.1 * full


def test_evppi_with_few_draws_is_bounded_by_the_evpi_and_needs_draws_per_column():
    """A fit with few draws per basis column follows the noise: 8 draws gave a pure-noise parameter
    an EVPPI above the EVPI, which bounds it. Groups need 10 draws per basis column (4 for one
    parameter), and no EVPPI exceeds the EVPI."""
    from icssim.health.psa import evppi

    rng = np.random.default_rng(7)
    n = 40
    noise = rng.uniform(-1, 1, (n, 3))
    table = _table({"a": [0.0] * n, "b": list(rng.normal(0, 500, n))}, {"a": [0.0] * n, "b": [0.0] * n})
    params = pd.DataFrame({"draw": range(n), "x": noise[:, 0], "y": noise[:, 1], "z": noise[:, 2]})
    result = evppi(table, params, {"x": ["x"], "xyz": ["x", "y", "z"]}, 20_000.0).set_index("group")
    full = evpi(table, [20_000.0])["evpi_per_person"].iloc[0]
    assert list(result.index) == ["x"]  # three parameters: 13 basis columns, 130 draws needed
    assert 0 <= result.loc["x", "evppi_per_person"] <= full


def test_a_psa_on_a_dask_local_cluster_gives_byte_identical_results(tiny_psa, tmp_path):
    """The session's 3-draw PSA run again on a Dask LocalCluster of 2 workers writes the same
    bytes as the local run (tasks carry their seeds; nothing depends on the executor)."""
    pytest.importorskip("dask.distributed")
    from helpers import run_cli

    out = tmp_path / "dask"
    code, err = run_cli(["psa", str(tiny_psa.sweep), "--out", str(out), "--yes", "-q", "--dask", "local", "-w", "2"])
    assert code == 0, err
    assert json.loads((out / "metadata.json").read_text())["executor"].startswith("dask")
    for name in ("psa.csv", "ceac.csv", "evpi.csv", "evppi.csv", "psa.json"):
        assert (out / name).read_bytes() == (tiny_psa.out / name).read_bytes(), name


SHIPPED_PSAS = sorted(p for p in (ROOT / "scenarios" / "sweeps").glob("*.yaml")
                      if re.search(r"^design: *(psa|sobol)\b", p.read_text(), re.MULTILINE))


def test_the_shipped_psas_are_found():
    assert {p.name for p in SHIPPED_PSAS} >= {"ed_psa.yaml", "england_42_ics_psa.yaml", "ltc_psa.yaml"}


def test_the_national_psa_draws_the_ed_psas_parameters():
    """england_42_ics_psa.yaml copies ed_psa.yaml's distributions and table of draws (it says so): a
    draw added to one and not the other would make the national answer a different question."""
    from ruamel.yaml import YAML

    sweeps = ROOT / "scenarios" / "sweeps"
    ed, national = (YAML(typ="safe").load((sweeps / name).read_text())
                    for name in ("ed_psa.yaml", "england_42_ics_psa.yaml"))
    assert national["parameters"] == ed["parameters"]
    assert national["draws"] == ed["draws"]   # the calibration's posterior, its capacities scaled to each ICS


@pytest.mark.parametrize("path", SHIPPED_PSAS, ids=lambda p: p.name)
def test_every_shipped_distribution_is_centred_on_the_scenarios_value(path):
    """Each drawn parameter, drawn 20,000 times the way a PSA draws it (and written as the scenario
    writes it), has its mean at every base scenario's own value within 4 standard errors, and the
    sd asked for: a mean/sd read as mu/sigma (lognormal), shape/scale swapped (gamma) or a wrong
    beta would move the mean by far more. A parameter that sets other key paths too (``also``) is
    centred on each of them, in every base that has it; one that only some bases have (a team of
    one pathway) is checked in those, and every parameter in at least one."""
    from icssim.health.psa_outputs import _number
    from icssim.sweep.paths import MISSING, get_path
    from icssim.sweep.spec import load_sweep
    from icssim.sweep.value_units import value_units

    sweep = load_sweep(path)
    n = 20_000
    checked: dict[str, int] = {p: 0 for p in sweep.spec.parameters}
    for label, scenario in sweep.bases.items():
        raw = anchored_raw(scenario)
        written = {p: [v for v in (get_path(raw, k) for k in [p, *param.also]) if v is not MISSING]
                   for p, param in sweep.spec.parameters.items()}
        draws = psa_values(sweep.spec.parameters, value_units(sweep), n, seed=sweep.spec.sweep.seed)
        for p, param in sweep.spec.parameters.items():
            if not written[p]:
                continue
            x = np.array([_number(d[p]) for d in draws])
            assert param.dist != "uniform", "a uniform PSA parameter has no mean to check against"
            for value in written[p]:   # the drawn key path and each tied one this base writes
                base = _number(value)
                assert abs(x.mean() - base) < 4 * param.sd / n ** 0.5, (label, p, x.mean(), base)
                assert param.mean == pytest.approx(base), (label, p)
                checked[p] += 1
            assert x.std() == pytest.approx(param.sd, rel=0.03), (label, p)
    assert all(checked.values()), [p for p, k in checked.items() if not k]


def test_the_psa_icer_is_the_ratio_of_mean_differences_not_the_mean_of_ratios():
    from icssim.health.psa import mean_incremental

    # draw 0: +100 and +0.01 QALYs (ratio 10,000); draw 1: +100 and +0.04 (ratio 2,500)
    table = _table({"a": [1000, 2000], "b": [1100, 2100]}, {"a": [5.0, 6.0], "b": [5.01, 6.04]})
    (row,) = mean_incremental(table, "a", [20_000.0])
    assert row["delta_cost"] == pytest.approx(100.0) and row["delta_qalys"] == pytest.approx(0.025)
    assert row["icer"] == pytest.approx(4_000.0)  # 100 / 0.025; the mean of the ratios is 6,250
    assert row["net_benefit"] == [{"wtp": 20_000.0, "per_person": pytest.approx(400.0)}]


#: three parameter sets of the two specialist bed-day costs, which rise and fall together (row by
#: row), as a calibration's posterior or a costing study's bootstrap would give them
BED_DAY_DRAWS = """draw,services.adult_inpatient.cost_per_bed_day,services.cyp_inpatient.cost_per_bed_day
0,1150,1640.5
1,1264,1809
2,1390,1990.25
"""


def test_a_psa_from_a_table_of_draws_runs_each_row_as_written(tmp_path):
    """The tiny PSA's pattern with a table of draws for two columns and one parameter drawn
    independently: each draw in psa.csv is a row of the table exactly, for both strategies."""
    from helpers import SCENARIOS, run_cli

    from icssim.health.psa_outputs import evppi_groups
    from icssim.sweep.spec import load_sweep

    (tmp_path / "draws.csv").write_text(BED_DAY_DRAWS)
    sweep = tmp_path / "psa.yaml"
    sweep.write_text(f"""
sweep: {{name: table_psa, seed: 5, replications: 1}}
base: {{fragmented: {SCENARIOS}/ed_fragmented.yaml, integrated: {SCENARIOS}/ed_integrated.yaml}}
design: psa
draws: draws.csv
parameters:
  health.transitions.2.rate.treated:
    {{dist: gamma, mean: 0.024, sd: 0.008, unit: per month, label: Adult remission in treatment}}
kpis: [qalys_per_person, cost_per_person]
""")
    out = tmp_path / "out"
    code, err = run_cli(["psa", str(sweep), "--out", str(out), "--yes", "-q", "-w", "2"])
    assert code == 0, err
    table = pd.read_csv(out / "psa.csv")
    assert len(table) == 6 and (table.groupby("draw")["strategy"].nunique() == 2).all()
    rows = pd.read_csv(tmp_path / "draws.csv")
    for column in ("services.adult_inpatient.cost_per_bed_day", "services.cyp_inpatient.cost_per_bed_day"):
        assert table.groupby("draw")[column].first().tolist() == rows[column].tolist()
    remission = table.groupby("draw")["health.transitions.2.rate.treated"].first()
    assert remission.str.endswith(" per month").all() and remission.nunique() == 3
    answer = json.loads((out / "psa.json").read_text())
    assert answer["draws"] == 3
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["draws"]["rows"] == 3 and meta["draws"]["used"] == 3
    groups = evppi_groups(load_sweep(sweep))
    assert groups["all columns of draws.csv"] == ["services.adult_inpatient.cost_per_bed_day",
                                                  "services.cyp_inpatient.cost_per_bed_day"]
    assert groups["Adult remission in treatment"] == ["health.transitions.2.rate.treated"]


def test_a_complement_column_adds_no_group_and_no_basis_column():
    """A probability and its complement (1 − p, as a posterior writes a branch's two shares) carry
    the same information: the complement's own group is left out, a group holding both fits on one
    (the same EVPPI as the probability alone), and an unrelated column is kept."""
    from icssim.health.psa import distinct_groups, evppi

    rng = np.random.default_rng(11)
    n = 60
    p, other = rng.uniform(0.1, 0.6, n), rng.uniform(0, 1, n)
    params = pd.DataFrame({"draw": range(n), "p": p, "q": 1 - p, "twice": 2 * p + 3, "other": other})
    groups = {"p": ["p"], "q": ["q"], "twice": ["twice"], "other": ["other"], "p and q": ["p", "q"],
              "all": ["p", "q", "twice", "other"]}
    assert distinct_groups(groups, params) == {"p": ["p"], "other": ["other"], "all": ["p", "other"]}
    table = _table({"a": [0.0] * n, "b": list(4000 * (p - 0.35) + rng.normal(0, 300, n))},
                   {"a": [0.0] * n, "b": [0.0] * n})
    alone = evppi(table, params, {"p": ["p"]}, 20_000.0)["evppi_per_person"].iloc[0]
    assert alone > 0
    assert evppi(table, params, distinct_groups({"p and q": ["p", "q"]}, params), 20_000.0)[
        "evppi_per_person"].iloc[0] == pytest.approx(alone)


def test_the_ed_psa_reports_the_posteriors_shared_and_own_values_apart():
    """The ED PSA takes every value the baseline's calibration fitted: the four both pathways have
    and the adults' step-up (the same need, tied into the integrated pathway's step by
    ``draws.also``) form one EVPPI group, the fragmented pathway's own teams and hand-offs another."""
    from icssim.health.psa_outputs import evppi_groups
    from icssim.sweep.spec import load_sweep

    groups = evppi_groups(load_sweep(ROOT / "scenarios" / "sweeps" / "ed_psa.yaml"))
    name = "ed_fragmented_posterior.csv"
    step_up = [f"pathway.steps.adult_ed_treatment.{tail}" for tail in ("next.0.p", "next.1.p", "next.0.next.0.p",
                                                                        "next.0.next.1.p")]
    assert sorted(groups[f"columns of {name} set in every strategy"]) == sorted(
        ["deterioration.hazard.green", "services.adult_inpatient.beds", "services.cyp_inpatient.beds",
         "pathway.steps.adult_inpatient.handoff.mean", *step_up])
    own = groups[f"columns of {name} set in fragmented only"]
    assert len(own) == 4 and "services.cyp_ed.staff.therapist.wte" in own and not set(step_up) & set(own)
    assert len(groups[f"all columns of {name}"]) == 12


def test_the_groups_evppi_leaves_out_are_named_with_the_draws_they_need():
    """A group is estimated only with 10 draws per term of its regression (1 + 3k + k(k-1)/2 terms
    for k parameters): what is left out is listed with the draws it needs, not dropped unsaid."""
    from icssim.health.psa import draws_needed, evppi, groups_not_estimated

    assert [draws_needed(k) for k in (1, 2, 3, 4, 10)] == [40, 80, 130, 190, 760]
    rng = np.random.default_rng(3)
    n = 130
    params = pd.DataFrame({"draw": range(n), **{c: rng.uniform(0, 1, n) for c in "xyzw"}})
    table = _table({"a": [0.0] * n, "b": list(rng.normal(0, 500, n))}, {"a": [0.0] * n, "b": [0.0] * n})
    groups = {"x": ["x"], "xyz": ["x", "y", "z"], "xyzw": ["x", "y", "z", "w"]}
    estimated = set(evppi(table, params, groups, 20_000.0)["group"])
    assert estimated == {"x", "xyz"}
    assert groups_not_estimated(groups, n) == [{"group": "xyzw", "draws_needed": 190}]


def _ed_psa(folder: Path, parameters: str, samples: int = 4, draws: str = "") -> Path:
    """A PSA file of both ED strategies with these ``parameters`` (YAML lines, indented by two)."""
    from helpers import SCENARIOS

    path = folder / "psa.yaml"
    path.write_text(f"""sweep: {{name: bounds, seed: 5, replications: 1}}
base: {{fragmented: {SCENARIOS}/ed_fragmented.yaml, integrated: {SCENARIOS}/ed_integrated.yaml}}
design: psa
samples: {samples}
{draws}parameters:
{parameters}kpis: [qalys_per_person, cost_per_person]
""")
    return path


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_an_unknown_key_path_is_named_with_the_psa_files_line(tmp_path):
    """As a distribution's own mistakes are: the PSA file, the line of the parameter's key, the key,
    then the nearest key path, and nothing is written."""
    from helpers import run_cli

    wrong = "health.states.ill_moderat.utility.anorexia"
    path = _ed_psa(tmp_path, f"  services.adult_inpatient.cost_per_bed_day: {{dist: gamma, mean: 1264, sd: 126}}\n"
                             f"  {wrong}: {{dist: beta, mean: 0.75, sd: 0.05}}\n")
    code, err = run_cli(["psa", str(path), "--out", str(tmp_path / "out"), "--yes", "-q", "-w", "1"])
    assert code == 2, err
    assert f"{path}:{_line_of(path, wrong)}: parameters.{wrong}: no key 'ill_moderat' under health.states of " in err
    assert "did you mean 'health.states.ill_moderate.utility.anorexia'?" in err
    assert not (tmp_path / "out").exists()


REMISSION = "health.states.remitted_lasting.utility"
TIED = "  also: [health.states.remitted_sustained.utility]"
OUT_OF_BOUNDS = [
    (f"  {REMISSION}: {{dist: uniform, low: 1.4, high: 1.5,\n  {TIED}}}\n", REMISSION,
     f"this uniform distribution draws values from 1.4 to 1.5; {REMISSION} must be a number at most 1"),
    ("  health.states.ill_moderate.utility.anorexia: {dist: beta, mean: 0.75, sd: 0.05, low: 0.5, high: 1.5}\n",
     "health.states.ill_moderate.utility.anorexia",
     "this beta distribution on 0.5 to 1.5 reaches 1.1499584; health.states.ill_moderate.utility.anorexia must be "
     "a number at most 1"),
    ("  health.discount.costs: {dist: uniform, low: 0.45, high: 0.55}\n", "health.discount.costs",
     "this uniform distribution draws values from 0.45 to 0.55; health.discount.costs must be a number at most 0.2"),
    ("  health.untreated_duration.effect_per_year: {dist: uniform, low: 0.1, high: 6}\n",
     "health.untreated_duration.effect_per_year",
     "this uniform distribution on 0.1 to 6 reaches 6; health.untreated_duration.effect_per_year must be a number "
     "at most 5"),
]


@pytest.mark.parametrize("parameter, key, words", OUT_OF_BOUNDS, ids=[k for _, k, _ in OUT_OF_BOUNDS])
def test_a_distribution_that_reaches_a_value_the_scenario_refuses_is_refused_before_drawing(tmp_path, parameter,
                                                                                              key, words):
    """Whatever the draws happen to be: the PSA file, the line and the key, what the distribution
    reaches and the scenario's bound there (from its schema), in one line each."""
    from icssim.errors import ScenarioError
    from icssim.sweep.design import build_points
    from icssim.sweep.spec import load_sweep

    gamma = "  services.adult_inpatient.cost_per_bed_day: {dist: gamma, mean: 1264, sd: 126}\n"
    path = _ed_psa(tmp_path, gamma + parameter, samples=1)
    with pytest.raises(ScenarioError) as exc:
        build_points(load_sweep(path))
    assert str(exc.value) == f"{path}:{_line_of(path, key + ':')}: parameters.{key}: {words}"


def test_a_distribution_within_the_scenarios_bounds_is_drawn(tmp_path):
    """Up to a bound and no further is allowed: a utility uniform on 0.9 to 1 reaches 1, which a
    utility may be; a gamma's and a beta's extremes are within theirs."""
    from icssim.sweep.design import build_points
    from icssim.sweep.spec import load_sweep

    path = _ed_psa(tmp_path, f"  {REMISSION}: {{dist: uniform, low: 0.9, high: 1,\n  {TIED}}}\n"
                             "  health.states.ill_severe.utility.anorexia: {dist: beta, mean: 0.6, sd: 0.06}\n"
                             "  health.untreated_duration.effect_per_year: {dist: gamma, mean: 0.15, sd: 0.09}\n")
    assert len(build_points(load_sweep(path))) == 8


def test_a_draw_the_scenario_refuses_is_named_by_its_parameter_not_by_every_value_drawn(tmp_path):
    """A normal reaches any value, so only a draw can find one the scenario refuses: it is named
    with the PSA file, the line and key of the parameter that drew it, the value and the bound, once
    for the parameter however many key paths it sets; not with every value of the point (the ED
    PSA's ran to 2,100 characters), nor with what the wrong value makes of the mapping holding it."""
    from icssim.errors import ScenarioError
    from icssim.sweep.design import build_points
    from icssim.sweep.spec import load_sweep

    anorexia = "health.states.ill_moderate.utility.anorexia"
    path = _ed_psa(tmp_path, "  services.adult_inpatient.cost_per_bed_day: {dist: gamma, mean: 1264, sd: 126}\n"
                             f"  {REMISSION}: {{dist: normal, mean: 0.9, sd: 0.3,\n  {TIED}}}\n"
                             f"  {anorexia}: {{dist: normal, mean: 0.9, sd: 0.3}}\n", samples=8)
    with pytest.raises(ScenarioError) as exc:
        build_points(load_sweep(path))
    lines = str(exc.value).splitlines()
    assert len(lines) in (1, 2) and len(str(exc.value)) < 500, lines
    pattern = (rf"{re.escape(str(path))}:(\d+): parameters\.([a-z_.]+): point \d+ \((fragmented|integrated)\) drew "
               r"(1\.\d+); ([a-z_.]+) must be a number at most 1")
    for line in lines:
        match = re.fullmatch(pattern, line)
        assert match is not None, line
        assert int(match[1]) == _line_of(path, match[2] + ":") and float(match[4]) > 1
        assert match[5] == match[2]   # the parameter's own key path, which the drawn value also set
    assert "cost_per_bed_day" not in str(exc.value) and "mapping" not in str(exc.value)


def test_a_cell_of_a_table_of_draws_the_scenario_refuses_is_named_by_its_column(tmp_path):
    from icssim.errors import ScenarioError
    from icssim.sweep.design import build_points
    from icssim.sweep.spec import load_sweep

    (tmp_path / "draws.csv").write_text(f"{REMISSION}\n0.9\n1.2\n")
    path = _ed_psa(tmp_path, "  services.adult_inpatient.cost_per_bed_day: {dist: gamma, mean: 1264, sd: 126}\n",
                   samples=2, draws="draws: draws.csv\n")
    with pytest.raises(ScenarioError) as exc:
        build_points(load_sweep(path))
    assert str(exc.value) == (f"{tmp_path / 'draws.csv'}: column {REMISSION}: point 1 (fragmented) drew 1.2; "
                              f"{REMISSION} must be a number at most 1")


def test_a_table_of_draws_saved_by_excel_on_windows_says_how_to_save_it(tmp_path):
    """Excel's 'CSV' on Windows is Windows-1252: a pound sign in a comment cell is the byte 0xa3,
    which was refused in Python's words ("'utf-8' codec can't decode byte 0xa3 in position 364")."""
    from helpers import SCENARIOS, run_cli

    (tmp_path / "draws.csv").write_bytes((BED_DAY_DRAWS.rstrip("\n") + "  # £\n").encode("cp1252"))
    sweep = tmp_path / "psa.yaml"
    sweep.write_text(f"sweep: {{name: t, seed: 5, replications: 1}}\nbase: {SCENARIOS}/ed_fragmented.yaml\n"
                     "design: psa\ndraws: draws.csv\nparameters: {}\nkpis: [qalys_per_person]\n")
    code, err = run_cli(["validate", str(sweep)])
    lines = BED_DAY_DRAWS.rstrip("\n").count("\n") + 1
    assert code == 2 and (f"draws.csv: cannot read the table of draws: it is not UTF-8 text (line {lines}: byte "
                          "0xa3, '£' in Windows-1252): save it again as UTF-8") in err
