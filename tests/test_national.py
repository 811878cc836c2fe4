"""The 42 ICSs and the national view (src/icssim/national*.py, docs/national.md)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from icssim import national
from icssim.errors import IcssimError
from icssim.sweep.paths import MISSING, get_path
from icssim.sweep.spec import load_sweep

from helpers import ROOT

SWEEPS = ROOT / "scenarios" / "sweeps"
SHARED = ROOT.parent / "shared" / "domain" / "ics-populations.csv"
TOTAL_MID_2022 = 57_106_398        # ics-populations.md: England, mid-2022


def test_the_42_icbs_add_up_to_england():
    rows = list(csv.DictReader((SWEEPS / "england_42_ics.csv").read_text(encoding="utf-8").splitlines()))
    assert len(rows) == 42 and len({r["name"] for r in rows}) == 42
    assert sum(int(r["population"]) for r in rows) == TOTAL_MID_2022
    assert min(int(r["population"]) for r in rows) == 516_049       # Shropshire, Telford and Wrekin
    assert all("ONS mid-2022" in r["source"] for r in rows)


@pytest.mark.skipif(not SHARED.is_file(), reason="the shared domain folder is not beside the project")
def test_the_42_icbs_match_the_shared_file():
    shared = {r["ics"]: int(r["population"]) for r in csv.DictReader(SHARED.read_text(encoding="utf-8").splitlines())}
    ours = {r["name"]: int(r["population"])
            for r in csv.DictReader((SWEEPS / "england_42_ics.csv").read_text(encoding="utf-8").splitlines())}
    assert ours == shared


def test_the_national_sweep_splits_into_one_area_sweep_per_base(tmp_path):
    files = national.split_sweep(SWEEPS / "england_42_ics.yaml", tmp_path)
    assert set(files) == {"fragmented", "integrated"}
    frag, integ = (yaml.safe_load(files[k].read_text()) for k in ("fragmented", "integrated"))
    assert "services.cyp_ed.staff.therapist.wte" in frag["areas"]["scale"]
    assert "services.ed_service.staff.therapist.wte" not in frag["areas"]["scale"]
    assert "services.ed_service.staff.therapist.wte" in integ["areas"]["scale"]
    assert "services.acute.beds" in frag["areas"]["scale"] and "services.acute.beds" in integ["areas"]["scale"]
    for file in files.values():
        sweep = load_sweep(file)
        assert len(sweep.areas) == 42 and len(sweep.running) == 1 and len(sweep.bases) == 2
    # written again identically, so a resumed run finds the same sweep
    again = national.split_sweep(SWEEPS / "england_42_ics.yaml", tmp_path)
    assert {k: v.read_text() for k, v in again.items()} == {k: v.read_text() for k, v in files.items()}


def _synthetic_sweep(folder: Path, reps: int = 4) -> None:
    """Two bases x three areas: integrating gains most in 'B' and loses in 'C'."""
    rng = np.random.default_rng(1)
    gain = {"A": 0.01, "B": 0.05, "C": -0.02}       # QALYs per person
    rows = []
    for base in ("fragmented", "integrated"):
        for point, (area, pop) in enumerate((("A", 500_000), ("B", 1_000_000), ("C", 2_000_000))):
            for r in range(reps):
                noise = rng.normal(0, 0.001)
                q = 1.0 + noise + (gain[area] if base == "integrated" else 0.0)
                values = {"wait_to_treatment_mean": {"A": 30, "B": 20, "C": 40}[area] + r * 0.1
                          - (5 if base == "integrated" else 0),
                          "cost_per_year": pop * (10 if base == "fragmented" else 12) + r,
                          "qalys_per_person": q, "cost_per_person": 1000.0 + (200 if base == "integrated" else 0),
                          "referrals_per_year": pop / 1000}
                for kpi, value in values.items():
                    rows.append({"point": point, "base": base, "area": area, "population": pop, "role": None,
                                 "varied": None, "replication": r, "seed": 7, "kpi": kpi, "value": float(value)})
    frame = pd.DataFrame(rows)
    for base, part in frame.groupby("base"):
        (folder / base).mkdir(parents=True)
        part.to_parquet(folder / base / "runs.parquet")


def test_national_table_ranks_and_pairs(tmp_path):
    _synthetic_sweep(tmp_path)
    written = national.write_national(tmp_path)
    assert all(p.is_file() for p in written)
    assert {p.name for p in written} >= {"national.csv", "national_totals.csv", "ranked_wait.png",
                                         "ranked_wait_integrated.png", "ranked_cost_per_head.png",
                                         "ranked_net_benefit.png"}
    table = pd.read_csv(tmp_path / "national.csv")
    assert list(table["area"]) == ["B", "A", "C"]                   # by net benefit of integrating
    assert list(table["rank_net_benefit"]) == [1, 2, 3]
    ranks = dict(zip(table["area"], table["rank_wait_to_treatment_mean_fragmented"]))
    assert ranks == {"B": 1, "A": 2, "C": 3}                        # shortest wait first
    b = table.set_index("area").loc["B"]
    assert b["net_benefit_per_person_integrated"] == pytest.approx(20_000 * 0.05 - 200, abs=60)
    assert b["net_benefit_per_person_integrated_lower"] < b["net_benefit_per_person_integrated"] \
        < b["net_benefit_per_person_integrated_upper"]
    assert b["wait_to_treatment_mean_change_integrated"] == pytest.approx(-5)
    assert b["cost_per_head_fragmented"] == pytest.approx(10, abs=1e-3)
    totals = pd.read_csv(tmp_path / "national_totals.csv").set_index("base")
    assert totals.loc["fragmented", "population"] == 3_500_000
    assert totals.loc["fragmented", "cost_per_year"] == pytest.approx(35_000_000 + 1.5 * 3)
    assert totals.loc["integrated", "cost_per_year_change"] == pytest.approx(7_000_000)
    expected = sum((20_000 * gain - 200) * pop / 1000
                   for gain, pop in ((0.01, 500_000), (0.05, 1_000_000), (-0.02, 2_000_000)))
    assert totals.loc["integrated", "net_benefit_per_year"] == pytest.approx(expected, rel=0.05)


def test_national_refuses_a_folder_without_runs(tmp_path):
    with pytest.raises(IcssimError, match="no runs.parquet"):
        national.load_runs(tmp_path)
    assert national.main(["report", str(tmp_path)]) == 2


def test_a_three_area_national_run(tmp_path):
    """A real run: both ED pathways in three small ICSs, one replication, then the national table."""
    sweep = {
        "sweep": {"name": "three", "seed": 3, "replications": 2},
        "base": {"fragmented": str(ROOT / "scenarios" / "ed_fragmented.yaml"),
                 "integrated": str(ROOT / "scenarios" / "ed_integrated.yaml")},
        "areas": {"rows": [{"name": "Small", "population": 200_000}, {"name": "Mid", "population": 300_000},
                           {"name": "Large", "population": 400_000}],
                  "scale": ["services.cyp_ed.staff.therapist.wte", "services.ed_service.staff.therapist.wte",
                            "services.acute.beds"]},
        "kpis": ["wait_to_treatment_mean", "cost_per_year", "qalys_per_person", "cost_per_person"],
    }
    file = tmp_path / "three.yaml"
    file.write_text(yaml.safe_dump(sweep))
    out = national.run_national(file, tmp_path / "out", workers=1)
    table = pd.read_csv(out / "national.csv")
    assert sorted(table["area"]) == ["Large", "Mid", "Small"]
    assert sorted(table["rank_net_benefit"]) == [1, 2, 3]
    assert (out / "plots" / "ranked_net_benefit.png").is_file()
    stored = pd.read_parquet(out / "integrated" / "runs.parquet")
    scaled = stored[stored["kpi"] == "cost_per_year"].groupby("area")["value"].mean()
    assert scaled["Small"] < scaled["Large"]


def test_whole_servers_scale_the_base_servers_to_the_nearest_whole_server():
    from icssim.sweep.design import scaled_value

    psych, phys = "services.x.staff.psychologist.wte", "services.x.staff.physician.wte"
    assert scaled_value(psych, 4.0, 0.52) == 2.08                          # as before: 3 part-time servers
    assert scaled_value(psych, 4.0, 0.52, whole_servers=True) == 2
    # 3.5 WTE is 4 servers in the base: scaled as 4 servers, so as many as the 4.0 WTE beside it
    assert scaled_value(phys, 3.5, 0.68, whole_servers=True) == scaled_value(psych, 4.0, 0.68, whole_servers=True) == 3
    assert scaled_value(psych, 4.0, 0.05, whole_servers=True) == 1        # never none
    assert scaled_value("services.x.beds", 7.6, 1.0, whole_servers=True) == 8


def test_the_national_run_reports_what_rounding_to_whole_servers_gains_or_loses(tmp_path):
    national.split_sweep(SWEEPS / "england_42_ics.yaml", tmp_path)
    rounding = national.capacity_rounding(tmp_path)
    assert set(rounding["base"]) == {"fragmented", "integrated"} and rounding["area"].nunique() == 42
    assert (rounding["wte"] == rounding["wte"].round()).all()                 # whole servers everywhere
    off = (rounding["wte"] - rounding["exact_servers"]).abs()                # the base's servers, scaled
    assert (off[rounding["exact_servers"] >= 0.5] <= 0.5 + 1e-3).all()
    assert (rounding.loc[rounding["exact_servers"] < 0.5, "wte"] == 1).all()  # at least one server
    # roles with clinical hours keep their hours exact: wte x hours per server = exact wte x base hours
    hours = rounding.dropna(subset=["clinical_hours_per_week"])
    assert len(hours) and np.allclose(hours["wte"] * hours["clinical_hours_per_week"],
                                      hours["exact_wte"] * 22.5, rtol=3e-3)   # exact_wte is rounded to 3 places
    assert (hours["capacity_change"].abs() < 1e-9).all()
    # roles without (the big therapist teams) gain or lose a fraction of a server
    rest = rounding[rounding["clinical_hours_per_week"].isna()]
    assert len(rest) and np.allclose(rest["capacity_change"], rest["wte"] / rest["exact_servers"] - 1, atol=1e-4)
    by_area = national.rounding_by_area(rounding)
    assert {"wte_change_fragmented", "wte_change_integrated"} <= set(by_area.columns)
    assert by_area[["wte_change_fragmented", "wte_change_integrated"]].abs().max().max() < 0.05


def test_whole_servers_keep_each_roles_clinical_hours_in_proportion(tmp_path):
    """An area of 2.08/4 of the base: the integrated psychologists (4.0 WTE, 22.5 hours) become 2
    servers of 23.4 hours, not 3 of 15.6 whose contacts stretch to 1/0.69 of their length."""
    from icssim.model.plan import compile_plan
    from icssim.scenario import provenance, scenario_from_dict
    from icssim.sweep.design import Point, point_raw

    files = national.split_sweep(SWEEPS / "england_42_ics.yaml", tmp_path)
    sweep = load_sweep(files["integrated"])
    base_raw = provenance(sweep.bases["integrated"]).raw
    raw = point_raw(sweep, base_raw, Point(0, "integrated", {}, "X", int(1_500_000 * 2.08 / 4)))
    staff = raw["services"]["ed_service"]["staff"]["psychologist"]
    assert staff["wte"] == 2 and staff["clinical_hours_per_week"] == pytest.approx(22.5 * 2.08 / 2, abs=0.01)
    assert staff["wte"] * staff["paid_hours_per_year"] == pytest.approx(2.08 * 1560, rel=1e-4)   # cost exact
    plan = compile_plan(scenario_from_dict(raw))
    res = next(r for r in plan.resources if r.name == "ed_service/psychologist")
    assert res.capacity == 2 and res.elapsed_scale == pytest.approx(168 / (22.5 * 2.08 / 2), rel=1e-3)


def test_a_joint_assessment_keeps_capacity_per_head_in_every_ics(tmp_path):
    """The integrated joint assessment holds a psychologist (4.0 WTE, 4 servers in the base) and a
    physician (3.5 WTE, also 4 servers) together. Rounding each role's scaled WTE apart would give
    Somerset 2 psychologists and 1 physician (57% of the joint capacity per head) and eight ICSs of
    0.95 to 1.07 million 3 and 2 (76%); scaling the base's servers keeps the pairs whole."""
    national.split_sweep(SWEEPS / "england_42_ics.yaml", tmp_path)
    joint = national.joint_capacity(tmp_path)
    assert set(joint["base"]) == {"integrated"} and set(joint["step"]) == {"joint_assessment"}
    assert joint["area"].nunique() == 42
    servers = joint["servers"].str.split("+", expand=True).astype(int)
    assert (servers[0] == servers[1]).all()                                 # as many physicians as psychologists
    assert joint["capacity_change"].abs().max() < 1e-3                       # hours are rounded to 3 places
    # the joint hours a week grow smoothly with population: no step between neighbouring ICSs
    per_head = joint["joint_hours_per_week"] / joint["population"] * 1e6
    assert per_head.max() / per_head.min() == pytest.approx(1.0, abs=1e-3)


