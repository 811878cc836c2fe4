"""A PSA parameter that sets several key paths with one draw (``also:``): each tied key path receives
exactly the drawn value in the scenario a run is given, in every strategy that has it; a key path
only one strategy has is drawn for that strategy alone; and every bad tie is refused naming the
sweep file, the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import HERE, dump
from icssim.errors import IcssimError, ScenarioError
from icssim.sweep import resume, runner
from icssim.sweep.design import build_points
from icssim.sweep.spec import load_sweep

SERVER = "services.desk.staff.server.cost_per_hour"
CLERK = "services.desk.staff.clerk.cost_per_hour"
TECH = "services.lab.staff.tech.cost_per_hour"
MEAN = "pathway.steps.service.duration.mean"

#: the second strategy: the first without its clerk, with a lab whose technician is costed from the
#: same (made-up) source row as the desk's server and clerk
SECOND = """extends: first.yaml
scenario: {name: second}
services:
  desk:
    staff:
      clerk: null
  lab:
    staff:
      tech: {wte: 1, cost_per_hour: 50}
"""


def _bases(folder: Path, clerk: str = "50", tech: str = "50") -> None:
    first = (HERE / "mmc_small.yaml").read_text().replace(
        "      server: {wte: 10, cost_per_hour: 50}\n",
        f"      server: {{wte: 10, cost_per_hour: 50}}\n      clerk: {{wte: 2, cost_per_hour: {clerk}}}\n")
    (folder / "first.yaml").write_text(first)
    (folder / "second.yaml").write_text(SECOND.replace("cost_per_hour: 50", f"cost_per_hour: {tech}"))


def _sweep(folder: Path, parameters: dict, base: object = None, **extra) -> Path:
    if not (folder / "first.yaml").exists():
        _bases(folder)
    data = {"sweep": {"name": "tied", "seed": 5, "replications": 1},
            "base": base or {"first": "first.yaml", "second": "second.yaml"},
            "design": "psa", "samples": 6, "parameters": parameters, "kpis": ["cost_per_year"]}
    data.update(extra)
    path = folder / "psa.yaml"
    path.write_text(dump(data))
    return path


GAMMA = {"dist": "gamma", "mean": 50, "sd": 5}


def _staff(point, service: str, role: str) -> float:
    return point.scenario.services[service].staff[role].cost_per_hour


def test_a_tied_key_path_gets_exactly_the_drawn_value_in_each_strategy_that_has_it(tmp_path):
    sweep = load_sweep(_sweep(tmp_path, {SERVER: {**GAMMA, "label": "Staff cost", "also": [CLERK, TECH]}}))
    points = build_points(sweep)
    first = [p for p in points if p.base == "first"]
    second = [p for p in points if p.base == "second"]
    assert len(first) == len(second) == 6
    drawn = [p.values[SERVER] for p in first]
    assert len(set(drawn)) == 6 and all(v != 50 for v in drawn)
    for p, value in zip(first, drawn):
        assert list(p.values) == [SERVER]                  # one column: the tied paths are not parameters
        assert _staff(p, "desk", "server") == value and _staff(p, "desk", "clerk") == value
        assert "lab" not in p.scenario.services
    for p, value in zip(second, drawn):
        assert p.values == {SERVER: value}                 # the same draw, so the same seed: common random numbers
        assert _staff(p, "desk", "server") == value and _staff(p, "lab", "tech") == value
        assert "clerk" not in p.scenario.services["desk"].staff
    assert [runner.run_seed(sweep, p) for p in first] == [runner.run_seed(sweep, p) for p in second]
    assert sweep.drawn() == {SERVER: "Staff cost"}


def test_the_draws_are_those_of_the_parameter_without_its_ties(tmp_path):
    """Tying more key paths to a parameter does not change what is drawn, only where it is set."""
    tied = [p.values for p in build_points(load_sweep(_sweep(tmp_path, {SERVER: {**GAMMA, "also": [CLERK]}})))]
    alone = [p.values for p in build_points(load_sweep(_sweep(tmp_path, {SERVER: GAMMA})))]
    assert tied == alone


def test_without_the_tie_the_other_key_path_keeps_its_base_value(tmp_path):
    """The control for the tests above: the clerk's cost stays at 50 when it is not tied."""
    points = build_points(load_sweep(_sweep(tmp_path, {SERVER: GAMMA})))
    assert all(_staff(p, "desk", "clerk") == 50 for p in points if p.base == "first")
    assert any(_staff(p, "desk", "server") != 50 for p in points)


