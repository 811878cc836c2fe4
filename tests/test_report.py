"""The HTML report: written by every run, rebuilt from stored files, self-contained, and
complete (summary, pathway with flows, KPI tables, plots, STRESS-DES model, parameters
with sources, assumptions, how to reproduce); comparisons answer 'what changes, how sure'."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import skip_unless_required

from icssim import cli, diagram, diagram_layout, experiments, pathway_graph, plots, plots_forest, report, results
from icssim.metrics import kpi_info
from icssim.scenario import load_scenario, provenance, scenario_from_dict

FIXTURE = Path(__file__).parent / "fixtures" / "report_pathway.yaml"
RUN_SECTIONS = ("summary", "pathway", "results", "plots", "model", "parameters", "assumptions", "reproduce")


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    """One run of the report fixture (from its YAML, so parameter sources are known)."""
    scenario = load_scenario(FIXTURE)
    result = experiments.run(scenario, replications=3, workers=1)
    out = tmp_path_factory.mktemp("run") / "report_demo"
    results.write_run(result, out, command="icssim run report_pathway.yaml -n 3")
    return out


def test_run_writes_a_self_contained_report(run_folder):
    html = (run_folder / "report.html").read_text()
    for ident in RUN_SECTIONS:
        assert f'<section id="{ident}">' in html
    # every stored plot is embedded, plus the pathway diagram; nothing is fetched from anywhere
    n_png = len(list((run_folder / "plots").glob("*.png")))
    assert n_png >= 3
    assert html.count('src="data:image/png;base64,') == n_png
    assert html.count('src="data:image/svg+xml;base64,') == 1
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<link" not in html and "@import" not in html and "<script" not in html
    assert not re.search(r"&lt;/?(strong|span|code)", html), "markup was escaped twice"
    assert "@media print" in html and 'name="viewport"' in html


def test_report_states_findings_with_cis_and_reproduction(run_folder):
    html = (run_folder / "report.html").read_text()
    summary = html.split('<section id="summary">')[1].split("</section>")[0]
    kpis = pd.read_csv(run_folder / "kpis.csv").set_index("kpi")
    # the median wait to treatment and its CI, as stored in kpis.csv, are on the first screen
    med = kpis.loc["wait_to_treatment_median"]
    assert f"{med['mean']:,.0f} days" in summary
    assert f"95% CI {max(med['lower'], 0):,.0f} to {med['upper']:,.0f}" in summary
    assert "Routine: treatment within 4 weeks" in summary
    assert "How sure are we?" in summary and "3 independent replications" in summary
    assert "A&amp;E attendances" in summary and "Total cost" in summary
    assert kpis.loc["staff_cost_per_year", "mean"] > 0   # the fixture's clinicians have an hourly cost
    # the establishment is in the total, in place of its team's contacts at unit costs
    # ... said as a part of the total, not of the largest service's share named just before it
    assert "Of the total, " in summary and "is the staff establishment the scenario assumes" in summary
    assert "Of that" not in summary
    assert kpis.loc["cost_per_year", "mean"] >= kpis.loc["staff_cost_per_year", "mean"]
    meta = json.loads((run_folder / "metadata.json").read_text())
    repro = html.split('<section id="reproduce">')[1]
    assert meta["scenario_sha256"] in repro and meta["command"] in repro
    assert f"icssim {meta['icssim_version']}" in html
    model = html.split('<section id="model">')[1].split("</section>")[0]
    for words in ("1. Objectives", "Patients (entities) and cohorts", "Queue disciplines", "Experimentation",
                  "Random numbers", "warm-up 1 year", "simpy " + meta["packages"]["simpy"]):
        assert words in model


def test_parameters_keep_their_source_comments(run_folder):
    params = pd.read_csv(run_folder / "parameters.csv", keep_default_na=False).set_index("path")
    assert params.loc["services.primary_care.cost_per_contact", "source"] == "PSSRU unit costs, GP consultation"
    assert params.loc["services.ed_team.staff.clinician", "source"] == "Agenda for Change band 7"
    assert params.loc["services.ed_team.staff.clinician", "value"].startswith("wte: 2")
    assert params.loc["pathway.steps.gp.next", "value"] == "to: assess, p: 0.85; to: watchful, p: 0.15"
    assert int(params.loc["scenario.population", "line"]) == 11
    html = (run_folder / "report.html").read_text()
    table = html.split('<section id="parameters">')[1].split("</section>")[0]
    assert "PSSRU unit costs, GP consultation" in table and "no source given" in table


def test_report_rebuilds_identically_from_stored_files(run_folder, tmp_path, capsys):
    before = (run_folder / "report.html").read_text()
    out = tmp_path / "again.html"
    assert cli.main(["report", str(run_folder), "--out", str(out)]) == 0
    assert out.read_text() == before
    assert cli.main(["report", str(tmp_path / "missing")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_pathway_edges_read_every_kind_of_route():
    s = load_scenario(FIXTURE)
    edges = {(e.src, e.dst, e.kind): e for e in pathway_graph.pathway_edges(s)}
    assert edges[("gp", "assess", "next")].label == "85%"
    assert " ".join(edges[("assess", "treat", "next")].label.split()) == "if age < 18; otherwise, 80%"
    assert edges[("assess", "watchful", "next")].label == "otherwise, 20%"
    assert edges[("assess", "gp", "on_reject")].label == "after 8 weeks"
    # deterioration while waiting leads to A&E from every step where patients wait, not from A&E itself
    assert {k[0] for k in edges if k[2] == "deterioration"} == {"gp", "assess", "treat"}
    rows = diagram_layout.layer_of(s, list(edges.values()))
    assert rows["gp"] == 0 and rows["assess"] == 1 and rows["watchful"] == rows["recovered"] == max(rows.values())


def test_flows_count_consecutive_visits_and_the_final_discharge():
    s = load_scenario(FIXTURE)
    visits = pd.DataFrame({
        "replication": [0] * 7 + [1] * 3,
        "pid": [0, 0, 1, 0, 0, 0, 1, 0, 0, 0],
        "step": ["gp", "assess", "gp", "gp", "assess", "treat", "assess", "gp", "assess", "ae"],
        "outcome": ["served", "rejected", "served", "served", "served", "served", "dropped_out",
                    "served", "emergency", "served"],
        "t_end": [1.0, 2, 2.5, 3, 4, 5, 6, 1, 2, 2.2],
    })
    patients = pd.DataFrame({"replication": [0, 0, 1], "pid": [0, 1, 0],
                             "outcome": ["completed", "dropped_out", "in_system"]})
    flows = pathway_graph.observed_flows(s, visits, patients).set_index(["src", "dst", "kind"])["count"]
    assert flows.to_dict() == {("gp", "assess", "next"): 4, ("assess", "gp", "on_reject"): 1,
                               ("assess", "treat", "next"): 1, ("treat", "recovered", "next"): 1,
                               ("assess", "ae", "deterioration"): 1}
    # moves before the warm-up ends are not counted
    late = pathway_graph.observed_flows(s, visits, patients, start_days=2.7).set_index(["src", "dst", "kind"])
    assert late["count"].sum() == 3
    edges = pathway_graph.attach_flows(pathway_graph.pathway_edges(s), flows.reset_index(), per=2.0)
    # deterioration from every waiting step is drawn as one edge from a single box, keeping each step's flow
    merged = [e for e in pathway_graph.merge_deterioration(edges) if e.kind == "deterioration"]
    assert len(merged) == 1 and merged[0].src == diagram.WAITING and merged[0].dst == "ae"
    assert merged[0].flow == 0.5 and merged[0].sources == {"gp": 0.0, "assess": 0.5, "treat": 0.0}
    by = {(e.src, e.dst, e.kind): e for e in edges}
    assert by[("gp", "assess", "next")].flow == 2.0 and by[("gp", "assess", "next")].share == 1.0
    assert by[("assess", "gp", "on_reject")].share == 1 / 3
    assert "2.0/yr (100%)" in by[("gp", "assess", "next")].label


def test_flows_from_a_run_match_the_patients_table(run_folder):
    s = scenario_from_dict(json.loads((run_folder / "scenario.json").read_text()))
    visits = pd.read_parquet(run_folder / "visits.parquet")
    patients = pd.read_parquet(run_folder / "patients.parquet")
    flows = pathway_graph.observed_flows(s, visits, patients)
    into = flows.groupby("dst")["count"].sum()
    for step, outcome in (("recovered", "completed"), ("watchful", "discharged_to_gp")):
        assert into[step] == (patients["outcome"].astype(str) == outcome).sum()


# ----------------------------------------------------------------------------- comparisons and sweeps
def _paired(a: pd.DataFrame, b: pd.DataFrame, names: tuple[str, str]) -> pd.DataFrame:
    """differences.csv rows (b minus a, paired by replication) from two kpis_by_replication tables."""
    rows = []
    a, b = a.set_index("replication"), b.set_index("replication")
    for kpi in a.columns:
        d = (b[kpi] - a[kpi]).to_numpy(dtype=float)
        pct = 100 * d / a[kpi].to_numpy(dtype=float) if (a[kpi] != 0).all() else np.full(len(d), np.nan)
        sd, pc = experiments.summarise(pd.DataFrame({"d": d})), experiments.summarise(pd.DataFrame({"p": pct}))
        info = kpi_info(kpi)
        rows.append({"kpi": kpi, "label": info.label, "unit": info.unit, "scenario": names[1], "baseline": names[0],
                     "diff_mean": sd.loc["d", "mean"], "diff_lower": sd.loc["d", "lower"],
                     "diff_upper": sd.loc["d", "upper"], "pct_mean": pc.loc["p", "mean"],
                     "pct_lower": pc.loc["p", "lower"], "pct_upper": pc.loc["p", "upper"]})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def compare_folder(run_folder, tmp_path_factory) -> Path:
    """A comparison folder in the layout `icssim compare` writes: the run above as the baseline and a
    variant with more staff that accepts every referral; summary and differences from the stored files."""
    import shutil

    raw = provenance(load_scenario(FIXTURE)).raw
    changed = json.loads(json.dumps(raw))
    changed["scenario"]["name"] = "integrated"
    changed["services"]["ed_team"]["staff"]["clinician"]["wte"] = 4
    changed["pathway"]["steps"]["assess"]["accept"] = "risk >= green"
    folder = tmp_path_factory.mktemp("cmp") / "report_demo_vs_integrated"
    folder.mkdir()
    shutil.copytree(run_folder, folder / "report_demo")
    results.write_run(experiments.run(scenario_from_dict(changed), replications=3, workers=1),
                      folder / "integrated", command="icssim run integrated.yaml -n 3")
    names = ("report_demo", "integrated")
    summary = [pd.read_csv(folder / n / "kpis.csv").assign(scenario=n) for n in names]
    pd.concat(summary)[["kpi", "label", "unit", "scenario", "mean", "lower", "upper", "half_width", "n"]].to_csv(
        folder / "summary.csv", index=False)
    diffs = _paired(*(pd.read_csv(folder / n / "kpis_by_replication.csv") for n in names), names)
    diffs.to_csv(folder / "differences.csv", index=False)
    (folder / "plots").mkdir()
    forest = diffs[diffs["kpi"].isin(["wait_to_treatment_median", "cost_per_year", "ae_attendances_per_year"])]
    renamed = forest.rename(columns={"pct_mean": "mean", "pct_lower": "lower", "pct_upper": "upper"})
    plots.save(plots_forest.forest(renamed, "integrated vs report_demo"), folder / "plots" / "forest.png")
    costs = []
    for n in names:
        k = pd.read_csv(folder / n / "kpis.csv").set_index("kpi")
        for svc in ("primary_care", "ed_team", "acute"):
            costs.append({"scenario": n, "service": svc, "mean": k.loc[f"cost_per_year_{svc}", "mean"],
                                  "half_width": k.loc[f"cost_per_year_{svc}", "half_width"],
                                  "total_mean": k.loc["cost_per_year", "mean"],
                                  "total_half_width": k.loc["cost_per_year", "half_width"]})
    plots.save(plots.cost_bars(pd.DataFrame(costs), "cost per year by service"), folder / "plots" / "costs.png")
    meta = {"kind": "compare", "scenarios": list(names), "baseline": "report_demo", "seed": 11, "replications": 3,
            "icssim_version": "0.1.0", "command": "icssim compare report_pathway.yaml integrated.yaml -n 3"}
    (folder / "metadata.json").write_text(json.dumps(meta))
    report.write_report(folder)
    return folder


def test_compare_report_answers_what_changes_and_how_sure(compare_folder):
    html = (compare_folder / "report.html").read_text()
    summary = html.split('<section id="summary">')[1].split("</section>")[0]
    assert "integrated compared with report_demo" in summary
    assert "For patients" in summary and "For costs" in summary and "How sure are we?" in summary
    headline = summary.split('<p class="headline">')[1].split("</p>")[0]
    assert "Its activity (contacts, bed-days and monitoring at unit costs) costs" in headline or \
        "does not change clearly" in headline
    assert "measures differ clearly" in headline and "over 3 paired replications" in headline
    assert not re.search(r"&lt;/?(strong|span|code)", html), "markup was escaped twice"
    diffs = pd.read_csv(compare_folder / "differences.csv").set_index("kpi")
    cost = diffs.loc["cost_per_year"]
    costs = summary.split("<h4>For costs</h4>")[1].split("</ul>")[0]
    if cost["diff_lower"] > 0 or cost["diff_upper"] < 0:  # a clear change gets its own sentence
        words = "clearly worse" if cost["diff_lower"] > 0 else "clearly better"
        line = next(li for li in costs.split("<li>") if "<strong>Total cost</strong>" in li)
        assert words in line
    else:  # otherwise it is listed among the measures with no clear difference
        line = next(li for li in costs.split("<li>") if "No clear difference" in li)
        assert "Total cost (" in line
    # with any difference unclear, "How sure are we?" says how to narrow it (and only then)
    unclear = "No clear difference" in summary
    assert ("--precision 0.1</code> adds them" in summary) == unclear
    # the clearest change for patients is stated with its direction
    assert "Patients with a rejected referral" in summary.split("<h4>For costs</h4>")[0]
    for ident in ("plots", "results", "differences", "inputs", "pathways", "model", "scenarios", "reproduce"):
        assert f'<section id="{ident}">' in html
    inputs = html.split('<section id="inputs">')[1].split("</section>")[0]
    assert "pathway.steps.assess.accept" in inputs and "risk &gt;= green" in inputs
    assert "services.ed_team.staff.clinician" in inputs
    # both plots and both pathway diagrams are embedded
    assert html.count("data:image/png;base64,") == 2 and html.count("data:image/svg+xml;base64,") == 2
    assert 'href="integrated/report.html"' in html
    # the tables name measures in the scenarios' words, as the first screen does, not by their ids
    tables = html.split('<section id="results">')[1].split('<section id="inputs">')[0]
    assert "Utilisation of Community eating disorder team: clinicians" in tables
    assert "median: Children and young people" in tables and "median: cyp" not in tables
    assert "Within standard:" not in tables and "ed_team/clinician" not in tables


def test_sweep_folders_get_a_sweep_report_even_from_sparse_tables(tmp_path):
    folder = tmp_path / "sweep1"
    (folder / "plots").mkdir(parents=True)
    (folder / "metadata.json").write_text(json.dumps({"kind": "sweep", "name": "staffing", "seed": 3,
                                                      "parameters": {"services.ed_team.staff.clinician.wte": [2, 4]}}))
    pd.DataFrame({"wte": [2, 4], "kpi": ["cost_per_year"] * 2, "mean": [1.5e5, 2.5e5]}).to_csv(
        folder / "summary.csv", index=False)
    fig = plots.band_over_time({"x": pd.DataFrame({0: [1.0, 2.0], 1: [1.5, 2.5]}, index=[0.0, 1.0])}, "t", "y")
    plots.save(fig, folder / "plots" / "cost_by_wte.png")
    html = report.write_report(folder).read_text()
    assert "staffing: sweep report" in html and "summary.csv" in html and "250,000" in html
    assert html.count("data:image/png;base64,") == 1
    assert "services.ed_team.staff.clinician.wte" in html


# ----------------------------------------------------------------------------- in a real browser
_CHECK_IMAGES = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-images', ok + '/' + imgs.length);
});
</script>"""


