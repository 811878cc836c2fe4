"""``icssim app`` without a browser: pages render, a bad value gets the command line's message
inline, saving writes an ``extends`` file with only the change, a run and a comparison land in
results/ as the command line writes them, and nothing outside the working directory is served
or written. Each test works in a folder of its own holding a small scenario (about 0.2 s a replication)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the app's extra is not installed: pip install '.[app]'")
pytest.importorskip("httpx", reason="the app's tests need httpx (in the app extra)")

with warnings.catch_warnings():  # Starlette 1.x prefers httpx2 for its test client; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from helpers import wait_for  # noqa: E402
from icssim.app.server import create_app  # noqa: E402
from icssim.app.scenario_file import differences  # noqa: E402
from icssim.app.workspace import Workspace  # noqa: E402
from icssim.scenario import load_scenario  # noqa: E402

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "report_pathway.yaml"
WTE = "services.ed_team.staff.clinician.wte"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "scenarios").mkdir()
    text = FIXTURE.read_text().replace("horizon: 3 years", "horizon: 2 years")
    (tmp_path / "scenarios" / "demo.yaml").write_text(text.replace("name: report_demo", "name: demo"))
    (tmp_path / "scenarios" / "demo_more.yaml").write_text(
        "extends: demo.yaml\nscenario:\n  name: demo_more\nservices:\n  ed_team:\n    staff:\n"
        "      clinician: {wte: 3}   # one more clinician\n")
    return tmp_path


def test_pages_render(client):
    home = client.get("/")
    assert home.status_code == 200 and "/scenarios/demo" in home.text and "/scenarios/demo_more" in home.text
    page = client.get("/scenarios/demo_more")
    assert page.status_code == 200
    assert f'name="{WTE}" value="3"' in page.text            # the value as the extending file sets it
    assert "one more clinician" in page.text                 # its source comment
    assert "PSSRU unit costs, GP consultation" in page.text  # and a value's of the base file
    assert "scenarios/demo_more.yaml:7" in page.text         # where it was read from
    assert "builds on" in page.text and "demo.yaml" in page.text
    svg = client.get("/scenarios/demo/pathway.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content[:500]
    for url in ("/compare", "/explore", "/explore?scenario=demo", "/results"):
        assert client.get(url).status_code == 200, url


def test_a_bad_value_gets_the_clis_message_inline(client, workdir):
    page = client.post("/scenarios/demo", data={WTE: "-2", "services.ed_team.caseload.per_wte": "lots"})
    assert page.status_code == 422
    assert f"{WTE}: expected a number at least 0, found -2" in page.text
    assert "services.ed_team.caseload.per_wte: expected a number, found &#39;lots&#39;" in page.text
    assert 'aria-invalid="true"' in page.text
    assert 'value="lots"' in page.text                        # what was typed stays in the form
    assert sorted(p.name for p in (workdir / "scenarios").iterdir()) == ["demo.yaml", "demo_more.yaml"]


def test_save_writes_an_extends_file_with_only_the_change(client, workdir):
    values = {WTE: "4", "scenario.horizon": "2 years", "action": "save", "new_name": "demo_four"}
    saved = client.post("/scenarios/demo", data=values, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/scenarios/demo_four?saved=1"
    text = (workdir / "scenarios" / "demo_four.yaml").read_text()
    assert "extends: demo.yaml" in text
    assert "wte: 4  # was 2 (scenarios/demo.yaml:" in text and "Agenda for Change band 7" in text
    new = load_scenario(workdir / "scenarios" / "demo_four.yaml")
    base = load_scenario(workdir / "scenarios" / "demo.yaml")
    from icssim.scenario import provenance

    assert differences(provenance(base).raw, provenance(new).raw) == {
        "scenario": {"name": "demo_four"}, "services": {"ed_team": {"staff": {"clinician": {"wte": 4}}}}}
    assert "horizon" not in text                                # unchanged values are not repeated
    assert "Saved as scenarios/demo_four.yaml" in client.get(saved.headers["location"]).text
    again = client.post("/scenarios/demo", data=values)
    assert again.status_code == 422 and "already exists" in again.text
    # at the top, where the page opens, linked to the name field (it was only beside the field, far below)
    top = again.text.split('<form method="post" action="/scenarios/demo"')[0]
    assert 'role="alert"' in top and '<a href="#new-name">' in top and "already exists" in top


def test_save_refuses_a_name_that_is_a_path(client, workdir):
    for name in ("../evil", "sub/x", ".hidden", ""):
        page = client.post("/scenarios/demo", data={WTE: "4", "action": "save", "new_name": name})
        assert page.status_code == 422 and "cannot name a scenario" in page.text
    assert not (workdir / "evil.yaml").exists()
    assert sorted(p.name for p in (workdir / "scenarios").iterdir()) == ["demo.yaml", "demo_more.yaml"]


def test_paths_outside_the_working_directory_are_refused(client, workdir):
    (workdir.parent / "secret.txt").write_text("no")
    (workdir / "results").mkdir()
    (workdir / "results" / "link").symlink_to(workdir.parent)
    for url in ("/results/..%2Fsecret.txt", "/results/link/secret.txt", "/results/%2E%2E/scenarios/demo.yaml"):
        response = client.get(url)
        assert response.status_code in (403, 404) and "no" != response.text, url
    assert client.get("/scenarios/..%2F..%2Fsecret").status_code == 404
    assert client.get("/scenarios/%2Fetc%2Fpasswd").status_code == 404
    ws = Workspace(workdir)
    with pytest.raises(Exception, match="not a scenario name"):
        ws.scenario_path("../secret")
    run = client.post("/run", data={"scenario": "../../secret", "replications": "1"})
    assert run.status_code == 400 and "not a scenario name" in run.text


def test_requests_from_elsewhere_are_refused(workdir):
    app = create_app(workdir, workers=1)                       # the hosts the server allows: this machine only
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        other = TestClient(app, base_url="http://evil.example")
        assert other.get("/").status_code == 400                # DNS rebinding: wrong Host
        local = TestClient(app, base_url="http://127.0.0.1:8765")
        assert local.get("/").status_code == 200
        posted = local.post("/run", data={"scenario": "demo", "replications": "1"},
                            headers={"Origin": "http://evil.example"})
        sandboxed = local.post("/run", data={"scenario": "demo", "replications": "1"}, headers={"Origin": "null"})
        own = local.post("/scenarios/demo", data={WTE: "-1"}, headers={"Origin": "http://127.0.0.1:8765"})
    assert posted.status_code == 403 and sandboxed.status_code == 403 and not (workdir / "results").exists()
    assert own.status_code == 422                                # the app's own page may post


def test_a_run_lands_in_results_as_the_cli_writes_it(client, workdir):
    started = client.post("/run", data={"scenario": "demo", "replications": "2"}, follow_redirects=False)
    assert started.status_code == 303
    status = wait_for(client, started.headers["location"])
    assert status["state"] == "done", status["message"]
    folder = workdir / "results" / "demo"
    assert status["folder"] == "demo"
    for name in ("kpis.csv", "kpis_by_replication.csv", "metadata.json", "report.html", "scenario.json",
                 "parameters.csv"):
        assert (folder / name).is_file(), name
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["kind"] == "run" and "# from icssim app" in meta["command"]
    assert len((folder / "kpis_by_replication.csv").read_text().splitlines()) == 3
    page = client.get("/results/demo")
    assert page.status_code == 200 and 'src="/results/demo/report.html"' in page.text
    assert client.get("/results/demo/report.html").status_code == 200
    # a second run of the same scenario gets a folder of its own; the first is untouched
    first = (folder / "metadata.json").read_bytes()
    again = wait_for(client, client.post("/run", data={"scenario": "demo", "replications": "1"},
                                         follow_redirects=False).headers["location"])
    assert again["state"] == "done" and again["folder"] == "demo-2"
    assert (folder / "metadata.json").read_bytes() == first
    assert "demo-2" in client.get("/results").text


def test_compare_and_cancel(client, workdir):
    started = client.post("/compare", data={"a": "demo", "b": "demo_more", "replications": "2"},
                          follow_redirects=False)
    assert started.status_code == 303
    status = wait_for(client, started.headers["location"])
    assert status["state"] == "done", status["message"]
    folder = workdir / "results" / "compare-demo-vs-demo_more"
    assert (folder / "differences.csv").is_file() and (folder / "report.html").is_file()
    assert (folder / "demo" / "kpis.csv").is_file() and (folder / "demo_more" / "kpis.csv").is_file()
    same = client.post("/compare", data={"a": "demo", "b": "demo", "replications": "2"})
    assert same.status_code == 422 and "at least one other scenario" in same.text

    long = client.post("/run", data={"scenario": "demo", "replications": "60"}, follow_redirects=False)
    job = long.headers["location"]
    assert client.post(job + "/cancel").status_code == 200      # redirected back to the job's page
    status = wait_for(client, job)
    assert status["state"] == "cancelled" and status["done"] < 60
    assert not (workdir / "results" / "demo").exists()
    assert not [p for p in (workdir / "results").iterdir() if p.name.startswith(".") and p.name != ".app"]


def test_a_job_runs_in_its_own_process_while_the_server_answers(client, workdir):
    """The simulation, the unpickling of its results and the writing of its outputs happen in the
    job's process, not the server's: pages are answered while it runs, and cancel ends that process
    and keeps the finished replications as ``icssim run`` does when interrupted."""
    jobs = client.app.state.jobs
    location = client.post("/run", data={"scenario": "demo", "replications": "200"},
                           follow_redirects=False).headers["location"]
    job = jobs.all()[0]
    deadline = time.time() + 60
    while client.get(location + "/status").json()["done"] < 2 and time.time() < deadline:
        time.sleep(0.05)
    assert job.pid is not None and job.pid != os.getpid()
    os.kill(job.pid, 0)                                           # the job's process is alive
    assert [t for t in threading.enumerate() if t.name == f"icssim-app-{job.id}"]  # followed by a thread
    before = client.get(location + "/status").json()["done"]
    for page in ("/", "/scenarios/demo", "/compare", "/results", location):
        assert client.get(page).status_code == 200, page
    while client.get(location + "/status").json()["done"] == before and time.time() < deadline:
        time.sleep(0.05)                                          # it went on meanwhile
    assert client.post(location + "/cancel").status_code == 200
    status = wait_for(client, location)
    assert status["state"] == "cancelled" and status["done"] < 200
    assert job.data["process"].exitcode is not None               # the process has ended
    kept = int(status["message"].split("kept ")[1].split()[0])
    assert status["folder"] == "demo-interrupted" and kept >= 2
    folder = workdir / "results" / "demo-interrupted"
    assert len((folder / "kpis_by_replication.csv").read_text().splitlines()) == kept + 1
    assert json.loads((folder / "metadata.json").read_text())["command"].endswith("# interrupted")
    assert not (workdir / "results" / "demo").exists()


def test_a_cancelled_comparison_keeps_its_finished_pairs(client, workdir):
    """Cancelled, a comparison keeps the replications finished for both scenarios, as
    ``icssim compare`` does when interrupted (results/compare-...-interrupted/)."""
    location = client.post("/compare", data={"a": "demo", "b": "demo_more", "replications": "200"},
                           follow_redirects=False).headers["location"]
    deadline = time.time() + 60
    while client.get(location + "/status").json()["done"] < 6 and time.time() < deadline:
        time.sleep(0.05)
    assert client.post(location + "/cancel").status_code == 200
    status = wait_for(client, location)
    assert status["state"] == "cancelled" and status["done"] < 400
    kept = int(status["message"].split("kept ")[1].split()[0])
    assert status["folder"] == "compare-demo-vs-demo_more-interrupted" and kept >= 2, status["message"]
    folder = workdir / "results" / status["folder"]
    for name in ("demo", "demo_more"):
        rows = (folder / name / "kpis_by_replication.csv").read_text().splitlines()
        assert len(rows) == kept + 1
    assert (folder / "differences.csv").is_file()
    assert json.loads((folder / "metadata.json").read_text())["command"].endswith("# interrupted")
    assert not (workdir / "results" / "compare-demo-vs-demo_more").exists()


def test_compare_three_scenarios(client, workdir):
    (workdir / "scenarios" / "demo_less.yaml").write_text(
        "extends: demo.yaml\nscenario:\n  name: demo_less\nservices:\n  ed_team:\n    staff:\n"
        "      clinician: {wte: 1}   # one clinician fewer\n")
    form = client.get("/compare?b=demo_more").text
    assert 'value="demo_more" checked' in form and 'value="demo_less">' in form
    started = client.post("/compare", data={"a": "demo", "b": ["demo_more", "demo_less"], "replications": "2"},
                          follow_redirects=False)
    status = wait_for(client, started.headers["location"])
    assert status["state"] == "done", status["message"]
    folder = workdir / "results" / "compare-demo-vs-demo_more-vs-demo_less"
    assert status["folder"] == folder.name
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["scenarios"] == ["demo", "demo_more", "demo_less"]
    assert meta["command"].startswith("icssim compare scenarios/demo.yaml scenarios/demo_more.yaml "
                                      "scenarios/demo_less.yaml -n 2")
    diffs = (folder / "differences.csv").read_text()
    assert "demo_more" in diffs and "demo_less" in diffs
    refused = client.post("/compare", data={"a": "demo", "b": ["demo_more", "demo_less"], "replications": "2",
                                            "equal_budget": "1"})
    assert refused.status_code == 422 and "exactly two scenarios" in refused.text


def test_what_if(client, workdir):
    bad = client.post("/explore", data={"scenario": "demo", "key": WTE, "values": "2, -1", "replications": "2"})
    assert bad.status_code == 422 and "expected a number at least 0, found -1" in bad.text
    started = client.post("/explore", data={"scenario": "demo", "key": WTE, "values": "2, 3",
                                            "replications": "2"}, follow_redirects=False)
    status = wait_for(client, started.headers["location"])
    assert status["state"] == "done", status["message"]
    folder = workdir / "results" / status["folder"]
    assert (folder / "whatif.png").is_file() and (folder / "whatif.csv").is_file()
    assert "whatif.png" in client.get(f"/results/{status['folder']}").text


CASELOAD = "services.ed_team.caseload.per_wte"


def test_what_if_over_two_numbers_reuses_cached_runs(client, workdir):
    from icssim.tables import read_csv

    form = {"scenario": "demo", "key": WTE, "values": "2, 3", "key2": CASELOAD, "values2": "20, 30",
            "replications": "2"}
    first = wait_for(client, client.post("/explore", data=form, follow_redirects=False).headers["location"])
    assert first["state"] == "done", first["message"]
    folder = workdir / "results" / first["folder"]
    assert folder.name == "whatif-demo-" + WTE.replace(".", "_") + "-x-" + CASELOAD.replace(".", "_")
    table = read_csv(folder / "whatif.csv")
    assert sorted(set(zip(table[WTE], table[CASELOAD]))) == [(2, 20), (2, 30), (3, 20), (3, 30)]
    assert not table["cached"].any()
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["parameters"] == [WTE, CASELOAD] and meta["points_from_cache"] == 0
    # the same runs again, plus one new value: only the new value's two runs are made
    again = dict(form, values="2, 3, 4")
    second = wait_for(client, client.post("/explore", data=again, follow_redirects=False).headers["location"])
    assert second["state"] == "done" and "4 of 6 runs came from the cache" in second["message"]
    assert "demo at 6 combination(s) of" in client.get(f"/results/{second['folder']}").text
    assert "4 of them taken from earlier runs" in client.get(f"/results/{second['folder']}").text
    table2 = read_csv(workdir / "results" / second["folder"] / "whatif.csv")
    old = table2[table2["cached"]].drop(columns="cached").sort_values([WTE, CASELOAD, "kpi"]).reset_index(drop=True)
    assert old.equals(table.drop(columns="cached").sort_values([WTE, CASELOAD, "kpi"]).reset_index(drop=True))
    assert sorted(set(table2.loc[~table2["cached"], WTE])) == [4]
    # a cached run is the run: the same scenario run afresh gives the same means
    from icssim import experiments
    from icssim.app.cache import summary_rows

    scenario = client.app.state.workspace.edit(client.app.state.workspace.load("demo"), {WTE: "3", CASELOAD: "30"})[1]
    fresh = {r["kpi"]: r["mean"] for r in summary_rows(experiments.run(scenario, 2, workers=1))}
    stored = table[(table[WTE] == 3) & (table[CASELOAD] == 30)].set_index("kpi")["mean"]
    assert all(stored[k] == pytest.approx(fresh[k]) for k in ("wait_to_treatment_mean", "cost_per_year"))
    # other replications or another seed are other runs
    third = wait_for(client, client.post("/explore", data=dict(form, replications="3"),
                                         follow_redirects=False).headers["location"])
    assert "cache" not in third["message"]


def test_what_if_refuses_what_it_cannot_run(client):
    cases = [({"key2": WTE, "values2": "1, 2"}, "must differ from the first"),
             ({"key2": CASELOAD, "values2": "1"}, "give 2 to 8 different values"),
             ({"key2": "services.nope", "values2": "1, 2"}, "is not a number of scenarios/demo.yaml"),
             ({"values": "1,2,3,4,5,6,7", "key2": CASELOAD, "values2": "1,2,3,4,5,6"}, "42 combinations"),
             ({"key2": CASELOAD, "values2": "10, -5"}, "services / ed_team › caseload › per wte = -5: expected")]
    for extra, message in cases:
        form = {"scenario": "demo", "key": WTE, "values": "2, 3", "replications": "2", **extra}
        page = client.post("/explore", data=form)
        assert page.status_code == 422 and message in page.text, (extra, page.text[:2000])


def test_the_command_is_registered_and_light():
    import subprocess
    import sys

    code = ("import sys; from icssim.cli import build_parser; p = build_parser(); "
            "a = p.parse_args(['app', '--port', '8123', '--no-browser']); "
            "print(a.port, a.no_browser, 'starlette' in sys.modules, 'uvicorn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["8123", "True", "False", "False"]


def test_the_server_listens_on_127_0_0_1_only():
    from icssim.app.serve import HOST, bind

    sock = bind(0)
    try:
        assert HOST == "127.0.0.1" and sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()


def test_scenario_copies_shipped_files_unchanged(workdir):
    shutil.copy(FIXTURE, workdir / "scenarios" / "copy.yaml")
    ws = Workspace(workdir)
    s = ws.load("copy")
    raw, edited, inline, other = ws.edit(s, {})
    assert edited is not None and not inline and not other
    assert ws.load("copy") is s                                    # read once while the file is unchanged


def test_stopping_the_server_cancels_unfinished_runs(client, workdir):
    jobs = client.app.state.jobs
    started = client.post("/run", data={"scenario": "demo", "replications": "60"}, follow_redirects=False)
    assert started.status_code == 303
    assert jobs.stop_all() == 1
    assert [j.state for j in jobs.all()] == ["cancelled"]
    assert [p.name for p in (workdir / "results").iterdir()] == [".app"]   # the job's record only


def test_compare_at_equal_budgets(client, workdir):
    started = client.post("/compare", data={"a": "demo", "b": "demo_more", "replications": "2", "equal_budget": "1"},
                          follow_redirects=False)
    status = wait_for(client, started.headers["location"])
    assert status["state"] == "done", status["message"]
    folder = workdir / "results" / "compare-demo-vs-demo_more-equal-budget"
    assert status["folder"] == folder.name
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["scenarios"] == ["demo", "demo_at_demo_more_budget", "demo_more_at_demo_budget", "demo_more"]
    assert "--equal-budget" in meta["command"]


def _small_psa(workdir: Path) -> None:
    """Two short, small versions of the shipped ED strategies (0.1 s a run) and a PSA file over them."""
    from helpers import SCENARIOS

    for strategy in ("fragmented", "integrated"):
        (workdir / "scenarios" / f"small_{strategy}.yaml").write_text(
            f"extends: {SCENARIOS / f'ed_{strategy}.yaml'}\nscenario:\n  name: small_{strategy}\n"
            "  horizon: 2 years\n  warmup: 1 year\n  population: 150000\nhealth:\n  follow_up: 2 years\n")
    (workdir / "scenarios" / "sweeps").mkdir()
    (workdir / "scenarios" / "sweeps" / "tiny_psa.yaml").write_text(
        "# a PSA for the app's tests\nsweep: {name: tiny_psa, seed: 5, replications: 1}\n"
        "base: {fragmented: ../small_fragmented.yaml, integrated: ../small_integrated.yaml}\n"
        "design: psa\nsamples: 50   # the file's own draws\nparameters:\n"
        "  health.states.ill_moderate.utility: {dist: beta, mean: 0.75, sd: 0.05}\n"
        "  services.adult_inpatient.cost_per_bed_day: {dist: gamma, mean: 1264, sd: 126}\n"
        "kpis: [qalys_per_person, cost_per_person]\n")
    (workdir / "scenarios" / "sweeps" / "grid.yaml").write_text(
        "sweep: {name: grid}\nbase: ../demo.yaml\nparameters:\n  services.ed_team.staff.clinician.wte: [2, 3]\n")
    (workdir / "scenarios" / "sweeps" / "national_psa.yaml").write_text(
        "sweep: {name: national_psa}\nbase: ../demo.yaml\ndesign: psa\nsamples: 5\n"
        "areas: [{name: north, population: 100000}, {name: south, population: 200000}]\nparameters:\n"
        "  services.ed_team.staff.clinician.cost_per_hour: {dist: gamma, mean: 68, sd: 7}\n")


def test_a_psa_from_the_app_is_the_clis_psa_with_fewer_draws(client, workdir, monkeypatch):
    from helpers import run_cli

    _small_psa(workdir)
    page = client.get("/psa")
    assert page.status_code == 200 and 'value="tiny_psa"' in page.text and "grid" not in page.text
    assert 'value="national_psa"' not in page.text and "python -m icssim.national run" in page.text
    started = client.post("/psa", data={"sweep": "tiny_psa", "draws": "3", "replications": "1"},
                          follow_redirects=False)
    assert started.status_code == 303, started.text
    status = wait_for(client, started.headers["location"], timeout=120)
    assert status["state"] == "done", status["message"]
    assert status["folder"] == "tiny_psa_3_draws" and status["total"] == 6
    derived = workdir / "scenarios" / "sweeps" / "tiny_psa_3_draws.yaml"
    text = derived.read_text()
    assert "\nsamples: 3 " in text and "# the file's own draws" in text and "name: tiny_psa_3_draws" in text
    folder = workdir / "results" / "tiny_psa_3_draws"
    for name in ("psa.csv", "ceac.csv", "evpi.csv", "psa.json", "plots/psa_plane.png", "plots/ceac.png",
                 "report.html"):
        assert (folder / name).is_file(), name
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["command"].startswith("icssim psa scenarios/sweeps/tiny_psa_3_draws.yaml")
    shown = client.get("/results/tiny_psa_3_draws").text
    assert "PSA over 3 parameter draws" in shown and "plots/psa_plane.png" in shown and "plots/ceac.png" in shown
    # started again, it resumes: every run is stored, none is made
    again = wait_for(client, client.post("/psa", data={"sweep": "tiny_psa", "draws": "3", "replications": "1"},
                                         follow_redirects=False).headers["location"])
    assert again["state"] == "done" and "(0 run(s) now, 6 in all)" in again["message"]
    # the command line resumes the same folder from the same file: nothing left to run
    monkeypatch.chdir(workdir)
    before = (folder / "psa.csv").read_bytes()
    code, err = run_cli(["psa", "scenarios/sweeps/tiny_psa_3_draws.yaml", "--yes", "-q", "-w", "1"])
    assert code == 0, err
    assert (folder / "psa.csv").read_bytes() == before


def test_a_psa_refuses_what_it_cannot_run(client, workdir):
    _small_psa(workdir)
    cases = [({"sweep": "grid"}, "not a PSA sweep file"), ({"sweep": "../x"}, "not a sweep file"),
             ({"draws": "1"}, "draws must be a whole number from 2"), ({"draws": "lots"}, "draws must be a whole"),
             ({"draws": "1000", "replications": "3"}, "6,000 runs"),
             ({"sweep": "national_psa"}, "runs across areas (ICSs): run it with `python -m icssim.national")]
    for extra, message in cases:
        page = client.post("/psa", data={"sweep": "tiny_psa", "draws": "3", "replications": "1", **extra})
        assert page.status_code == 422 and message in page.text, (extra, page.text[-3000:])
    (workdir / "scenarios" / "sweeps" / "demo_psa.yaml").write_text(   # the demo has no health: block
        "sweep: {name: demo_psa}\nbase: {as_is: ../demo.yaml, more: ../demo_more.yaml}\ndesign: psa\nsamples: 3\n"
        "parameters:\n  services.ed_team.staff.clinician.cost_per_hour: {dist: gamma, mean: 68, sd: 7}\n")
    page = client.post("/psa", data={"sweep": "demo_psa", "draws": "3", "replications": "1"})
    assert page.status_code == 422, page.text[-3000:]
    assert "strategies as_is, more have no course of illness" in page.text
    assert "a bug in icssim" not in page.text
    (workdir / "scenarios" / "sweeps" / "tiny_psa_4_draws.yaml").write_text("# someone else's\n")
    page = client.post("/psa", data={"sweep": "tiny_psa", "draws": "4", "replications": "1"})
    assert page.status_code == 422 and "exists and says something else" in page.text
    assert not (workdir / "results").exists()


def _psa_start(page: str) -> dict[str, str]:
    """What the PSA form starts at: the file chosen, its draws and replications fields, and the
    note on the app's limits (empty when hidden)."""
    import re

    form = re.search(r'<form method="post" action="/psa".*?</form>', page, re.S)
    assert form, page[-3000:]
    chosen = re.search(r'<option value="([^"]+)"[^>]* selected', form.group(0))
    start = dict(re.findall(r'name="(draws|replications)" value="([^"]*)"', form.group(0)))
    note = re.search(r'<p class="hint" id="psa-limit"( hidden)?>(.*?)</p>', form.group(0), re.S)
    assert note, form.group(0)
    return {"sweep": chosen.group(1) if chosen else "", **start, "note": "" if note.group(1) else note.group(2)}


