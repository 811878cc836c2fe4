"""A column of a PSA's table of draws that sets further key paths (``draws.also``): each listed key
path takes the column's value, row by row, in every strategy that has it (another pathway's step-up
share for the same clinical need); the tied paths are not columns of their own; every bad tie is
refused naming the sweep file, the line and the key, as a parameter's ``also`` is; and a table
without ``also`` keeps its fingerprint, so existing result folders still resume."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from icssim.errors import IcssimError, ScenarioError
from icssim.sweep import resume, runner
from icssim.sweep.design import build_points
from icssim.sweep.spec import load_sweep

from conftest import HERE
from test_psa_tied import CLERK, MEAN, SECOND, SERVER, TECH

HANDOFF = "pathway.steps.service.handoff"

#: three rows of the clerk's cost (the first strategy's own column) and the server's (both's)
TABLE = f"draw,{CLERK},{SERVER},distance\n0,45,48,1.5\n1,52.5,51,1.2\n2,61,55,0.9\n"
ROWS = [(45, 48), (52.5, 51), (61, 55)]


def _bases(folder: Path, tech: str = "50") -> None:
    first = (HERE / "mmc_small.yaml").read_text().replace("horizon: 1200", "horizon: 150").replace(
        "      server: {wte: 10, cost_per_hour: 50}\n",
        "      server: {wte: 10, cost_per_hour: 50}\n      clerk: {wte: 2, cost_per_hour: 50}\n")
    (folder / "first.yaml").write_text(first)
    (folder / "second.yaml").write_text(SECOND.replace("cost_per_hour: 50", f"cost_per_hour: {tech}"))


def _sweep(folder: Path, draws: dict | None = None, table: str = TABLE, **extra) -> Path:
    if not (folder / "first.yaml").exists():
        _bases(folder)
    (folder / "draws.csv").write_text(table)
    data = {"sweep": {"name": "tied", "seed": 5, "replications": 1},
            "base": {"first": "first.yaml", "second": "second.yaml"},
            "design": "psa", "draws": {"file": "draws.csv", **(draws or {})}, "kpis": ["cost_per_year"]}
    data.update(extra)
    path = folder / "psa.yaml"
    path.write_text(json.dumps(data, indent=1))
    return path


def _line(path: Path, text: str, after: int = 0) -> int:
    """The first line of ``path`` after line ``after`` that holds ``text``."""
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if i > after and text in line)


def _item(path: Path, text: str, nth: int = 0) -> int:
    """The line of the ``nth`` list item (a line of the quoted ``text`` alone) of ``path``."""
    return [i for i, line in enumerate(path.read_text().splitlines(), 1)
            if line.strip().rstrip(",") == json.dumps(text)][nth]


def _staff(point, service: str, role: str) -> float:
    return point.scenario.services[service].staff[role].cost_per_hour


def _by_base(points) -> dict[str, list]:
    return {b: [p for p in points if p.base == b] for b in ("first", "second")}


def test_a_column_sets_its_also_key_paths_row_by_row_in_each_strategy_that_has_them(tmp_path):
    """The clerk's cost is a column only the first strategy has; tied to the technician's cost,
    which only the second has, each row's value reaches the technician too: the draw now changes
    both pathways, not the first alone."""
    sweep = load_sweep(_sweep(tmp_path, {"also": {CLERK: [TECH]}, "labels": {CLERK: "Clerk cost"}}))
    by_base = _by_base(build_points(sweep))
    assert [p.values for p in by_base["first"]] == [p.values for p in by_base["second"]] == \
        [{CLERK: clerk, SERVER: server} for clerk, server in ROWS]   # no column of its own for the tied path
    assert [_staff(p, "desk", "clerk") for p in by_base["first"]] == [45, 52.5, 61]
    assert [_staff(p, "lab", "tech") for p in by_base["second"]] == [45, 52.5, 61]
    assert [_staff(p, "desk", "server") for p in by_base["second"]] == [48, 51, 55]
    assert all("lab" not in p.scenario.services for p in by_base["first"])
    assert all("clerk" not in p.scenario.services["desk"].staff for p in by_base["second"])
    assert sweep.drawn() == {CLERK: "Clerk cost", SERVER: SERVER}   # the parameters the tables list
    seeds = {b: [runner.run_seed(sweep, p) for p in points] for b, points in by_base.items()}
    assert seeds["first"] == seeds["second"]                        # a row's strategies share its seed


def test_without_also_the_other_pathway_keeps_its_base_value(tmp_path):
    """The control for the test above: untied, the technician's cost stays at 50 in every row."""
    by_base = _by_base(build_points(load_sweep(_sweep(tmp_path))))
    assert [_staff(p, "lab", "tech") for p in by_base["second"]] == [50, 50, 50]
    assert [_staff(p, "desk", "clerk") for p in by_base["first"]] == [45, 52.5, 61]


