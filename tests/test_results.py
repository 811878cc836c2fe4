"""results: Arrow's CSV writer giving the table pandas would, and a run's plots and report
written the same on one worker or several."""

import re

import numpy as np
import pandas as pd
import pytest

from icssim.tables import write_csv


def _frame(n: int = 500) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    df = pd.DataFrame({
        "replication": np.repeat([0, 1], n // 2).astype("int32"),
        "arrival": rng.exponential(10.0, n),
        "wait": np.where(rng.random(n) < 0.2, np.nan, rng.gamma(2.0, 5.0, n)),
        "cohort": pd.Categorical(rng.choice(["cyp", "adults"], n)),
        "done": rng.random(n) < 0.5,
    })
    df["date"] = pd.Timestamp("2025-04-01") + pd.to_timedelta(np.floor(df["arrival"]), unit="D")
    df.loc[::9, "date"] = pd.NaT
    return df


def test_write_csv_reads_back_as_pandas_own_csv(tmp_path):
    df = _frame()
    df.to_csv(tmp_path / "pandas.csv", index=False)
    write_csv(df, tmp_path / "arrow.csv")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "arrow.csv"), pd.read_csv(tmp_path / "pandas.csv"))
    lines = (tmp_path / "arrow.csv").read_text().splitlines()
    assert lines[0] == "replication,arrival,wait,cohort,done,date"  # no quotes where none are needed
    assert len(lines) == len(df) + 1
    assert '"' not in "".join(lines)
    text = pd.read_csv(tmp_path / "arrow.csv", dtype=str, keep_default_na=False)
    missing = df["date"].isna().to_numpy()
    assert (text["date"][missing] == "").all()  # NaT: an empty field
    assert text["date"][~missing].str.fullmatch(r"2025-\d\d-\d\d").all()  # whole days: dates, no time
    assert set(text["done"]) == {"True", "False"}


def test_write_csv_quotes_text_holding_commas_quotes_or_line_breaks(tmp_path):
    df = pd.DataFrame({"label": ["plain", 'a, "quoted"\nvalue', None], "x": [1.5, 2.0, np.nan]})
    write_csv(df, tmp_path / "t.csv")
    back = pd.read_csv(tmp_path / "t.csv")
    assert back["label"].tolist()[:2] == ["plain", 'a, "quoted"\nvalue'] and pd.isna(back["label"][2])
    assert back["x"].tolist()[:2] == [1.5, 2.0] and np.isnan(back["x"][2])


def test_write_csv_quotes_categories_holding_commas(tmp_path):
    df = pd.DataFrame({"service": pd.Categorical(["ed, adults", "cyp"]), "n": [1, 2]})
    write_csv(df, tmp_path / "c.csv")
    assert pd.read_csv(tmp_path / "c.csv")["service"].tolist() == ["ed, adults", "cyp"]


def test_write_csv_falls_back_to_pandas_for_mixed_objects(tmp_path):
    df = pd.DataFrame({"value": [1, "two", 3.5, None]})
    write_csv(df, tmp_path / "m.csv")
    assert (tmp_path / "m.csv").read_text() == df.to_csv(index=False)


@pytest.mark.parametrize("times", [["2025-04-01 12:30"], ["2025-04-01", None]])
def test_write_csv_keeps_times_of_day(tmp_path, times):
    df = pd.DataFrame({"t": pd.to_datetime(times), "n": range(len(times))})
    write_csv(df, tmp_path / "d.csv")
    assert pd.read_csv(tmp_path / "d.csv", parse_dates=["t"])["t"].equals(df["t"])


def test_run_plots_drawn_on_two_workers_are_the_plots_drawn_on_one(tmp_path):
    """plots.save_all's forked workers write the same files, byte for byte, as drawing here."""
    from pathlib import Path

    from icssim import plots
    from icssim.experiments import run
    from icssim.run_plots import run_plot_jobs
    from icssim.scenario import load_scenario

    scenario = load_scenario(Path(__file__).parent / "sweep" / "mmc_small.yaml")
    result = run(scenario, replications=2, workers=1)
    drawn = {}
    for workers in (1, 2):
        folder = tmp_path / f"plots{workers}"
        folder.mkdir()
        drawn[workers] = {p.name: p.read_bytes()
                           for p in plots.save_all(run_plot_jobs(result, folder), workers)}
    assert list(drawn[1]) == ["wait_ecdf.png", "waiting_list.png", "costs.png"]
    assert drawn[1] == drawn[2]