def test_the_psa_form_starts_at_the_files_own_draws_and_replications(client, workdir):
    """Pressing Run without changing the form runs the PSA file itself (the shipped ED PSA's 200
    draws x 2 replications), not a noisier copy of it; a file larger than the app starts at once
    starts at the most the app allows, and the form says so."""
    from helpers import SCENARIOS

    from icssim.app.psa import MAX_DRAWS, MAX_RUNS, sweep_file_for

    _small_psa(workdir)
    sweeps = workdir / "scenarios" / "sweeps"
    for name in ("ed_fragmented.yaml", "ed_integrated.yaml"):
        shutil.copy(SCENARIOS / name, workdir / "scenarios" / name)
    shutil.copytree(SCENARIOS / "data", workdir / "scenarios" / "data")
    shutil.copy(SCENARIOS / "sweeps" / "ed_psa.yaml", sweeps / "ed_psa.yaml")
    tiny = (sweeps / "tiny_psa.yaml").read_text()
    (sweeps / "wide_psa.yaml").write_text(tiny.replace("samples: 50", "samples: 5000"))
    (sweeps / "many_psa.yaml").write_text(tiny.replace("samples: 50", "samples: 1000")
                                          .replace("replications: 1", "replications: 3"))
    ed = _psa_start(client.get("/psa?sweep=ed_psa").text)
    assert ed == {"sweep": "ed_psa", "draws": "200", "replications": "2", "note": ""}
    assert _psa_start(client.get("/psa").text)["sweep"] == "ed_psa"       # the first file, as the browser shows it
    assert _psa_start(client.get("/psa?sweep=tiny_psa").text) == {
        "sweep": "tiny_psa", "draws": "50", "replications": "1", "note": ""}
    wide = _psa_start(client.get("/psa?sweep=wide_psa").text)
    assert (wide["draws"], wide["replications"]) == (str(MAX_DRAWS), "1")
    assert "5,000 draws" in wide["note"] and "icssim psa scenarios/sweeps/wide_psa.yaml" in wide["note"]
    many = _psa_start(client.get("/psa?sweep=many_psa").text)
    assert (many["draws"], many["replications"]) == (str(MAX_RUNS // (2 * 3)), "3")
    assert f"{MAX_RUNS:,} runs" in many["note"]
    page = client.get("/psa").text   # each file's own, for the page to switch to when another is chosen
    assert 'value="ed_psa" data-draws="200" data-replications="2" data-limit=""' in page
    assert 'value="tiny_psa" data-draws="50" data-replications="1" data-limit=""' in page
    for name, start in (("ed_psa", ed), ("tiny_psa", {"draws": "50", "replications": "1"})):
        assert sweep_file_for(sweeps, name, int(start["draws"]), int(start["replications"])) == sweeps / f"{name}.yaml"
    sweep_file_for(sweeps, "many_psa", int(many["draws"]), 3)              # within the app's limits
    assert sorted(p.name for p in sweeps.glob("*_draws*.yaml")) == ["many_psa_666_draws.yaml"]
    typed = client.post("/psa", data={"sweep": "tiny_psa", "draws": "1", "replications": "4"})
    assert typed.status_code == 422 and _psa_start(typed.text)["draws"] == "1"   # what was typed stays
    assert _psa_start(typed.text)["replications"] == "4"


def test_the_cache_key_follows_the_waiting_list_file(workdir):
    """A scenario that reads today's waiting list from a CSV is another run when the CSV changes."""
    from helpers import SCENARIOS

    from icssim.app.cache import run_key

    shutil.copy(SCENARIOS / "ed_projection_2026_2031.yaml", workdir / "scenarios" / "projection.yaml")
    for base in ("ed_integrated", "ed_fragmented"):
        shutil.copy(SCENARIOS / f"{base}.yaml", workdir / "scenarios" / f"{base}.yaml")
    shutil.copytree(SCENARIOS / "data", workdir / "scenarios" / "data")
    ws = Workspace(workdir)
    scenario = ws.load("projection")
    raw = ws.edit(scenario, {})[0]
    key = run_key(scenario, raw, 3)
    assert run_key(scenario, raw, 3) == key and run_key(scenario, raw, 4) != key
    csv = next((workdir / "scenarios" / "data").glob("ed_waiting_list_*.csv"))
    csv.write_text(csv.read_text() + csv.read_text().splitlines()[-1] + "\n")
    assert run_key(scenario, raw, 3) != key
    demo = ws.load("demo")
    assert run_key(demo, ws.edit(demo, {})[0], 3) != run_key(demo, ws.edit(demo, {WTE: "3"})[0], 3)


def test_a_cancelled_psa_keeps_its_runs_and_resumes(client, workdir):
    _small_psa(workdir)
    form = {"sweep": "tiny_psa", "draws": "30", "replications": "1"}
    job = client.post("/psa", data=form, follow_redirects=False).headers["location"]
    deadline = time.time() + 60
    while client.get(job + "/status").json()["done"] < 2 and time.time() < deadline:
        time.sleep(0.05)
    assert client.post(job + "/cancel").status_code == 200
    status = wait_for(client, job)
    assert status["state"] == "cancelled" and "finished run(s) kept in results/tiny_psa_30_draws/" in status["message"]
    kept = int(status["message"].split("cancelled: ")[1].split()[0])
    assert 1 <= kept < 60
    again = wait_for(client, client.post("/psa", data=form, follow_redirects=False).headers["location"], 120)
    assert again["state"] == "done", again["message"]
    assert f"({60 - kept} run(s) now, 60 in all)" in again["message"]


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            pass
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a job forks its workers on Linux only (/proc)")
def test_a_jobs_workers_are_forked_from_it_as_the_clis_are(workdir):
    """A job's process was started by a fork server, whose start method it inherits: its worker pool
    must not start a fork server of its own that loads nothing (each worker importing icssim, numpy,
    pandas and scipy again, every job), but fork the job's process, as ``icssim run`` does."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = TestClient(create_app(workdir, workers=2, hosts=["testserver"]))
    location = client.post("/run", data={"scenario": "demo", "replications": "200"},
                           follow_redirects=False).headers["location"]
    job = client.app.state.jobs.all()[0]
    deadline = time.time() + 60
    while client.get(location + "/status").json()["done"] < 2 and time.time() < deadline:
        time.sleep(0.05)
    try:
        assert job.data.get("workers_start_method") == "fork"
        workers = _children(job.pid)
        assert len(workers) >= 2
        own = Path(f"/proc/{job.pid}/cmdline").read_bytes()
        for pid in workers:   # forked: the job's own command line (a fork server's would differ)
            assert Path(f"/proc/{pid}/cmdline").read_bytes() == own
            assert not _children(pid)   # and no worker beneath another process
    finally:
        client.post(location + "/cancel")
        wait_for(client, location)


def test_the_job_list_outlives_the_server(client, workdir):
    """Jobs are listed again after a restart, from their records: a finished run with its report, a
    job whose record says it was running (the app was killed) as interrupted, and a results folder
    the app wrote before it kept records."""
    location = client.post("/run", data={"scenario": "demo", "replications": "2"},
                           follow_redirects=False).headers["location"]
    assert wait_for(client, location)["state"] == "done"
    job_id = location.rsplit("/", 1)[-1]
    records = workdir / "results" / ".app" / "jobs"
    record = json.loads((records / f"{job_id}.json").read_text())
    assert record["state"] == "done" and record["folder"] == "demo" and record["done"] == 2
    killed = {**record, "id": "0123456789ab", "state": "running", "done": 1, "folder": "", "finished": None}
    (records / "0123456789ab.json").write_text(json.dumps(killed))
    shutil.copytree(workdir / "results" / "demo", workdir / "results" / "older")   # an app's folder, no record
    (records / "not-a-record.json").write_text("[1, 2")                           # ignored

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = TestClient(create_app(workdir, workers=1, hosts=["testserver"]))
    jobs = {j.id: j for j in again.app.state.jobs.all()}
    assert jobs[job_id].state == "done" and jobs[job_id].folder == "demo"
    assert jobs["0123456789ab"].state == "interrupted"
    assert json.loads((records / "0123456789ab.json").read_text())["state"] == "interrupted"
    [older] = [j for j in jobs.values() if j.folder == "older"]
    assert older.state == "done" and older.title == "Run demo"
    assert len(jobs) == 3
    page = again.get(f"/jobs/{job_id}")
    assert page.status_code == 200 and 'href="/results/demo"' in page.text and "done" in page.text
    page = again.get("/jobs/0123456789ab")
    assert page.status_code == 200 and "interrupted: the app stopped while this ran" in page.text
    assert again.get(f"/jobs/{job_id}/status").json()["state"] == "done"
    home = again.get("/").text
    assert f'href="/jobs/{job_id}"' in home and 'href="/jobs/0123456789ab"' in home


def test_a_job_whose_server_is_killed_ends_its_own_record(workdir):
    """The server killed while a run simulates: the job's process hears its pipe end, stops as a
    cancel does (its finished replications kept in results/demo-interrupted/) and writes how it
    ended into its record, which the next app shows."""
    import signal
    import subprocess

    import httpx

    from icssim.app.serve import bind

    sock = bind(0)
    port = sock.getsockname()[1]
    sock.close()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1] / "src"),
                                                         os.environ.get("PYTHONPATH", "")])}
    server = subprocess.Popen([sys.executable, "-m", "icssim", "app", "--no-browser", "--port", str(port),
                               "-w", "1"], cwd=workdir, env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(url + "/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        location = httpx.post(url + "/run", data={"scenario": "demo", "replications": "200"},
                              headers={"Origin": url}).headers["location"]
        while httpx.get(url + location + "/status").json()["done"] < 2 and time.time() < deadline:
            time.sleep(0.1)
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    record = workdir / "results" / ".app" / "jobs" / (location.rsplit("/", 1)[-1] + ".json")
    while json.loads(record.read_text())["state"] == "running" and time.time() < deadline:
        time.sleep(0.1)
    ended = json.loads(record.read_text())
    assert ended["state"] == "cancelled", ended
    assert ended["folder"] == "demo-interrupted" and "(the app stopped while this ran)" in ended["message"]
    kept = len((workdir / "results" / "demo-interrupted" / "kpis_by_replication.csv").read_text().splitlines()) - 1
    assert kept >= 2 and f"kept {kept} finished" in ended["message"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = TestClient(create_app(workdir, workers=1, hosts=["testserver"]))
    page = again.get(location)
    assert page.status_code == 200 and 'href="/results/demo-interrupted"' in page.text


def _psa_form(page: str) -> dict[str, str]:
    """The PSA edit form's fields as the page fills them (the remove boxes unticked)."""
    import re

    fields = re.findall(r'name="(p\d+\.[a-z]+|rows)" value="([^"]*)"', page)
    form = {k: v for k, v in fields if not k.endswith("remove")}
    for m in re.finditer(r'<select name="(p\d+\.dist)">(.*?)</select>', page, re.S):
        chosen = re.search(r"<option selected>(\w+)", m.group(2))
        form[m.group(1)] = chosen.group(1) if chosen else "gamma"
    return form


def test_edit_a_psas_distributions_with_the_clis_messages(client, workdir):
    """A PSA file's distributions in a form: a value the schema refuses gets the message ``icssim psa``
    prints for it, beside its parameter; a key path that the base scenarios lack is refused as the
    CLI refuses it; a good edit is saved as a new PSA file (comments kept, the change listed), which
    the CLI reads, and the original is untouched."""
    from icssim.errors import ScenarioError
    from icssim.sweep.spec import load_sweep

    _small_psa(workdir)
    sweeps = workdir / "scenarios" / "sweeps"
    original = (sweeps / "tiny_psa.yaml").read_text()
    page = client.get("/psa/tiny_psa/edit")
    assert page.status_code == 200 and "health.states.ill_moderate.utility" in page.text
    assert client.get("/psa/grid/edit").status_code == 404          # not a PSA
    assert client.get("/psa/..%2Ftiny_psa/edit").status_code == 404
    form = _psa_form(page.text)
    assert form["rows"] == "3" and form["p0.sd"] == "0.05" and form["p0.dist"] == "beta"

    bad = client.post("/psa/tiny_psa/edit", data={**form, "p0.sd": "0.5", "action": "check"})
    assert bad.status_code == 422
    (sweeps / "by_hand.yaml").write_text(original.replace("sd: 0.05", "sd: 0.5"))
    with pytest.raises(ScenarioError) as cli:
        load_sweep(sweeps / "by_hand.yaml")
    (sweeps / "by_hand.yaml").unlink()
    expected = cli.value.problems[0].message
    assert expected == "a beta distribution with mean 0.75 needs sd below 0.433, found 0.5"
    assert '<p class="message">scenarios/sweeps/tiny_psa.yaml:' in bad.text and expected in bad.text
    assert 'href="#p-health.states.ill_moderate.utility"' in bad.text and 'value="0.5"' in bad.text

    typo = client.post("/psa/tiny_psa/edit", data={**form, "p2.key": "services.adult_inpatient.cost_per_bed_dya",
                                                    "p2.dist": "gamma", "p2.mean": "5", "p2.sd": "1"})
    assert typo.status_code == 422 and "did you mean &#39;services.adult_inpatient.cost_per_bed_day&#39;" in typo.text
    assert "/tmp" not in typo.text and str(workdir) not in typo.text   # files named as in the folder

    good = {**form, "p0.dist": "beta", "p0.sd": "0.08", "p1.remove": "1", "new_name": "tiny_psa_wide"}
    checked = client.post("/psa/tiny_psa/edit", data={**good, "action": "check"})
    assert checked.status_code == 200 and "2 change(s); all checks pass" in checked.text
    saved = client.post("/psa/tiny_psa/edit", data={**good, "action": "save"}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/psa?sweep=tiny_psa_wide&saved=1"
    new = sweeps / "tiny_psa_wide.yaml"
    text = new.read_text()
    assert "# the file's own draws" in text and "from tiny_psa.yaml" in text
    assert "health.states.ill_moderate.utility: beta(mean 0.75, sd 0.08) (was beta(mean 0.75, sd 0.05))" in text
    assert "removed services.adult_inpatient.cost_per_bed_day" in text
    sweep = load_sweep(new)                                            # the CLI reads it
    assert sweep.name == "tiny_psa_wide" and list(sweep.spec.parameters) == ["health.states.ill_moderate.utility"]
    assert sweep.spec.parameters["health.states.ill_moderate.utility"].sd == 0.08
    assert (sweeps / "tiny_psa.yaml").read_text() == original
    assert "Saved as scenarios/sweeps/tiny_psa_wide.yaml" in client.get(saved.headers["location"]).text
    again = client.post("/psa/tiny_psa/edit", data={**good, "action": "save"})
    assert again.status_code == 422 and "tiny_psa_wide.yaml exists" in again.text and new.read_text() == text
    other_site = client.post("/psa/tiny_psa/edit", data={**good, "action": "save", "new_name": "x"},
                             headers={"Origin": "http://example.com"})
    assert other_site.status_code == 403 and not (sweeps / "x.yaml").exists()


def test_route_a_step_elsewhere_checked_and_saved_as_extends(client, workdir):
    """Where a step's branches go is on the scenario's page, each a choice of the pathway's steps:
    a step that does not exist gets the command line's message beside the branch, and a new route
    is saved in a file that ``extends`` the original with only that step's routing."""
    from icssim.scenario import provenance

    target = "pathway.steps.gp.next.0.to"
    page = client.get("/scenarios/demo")
    assert page.status_code == 200 and f'<select id="f-{target}" name="{target}"' in page.text
    assert '<option selected>assess</option>' in page.text and "<option>watchful</option>" in page.text
    assert 'name="pathway.steps.treat.next"' in page.text                    # a route written as a name
    explore = client.get("/explore?scenario=demo").text
    assert "pathway.steps.gp.next.0.p" in explore and target not in explore   # a what-if varies numbers

    bad = client.post("/scenarios/demo", data={target: "nowhere"})
    assert bad.status_code == 422
    assert (f"{target}: step &#39;nowhere&#39; is not defined; defined: gp, assess, treat, ae, admit, watchful, "
            "recovered") in bad.text

    unbalanced = client.post("/scenarios/demo", data={"pathway.steps.gp.next.0.p": "0.5"})
    assert unbalanced.status_code == 422                 # a problem of the whole list, beside its first probability
    assert ('<p class="message" id="e-pathway.steps.gp.next.0.p">pathway.steps.gp.next: branch probabilities must '
            "add up to 1, found 0.65</p>") in unbalanced.text

    saved = client.post("/scenarios/demo", data={target: "watchful", "pathway.steps.treat.next": "gp",
                                                 "action": "save", "new_name": "demo_rerouted"},
                        follow_redirects=False)
    assert saved.status_code == 303, saved.text
    text = (workdir / "scenarios" / "demo_rerouted.yaml").read_text()
    assert "extends: demo.yaml" in text and "next: gp  # was recovered (scenarios/demo.yaml:" in text
    new, base = (load_scenario(workdir / "scenarios" / n) for n in ("demo_rerouted.yaml", "demo.yaml"))
    changed = differences(provenance(base).raw, provenance(new).raw)
    assert changed["pathway"] == {"steps": {"gp": {"next": [{"to": "watchful", "p": 0.85},
                                                            {"to": "watchful", "p": 0.15}]},
                                            "treat": {"next": "gp"}}}
    assert [b.to for b in new.pathway.steps["gp"].next] == ["watchful", "watchful"]
    # the list is replaced whole; its note says which branch changed, from what, where
    assert "next:  # the whole list replaced: 0.to was assess, now watchful (scenarios/demo.yaml:" in text


def test_a_whole_number_written_with_a_decimal_point_is_not_a_change():
    """A form gives back 1 where the file says 1.0: saving listed such values as changes ('sd: 1 #
    was 1'), ten of them in the shipped ED scenario (found by an audit). A flag is not a number."""
    base = {"a": {"sd": 1.0, "wte": 2.0, "flag": True, "levels": [1.0, 2]}, "b": 3}
    assert differences(base, {"a": {"sd": 1, "wte": 2, "flag": True, "levels": [1, 2.0]}, "b": 3.0}) == {}
    assert differences(base, {"a": {"sd": 1, "wte": 2.5, "flag": 1, "levels": [1, 2]}, "b": 3}) == {
        "a": {"wte": 2.5, "flag": 1}}


def test_a_psa_from_a_table_of_draws_lists_the_tables_rows(tmp_path):
    """A PSA file without ``samples`` runs every row of its table of draws: the app says how many."""
    from icssim.app.psa import psa_files

    (tmp_path / "posterior.csv").write_text("draw,services.adult_ed.staff.therapist.wte\n0,18\n1,19\n2,21\n\n",
                                            encoding="utf-8")
    (tmp_path / "from_table.yaml").write_text(
        "sweep: {name: from_table, replications: 1}\nbase: {a: ../a.yaml, b: ../b.yaml}\ndesign: psa\n"
        "draws: posterior.csv\n", encoding="utf-8")
    (tmp_path / "counted.yaml").write_text(
        "sweep: {name: counted}\nbase: {a: ../a.yaml, b: ../b.yaml}\ndesign: psa\nsamples: 2\n"
        "draws: {file: posterior.csv}\n", encoding="utf-8")
    found = {f.name: f.samples for f in psa_files(tmp_path)}
    assert found == {"counted": 2, "from_table": 3}


def test_a_psa_with_a_table_of_draws_shows_and_counts_its_columns(client, workdir):
    """A PSA that takes parameters from a table of draws (a calibration's posterior): the PSA page
    counts the table's columns among its parameters and its rows as its draws, and the
    distributions page lists those columns (labelled where the file labels them), not as fields."""
    _small_psa(workdir)
    sweeps = workdir / "scenarios" / "sweeps"
    (sweeps / "posterior.csv").write_text("draw,particle,health.states.ill_moderate.utility,"
                                          "services.adult_inpatient.cost_per_bed_day,distance\n"
                                          "0,0,0.74,1200,1.0\n1,1,0.78,1300,0.9\n2,1,0.78,1300,0.9\n")
    (sweeps / "table_psa.yaml").write_text(
        "sweep: {name: table_psa, seed: 5, replications: 1}\n"
        "base: {fragmented: ../small_fragmented.yaml, integrated: ../small_integrated.yaml}\n"
        "design: psa\ndraws:\n  file: posterior.csv\n"
        "  labels: {health.states.ill_moderate.utility: Utility moderately ill}\n"
        "parameters:\n  pathway.steps.ae.cost_per_contact: {dist: gamma, mean: 280, sd: 28}\n"
        "kpis: [qalys_per_person, cost_per_person]\n")
    listing = client.get("/psa").text
    assert "table_psa: fragmented vs integrated, 3 parameters, 3 draws" in listing
    page = client.get("/psa/table_psa/edit").text
    table = page.split('class="table-of-draws"')[1].split("</div>")[0]
    assert "<code>posterior.csv</code> (3 rows" in table
    assert "Utility moderately ill" in table and "services.adult_inpatient.cost_per_bed_day" in table
    assert "distance" not in table and "particle" not in table
    form = _psa_form(page)
    assert form["rows"] == "2" and form["p0.key"] == "pathway.steps.ae.cost_per_contact"   # one field and the new row


def test_a_new_sweep_file_never_replaces_one_that_exists(tmp_path):
    """``link_new`` writes a file whole or not at all, and never over another: the derived PSA
    file and the edited one both go through it, and an edit refuses a name taken meanwhile."""
    from icssim.app.psa import link_new
    from icssim.app.psa_edit import write_new
    from icssim.errors import IcssimError

    target = tmp_path / "mine.yaml"
    assert link_new(target, "a: 1\n") and target.read_text() == "a: 1\n"
    assert not link_new(target, "a: 2\n") and target.read_text() == "a: 1\n"
    with pytest.raises(IcssimError, match="appeared meanwhile"):
        write_new(target, "a: 3\n")
    assert target.read_text() == "a: 1\n" and [p.name for p in tmp_path.iterdir()] == ["mine.yaml"]


def test_a_list_item_s_field_says_what_the_item_is():
    """'weights › #2' and 'transitions #3 › rate' told a clinical lead nothing (found by an audit):
    a weight names its level, a transition its states and whom it is for, a branch its step."""
    from icssim.app.workspace import Workspace

    ws = Workspace(Path(__file__).resolve().parents[1])
    labels = {f.key: f.label for f in ws.fields(load_scenario(ws.scenario_path("ed_fragmented")))}
    assert labels["cohorts.cyp.attributes.diagnosis.weights.1"] == "attributes › diagnosis › weights › #2 (bulimia)"
    assert labels["health.transitions.2.rate.treated"] == (
        "#3 (ill_moderate or ill_severe → remitted_early, adults, diagnosis anorexia) › rate › treated")
    assert labels["pathway.steps.gp.next.1.p"] == "next › #2 (to not_referred) › p"
    assert labels["pathway.steps.gp.next.1.to"] == "next › #2 › goes to"   # the choice itself shows the step
    fields = {f.key: f for f in ws.fields(load_scenario(ws.scenario_path("ed_fragmented")))}
    assert fields["services.adult_ed.staff.therapist.cost_per_hour"].unit == "£ an hour"
    assert fields["pathway.steps.gp.next.1.to"].unit == ""                    # a choice of step



def test_compare_starts_from_the_scenario_s_own_base_and_keeps_what_was_typed(client):
    """'Compare…' on a scenario that extends another makes that one the baseline (it was the first
    name alphabetically); a refused comparison keeps the replications and equal-budget typed."""
    page = client.get("/scenarios/demo_more").text
    assert 'href="/compare?a=demo&amp;b=demo_more"' in page
    form = client.get("/compare?a=demo&b=demo_more").text
    assert '<option selected>demo</option>' in form and 'value="demo_more" checked' in form
    refused = client.post("/compare", data={"a": "demo", "replications": "7", "equal_budget": "1"})
    assert refused.status_code == 422 and "at least one other scenario" in refused.text
    assert 'name="replications" value="7"' in refused.text and 'value="1" checked' in refused.text


def test_a_psa_parameter_added_in_the_app_gives_its_unit(client, workdir):
    """A rate or a time drawn in a PSA must say its unit (``icssim psa`` refuses a bare number where
    the base writes '0.024 per month'); the edit form had no unit field, so a rate could not be
    added from the app at all. It now has one, read from and written to the file."""
    _small_psa(workdir)
    sweeps = workdir / "scenarios" / "sweeps"
    form = _psa_form(client.get("/psa/tiny_psa/edit").text)
    key = "health.transitions.2.rate.treated"
    added = {**form, "p2.key": key, "p2.dist": "gamma", "p2.mean": "0.024", "p2.sd": "0.008", "action": "check"}
    bare = client.post("/psa/tiny_psa/edit", data=added)
    assert bare.status_code == 422 and "give &#39;unit: per month&#39;" in bare.text
    saved = client.post("/psa/tiny_psa/edit", data={**added, "p2.unit": "per month", "action": "save",
                                                    "new_name": "tiny_psa_rate"}, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    text = (sweeps / "tiny_psa_rate.yaml").read_text()
    assert f"added {key}: gamma(mean 0.024, sd 0.008) per month" in text
    again = _psa_form(client.get("/psa/tiny_psa_rate/edit").text)
    assert again["p2.unit"] == "per month" and again["p0.unit"] == ""