def test_a_column_in_both_strategies_sets_each_tied_path_where_it_is_written(tmp_path):
    sweep = load_sweep(_sweep(tmp_path, {"columns": [SERVER], "also": {SERVER: [CLERK, TECH]}}))
    by_base = _by_base(build_points(sweep))
    for p, (_, server) in zip(by_base["first"], ROWS):
        assert p.values == {SERVER: server}
        assert _staff(p, "desk", "server") == _staff(p, "desk", "clerk") == server
    for p, (_, server) in zip(by_base["second"], ROWS):
        assert _staff(p, "desk", "server") == _staff(p, "lab", "tech") == server


def test_the_tied_path_takes_the_cell_with_its_unit(tmp_path):
    """A column written with a unit gives its tied key paths the same span, unit and all."""
    _bases(tmp_path)
    text = (tmp_path / "first.yaml").read_text().replace("duration: {dist: exponential, mean: 1}",
                                                         "duration: {dist: exponential, mean: 1 hours}")
    (tmp_path / "first.yaml").write_text(text.replace("      next: done\n", "      next: done\n"
                                                      "      handoff: 1 hours\n", 1))
    path = _sweep(tmp_path, {"also": {MEAN: [HANDOFF]}}, table=f"{MEAN}\n0.8 hours\n1.25 hours\n")
    points = build_points(load_sweep(path))
    assert len(points) == 4
    for p in points:
        step = p.scenario.pathway.steps["service"]
        assert step.duration.mean == step.handoff.value
        assert step.handoff.value.value == float(p.values[MEAN].split()[0]) and step.handoff.value.unit == "hour"
    assert [p.scenario.pathway.steps["service"].handoff.value.value for p in points] == [0.8, 1.25, 0.8, 1.25]
    bare = _sweep(tmp_path, {"also": {MEAN: [HANDOFF]}}, table=f"{MEAN}\n0.8\n1.25\n")
    with pytest.raises(ScenarioError, match=r"draws.csv:2: column pathway.steps.service.duration.mean: 0.8 is a "
                                            r"bare number, but the base writes '1 hours'"):
        build_points(load_sweep(bare))


def _refused_on_load(path: Path, key: str, line: int, *words: str) -> str:
    with pytest.raises(ScenarioError) as exc:
        load_sweep(path)
    return _said(str(exc.value), path, key, line, *words)


def _refused_on_build(path: Path, key: str, line: int, *words: str) -> str:
    with pytest.raises(IcssimError) as exc:
        build_points(load_sweep(path))
    return _said(str(exc.value), path, key, line, *words)


def _said(message: str, path: Path, key: str, line: int, *words: str) -> str:
    assert message.startswith(f"{path}:{line}: {key}: "), message
    for w in words:
        assert w in message, (w, message)
    assert "Traceback" not in message
    return message