def test_a_joint_assessment_of_unequal_roles_keeps_capacity_per_head_in_every_ics(tmp_path):
    """The LTC pair's joint assessment holds a practitioner (52 servers in the base) and a specialist
    nurse (10) together. Rounded to the nearest whole server, Gloucestershire's nurses were 5 of 24.7
    hours beside practitioners of 22.1, and a pair is held for the longer calendar time: 10% of the
    joint capacity per head lost in one ICS, 5-10% in four, whose integrated lists then grew through
    the run. The scarce role now gets the servers that keep its hours per server at most the
    others' (6 nurses of 20.6 hours there), so the joint capacity is exact in all 42."""
    national.split_sweep(SWEEPS / "england_42_ics_ltc.yaml", tmp_path)
    joint = national.joint_capacity(tmp_path)
    assert set(joint["step"]) == {"joint_assessment"} and joint["area"].nunique() == 42
    assert joint["capacity_change"].abs().max() < 1e-3
    hours = joint["hours_per_server"].str.split("+", expand=True).astype(float)
    assert (hours[1] <= hours[0] + 1e-9).all()                               # no nurse works longer than a practitioner
    gloucestershire = joint.set_index("area").loc["Gloucestershire"]
    assert gloucestershire["servers"] == "29+6"
    rounding = national.capacity_rounding(tmp_path)
    nurses = rounding[rounding["path"] == "services.tt_low.staff.nurse.wte"]
    assert nurses["capacity_change"].abs().max() < 1e-3                       # their clinical hours stay exact


