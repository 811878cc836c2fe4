"""``icssim app`` with the urgent-care and FREED scenarios, as a commissioner meets them: a what-if
of an emergency department draws a measure it has (the one chosen, by default the first of its
``report.featured``), not an empty "Referral to treatment" panel, in its own words (its
standards' and path times' labels, ``report.waits``) and readable units (hours or minutes, not
days; shares as percentages); and the scenario's form names each standard by its label, not its id."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the app's extra is not installed: pip install '.[app]'")
pytest.importorskip("httpx", reason="the app's tests need httpx (in the app extra)")

import pandas as pd  # noqa: E402

from helpers import wait_for  # noqa: E402
from icssim.app import whatif  # noqa: E402
from icssim.metrics import kpi_info  # noqa: E402
from icssim.scenario import load_scenario  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "report_pathway.yaml"
LIAISON = "services.liaison.staff.practitioner.wte"


@pytest.fixture(scope="module")
def integrated():
    return load_scenario(SCENARIOS / "urgent_mh_integrated.yaml")


def _table(kpis: dict[str, list[float]]) -> pd.DataFrame:
    """A what-if's table at 1, 2, 3 practitioners: each KPI's means (NaN: never measured)."""
    rows = []
    for kpi, means in kpis.items():
        for x, mean in zip(["1", "2", "3"], means):
            rows.append({LIAISON: x, "kpi": kpi, "mean": mean, "lower": mean * 0.9, "upper": mean * 1.1,
                         "cached": False})
    return pd.DataFrame(rows)


NAN = float("nan")
TABLE = _table({
    "wait_to_treatment_mean": [NAN, NAN, NAN],              # an emergency department treats nobody "after a wait"
    "wait_to_assessment_mean": [0.085, 0.03, 0.028],         # days (the KPI's unit): 122, 43, 40 minutes
    "within_mh_four_hours": [0.01, 0.36, 0.41],
    "within_liaison_1_hour": [0.2, 0.9, 0.99],
    "path_time_median_minutes_mh_assessment": [1263.0, 15.0, 14.0],
    "cost_per_year": [26.6e6, 27.2e6, 27.8e6],
})


def test_an_emergency_departments_what_if_draws_its_featured_measure_not_an_empty_wait(integrated):
    assert [k for k, _ in whatif.measures(integrated)][:3] == ["within_mh_four_hours", "within_mh_twelve_hours",
                                                        "within_liaison_1_hour"]
    assert "cost_per_year" not in dict(whatif.measures(integrated))   # drawn beside every measure
    assert whatif.plotted_kpis(TABLE, integrated) == ["within_mh_four_hours", "cost_per_year"]
    fig = whatif.whatif_figure(TABLE, [LIAISON], "urgent_mh_integrated", kpi_info, 2, integrated)
    titles = [ax.get_title(loc="left").replace("\n", " ") for ax in fig.axes]
    assert titles[0].startswith("Mental health attendances: 4 hours from arrival to leaving the ED")
    assert not any("Referral to treatment" in t for t in titles)
    assert fig.axes[0].get_ylabel() == "% of patients"
    assert [t.get_text() for t in fig.axes[0].get_yticklabels() if t.get_text()][-1].endswith("%")
    assert fig.axes[1].get_ylabel() == "GBP per year, millions"


def test_a_chosen_measure_is_drawn_in_the_scenarios_words_and_readable_units(integrated):
    fig = whatif.whatif_figure(TABLE, [LIAISON], "urgent_mh_integrated", kpi_info, 2, integrated,
                        "path_time_median_minutes_mh_assessment")
    title = fig.axes[0].get_title(loc="left").replace("\n", " ")
    assert title.startswith("Mental health attendances: arrival to psychiatric assessment, median")
    assert fig.axes[0].get_ylabel() == "hours"   # 1,263 minutes: 21 hours, as the reports write it
    assert max(fig.axes[0].lines[0].get_ydata()) == pytest.approx(1263 / 60)
    # the generic wait, in report.waits' words and in the department's time (not 0.085 days)
    fig = whatif.whatif_figure(TABLE, [LIAISON], "urgent_mh_integrated", kpi_info, 2, integrated,
                               "wait_to_assessment_mean")
    assert fig.axes[0].get_title(loc="left").replace("\n", " ").startswith("Arrival to first clinical assessment")
    assert fig.axes[0].get_ylabel() == "hours"
    assert max(fig.axes[0].lines[0].get_ydata()) == pytest.approx(0.085 * 24)


def test_a_measure_the_runs_did_not_measure_is_left_out(integrated):
    assert whatif.plotted_kpis(TABLE, integrated, "wait_to_treatment_mean") == ["cost_per_year"]
    assert whatif.plotted_kpis(TABLE, None) == ["cost_per_year"]   # no scenario: the defaults, the empty one left out


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(SCENARIOS, tmp_path / "scenarios")
    text = FIXTURE.read_text().replace("horizon: 3 years", "horizon: 2 years")
    text = text.replace("name: report_demo", "name: demo")
    (tmp_path / "scenarios" / "demo.yaml").write_text(
        text + "\nreport:\n  featured: [wait_to_assessment_mean, cost_per_year, wait_to_treatment_mean]\n")
    return tmp_path


def test_a_what_if_offers_a_scenarios_standards_beside_its_featured_measures():
    freed = load_scenario(SCENARIOS / "ed_freed.yaml")   # features nothing: the wait first, then its standards
    offered = dict(whatif.measures(freed))
    assert list(offered)[0] == "wait_to_treatment_mean"
    assert offered["within_freed_engagement_48_hours"] == ("FREED referrals: engagement call within 48 hours "
                                                           "(target 95%)")
    assert "within_cyp_urgent_1_week" in offered


def test_the_what_if_page_offers_the_scenarios_measures_by_their_labels(client):
    page = client.get("/explore?scenario=urgent_mh_integrated").text
    assert ('<option value="within_liaison_1_hour">Psychiatric assessment within 1 hour of referral '
            "(target 95%)</option>") in page
    assert ">Mental health attendances: arrival to psychiatric assessment, median</option>" in page
    # the numbers to vary read as on the scenario's page (a standard by its label), not as their keys alone
    key = "scenario.standards.liaison_1_hour.within"
    assert (f'<option value="{key}" title="{key}">scenario / standards › Psychiatric assessment within 1 hour of '
            "referral › within (now 1 hour)</option>") in page
    bad = client.post("/explore", data={"scenario": "urgent_mh_integrated", "key": LIAISON, "values": "2, 3",
                                        "kpi": "cost_per_yeer", "replications": "2"})
    assert bad.status_code == 422 and "&#39;cost_per_yeer&#39; is not a measure" in bad.text
    # a bad value is named as the form names it, and its message said once, without the key twice over
    bad = client.post("/explore", data={"scenario": "urgent_mh_integrated", "key": key, "values": "1 hour, banana",
                                        "replications": "2"})
    assert bad.status_code == 422
    assert ("scenario / standards › Psychiatric assessment within 1 hour of referral › within = banana: expected "
            "a time such as &#39;3 days&#39;") in bad.text
    assert f"{key}: {key}" not in bad.text and f"{key} = banana" not in bad.text


def test_a_what_if_draws_the_measure_chosen(client, workdir):
    started = client.post("/explore", data={"scenario": "demo", "key": "services.ed_team.staff.clinician.wte",
                                            "values": "2, 3", "kpi": "wait_to_assessment_mean",
                                            "replications": "2"}, follow_redirects=False)
    status = wait_for(client, started.headers["location"])
    assert status["state"] == "done", status["message"]
    meta = json.loads((workdir / "results" / status["folder"] / "metadata.json").read_text())
    assert meta["kpis"] == ["wait_to_assessment_mean", "cost_per_year"]


def test_the_form_names_standards_by_their_labels_not_their_ids(client):
    page = client.get("/scenarios/ed_freed").text
    assert "<span>FREED referrals: engagement call within 48 hours › within</span>" in page
    assert "<span>Urgent CYP-ED referrals: treatment within 1 week › within</span>" in page   # the base's
    assert "<span>freed engagement 48 hours › within</span>" not in page
    urgent = client.get("/scenarios/urgent_mh_fragmented").text
    assert "<span>Psychiatric assessment within 1 hour of referral › within</span>" in urgent


def test_a_what_if_plot_names_its_number_as_the_scenario_page_does(integrated):
    # the axis and title said "services.liaison.staff.practitioner.wte"; the page's words read better
    words = {LIAISON: "services / liaison › staff › practitioner › wte"}
    fig = whatif.whatif_figure(TABLE, [LIAISON], "urgent_mh_integrated", kpi_info, 2, integrated, words=words)
    assert fig.axes[0].get_xlabel().startswith(words[LIAISON])
    assert words[LIAISON] in fig._suptitle.get_text() and LIAISON not in fig._suptitle.get_text()
    bare = whatif.whatif_figure(TABLE, [LIAISON], "urgent_mh_integrated", kpi_info, 2, integrated)
    assert bare.axes[0].get_xlabel().startswith(LIAISON)   # (without words, its key as before)