def test_a_key_path_only_one_strategy_has_is_drawn_for_that_strategy(tmp_path):
    """The technician's cost exists only in the second base: drawn there, the first runs as it is,
    and both strategies of a draw share its values (and so its seed)."""
    sweep = load_sweep(_sweep(tmp_path, {TECH: GAMMA}))
    points = build_points(sweep)
    by_base = {b: [p for p in points if p.base == b] for b in ("first", "second")}
    assert [p.values for p in by_base["first"]] == [p.values for p in by_base["second"]]
    assert [_staff(p, "lab", "tech") for p in by_base["second"]] == [p.values[TECH] for p in by_base["second"]]
    assert all("lab" not in p.scenario.services for p in by_base["first"])
    assert len({p.key for p in by_base["first"]}) == 1     # nothing drawn applies to the first strategy


def test_a_column_of_the_table_of_draws_only_one_strategy_has_is_set_in_that_strategy(tmp_path):
    """A posterior fitted to one pathway also holds that pathway's own values (here the clerk, which
    only the first base has): each row sets them where they exist, the other strategy runs the
    same row's shared values, and both share the row's seed. A column no base has is refused."""
    clerk_wte = "services.desk.staff.clerk.wte"
    (tmp_path / "draws.csv").write_text(f"{clerk_wte},{MEAN}\n3,0.8\n1,0.9\n")
    sweep = load_sweep(_sweep(tmp_path, {}, draws={"file": "draws.csv"}, samples=2))
    points = build_points(sweep)
    by_base = {b: [p for p in points if p.base == b] for b in ("first", "second")}
    assert [p.values for p in by_base["first"]] == [p.values for p in by_base["second"]] == \
        [{clerk_wte: 3, MEAN: 0.8}, {clerk_wte: 1, MEAN: 0.9}]
    assert [p.scenario.services["desk"].staff["clerk"].wte for p in by_base["first"]] == [3, 1]
    assert all("clerk" not in p.scenario.services["desk"].staff for p in by_base["second"])
    assert [p.scenario.pathway.steps["service"].duration.mean.value for p in by_base["second"]] == [0.8, 0.9]
    seeds = {b: [runner.run_seed(sweep, p) for p in points] for b, points in by_base.items()}
    assert seeds["first"] == seeds["second"]
    (tmp_path / "draws.csv").write_text("services.desk.staff.clerc.wte\n3\n1\n")
    _refused(_sweep(tmp_path, {}, draws={"file": "draws.csv"}, samples=2),
             "draws: ", "draws.csv: column 'services.desk.staff.clerc.wte'", "no key 'clerc'")


def test_a_column_two_strategies_write_with_different_values_is_refused(tmp_path):
    """A row gives one value for every strategy that has the key path: where the second strategy
    writes its own server count (12, not the first's 10), taking the first's fitted one is refused."""
    _bases(tmp_path)
    second = tmp_path / "second.yaml"
    second.write_text(second.read_text().replace("    staff:\n      clerk: null",
                                                  "    staff:\n      clerk: null\n      server: {wte: 12}"))
    server_wte = "services.desk.staff.server.wte"
    (tmp_path / "draws.csv").write_text(f"{server_wte}\n9\n11\n")
    message = _refused(_sweep(tmp_path, {}, draws={"file": "draws.csv"}, samples=2),
                       f"draws.csv: column {server_wte!r}: is 10 in ", "but 12 in ", "second.yaml",
                       "leave the column out (draws.columns)")
    assert "Traceback" not in message


def test_a_unit_is_kept_on_a_tied_key_path(tmp_path):
    _bases(tmp_path)
    text = (tmp_path / "first.yaml").read_text().replace("duration: {dist: exponential, mean: 1}",
                                                         "duration: {dist: exponential, mean: 1 hours}")
    text = text.replace("      next: done\n", "      next: done\n      handoff: 1 hours\n", 1)
    (tmp_path / "first.yaml").write_text(text)
    sweep = load_sweep(_sweep(tmp_path, {MEAN: {**GAMMA, "mean": 1, "sd": 0.1, "unit": "hours",
                                                "also": ["pathway.steps.service.handoff"]}}))
    for p in build_points(sweep):
        step = p.scenario.pathway.steps["service"]
        assert p.values[MEAN].endswith(" hours")
        assert step.duration.mean == step.handoff.value            # the same span, unit and all
        assert step.handoff.value.value == float(p.values[MEAN].split()[0]) and step.handoff.value.unit == "hour"


def _refused(path: Path, *words: str) -> str:
    with pytest.raises(IcssimError) as exc:
        build_points(load_sweep(path))
    message = str(exc.value)
    for w in words:
        assert w in message, (w, message)
    return message