def test_keep_joint_capacity_leaves_whole_pairs_and_adds_servers_to_a_scarce_role():
    from icssim.sweep.design import keep_joint_capacity

    def raw(a: tuple[int, float], b: tuple[int, float]) -> dict:
        staff = {"a": {"wte": a[0], "clinical_hours_per_week": a[1]},
                 "b": {"wte": b[0], "clinical_hours_per_week": b[1], "paid_hours_per_year": 1560.0}}
        return {"services": {"team": {"staff": staff}},
                "pathway": {"steps": {"joint": {"service": "team", "staff": ["a", "b"]}}}}

    scaled = {"services.team.staff.a.wte", "services.team.staff.b.wte"}
    pair = raw((4, 22.5), (4, 19.7))                   # as many servers, the scarce role's shorter: left alone
    keep_joint_capacity(pair, scaled)
    assert pair["services"]["team"]["staff"]["b"] == {"wte": 4, "clinical_hours_per_week": 19.7,
                                                      "paid_hours_per_year": 1560.0}
    uneven = raw((29, 22.12), (5, 24.67))             # 123.35 nurse hours over 5 servers, longer than a's 22.12
    keep_joint_capacity(uneven, scaled)
    b = uneven["services"]["team"]["staff"]["b"]
    assert b["wte"] == 6 and b["clinical_hours_per_week"] == pytest.approx(24.67 * 5 / 6, abs=1e-3)
    assert b["wte"] * b["clinical_hours_per_week"] == pytest.approx(5 * 24.67, abs=1e-2)      # hours kept
    assert b["wte"] * b["paid_hours_per_year"] == pytest.approx(5 * 1560.0, abs=1e-2)         # cost kept
    unscaled = raw((29, 22.12), (5, 24.67))           # a role the area sweep does not scale: left alone
    keep_joint_capacity(unscaled, {"services.team.staff.a.wte"})
    assert unscaled["services"]["team"]["staff"]["b"]["wte"] == 5