def _chromium() -> str | None:
    import shutil

    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture(scope="module")
def shipped_folder(tmp_path_factory) -> Path:
    """A short run of a shipped scenario (the integrated eating disorder pathway)."""
    from helpers import shipped

    out = tmp_path_factory.mktemp("shipped") / "ed_integrated"
    result = experiments.run(shipped("ed_integrated", horizon="1 year", warmup="3 months"), replications=2,
                             workers=1)
    results.write_run(result, out, command="icssim run scenarios/ed_integrated.yaml -n 2")
    return out


@pytest.mark.parametrize("which", ["run", "compare", "shipped"])
def test_report_renders_in_headless_chromium(which, request, tmp_path):
    import os
    import shutil
    import subprocess

    import matplotlib.image as mpimg

    browser = _chromium()
    if browser is None:
        skip_unless_required("browser",
                             "headless Chromium not found (Debian: apt-get install chromium); .ci/run installs it")
    folder = request.getfixturevalue(f"{which}_folder")
    html = (folder / "report.html").read_text()
    n_img = html.count("<img ")
    page = tmp_path / "page.html"
    page.write_text(html.replace("</body>", _CHECK_IMAGES + "\n</body>"))
    args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / f"{which}.png"
    # screenshot and DOM dump in parallel (separate profiles), to keep the test quick
    shooting = subprocess.Popen([*args[:-1], f"--user-data-dir={tmp_path / 'profile2'}", f"--screenshot={shot}",
                                 "--window-size=1280,2000", page.as_uri()],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dom = subprocess.run([*args, "--dump-dom", "--virtual-time-budget=5000", page.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    shooting.wait(timeout=120)
    assert shot.is_file(), "chromium wrote no screenshot"
    image = mpimg.imread(shot)
    assert image.shape[:2] == (2000, 1280)
    assert image[..., :3].std() > 0.05, "the screenshot is blank"
    if os.environ.get("ICSSIM_SCREENSHOTS"):
        shutil.copy(shot, Path(os.environ["ICSSIM_SCREENSHOTS"]) / shot.name)
    loaded = re.search(r'data-images="(\d+)/(\d+)"', dom)
    assert loaded, "the image check did not run in the browser"
    assert int(loaded.group(1)) == int(loaded.group(2)) == n_img >= 3
    for ident in ("summary", "plots", "model", "reproduce"):
        assert f'<section id="{ident}">' in dom
    assert "How sure are we?" in dom


def test_hours_scenario_report_uses_its_time_unit(verification_dir, tmp_path):
    """Spans without a unit are in the scenario's time unit (here hours), for the window and the flows."""
    raw = provenance(load_scenario(verification_dir / "mmc.yaml")).raw
    raw = json.loads(json.dumps(raw))
    raw["scenario"]["horizon"], raw["scenario"]["warmup"] = 2000, 200
    out = tmp_path / "mmc"
    results.write_run(experiments.run(scenario_from_dict(raw), replications=1, workers=1), out)
    html = (out / "report.html").read_text()
    assert "observation window of 0.205 years after a warm-up of 200 hours" in html
    data = report.RunData.load(out)
    flows = pathway_graph.observed_flows(data.scenario, data.table("visits"), data.table("patients"), data.warmup_days)
    per_year = flows.set_index(["src", "dst"])["count"] / data.window_years
    referrals = data.est["referrals_per_year"].mean
    assert per_year[("service", "done")] == pytest.approx(referrals, rel=0.02)


def test_the_model_section_describes_the_course_of_illness():
    """STRESS-DES model logic of a scenario with a health: block: its states, transitions by status,
    how long the treated hazards last, mortality and re-referral, as the scenario gives them."""
    from icssim.report.health_model import health_model_html
    root = Path(__file__).resolve().parents[1] / "scenarios"
    s = load_scenario(root / "ed_fragmented.yaml")
    html = health_model_html(s)
    assert html.startswith("<h3>2.6 Course of illness</h3>")
    assert "for at least 12 months from each start of treatment, also after leaving it" in html
    assert html.count("<tr>") - 2 == len(s.health.states) + len(s.health.transitions)  # less the header rows
    assert "0.024 per month" in html and "exp(−0.15 × years beyond 12 months)" in html
    assert "relapse: after leaving with completed" in html and "probability 0.6" in html
    no_window = s.model_copy(update={"health": s.health.model_copy(update={"treated_hazards_for": None})})
    assert "also after leaving it" not in health_model_html(no_window)
    assert health_model_html(load_scenario(root / "urgent_mh_fragmented.yaml")) == ""


def test_a_certain_but_negligible_difference_reads_as_negligible():
    """A certain difference of −£14 in £6.4m (no spread, no means to compare): negligible, not
    "clearly better"."""
    from types import SimpleNamespace
    from icssim.report.compare_text import difference_verdict
    tiny = SimpleNamespace(diff_lower=-14.04, diff_upper=-14.04, pct_lower=-0.00022, pct_upper=-0.00022)
    assert difference_verdict(tiny, "lower") == ("neutral", "clearly different but negligible")
    real = SimpleNamespace(diff_lower=-900.0, diff_upper=-100.0, pct_lower=-1.2, pct_upper=-0.2)
    assert difference_verdict(real, "lower") == ("good", "clearly better")
    straddles = SimpleNamespace(diff_lower=-1e-3, diff_upper=1e-3, pct_lower=-1e-6, pct_upper=1e-6)
    assert difference_verdict(straddles, "lower")[1] == "no clear difference"
    no_pct = SimpleNamespace(diff_lower=1.0, diff_upper=2.0)
    assert difference_verdict(no_pct, "higher") == ("good", "clearly better")


def test_the_model_says_how_arrivals_behave_in_this_scenario():
    """The report said "a constant average rate: no seasonality, trends or growth" of the projection,
    whose demand grows and is seasonal (a user's review)."""
    from icssim.report.model_section import arrival_rates

    root = Path(__file__).resolve().parents[1] / "scenarios"
    assert "constant rate: no seasonality" in arrival_rates(load_scenario(root / "ed_fragmented.yaml"))
    projected = arrival_rates(load_scenario(root / "ed_projection_2026_2031.yaml"))
    assert "follows the scenario's demand" in projected and "constant" not in projected


def test_a_value_takes_no_source_from_a_heading_or_another_file(tmp_path):
    """ed_integrated's "# fragmented-only steps removed", a heading over `pathway.steps`, was given as
    the source of 80 values, most of them in ed_fragmented.yaml (a user's review); a routing branch's
    own comment was not read."""
    from icssim.report.parameters import parameter_rows

    rows = parameter_rows(load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "ed_integrated.yaml"))
    rows = rows.set_index("path")
    assert not rows["source"].str.contains("fragmented-only steps removed").any()
    assert rows.loc["pathway.steps.gp.kind", "source"] == ""  # ed_fragmented.yaml gives it no source
    assert rows.loc["pathway.steps.access.next", "source"].startswith("assumption: 30% self-refer")
    assert rows.loc["pathway.steps.adult_inpatient.next[0].p", "source"].startswith("domain: Waits, readmission 14%")


def test_a_warning_in_a_report_is_escaped_with_its_command_as_code():
    from icssim.report.pieces import text_html

    assert text_html("lists < 5 & rising: run `icssim warmup`") == \
        "lists &lt; 5 &amp; rising: run <code>icssim warmup</code>"


def test_a_run_whose_list_still_rises_says_so_in_its_summary_and_assumptions(run_folder, tmp_path):
    """The steady-state test of the run report (computed once, for both places): the report fixture
    at four times its demand overflows its team's caseload, and its report says so; the fixture as
    it stands settles, and its report does not."""
    raw = yaml.safe_load(FIXTURE.read_text())
    for cohort in raw["cohorts"].values():
        cohort["rate_per_100k_per_year"] *= 4
    scenario = scenario_from_dict(raw, name="report_demo overloaded")
    result = experiments.run(scenario, replications=2, workers=1)
    out = tmp_path / "overloaded"
    results.write_run(result, out, command="icssim run overloaded.yaml -n 2")
    html = (out / "report.html").read_text()
    summary = html.split('<section id="summary">')[1].split("</section>")[0]
    assumptions = html.split('<section id="assumptions">')[1].split("</section>")[0]
    assert "Not in a steady state" in summary and "report_demo is not in a steady state" in summary
    assert "rises by" in summary
    assert "there is no steady state" in assumptions
    settled = (run_folder / "report.html").read_text()
    assert "Not in a steady state" not in settled and "there is no steady state" not in settled


def test_the_compare_report_reads_a_missing_service_cost_from_summary_csv():
    """A service one scenario lacks costs it £0 there, and summary.csv now says so (Comparison.summary);
    the report used to fill the row from differences.csv with a setdefault of its own."""
    from html import unescape
    from types import SimpleNamespace

    from icssim.experiments import Comparison, Replication, RunResult
    from icssim.report.compare import compare_summary_html
    from icssim.results import _labelled

    def result(name, **kpis):
        reps = [Replication(r, {k: v[r] for k, v in kpis.items()}, None) for r in range(3)]
        return RunResult(SimpleNamespace(scenario=SimpleNamespace(name=name)), 0, reps)

    a = result("a", cost_per_year=[10e6, 12e6, 11e6], cost_per_year_adult_ed=[4e6, 5e6, 4.5e6])
    b = result("b", cost_per_year=[11e6, 12.5e6, 11.5e6], cost_per_year_ed_service=[6e6, 6.1e6, 6.2e6])
    both = Comparison([a, b], [])
    html = unescape(compare_summary_html(_labelled(both.summary()), _labelled(both.differences()), "a"))
    assert "Cost per year: ed service</strong>: £0 → £6.10 million a year (+£6.10 million a year" in html
    assert "Cost per year: adult ed</strong>: £4.50 million → £0 a year (−£4.50 million a year" in html