def test_a_key_of_also_that_is_not_a_column_is_refused_with_the_nearest_column(tmp_path):
    wrong = "services.desk.staff.clerk.cost_per_hr"
    path = _sweep(tmp_path, {"also": {wrong: [TECH]}})
    _refused_on_load(path, f"draws.also.{wrong}", _line(path, f'"{wrong}"'),
                     f"{wrong!r} is not a column of the table of draws draws.csv that the PSA uses",
                     f"did you mean {CLERK!r}?")
    # a column of the file that draws.columns leaves out is not one the PSA uses either
    path = _sweep(tmp_path, {"columns": [SERVER], "also": {CLERK: [TECH]}})
    _refused_on_load(path, f"draws.also.{CLERK}", _line(path, f'"{CLERK}": ['), "is not a column",
                     f"did you mean {SERVER!r}?")
    path = _sweep(tmp_path, {"columns": [SERVER], "also": {"scenario.seed": [TECH]}})
    _refused_on_load(path, "draws.also.scenario.seed", _line(path, '"scenario.seed"'), f"(its columns: {SERVER})")


def test_a_tied_path_no_strategy_has_is_refused(tmp_path):
    misspelt = "services.desk.staff.server.cost_per_hr"
    path = _sweep(tmp_path, {"also": {CLERK: [misspelt]}})
    _refused_on_build(path, f"draws.also.{CLERK}.0", _item(path, misspelt), "no key 'cost_per_hr'",
                      f"did you mean {SERVER!r}?")
    unwritten = "services.desk.staff.server.paid_hours_per_year"
    path = _sweep(tmp_path, {"also": {CLERK: [TECH, unwritten]}})
    _refused_on_build(path, f"draws.also.{CLERK}.1", _item(path, unwritten),
                      f"{unwritten!r} is not set in any base scenario",
                      "a tied key path must be written in the scenario, with the column's base value")


def test_a_tied_path_with_another_base_value_is_refused(tmp_path):
    _bases(tmp_path, tech="55")
    path = _sweep(tmp_path, {"also": {CLERK: [TECH]}})
    _refused_on_build(path, f"draws.also.{CLERK}.0", _item(path, TECH), f"{TECH!r} is 55 in ", "second.yaml",
                      f"but {CLERK!r} is 50 in ", "first.yaml", "given the column's value itself",
                      "expected every key path of the column to hold the same base value (50) in every base scenario")
    path = _sweep(tmp_path, {"also": {CLERK: ["services.desk.staff.server.wte"]}})
    _refused_on_build(path, f"draws.also.{CLERK}.0", _item(path, "services.desk.staff.server.wte"),
                      "'services.desk.staff.server.wte' is 10 in ", f"but {CLERK!r} is 50 in ")
    path = _sweep(tmp_path, {"also": {CLERK: ["services.desk.staff"]}})
    _refused_on_build(path, f"draws.also.{CLERK}.0", _item(path, "services.desk.staff"),
                      "is a mapping, not a single value: a tied column gives each of its key paths one number a row")


GAMMA = {"dist": "gamma", "mean": 50, "sd": 5}


def test_a_tied_path_set_another_way_too_is_refused(tmp_path):
    """Its own key path, another column, a parameter, a path listed twice or tied twice: a key path
    takes one value."""
    own = _sweep(tmp_path, {"also": {CLERK: [CLERK]}})
    _refused_on_load(own, f"draws.also.{CLERK}.0", _item(own, CLERK),
                     f"{CLERK!r} is this column's own key path: list only other key paths")
    column = _sweep(tmp_path, {"also": {CLERK: [SERVER]}})
    _refused_on_load(column, f"draws.also.{CLERK}.0", _item(column, SERVER),
                     f"{SERVER!r} is a column of the table of draws draws.csv",
                     "take it from the table or tie it here, not both")
    drawn = _sweep(tmp_path, {"also": {CLERK: [TECH]}}, parameters={TECH: GAMMA})
    drawn_line = _line(drawn, json.dumps(TECH) + ": {")
    _refused_on_load(drawn, f"draws.also.{CLERK}.0", _item(drawn, TECH),
                     f"{TECH!r} is also drawn on its own under 'parameters' (line {drawn_line})",
                     "tie it here or draw it there, not both")
    twice = _sweep(tmp_path, {"also": {CLERK: [TECH, TECH]}})
    _refused_on_load(twice, "draws.also", _line(twice, '"also"'),
                     f"'also' of column {CLERK!r} lists {TECH!r} more than once")
    two_columns = _sweep(tmp_path, {"also": {CLERK: [TECH], SERVER: [TECH]}})
    _refused_on_load(two_columns, f"draws.also.{SERVER}.0", _item(two_columns, TECH, 1),
                     f"{TECH!r} is already tied to {CLERK!r}", "tie it to one parameter or column")
    parameter = _sweep(tmp_path, {"columns": [CLERK], "also": {CLERK: [TECH]}},
                       parameters={SERVER: {**GAMMA, "also": [TECH]}}, samples=3)
    _refused_on_load(parameter, f"draws.also.{CLERK}.0", _item(parameter, TECH), f"{TECH!r} is already tied to "
                     f"{SERVER!r}")
    not_a_list = _sweep(tmp_path, {"also": {CLERK: TECH}})
    _refused_on_load(not_a_list, f"draws.also.{CLERK}", _line(not_a_list, f'"{CLERK}": '), "expected a list")