def test_a_joint_assessment_keeps_its_capacity_in_the_compiled_plan(tmp_path):
    """The engine's own view of Somerset's integrated service: as many physician as psychologist
    servers, and the pair's calendar time per contact such that joint hours are the base's x 0.385."""
    from icssim.model.plan import compile_plan
    from icssim.scenario import provenance, scenario_from_dict
    from icssim.sweep.design import Point, point_raw

    files = national.split_sweep(SWEEPS / "england_42_ics.yaml", tmp_path)
    sweep = load_sweep(files["integrated"])
    base_raw = provenance(sweep.bases["integrated"]).raw

    def joint_hours(raw: dict) -> float:
        plan = compile_plan(scenario_from_dict(raw))
        pool = {r.name: r for r in plan.resources}
        pair = [pool["ed_service/psychologist"], pool["ed_service/physician"]]
        return min(r.capacity for r in pair) * 168 / max(r.elapsed_scale for r in pair)

    somerset = next(a for a in sweep.areas if a.name == "Somerset")
    raw = point_raw(sweep, base_raw, Point(0, "integrated", {}, somerset.name, somerset.population))
    factor = somerset.population / base_raw["scenario"]["population"]
    assert joint_hours(raw) == pytest.approx(joint_hours(base_raw) * factor, rel=1e-3)


