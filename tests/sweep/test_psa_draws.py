"""A PSA from a table of draws (``draws:``): rows used exactly as written and jointly (correlations
kept), joined with independently drawn ``parameters``, seeded and resumable, and every bad table
refused with its file, line and column."""

from __future__ import annotations

import numpy as np
import pytest

from icssim.errors import IcssimError
from icssim.sweep import resume, runner
from icssim.sweep.design import build_points
from icssim.sweep.draws import psa_values, table_values
from icssim.sweep.draw_table import DrawTable
from icssim.sweep.spec import load_sweep

MEAN = "pathway.steps.service.duration.mean"
WTE = "services.desk.staff.server.wte"
COST = "services.desk.staff.server.cost_per_hour"

#: six parameter sets in which the WTE is exactly 10 + 5 x the mean service time: perfectly
#: correlated columns, which drawing each column independently could never give
TABLE = f"""draw,particle,{MEAN},{WTE},distance
0,0,0.8,14,1.5
1,3,0.9,14.5,1.2
2,3,0.9,14.5,1.2
3,5,1.1,15.5,0.8
4,8,1.0,15,0.9
5,9,0.85,14.25,1.1
"""


def _sweep(make_sweep, tmp_path, table: str = TABLE, **extra):
    (tmp_path / "draws.csv").write_text(table)
    data = {"design": "psa", "draws": {"file": "draws.csv"}, "kpis": ["cost_per_year"]}
    data.update(extra)
    return make_sweep(data, horizon=150)


def test_every_row_appears_exactly_as_written_and_jointly(make_sweep, tmp_path):
    sweep = load_sweep(_sweep(make_sweep, tmp_path))
    assert sweep.draws.columns == [MEAN, WTE]   # draw, particle and distance are bookkeeping
    points = build_points(sweep)
    assert [p.values for p in points] == [{MEAN: 0.8, WTE: 14}, {MEAN: 0.9, WTE: 14.5}, {MEAN: 0.9, WTE: 14.5},
                                          {MEAN: 1.1, WTE: 15.5}, {MEAN: 1.0, WTE: 15}, {MEAN: 0.85, WTE: 14.25}]
    assert all(p.values[WTE] == 10 + 5 * p.values[MEAN] for p in points)   # the joint relation is kept
    assert points[0].scenario.services["desk"].staff["server"].wte == 14
    assert points[3].scenario.pathway.steps["service"].duration.mean.value == 1.1


def test_independent_parameters_are_drawn_as_without_a_table(make_sweep, tmp_path):
    gamma = {"dist": "gamma", "mean": 50, "sd": 5}
    sweep = load_sweep(_sweep(make_sweep, tmp_path, parameters={COST: gamma}, samples=6))
    points = build_points(sweep)
    alone = psa_values(sweep.spec.parameters, {}, 6, seed=3)   # cost_per_hour is a plain number: no unit
    assert [p.values[COST] for p in points] == [v[COST] for v in alone]
    rows = [(p.values[MEAN], p.values[WTE]) for p in points]
    assert rows == [(0.8, 14), (0.9, 14.5), (0.9, 14.5), (1.1, 15.5), (1.0, 15), (0.85, 14.25)]
    # two draws of the same row differ in the independent parameter, and so in their seed
    assert points[1].values[COST] != points[2].values[COST]
    assert runner.run_seed(sweep, points[1]) != runner.run_seed(sweep, points[2])


def test_fewer_samples_than_rows_take_seeded_distinct_rows_in_order(make_sweep, tmp_path):
    sweep = load_sweep(_sweep(make_sweep, tmp_path, samples=4))
    chosen = [p.values for p in build_points(sweep)]
    again = [p.values for p in build_points(load_sweep(sweep.path))]
    assert chosen == again and len(chosen) == 4
    lines = [sweep.draws.rows.index(v) for v in chosen]  # first matching row; rows 1 and 2 are equal
    assert lines == sorted(lines)
    assert all(v in sweep.draws.rows for v in chosen)


def test_columns_picks_some_columns(make_sweep, tmp_path):
    sweep = load_sweep(_sweep(make_sweep, tmp_path, draws={"file": "draws.csv", "columns": [WTE]}))
    assert [p.values for p in build_points(sweep)][:2] == [{WTE: 14}, {WTE: 14.5}]


def test_every_cell_is_used_as_written():
    """A cell is set as written; a bare cell where the base writes a unit is refused before this
    (tests/test_sweep_units.py), rather than given the base's unit as it once was."""
    table = DrawTable(None, ["h", "d"], [{"h": "0.05 per week", "d": "17.4 days"}, {"h": 1e-05, "d": 3}], [2, 3], "")
    values = table_values(table, 2, seed=1)
    assert values == [{"h": "0.05 per week", "d": "17.4 days"}, {"h": 1e-05, "d": 3}]


