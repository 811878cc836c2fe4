"""Defects a user audit found in ``icssim app``, each fixed and checked here: a value no English ICS
could have is shown as a warning (never refused); ``95%`` and ``1,500,000`` typed in a form are
read where they are unambiguous, or refused saying what to type; a what-if takes the app's earlier
run of the same scenario from the cache instead of running it again."""
# ruff: noqa: F811 (the fixtures ``client`` and ``workdir`` are test_app.py's, imported, then named as arguments)

from __future__ import annotations

import json
import re

import pytest

pytest.importorskip("starlette", reason="the app's extra is not installed: pip install '.[app]'")
pytest.importorskip("httpx", reason="the app's tests need httpx (in the app extra)")

from helpers import wait_for  # noqa: E402
from test_app import WTE, workdir  # noqa: E402,F401

from icssim.app.workspace import read_value  # noqa: E402

MISSED = "pathway.steps.treat.missed.probability"
POPULATION = "scenario.population"


def _value(page: str, key: str) -> str:
    """The value the form shows in field ``key``."""
    found = re.search(rf'name="{re.escape(key)}" value="([^"]*)"', page)
    assert found, key
    return found.group(1)


def test_a_value_no_ics_could_have_is_a_warning_and_the_scenario_still_runs(client, workdir):
    page = client.post("/scenarios/demo", data={WTE: "1e9"})
    assert page.status_code == 200                                      # not refused
    assert "1 value(s) changed; all checks pass" in page.text
    assert 'class="warnings" role="status"' in page.text and "1 warning(s)" in page.text
    message = f"{WTE}: 1,000,000,000 WTE is more than any English ICS could have"
    assert f'<a href="#f-{WTE}">{message}' in page.text                 # at the top, linked to the field
    assert f'<p class="warn-message">Warning: {message}' in page.text   # and under the field
    assert 'class="field warned"' in page.text and 'aria-invalid' not in page.text
    # saved, its page says so again, and Run runs it, the job's page saying it too
    saved = client.post("/scenarios/demo", data={WTE: "1e9", "action": "save", "new_name": "demo_huge"},
                        follow_redirects=False)
    assert saved.status_code == 303
    assert message in client.get("/scenarios/demo_huge").text
    started = client.post("/run", data={"scenario": "demo_huge", "replications": "1"}, follow_redirects=False)
    assert started.status_code == 303
    assert message.split(": ", 1)[1] in client.get(started.headers["location"]).text
    assert wait_for(client, started.headers["location"])["state"] == "done"
    # a scenario without such values has none
    assert "warning(s)" not in client.get("/scenarios/demo").text
    assert "warning(s)" not in client.post("/scenarios/demo", data={WTE: "3"}).text


def test_percentages_and_thousands_are_read_where_unambiguous(client, workdir):
    page = client.post("/scenarios/demo", data={MISSED: "15%", POPULATION: "1,500,000"})
    assert page.status_code == 200, page.text
    assert "2 value(s) changed; all checks pass" in page.text
    assert _value(page.text, MISSED) == "0.15" and _value(page.text, POPULATION) == "1500000"   # as read
    saved = client.post("/scenarios/demo", data={MISSED: "15%", POPULATION: "1,500,000", "action": "save",
                                                 "new_name": "demo_read"}, follow_redirects=False)
    assert saved.status_code == 303
    text = (workdir / "scenarios" / "demo_read.yaml").read_text()
    assert "probability: 0.15" in text and "population: 1500000" in text


def test_what_cannot_be_read_is_refused_saying_what_to_type(client):
    page = client.post("/scenarios/demo", data={WTE: "95%", MISSED: "0,15", POPULATION: "1,500,00"})
    assert page.status_code == 422
    assert f"{WTE}: &#39;95%&#39; is a percentage, but this is a number in WTE: write the number alone, " \
           "without %" in page.text
    assert f"{MISSED}: &#39;0,15&#39;: write a number without commas (1500000 for 1,500,000) and with a " \
           "decimal point, not a comma (2.5, not 2,5)" in page.text
    assert f"{POPULATION}: &#39;1,500,00&#39;: write a number without commas" in page.text
    assert _value(page.text, WTE) == "95%"                               # what was typed stays
    assert "expected a number" not in page.text                          # the hint, not the bare refusal
    assert "3 problem(s)" in page.text