def test_a_small_ics_runs_its_joint_assessment_as_busy_as_the_base(tmp_path):
    """Somerset (0.58 million) beside the base ICS (1.5 million), integrated pathway, three years:
    with the pairs kept whole its physicians and psychologists are as busy as the base's and its
    wait is near the base's. Rounded apart (2 psychologists, 1 physician) the physician is 100%
    busy, the psychologists 50%, and the mean wait 118 days against 12."""
    from icssim.sweep import sweep

    (tmp_path / "integ.yaml").write_text(f"extends: {ROOT / 'scenarios' / 'ed_integrated.yaml'}\n"
                                         "scenario: {horizon: 3 years, warmup: 1 year}\n")
    phys, psych = "utilisation_ed_service/physician", "utilisation_ed_service/psychologist"
    scale = [f"services.ed_service.staff.{r}.wte" for r in ("psychologist", "physician", "navigator", "therapist")]
    rows = [{"name": "Somerset", "population": 576_852}, {"name": "Base", "population": 1_500_000}]
    spec = {"sweep": {"name": "pairs", "seed": 4, "replications": 1}, "base": {"integrated": "integ.yaml"},
            "areas": {"rows": rows, "whole_servers": True, "scale": scale + ["services.day_care.caseload"]},
            "kpis": ["wait_to_treatment_mean", phys, psych]}
    (tmp_path / "pairs.yaml").write_text(yaml.safe_dump(spec))
    run = sweep(tmp_path / "pairs.yaml", out=tmp_path / "out", workers=1)
    runs = pd.read_parquet(run.out / "runs.parquet").pivot_table(index="area", columns="kpi", values="value")
    small, base = runs.loc["Somerset"], runs.loc["Base"]
    assert small[phys] == pytest.approx(small[psych])
    assert small[phys] == pytest.approx(base[phys], abs=0.08)
    assert small["wait_to_treatment_mean"] < 1.5 * base["wait_to_treatment_mean"]