def test_the_seeds_and_the_resume_follow_the_table(make_sweep, tmp_path):
    path = _sweep(make_sweep, tmp_path, samples=3)
    sweep = load_sweep(path)
    seeds = [runner.run_seed(sweep, p) for p in build_points(sweep)]
    assert len(set(seeds)) == 3 and seeds == [runner.run_seed(load_sweep(path), p) for p in build_points(sweep)]
    out = tmp_path / "out"
    first = runner.sweep(path, out, workers=1)
    assert first.ran_now == 3 * 2 and runner.sweep(path, out, workers=1).ran_now == 0   # resumed: nothing to run
    (tmp_path / "draws.csv").write_text(TABLE.replace("0.8,14,", "0.8,14.1,"))
    with pytest.raises(IcssimError, match="the table of draws has changed"):
        runner.prepare(path, out)


BAD = [
    ({"draws": "nowhere.csv"}, None, ["draws: ", "nowhere.csv", "does not exist", "relative to the sweep file"]),
    ({}, "", ["draws.csv: the table of draws is empty"]),
    ({}, f"{MEAN},{WTE}\n", ["draws.csv: the table of draws has a header but no rows"]),
    ({}, f"{MEAN},{WTE}\n0.8,14\n0.9,lots\n", ["draws.csv:3: column 'services.desk.staff.server.wte'",
                                               "expected a number", "'lots'"]),
    ({}, f"{MEAN},{WTE}\n0.8,14\n0.9,\n", ["draws.csv:3: column 'services.desk.staff.server.wte'", "found ''"]),
    ({}, f"{MEAN},{WTE}\n0.8,14\n0.9\n", ["draws.csv:3: expected 2 cells", "found 1"]),
    ({}, f"{MEAN},{MEAN}\n0.8,14\n", ["draws.csv:1: column 'pathway.steps.service.duration.mean' appears more"]),
    ({}, "draw,distance\n0,1.5\n", ["draws.csv: the table of draws has no parameter columns"]),
    ({}, "pathway.steps.servise.duration.mean\n0.8\n",
     ["draws.csv: column 'pathway.steps.servise.duration.mean'", "no key 'servise'",
      "did you mean 'pathway.steps.service.duration.mean'?"]),
    ({"samples": 7}, None, ["samples: 7 parameter sets asked for", "draws.csv has 6 rows", "at most 6"]),
    ({"parameters": {WTE: {"dist": "gamma", "mean": 10, "sd": 1}}}, None,
     ["'services.desk.staff.server.wte' is both a column of", "under 'parameters'"]),
    ({"draws": {"file": "draws.csv", "columns": ["pathway.steps.service.duration.maen"]}}, None,
     ["draws.columns: 'pathway.steps.service.duration.maen' is not a column",
      "did you mean 'pathway.steps.service.duration.mean'?"]),
    ({"design": "sobol", "samples": 4}, None, ["Sobol design cannot use a table of draws",
                                                "independently of each other"]),
    ({"design": "grid"}, None, ["use 'design: psa'"]),
]


@pytest.mark.parametrize("extra, table, words", BAD, ids=[w[0][:40] for _, _, w in BAD])
def test_a_bad_table_is_refused_with_file_line_and_column(make_sweep, tmp_path, extra, table, words):
    from helpers import run_cli

    path = _sweep(make_sweep, tmp_path, TABLE if table is None else table, **extra)
    code, err = run_cli(["sweep", str(path), "--out", str(tmp_path / "out"), "--yes", "-q"])
    assert code == 2, err
    assert "Traceback" not in err
    for w in words:
        assert w in err, (w, err)
    assert not (tmp_path / "out").exists()


def test_the_sample_correlation_of_the_table_is_the_points_correlation(make_sweep, tmp_path):
    """A table whose columns are correlated (rho 0.9) gives points with that correlation exactly;
    independent draws of the same two marginals would give about 0."""
    rng = np.random.default_rng(2)
    z = rng.multivariate_normal([1.0, 15.0], [[0.01, 0.009 * 5], [0.009 * 5, 0.25]], size=40)
    text = f"{MEAN},{WTE}\n" + "".join(f"{a:.6f},{b:.4f}\n" for a, b in z)
    sweep = load_sweep(_sweep(make_sweep, tmp_path, text))
    points = build_points(sweep)
    x = np.array([[p.values[MEAN], p.values[WTE]] for p in points])
    table = np.array([[r[MEAN], r[WTE]] for r in sweep.draws.rows])
    assert np.array_equal(x, table)
    assert np.corrcoef(x.T)[0, 1] == pytest.approx(np.corrcoef(table.T)[0, 1]) and np.corrcoef(x.T)[0, 1] > 0.8