def test_a_run_written_on_two_workers_has_the_report_of_one(tmp_path):
    """On 2 workers the plots are drawn in the background while the report is built, which
    waits for them only where it embeds them: the folder and its report are those of 1 worker."""
    from pathlib import Path

    from icssim.experiments import run
    from icssim.results import write_run
    from icssim.scenario import load_scenario

    scenario = load_scenario(Path(__file__).parent / "sweep" / "mmc_small.yaml")
    result = run(scenario, replications=2, workers=1)
    written = {}
    for workers in (1, 2):
        folder = write_run(result, tmp_path / f"w{workers}" / "run", wall_seconds=1.0, command="x", workers=workers)
        written[workers] = {p.relative_to(folder).as_posix(): p.read_bytes()
                            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "metadata.json"}
    report_html = written[2]["report.html"].decode()
    assert report_html.count('src="data:image/png;base64,') == 3
    # the report's facts include metadata.json's time of writing ("2026-12-05T12:57:03+00:00", and
    # "2026-12-05 12:57" in the summary line): compare the rest, as the two writes may straddle a minute
    when = r"\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d)?)?"
    assert re.sub(when, "", report_html) == re.sub(when, "", written[1]["report.html"].decode())
    del written[1]["report.html"], written[2]["report.html"]
    assert written[1] == written[2]


def test_plots_drawn_in_the_background_raise_their_errors(tmp_path):
    from icssim import plots

    def broken():
        raise ValueError("no data to draw")

    with pytest.raises(ValueError, match="no data to draw"):
        with plots.drawing([(broken, tmp_path / "a.png"), (broken, tmp_path / "b.png")], workers=2):
            pass  # the block does not wait: leaving it does


def test_a_wait_plot_draws_only_the_standards_of_the_wait_it_shows():
    """Referral-to-treatment curves carry the treatment standards, not an assessment standard nor
    an interval standard (a liaison response within an hour measures another wait)."""
    from pathlib import Path

    from icssim.plots_waits import referral_standards
    from icssim.scenario import load_scenario, scenario_from_dict
    from icssim.scenario.initial_state import anchored_raw

    scenarios = Path(__file__).resolve().parents[1] / "scenarios"
    urgent = load_scenario(scenarios / "urgent_mh_integrated.yaml")
    assert referral_standards(urgent, ("referral_to_treatment",)) == {}
    raw = anchored_raw(load_scenario(scenarios / "ed_fragmented.yaml"))
    raw["scenario"]["standards"]["assessed_2_weeks"] = {"within": "2 weeks", "measure": "referral_to_assessment"}
    ed = scenario_from_dict(raw)
    assert referral_standards(ed, ("referral_to_treatment",)) == {
        "Urgent CYP-ED referrals: treatment within 1 week": (7.0, 0.95),
        "Routine CYP-ED referrals: treatment within 4 weeks": (28.0, 0.95),
        "Adults (proposed 2022, not adopted): treatment within 4 weeks": (28.0, 0.95)}
    both = referral_standards(ed, ("referral_to_assessment", "referral_to_treatment"))
    assert both["assessed_2_weeks"] == (14.0, 0.95)
    # a standard with a label of its own is drawn under it, as the report and the terminal name it
    raw["scenario"]["standards"]["assessed_2_weeks"]["label"] = "Assessment within 2 weeks"
    labelled = referral_standards(scenario_from_dict(raw), ("referral_to_assessment",))
    assert labelled == {"Assessment within 2 weeks": (14.0, 0.95)}


def test_cost_plot_names_services_by_their_labels():
    from helpers import shipped

    from icssim import experiments
    from icssim.run_plots import cost_by_service

    result = experiments.run(shipped("ed_fragmented", horizon="1 year", warmup="3 months"), replications=2, workers=1)
    services = set(cost_by_service(result)["service"])
    assert "Adult specialist eating disorder inpatient unit" in services
    assert not any("_" in name for name in services)


def test_forest_plot_leads_with_the_scenario_s_featured_measures(tmp_path):
    """An emergency department's comparison is about its 4- and 12-hour standards and the liaison
    hour (its report's featured KPIs): the forest plot draws them, in the scenario's words."""
    from helpers import shipped

    from icssim import experiments
    from icssim.results import _comparison_plot_jobs

    pair = [shipped(name, horizon="6 weeks", warmup="1 week")
            for name in ("urgent_mh_fragmented", "urgent_mh_integrated")]
    comparison = experiments.compare(pair, replications=2, workers=1)
    forest = next(job for job, path in _comparison_plot_jobs(comparison, tmp_path) if path.name == "forest.png")
    labels = list(forest.args[0]["label"])
    assert labels[0] == "Mental health attendances: 4 hours from arrival to leaving the ED"
    assert "Psychiatric assessment within 1 hour of referral" in labels


def test_a_runs_waiting_list_plot_names_its_steps_in_words(tmp_path):
    """The run's waiting-list plot is the one a reader sees: its legend gives each step's label
    (it gave the step's id), and the sum over steps is called so, not "all services"."""
    from pathlib import Path

    from icssim.experiments import run
    from icssim.run_plots import _waiting_list_plot
    from icssim.scenario import load_scenario

    text = (Path(__file__).parent / "sweep" / "mmc_small.yaml").read_text()
    labelled = tmp_path / "mmc_labelled.yaml"
    labelled.write_text(text.replace("    service:\n      kind: assessment",
                                     "    service:\n      label: Front desk assessment\n      kind: assessment"))
    result = run(load_scenario(labelled), replications=2, workers=1)
    legend = [t.get_text() for t in _waiting_list_plot(result).axes[0].get_legend().get_texts()]
    assert legend == ["all steps", "Front desk assessment", "warm-up (excluded)"]