def _small_psa(folder: Path) -> Path:
    """Both ED pathways, shortened to 18 months, in two small ICSs, three parameter draws."""
    for name, base in (("frag", "ed_fragmented"), ("integ", "ed_integrated")):
        (folder / f"{name}.yaml").write_text(f"extends: {ROOT / 'scenarios' / base}.yaml\n"
                                             "scenario: {horizon: 18 months, warmup: 6 months}\n")
    sweep = {
        "sweep": {"name": "npsa", "seed": 5, "replications": 1},
        "base": {"fragmented": "frag.yaml", "integrated": "integ.yaml"},
        "design": "psa", "samples": 3,
        "parameters": {"health.states.remitted_lasting.utility": {"dist": "beta", "mean": 0.9, "sd": 0.025},
                       "services.adult_inpatient.cost_per_bed_day": {"dist": "gamma", "mean": 1264, "sd": 126}},
        "areas": {"rows": [{"name": "Small", "population": 150_000}, {"name": "Large", "population": 300_000}],
                  "whole_servers": True,
                  "scale": ["services.cyp_ed.staff.therapist.wte", "services.ed_service.staff.therapist.wte",
                            "services.acute.beds"]},
        "kpis": ["wait_to_treatment_mean", "cost_per_year", "qalys_per_person", "cost_per_person"],
    }
    file = folder / "psa.yaml"
    file.write_text(yaml.safe_dump(sweep))
    return file


def test_a_national_psa_ranks_the_icss_over_the_draws(tmp_path):
    out = national.run_national(_small_psa(tmp_path), tmp_path / "out", workers=1)
    table = pd.read_csv(out / "national_psa.csv")
    assert sorted(table["area"]) == ["Large", "Small"] and (table["draws"] == 3).all()
    nmb = "net_benefit_per_person_integrated"
    assert (table[f"{nmb}_p2_5"] <= table[nmb]).all() and (table[nmb] <= table[f"{nmb}_p97_5"]).all()
    assert table["p_cost_effective_integrated"].between(0, 1).all()
    assert list(table[nmb]) == sorted(table[nmb], reverse=True)
    totals = pd.read_csv(out / "national_psa_totals.csv").iloc[0]
    assert totals["areas"] == 2 and totals["draws"] == 3 and totals["population"] == 450_000
    assert (out / "plots" / "psa_ranked_net_benefit.png").is_file()
    # the same parameter set is drawn in every area and both pathways
    runs = national.load_runs(out)
    values = runs.drop_duplicates(["base", "area", "point"])
    per_draw = values.groupby(["base", "area"])["health.states.remitted_lasting.utility"].apply(list)
    assert len({tuple(v) for v in per_draw}) == 1