def _old_runs_sha256(sweep) -> str:
    """:func:`resume.runs_sha256` as it was before ``draws.also``, for a PSA of a table alone."""
    spec = sweep.spec
    data = spec.model_dump(mode="json", include=set(resume.RUN_KEYS))
    data["sweep"] = {"seed": spec.sweep.seed, "replications": spec.sweep.replications,
                     "common_random_numbers": spec.sweep.common_random_numbers}
    data["seeding"] = "one seed per draw"
    data["draws"] = {"file": spec.draws.file, "columns": spec.draws.columns}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def test_a_table_without_also_keeps_its_fingerprint_and_one_with_it_changes(tmp_path):
    plain = load_sweep(_sweep(tmp_path))
    assert resume.runs_sha256(plain) == _old_runs_sha256(plain)
    labelled = load_sweep(_sweep(tmp_path, {"labels": {CLERK: "Clerk cost"}, "also": {}}))
    assert resume.runs_sha256(labelled) == _old_runs_sha256(plain)
    empty = load_sweep(_sweep(tmp_path, {"also": {CLERK: []}}))
    assert resume.runs_sha256(empty) == resume.runs_sha256(plain)
    assert resume.fingerprint(empty) == resume.fingerprint(plain)
    tied = load_sweep(_sweep(tmp_path, {"also": {CLERK: [TECH]}}))
    assert resume.runs_sha256(tied) != resume.runs_sha256(plain)
    assert resume.differences(resume.fingerprint(plain), resume.fingerprint(tied)).startswith(
        "the sweep file has changed")


def test_the_outputs_list_the_column_and_its_ties_as_a_parameter_and_its_ties(tmp_path):
    """metadata.json's entry for the column lists its ``also`` as a parameter's does (only when given:
    without it the entry is as before); the points table has the column and no column for the tied
    path; the column now counts as set in every strategy (its EVPPI groups)."""
    from icssim.health.psa_outputs import columns_by_strategies, evppi_groups

    plain = load_sweep(_sweep(tmp_path))
    assert columns_by_strategies(plain) == {"first only": [CLERK], "every strategy": [SERVER]}
    tied = load_sweep(_sweep(tmp_path, {"also": {CLERK: [TECH]}}))
    assert columns_by_strategies(tied) == {"every strategy": [CLERK, SERVER]}
    assert set(evppi_groups(tied)) == {CLERK, SERVER, "all columns of draws.csv"}
    result = runner.sweep(tied.path, tmp_path / "out", workers=1)
    meta = json.loads((result.out / "metadata.json").read_text())
    assert meta["parameters"][CLERK]["also"] == [TECH] and "also" not in meta["parameters"][SERVER]
    header = (result.out / "points.csv").read_text().splitlines()[0].split(",")
    assert CLERK in header and TECH not in header
    parameter = load_sweep(_sweep(tmp_path, {"columns": [CLERK]}, parameters={SERVER: {**GAMMA, "also": [TECH]}},
                                  samples=3))
    assert set(parameter.drawn()) == {CLERK, SERVER}   # a parameter's tied path has no column either