def test_a_psa_of_scenarios_without_health_outcomes_is_refused_before_writing(make_sweep, tmp_path):
    """The PSA's answer weighs cost against QALYs; a base scenario without a ``health:`` block has
    neither, which is said before anything runs or is written."""
    from helpers import run_cli

    path = _sweep(make_sweep, tmp_path, samples=2)
    code, err = run_cli(["psa", str(path), "--out", str(tmp_path / "out"), "--yes", "-q", "-w", "1"])
    assert code == 2, err
    assert "its strategy mmc_small has no course of illness to measure them (cost_per_person, " in err
    assert "give each base scenario a 'health:' block" in err
    assert "Traceback" not in err and "internal error" not in err
    assert not (tmp_path / "out").exists()


def test_labels_name_a_tables_columns_and_a_label_for_no_column_is_refused(make_sweep, tmp_path):
    labelled = {"file": "draws.csv", "labels": {MEAN: "Mean service time"}}
    sweep = load_sweep(_sweep(make_sweep, tmp_path, draws=labelled))
    assert sweep.drawn() == {MEAN: "Mean service time", WTE: WTE}   # unlabelled: its key path
    wrong = {"file": "draws.csv", "columns": [WTE], "labels": {MEAN: "Mean service time"}}
    with pytest.raises(IcssimError, match=r"draws.labels: '.*duration.mean' is not a column the PSA uses"):
        load_sweep(_sweep(make_sweep, tmp_path, draws=wrong))


def test_a_label_changes_no_run(make_sweep, tmp_path):
    """A sweep resumes after a column is labelled: labels name results, they do not make them."""
    plain = load_sweep(_sweep(make_sweep, tmp_path))
    labelled = load_sweep(_sweep(make_sweep, tmp_path, draws={"file": "draws.csv", "labels": {WTE: "Servers"}}))
    assert resume.runs_sha256(plain) == resume.runs_sha256(labelled)
    other = load_sweep(_sweep(make_sweep, tmp_path, draws={"file": "draws.csv", "columns": [WTE]}))
    assert resume.runs_sha256(other) != resume.runs_sha256(plain)


def test_columns_whose_key_paths_end_alike_each_have_their_label_in_the_report(make_sweep, tmp_path):
    """Two columns of a table of draws whose key paths end alike (``...server.wte``, ``...clerk.wte``)
    each have their own column of the report's table of draws and row of "What was varied":
    labelled with their ``labels:`` entry, or without one by their whole key path; neither is
    named by the last part of its key path, which they share, so neither overwrites the other."""
    from html import unescape

    clerk = "services.desk.staff.clerk.wte"
    path = _sweep(make_sweep, tmp_path, f"{WTE},{clerk}\n10,2\n11,3\n",
                  draws={"file": "draws.csv", "labels": {WTE: "Servers at the desk"}})
    path.parent.joinpath("mmc_small.yaml").write_text(path.parent.joinpath("mmc_small.yaml").read_text().replace(
        "      server: {wte: 10, cost_per_hour: 50}\n",
        "      server: {wte: 10, cost_per_hour: 50}\n      clerk: {wte: 2, cost_per_hour: 30}\n"))
    path.write_text(path.read_text().replace('"replications": 2', '"replications": 1'))
    html = unescape((runner.sweep(path, tmp_path / "out", workers=1).out / "report.html").read_text())
    points = html.split('<section id="points">')[1].split("</section>")[0]
    header = points.split("</thead>")[0]
    assert '<th scope="col">Servers at the desk</th>' in header and f'<th scope="col">{clerk}</th>' in header
    assert '<th scope="col">wte</th>' not in header
    varied = html.split("<h3>What was varied</h3>")[1].split("</table>")[0]
    assert "<td>Servers at the desk</td>" in varied and f"<td>{clerk}</td>" in varied


@pytest.mark.parametrize("labels, parameter_label, refused, other", [
    ({WTE: "Desk"}, "Desk", f"draws.labels.{WTE}", COST),
    ({WTE: MEAN}, "", f"draws.labels.{WTE}", MEAN),
])
def test_a_label_another_setting_has_is_refused(make_sweep, tmp_path, labels, parameter_label, refused, other):
    """A label that is another drawn value's label, or the key path an unlabelled one is shown by,
    would show one column where there are two: refused with the file, line and key."""
    from icssim.errors import ScenarioError

    gamma = {"dist": "gamma", "mean": 50, "sd": 5, **({"label": parameter_label} if parameter_label else {})}
    path = _sweep(make_sweep, tmp_path, draws={"file": "draws.csv", "labels": labels}, parameters={COST: gamma})
    with pytest.raises(ScenarioError) as exc:
        load_sweep(path)
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if f'"{WTE}": ' in text)
    assert str(exc.value) == (f"{path}:{line}: {refused}: {labels[WTE]!r} is also the label or key path of {other!r}: "
                              "a label names a setting in the tables and plots, so give each its own")
