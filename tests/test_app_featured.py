"""``icssim app`` checks the KPI names of a scenario's ``report.featured`` as the command line does:
a scenario whose featured measure is misspelt (the reports would leave it out without a word) is
neither checked as passing nor saved, and the page gives ``icssim validate``'s message."""
# ruff: noqa: F811 (the fixtures ``client`` and ``workdir`` are test_app.py's, imported, then named as arguments)

from __future__ import annotations

import pytest

pytest.importorskip("starlette", reason="the app's extra is not installed: pip install '.[app]'")
pytest.importorskip("httpx", reason="the app's tests need httpx (in the app extra)")

from markupsafe import escape  # noqa: E402
from test_app import WTE, workdir  # noqa: E402,F401

from helpers import run_cli  # noqa: E402
from icssim.app.workspace import Workspace  # noqa: E402
from icssim.errors import ScenarioError  # noqa: E402
from icssim.kpi_check import featured_problems  # noqa: E402
from icssim.scenario import load_scenario, provenance  # noqa: E402

FEATURED = "report:\n  featured: [cost_per_year, cost_per_yeer]\n"


def _featured(workdir, name: str, featured: str) -> None:
    (workdir / "scenarios" / f"{name}.yaml").write_text(
        f"extends: demo.yaml\nscenario:\n  name: {name}\n{featured}")


def test_a_misspelt_featured_measure_is_refused_with_the_clis_message(client, workdir):
    """The app saved it: its report then left the measure out, and `icssim run` of the saved file refused it."""
    _featured(workdir, "demo_featured", FEATURED)
    path = workdir / "scenarios" / "demo_featured.yaml"
    code, err = run_cli(["validate", str(path)])
    assert code == 2
    message = (f"{path}:5: report.featured.1: 'cost_per_yeer' is not a KPI of this scenario; "
               "did you mean 'cost_per_year'?")
    assert message in err, err
    before = sorted(p.name for p in (workdir / "scenarios").iterdir())
    checked = client.post("/scenarios/demo_featured", data={WTE: "4"})
    assert checked.status_code == 422 and "all checks pass" not in checked.text
    assert f"<li>{escape(message)}</li>" in checked.text and 'role="alert"' in checked.text
    saved = client.post("/scenarios/demo_featured", data={WTE: "4", "action": "save", "new_name": "demo_four"},
                        follow_redirects=False)
    assert saved.status_code == 422 and f"<li>{escape(message)}</li>" in saved.text
    assert sorted(p.name for p in (workdir / "scenarios").iterdir()) == before   # nothing written


def test_saving_checks_the_file_as_saved(workdir):
    """The last check before a saved file is kept is the command line's, on the file itself."""
    _featured(workdir, "demo_featured", FEATURED)
    ws = Workspace(workdir)
    scenario = ws.load("demo_featured")
    raw = provenance(scenario).raw
    with pytest.raises(ScenarioError) as exc:
        ws.save("demo_featured", "demo_copy", raw, raw, ws.fields(scenario))
    assert [str(p) for p in exc.value.problems] == [str(p) for p in featured_problems(scenario)]
    assert "report.featured.1: 'cost_per_yeer' is not a KPI" in str(exc.value)
    assert not (workdir / "scenarios" / "demo_copy.yaml").exists()


def test_featured_measures_spelt_right_save_as_before(client, workdir):
    _featured(workdir, "demo_good", "report:\n  featured: [cost_per_year]\n")
    checked = client.post("/scenarios/demo_good", data={WTE: "4"})
    assert checked.status_code == 200 and "all checks pass" in checked.text
    saved = client.post("/scenarios/demo_good", data={WTE: "4", "action": "save", "new_name": "demo_good_four"},
                        follow_redirects=False)
    assert saved.status_code == 303
    assert load_scenario(workdir / "scenarios" / "demo_good_four.yaml").report.featured == ["cost_per_year"]


def test_run_and_compare_refuse_it_as_the_cli_does(client, workdir):
    """`icssim run` and `icssim compare` refuse the scenario before a replication runs; the app ran it."""
    _featured(workdir, "demo_featured", FEATURED)
    message = escape("report.featured.1: 'cost_per_yeer' is not a KPI of this scenario; did you mean 'cost_per_year'?")
    run = client.post("/run", data={"scenario": "demo_featured", "replications": "1"}, follow_redirects=False)
    assert run.status_code == 400 and str(message) in run.text and 'role="alert"' in run.text
    compare = client.post("/compare", data={"a": "demo", "b": "demo_featured", "replications": "2"},
                          follow_redirects=False)
    assert compare.status_code == 422 and str(message) in compare.text
    assert not (workdir / "results").exists() or not any((workdir / "results").glob("*demo_featured*"))