def test_a_national_psa_on_a_local_dask_cluster_matches_the_local_run(tmp_path):
    pytest.importorskip("distributed")
    file = _small_psa(tmp_path)
    local = national.run_national(file, tmp_path / "local", workers=2)
    on_dask = national.run_national(file, tmp_path / "dask", workers=3, dask="local")
    for name in ("national_psa.csv", "national_psa_totals.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(local / name), pd.read_csv(on_dask / name))
    # resumable: the same command again runs nothing and writes the same table
    again = national.run_national(file, tmp_path / "dask", workers=3, dask="local")
    pd.testing.assert_frame_equal(pd.read_csv(local / "national_psa.csv"), pd.read_csv(again / "national_psa.csv"))


def test_the_national_psa_file_splits_into_200_draws_in_42_icss(tmp_path):
    files = national.split_sweep(SWEEPS / "england_42_ics_psa.yaml", tmp_path)
    for file in files.values():
        sweep = load_sweep(file)
        assert len(sweep.areas) == 42 and sweep.spec.design == "psa" and sweep.spec.samples == 200
        assert sweep.spec.areas.whole_servers
    frag = yaml.safe_load(files["fragmented"].read_text())
    assert frag["parameters"] == yaml.safe_load(files["integrated"].read_text())["parameters"]


def test_each_pathways_national_psa_file_draws_the_same_worlds(tmp_path):
    """The shipped national PSA draws parameters only one pathway has (the integrated team's
    monitoring cost, the fragmented CAMHS nurses'): each base's file lists every base and runs its
    own (run_only), so both draw the same 200 parameter sets with the same seeds, set where each
    pathway has them. (Each file listing its own base alone refused the other's parameters.)"""
    from icssim.sweep.design import design_points
    from icssim.sweep.runner import run_seed

    files = national.split_sweep(SWEEPS / "england_42_ics_psa.yaml", tmp_path)
    sweeps = {label: load_sweep(file) for label, file in files.items()}
    points = {label: design_points(sweep) for label, sweep in sweeps.items()}
    assert {label: {p.base for p in ps} for label, ps in points.items()} == {
        "fragmented": {"fragmented"}, "integrated": {"integrated"}}
    frag, integ = points["fragmented"], points["integrated"]
    assert len(frag) == len(integ) == 200 * 42
    assert all(a.values == b.values and a.area == b.area for a, b in zip(frag, integ))
    assert [run_seed(sweeps["fragmented"], p) for p in frag[:50]] == \
        [run_seed(sweeps["integrated"], p) for p in integ[:50]]
    monitoring = "services.ed_monitoring.cost_per_contact"
    assert get_path(frag[0].raw, "services.ed_monitoring") is MISSING
    assert get_path(integ[0].raw, monitoring) == integ[0].values[monitoring]


def test_run_only_names_a_base_of_the_sweep(tmp_path):
    file = national.split_sweep(SWEEPS / "england_42_ics_psa.yaml", tmp_path)["fragmented"]
    file.write_text(file.read_text().replace("- fragmented", "- fragmentd"))
    with pytest.raises(IcssimError, match="run_only: 'fragmentd' is not a base of this sweep"):
        load_sweep(file)


def test_a_drawn_capacity_is_the_base_areas_and_is_scaled_to_each_area(tmp_path):
    """In a national PSA a table's beds (a calibration's posterior, fitted to the base ICS of 1.5
    million) are scaled to each area like the base's own value, in both pathways' files; a drawn
    value the areas do not scale (a utility) is set as drawn."""
    from icssim.sweep.design import design_points

    file = _small_psa(tmp_path)
    (tmp_path / "beds.csv").write_text("services.acute.beds\n30\n50\n")
    data = yaml.safe_load(file.read_text())
    data["draws"] = {"file": "beds.csv"}
    data["samples"] = 2
    file.write_text(yaml.safe_dump(data))
    for label, split in national.split_sweep(file, tmp_path / "specs").items():
        points = design_points(load_sweep(split))
        beds = {(p.area, p.values["services.acute.beds"]): get_path(p.raw, "services.acute.beds") for p in points}
        assert beds == {("Small", 30): 3, ("Small", 50): 5, ("Large", 30): 6, ("Large", 50): 10}, label
        utility = "health.states.remitted_lasting.utility"
        assert all(get_path(p.raw, utility) == p.values[utility] for p in points)