def test_a_tied_key_path_with_another_base_value_is_refused_naming_file_line_and_key(tmp_path):
    _bases(tmp_path, tech="55")
    path = _sweep(tmp_path, {SERVER: {**GAMMA, "also": [CLERK, TECH]}})
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if TECH in text)
    _refused(path, f"psa.yaml:{line}: parameters.{SERVER}.also.1:", f"{TECH!r} is 55 in ",
             "second.yaml", f"but {SERVER!r} is 50 in ", "first.yaml", "expected every key path of the parameter",
             "same base value (50)", "draw a different value as a parameter of its own")


def test_the_drawn_key_path_itself_must_hold_one_base_value_when_it_has_ties(tmp_path):
    _bases(tmp_path)
    (tmp_path / "second.yaml").write_text(SECOND.replace("      clerk: null\n", "      clerk: null\n"
                                                         "      server: {wte: 10, cost_per_hour: 60}\n"))
    _refused(_sweep(tmp_path, {SERVER: {**GAMMA, "also": [TECH]}}), f"parameters.{SERVER}:",
             f"{SERVER!r} is 60 in ", f"but {SERVER!r} is 50 in ")


@pytest.mark.parametrize("also, words", [
    (["services.desk.staff.clerc.cost_per_hour"],
     [f"parameters.{SERVER}.also.0: 'services.desk.staff.clerc.cost_per_hour': no key 'clerc' under "
      "services.desk.staff of ", "did you mean 'services.desk.staff.clerk.cost_per_hour'?"]),
    (["services.desk.staff.server.wte"],
     ["'services.desk.staff.server.wte' is 10 in ", "but 'services.desk.staff.server.cost_per_hour' is 50 in "]),
    (["services.desk.staff"], ["'services.desk.staff' in ", "is a mapping, not a single value"]),
    (["services.desk.staff.server.paid_hours_per_year"],
     ["'services.desk.staff.server.paid_hours_per_year' is not set in any base scenario",
      "a tied key path must be written in the scenario"]),
])
def test_a_tied_key_path_that_cannot_be_set_is_refused(tmp_path, also, words):
    message = _refused(_sweep(tmp_path, {SERVER: {**GAMMA, "also": also}}), *words)
    assert "psa.yaml:" in message


@pytest.mark.parametrize("parameters, words", [
    ({SERVER: {**GAMMA, "also": "services.desk.staff.clerk.cost_per_hour"}},
     [f"parameters.{SERVER}.also: expected a list"]),
    ({SERVER: {**GAMMA, "also": [3]}}, [f"parameters.{SERVER}.also.0: expected text"]),
    ({SERVER: {**GAMMA, "also": [""]}}, [f"parameters.{SERVER}.also.0:"]),
    ({SERVER: {**GAMMA, "also": [CLERK, CLERK]}}, [f"parameters.{SERVER}.also:", "lists", "more than once"]),
    ({SERVER: {**GAMMA, "also": [SERVER]}}, [f"parameters.{SERVER}.also.0: {SERVER!r} is this parameter's own"]),
    ({SERVER: {**GAMMA, "also": [CLERK]}, CLERK: GAMMA},
     [f"parameters.{SERVER}.also.0: {CLERK!r} is also drawn on its own under 'parameters' (line ",
      "tie it here or draw it there, not both"]),
    ({SERVER: {**GAMMA, "also": [CLERK]}, TECH: {**GAMMA, "also": [CLERK]}},
     [f"parameters.{TECH}.also.0: {CLERK!r} is already tied to {SERVER!r}"]),
    ({SERVER: {"values": [40, 60], "also": [CLERK]}}, [f"parameters.{SERVER}.also:", "it needs a distribution"]),
])
def test_a_bad_also_is_refused_naming_file_line_and_key(tmp_path, parameters, words):
    path = _sweep(tmp_path, parameters)
    with pytest.raises(ScenarioError) as exc:
        load_sweep(path)
    message = str(exc.value)
    assert message.startswith(f"{path}:") and f"{path}:None" not in message, message
    for w in words:
        assert w in message, (w, message)


def test_a_tied_key_path_that_is_a_column_of_the_table_of_draws_is_refused(tmp_path):
    (tmp_path / "draws.csv").write_text(f"{CLERK}\n48\n52\n")
    path = _sweep(tmp_path, {SERVER: {**GAMMA, "also": [CLERK]}}, draws={"file": "draws.csv"}, samples=2)
    with pytest.raises(ScenarioError, match=f"also.0: {CLERK!r} is a column of the table of draws draws.csv"):
        load_sweep(path)


def _line(path: Path, text: str) -> int:
    """The line of ``path`` that holds ``text``."""
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_a_drawn_key_path_in_no_base_is_still_refused(tmp_path):
    """Named with the sweep file, the line of the parameter's key and the key, as every other
    problem with a parameter is."""
    wrong = "services.desk.staff.servr.cost_per_hour"
    path = _sweep(tmp_path, {wrong: GAMMA})
    message = _refused(path, f"{path}:{_line(path, wrong)}: parameters.{wrong}: no key 'servr'",
                       "did you mean 'services.desk.staff.server.cost_per_hour'?")
    assert message.startswith(f"{path}:{_line(path, wrong)}: "), message