@pytest.mark.parametrize(("text", "unit", "read"), [
    ("95%", "probability, 0 to 1", 0.95), ("7.5 %", "share, 0 to 1", 0.075),
    ("3.5%", "discount rate a year, 0 to 0.2", 0.035),
    ("1,500,000", "people", 1500000), ("-1,000.5", "", -1000.5), ("1,500 days", "", "1500 days"),
    ("2 weeks", "", "2 weeks"), ("12", "WTE", 12), ("0.5", "WTE", 0.5)])
def test_read_value(text, unit, read):
    value, hint = read_value(text, 0, unit)
    assert hint == "" and value == read and type(value) is type(read)


@pytest.mark.parametrize(("text", "unit", "hint"), [
    ("95%", "WTE", "a number in WTE"), ("30%", "relative weight", "a number in relative weight"),
    ("50%", "", "not a probability or share"), ("2,5", "WTE", "without commas"), ("1,5000", "", "without commas")])
def test_read_value_refuses_with_a_hint(text, unit, hint):
    value, said = read_value(text, 0, unit)
    assert value == text and hint in said


def test_a_what_if_takes_the_apps_earlier_run_of_the_scenario(client, workdir):
    """Run demo (its clinicians at 2 WTE), then a what-if at 2 and 3 WTE with the same replications:
    the value 2 is that run, taken from the cache (the run was not kept there before)."""
    from icssim.tables import read_csv

    run = wait_for(client, client.post("/run", data={"scenario": "demo", "replications": "2"},
                                       follow_redirects=False).headers["location"])
    assert run["state"] == "done", run["message"]
    form = {"scenario": "demo", "key": WTE, "values": "2, 3", "replications": "2"}
    whatif = wait_for(client, client.post("/explore", data=form, follow_redirects=False).headers["location"])
    assert whatif["state"] == "done" and "1 of 2 runs came from the cache" in whatif["message"]
    table = read_csv(workdir / "results" / whatif["folder"] / "whatif.csv")
    assert set(table.loc[table["cached"], WTE]) == {2}
    kpis = read_csv(workdir / "results" / "demo" / "kpis.csv").set_index("kpi")["mean"]
    cached = table[table[WTE] == 2].set_index("kpi")["mean"]
    for kpi in ("wait_to_treatment_mean", "cost_per_year"):
        assert cached[kpi] == pytest.approx(kpis[kpi])   # the run's own numbers
    meta = json.loads((workdir / "results" / whatif["folder"] / "metadata.json").read_text())
    assert meta["points_from_cache"] == 1
    # another number of replications is another run
    again = wait_for(client, client.post("/explore", data=dict(form, replications="3"),
                                         follow_redirects=False).headers["location"])
    assert "cache" not in again["message"]


def test_a_whole_number_written_with_a_point_is_the_same_run(workdir):
    """``wte: 2.0`` in the file and ``2`` typed in a form are one scenario, so one cached run."""
    from icssim.app.cache import run_key
    from icssim.app.workspace import Workspace

    path = workdir / "scenarios" / "demo.yaml"
    path.write_text(path.read_text().replace("clinician: {wte: 2,", "clinician: {wte: 2.0,"))
    ws = Workspace(workdir)
    demo = ws.load("demo")
    from icssim.scenario import provenance

    assert run_key(demo, provenance(demo).raw, 2) == run_key(demo, ws.edit(demo, {WTE: "2"})[0], 2)
    assert run_key(demo, provenance(demo).raw, 2) != run_key(demo, ws.edit(demo, {WTE: "3"})[0], 2)