def test_outside_a_psa_every_base_must_still_have_the_key_path(tmp_path):
    path = _sweep(tmp_path, {TECH: [40, 60]}, design="grid")
    path.write_text(path.read_text().replace('"samples": 6,', ""))
    _refused(path, f"{path}:{_line(path, TECH)}: parameters.{TECH}: no key 'lab' under services of ", "first.yaml")


def test_the_sweep_hash_is_unchanged_without_ties_and_changes_with_them(tmp_path):
    plain = resume.runs_sha256(load_sweep(_sweep(tmp_path, {SERVER: GAMMA})))
    data = load_sweep(_sweep(tmp_path, {SERVER: GAMMA})).spec.model_dump(mode="json")
    assert data["parameters"][SERVER]["also"] == []
    tied = resume.runs_sha256(load_sweep(_sweep(tmp_path, {SERVER: {**GAMMA, "also": [CLERK]}})))
    assert tied != plain
    # the hash of a sweep without ties is what it was before 'also' existed
    import hashlib
    import json
    spec = load_sweep(_sweep(tmp_path, {SERVER: GAMMA})).spec
    old = spec.model_dump(mode="json", include=set(resume.RUN_KEYS))
    for p in old["parameters"].values():
        for key in ("label", "unit", "also"):
            p.pop(key, None)
    old["sweep"] = {"seed": 5, "replications": 1, "common_random_numbers": True}
    old["seeding"] = "one seed per draw"
    assert plain == hashlib.sha256(json.dumps(old, sort_keys=True).encode()).hexdigest()


ROOT = HERE.parents[1]


def test_the_shipped_ed_psa_loads_and_sets_every_tie_to_its_draw():
    """``scenarios/sweeps/ed_psa.yaml``: one column per drawn parameter, its ties set to the drawn value
    in the scenario each strategy runs, a team's cost set only in the pathway that has the team, and
    the posterior's columns set in both."""
    from icssim.scenario import provenance
    from icssim.sweep.design import design_points
    from icssim.sweep.paths import MISSING, get_path

    sweep = load_sweep(ROOT / "scenarios" / "sweeps" / "ed_psa.yaml")
    params = sweep.spec.parameters
    assert params["health.states.remitted_lasting.utility"].also == ["health.states.remitted_sustained.utility"]
    assert "services.ed_service.staff.therapist.cost_per_hour" in \
        params["services.cyp_ed.staff.therapist.cost_per_hour"].also
    assert "services.ed_monitoring.cost_per_contact" in params
    points = design_points(sweep)
    first = {p.base: p for p in points[::-1]}   # each strategy's first draw
    assert first["fragmented"].values == first["integrated"].values
    assert sorted(first["fragmented"].values) == sorted(sweep.drawn())
    columns = sweep.draws.columns   # the calibration's posterior, one row per draw: every value it fitted
    assert set(sweep.drawn()) - set(params) == set(columns) and len(columns) == 12
    shared = {"deterioration.hazard.green", "services.adult_inpatient.beds", "services.cyp_inpatient.beds",
              "pathway.steps.adult_inpatient.handoff.mean"}
    for label, point in first.items():
        base = provenance(sweep.bases[label]).raw
        for column in columns:
            if get_path(base, column) is MISSING:   # the fragmented pathway's own teams, hand-offs, step-ups
                assert label == "integrated" and column not in shared and get_path(point.raw, column) is MISSING
            else:
                assert get_path(point.raw, column) == point.values[column], (label, column)
    assert sum(get_path(first["integrated"].raw, c) is not MISSING for c in columns) == len(shared)
    ties = 0
    for label, point in first.items():
        base, raw = provenance(sweep.bases[label]).raw, point.raw
        for path, p in params.items():
            for key in [path, *p.also]:
                if get_path(base, key) is MISSING:
                    assert get_path(raw, key) is MISSING, (label, key)   # not set where the base lacks it
                else:
                    assert get_path(raw, key) == point.values[path], (label, key)
                    ties += key != path
    assert ties >= 10
    assert get_path(first["fragmented"].raw, "services.ed_monitoring") is MISSING
    scenario = first["integrated"].scenario
    monitoring = first["integrated"].values["services.ed_monitoring.cost_per_contact"]
    assert scenario.services["ed_monitoring"].cost_per_contact == monitoring != 103
    therapists = first["integrated"].values["services.cyp_ed.staff.therapist.cost_per_hour"]
    assert scenario.services["ed_service"].staff["therapist"].cost_per_hour == therapists != 68
