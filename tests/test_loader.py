"""The scenario loader: extends and deep merge, provenance (lines, comments), safe YAML, error paths."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icssim.errors import ScenarioError
from icssim.scenario import load_scenario, provenance, scenario_from_dict
from icssim.scenario.loader import MAX_NODES, deep_merge
from icssim.units import Span

BASE = """\
scenario:
  name: base
  time_unit: days
  horizon: 1 year           # one year is enough here
  warmup: 30
attributes:
  urgency: [routine, urgent]
cohorts:
  adults:
    rate: 2 per day
    entry: assess
    attributes:
      urgency: {values: [routine, urgent], weights: [3, 1]}
services:
  team:
    staff:
      nurse: {wte: 2, cost_per_hour: 50}   # source: unit costs table
pathway:
  steps:
    assess:
      kind: assessment
      service: team
      staff: [nurse]
      duration: {dist: exponential, mean: 2 hours}
      handoff: 3 days
      next: done
    done: {kind: discharge, outcome: completed}
"""

RAW = {
    "scenario": {"name": "d", "horizon": 100},
    "cohorts": {"c": {"rate": 1, "entry": "a"}},
    "pathway": {"steps": {"a": {"kind": "referral", "next": "z"}, "z": {"kind": "discharge"}}},
}


def _problems(path: Path) -> list:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value.problems


def test_load_converts_units_and_records_provenance(tmp_path):
    path = tmp_path / "base.yaml"
    path.write_text(BASE)
    s = load_scenario(path)
    assert s.scenario.horizon == Span(1, "year")
    assert s.scenario.horizon.to("days") == 365.25
    step = s.pathway.steps["assess"]
    assert step.duration.compile("days").mean == pytest.approx(2 / 24)
    assert step.handoff.dist == "fixed" and step.next[0].to == "done"
    prov = provenance(s)
    assert prov.files == [str(path)]
    assert prov.lines[("services", "team", "staff", "nurse")] == (str(path), 17)
    assert prov.lines[("pathway", "steps", "assess", "duration")] == (str(path), 24)
    assert prov.comments[("scenario", "horizon")] == "one year is enough here"
    assert prov.comments[("services", "team", "staff", "nurse")] == "source: unit costs table"
    assert len(prov.sha256) == 64
    assert prov.raw["cohorts"]["adults"]["rate"] == "2 per day"


def test_extends_deep_merges_and_null_removes(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE)
    sub = tmp_path / "variants"
    sub.mkdir()
    child = sub / "child.yaml"
    child.write_text(
        "extends: ../base.yaml\n"
        "scenario: {name: child}\n"
        "services:\n"
        "  team:\n"
        "    staff:\n"
        "      nurse: {wte: 5}          # doubled\n"
        "pathway:\n"
        "  steps:\n"
        "    assess: {handoff: null}\n"
    )
    s = load_scenario(child)
    assert s.scenario.name == "child"
    assert s.scenario.time_unit == "days" and s.scenario.horizon == Span(1, "year")
    nurse = s.services["team"].staff["nurse"]
    assert nurse.wte == 5 and nurse.cost_per_hour == 50          # merged key by key
    assert s.pathway.steps["assess"].handoff is None             # null removes the base's key
    assert s.pathway.steps["assess"].staff == ["nurse"]
    prov = provenance(s)
    base = str(sub / "../base.yaml")
    assert prov.files == [base, str(child)]
    assert prov.lines[("services", "team", "staff", "nurse", "wte")] == (str(child), 6)
    assert prov.lines[("cohorts", "adults", "rate")] == (base, 10)
    assert prov.comments[("services", "team", "staff", "nurse")] == "doubled"   # the child's comment wins


def test_a_replaced_value_does_not_keep_the_base_s_source(tmp_path):
    """A child that rewrites a list (the urgency weights) replaces its items: the base's comment on
    them was the source of values that are gone, and must not be shown as the new values' (the app
    showed one file's source beside another file's line, found by an audit)."""
    from icssim.scenario import provenance

    base = BASE.replace("weights: [3, 1]}", "weights: [3, 1]}   # source: the referral audit")
    (tmp_path / "base.yaml").write_text(base)
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nscenario: {name: child}\ncohorts:\n  adults:\n    attributes:\n"
                     "      urgency: {values: [routine, urgent], weights: [1, 1]}\n")
    comments = provenance(load_scenario(child)).comments
    assert not any(k[:4] == ("cohorts", "adults", "attributes", "urgency") for k in comments)
    kept = provenance(load_scenario(tmp_path / "base.yaml")).comments
    assert kept[("cohorts", "adults", "attributes", "urgency")] == "source: the referral audit"


def test_extends_chain_of_three(tmp_path):
    (tmp_path / "a.yaml").write_text(BASE)
    (tmp_path / "b.yaml").write_text("extends: a.yaml\nscenario: {warmup: 10}\n")
    (tmp_path / "c.yaml").write_text("extends: b.yaml\nscenario: {name: c, seed: 9}\n")
    s = load_scenario(tmp_path / "c.yaml")
    assert (s.scenario.name, s.scenario.seed, s.scenario.warmup) == ("c", 9, Span(10))


def test_errors_in_a_child_point_at_the_child_line(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE)
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\npathway:\n  steps:\n    assess: {next: nowhere}\n")
    [problem] = _problems(child)
    assert (problem.file, problem.line) == (str(child), 4)
    assert problem.path == "pathway.steps.assess.next.0.to"
    assert "step 'nowhere' is not defined" in problem.message   # and no second "no way out" complaint


def test_a_problem_a_child_s_null_caused_names_the_child_line(tmp_path):
    """A child that removes the base's staff leaves the base's steps naming roles that are gone: the
    problem is at the base's line, and says which key of which file removed them."""
    (tmp_path / "base.yaml").write_text(BASE)
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nscenario: {name: child}\nservices:\n  team:\n    staff: null\n")
    [problem] = _problems(child)
    assert (problem.file, problem.line) == (str(tmp_path / "base.yaml"), 23)
    assert problem.path == "pathway.steps.assess.staff.0"
    assert problem.message == (f"staff role 'nurse' is not defined in service 'team'; defined: none "
                               f"(services.team.staff is set to null at {child}:5)")


#: BASE with two more services: a GP practice with a nurse, and a hub without staff
SERVICES = BASE.replace("services:\n", "services:\n  gp: {staff: {nurse: {wte: 1}}}\n  hub: {cost_per_contact: 5}\n")


def test_a_problem_a_child_s_replacement_caused_names_the_child_line(tmp_path):
    """Not only removals and not only staff roles: a step moved to another service (a replaced value)
    and a replaced list of levels are named beside the problems they cause at the base's lines."""
    (tmp_path / "base.yaml").write_text(SERVICES)
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nattributes:\n  urgency: [low, high]\n"
                     "pathway:\n  steps:\n    assess: {service: hub}\n")
    problems = {p.path: p for p in _problems(child)}
    assert problems["pathway.steps.assess.staff.0"].message.endswith(
        f"'hub'; defined: none (pathway.steps.assess.service is replaced at {child}:6)")
    assert problems["cohorts.adults.attributes.urgency"].file == str(tmp_path / "base.yaml")
    assert problems["cohorts.adults.attributes.urgency"].message.endswith(
        f"(attributes.urgency is replaced at {child}:3)")


def test_no_override_is_named_where_it_did_not_cause_the_problem(tmp_path):
    """A mistake of the base's own, and one inside what the child wrote (its line already named),
    get no note; in a chain, only the lowest file's override of a key is named."""
    (tmp_path / "base.yaml").write_text(SERVICES.replace("next: done", "next: gone"))
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nservices:\n  team:\n    staff: {nurse: {wte: -1}}\n"
                     "pathway:\n  steps:\n    assess: {handoff: null}\n")
    problems = {p.path: p for p in _problems(child)}
    assert problems["pathway.steps.assess.next.0.to"].message.endswith("did you mean 'done'?")
    assert problems["services.team.staff.nurse.wte"].file == str(child)
    assert problems["services.team.staff.nurse.wte"].message.endswith("found -1")
    (tmp_path / "b.yaml").write_text("extends: base.yaml\npathway: {steps: {assess: {service: gp}}}\n")
    (tmp_path / "c.yaml").write_text("extends: b.yaml\npathway: {steps: {assess: {service: hub}}}\n")
    [problem] = [p for p in _problems(tmp_path / "c.yaml") if p.path == "pathway.steps.assess.staff.0"]
    assert problem.message.endswith(f"'hub'; defined: none (pathway.steps.assess.service is replaced at "
                                    f"{tmp_path / 'c.yaml'}:2)")


@pytest.mark.parametrize("extends, words", [(3, "expected the path of a base scenario file, found 3"),
                                            ("missing.yaml", "does not exist")])
def test_bad_extends(tmp_path, extends, words):
    path = tmp_path / "x.yaml"
    path.write_text(f"# comment\nextends: {extends}\n")
    [problem] = _problems(path)
    assert (problem.line, problem.path) == (2, "extends")
    assert words in problem.message


def test_extends_cycles(tmp_path):
    (tmp_path / "self.yaml").write_text("extends: ./self.yaml\n")
    [problem] = _problems(tmp_path / "self.yaml")
    assert problem.line == 1 and "cycle (self.yaml -> self.yaml)" in problem.message
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: c.yaml\n")
    (tmp_path / "c.yaml").write_text("scenario: {}\nextends: a.yaml\n")
    [problem] = _problems(tmp_path / "a.yaml")
    assert (problem.file, problem.line) == (str(tmp_path / "c.yaml"), 2)
    assert "a.yaml -> b.yaml -> c.yaml -> a.yaml" in problem.message


def test_every_problem_is_reported_at_once(tmp_path):
    path = tmp_path / "many.yaml"
    path.write_text(BASE.replace("wte: 2,", "wte: -2,").replace("kind: assessment", "kind: asessment")
                    .replace("rate: 2 per day", "rate: 2 per fortnight"))
    problems = {p.path: p for p in _problems(path)}
    assert set(problems) == {"services.team.staff.nurse.wte", "pathway.steps.assess.kind", "cohorts.adults.rate"}
    assert problems["pathway.steps.assess.kind"].line == 21
    assert "did you mean 'assessment'?" in problems["pathway.steps.assess.kind"].message


def test_cross_reference_problems_are_all_reported(tmp_path):
    path = tmp_path / "refs.yaml"
    path.write_text(BASE.replace("entry: assess", "entry: asses").replace("staff: [nurse]", "staff: [nures]"))
    problems = {p.path: p.message for p in _problems(path)}
    assert "did you mean 'assess'?" in problems["cohorts.adults.entry"]
    assert "did you mean 'nurse'?" in problems["pathway.steps.assess.staff.0"]


@pytest.mark.parametrize("text, line, words", [
    ("a: !!binary aGVsbG8=\n", 1, "'!!binary'"),
    ("scenario: {name: !!str x}\n", 1, "'!!str'"),
    ("a: 1\nb: [1, !custom 2]\n", 2, "'!custom'"),
    ("--- !!python/object:os.system\nx: 1\n", 1, "'!!python/object:os.system'"),
    ("? !!python/name:os.system\n: 1\n", 1, "'!!python/name:os.system'"),
])
def test_every_explicit_tag_is_refused(tmp_path, text, line, words):
    path = tmp_path / "t.yaml"
    path.write_text(text)
    [problem] = _problems(path)
    assert problem.line == line
    assert words in problem.message and "tags are not allowed" in problem.message


def test_anchors_and_aliases_are_allowed_but_alias_bombs_are_not(tmp_path):
    ok = tmp_path / "ok.yaml"
    ok.write_text(BASE.replace("      next: done", "      next: &out done")
                  + "    again: {kind: referral, next: *out}\n")
    assert load_scenario(ok).pathway.steps["again"].next[0].to == "done"
    bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    bomb += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 7)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(bomb) + "\n")
    [problem] = _problems(path)
    assert f"more than {MAX_NODES:,} values" in problem.message


@pytest.mark.parametrize("text, words", [
    ("a: 1\na: 2\n", "duplicate key"),
    ("a: [1, 2\n", "not valid YAML"),
    ("'just text'\n", "found the single value 'just text'"),
    ("---\na: 1\n---\nb: 2\n", "not valid YAML"),
    ("? [a, b]\n: 1\n", "expected a plain name as key"),
])
def test_yaml_shape_problems(tmp_path, text, words):
    path = tmp_path / "y.yaml"
    path.write_text(text)
    [problem] = _problems(path)
    assert words in problem.message


def test_not_utf8(tmp_path):
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xff\xfe\x00a: 1")
    [problem] = _problems(path)
    assert "cannot read file" in problem.message


def test_scenario_from_dict_does_not_touch_its_input():
    raw = copy.deepcopy(RAW)
    s = scenario_from_dict(raw, name="notebook")
    assert raw == RAW
    assert provenance(s).files == ["notebook"]
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict({**RAW, "scenario": {"name": "d", "horizon": 0}})
    [problem] = info.value.problems
    assert (problem.file, problem.line, problem.path) == ("<dict>", None, "scenario.horizon")


def test_model_dump_round_trips_through_scenario_from_dict(tmp_path):
    path = tmp_path / "base.yaml"
    path.write_text(BASE.replace("horizon: 1 year", "horizon: 400.125 days"))
    s = load_scenario(path)
    dumped = s.model_dump(mode="json")
    again = scenario_from_dict(dumped)
    assert again.model_dump(mode="json") == dumped
    assert again.scenario.horizon.to("days") == 400.125


@pytest.mark.parametrize("dist, words", [
    ("{dist: expo, mean: 2}", ["unknown distribution 'expo'", "did you mean 'exponential'?"]),
    ("{dist: gamma, mean: 2}", ["required key 'sd' is missing"]),
    ("{dist: gamma, mean: 2, sd: 1, shape: 3}", ["unknown key 'shape'", "expected one of: dist, mean, sd"]),
    ("{mean: 2}", ["needs 'dist'"]),
])
def test_distribution_messages_name_the_allowed_choices(tmp_path, dist, words):
    path = tmp_path / "d.yaml"
    path.write_text(BASE.replace("{dist: exponential, mean: 2 hours}", dist))
    [problem] = _problems(path)
    assert problem.line == 24
    assert problem.path.startswith("pathway.steps.assess.duration")
    for w in words:
        assert w in problem.message


def test_categorical_attribute_messages(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(BASE.replace("weights: [3, 1]", "weights: [3]"))
    [problem] = _problems(path)
    assert problem.path == "cohorts.adults.attributes.urgency"
    assert problem.message == "weights has 1 entries but values has 2"
    path.write_text(BASE.replace("values: [routine, urgent], weights", "values: [routine, urgnt], weights"))
    [problem] = _problems(path)
    assert "'urgnt' is not one of the levels ['routine', 'urgent']" in problem.message


def _nested(depth: int):
    leaves = st.one_of(st.none(), st.integers(), st.text(max_size=3))
    return st.recursive(leaves, lambda kids: st.dictionaries(st.sampled_from("abc"), kids, max_size=3),
                        max_leaves=depth)


@settings(max_examples=150, deadline=None)
@given(base=st.dictionaries(st.sampled_from("abcd"), _nested(8), max_size=4),
       over=st.dictionaries(st.sampled_from("abcd"), _nested(8), max_size=4))
def test_deep_merge_properties(base, over):
    before = copy.deepcopy(base)
    merged = deep_merge(base, over)
    assert base == before                       # inputs untouched
    for key, value in over.items():
        if value is None:
            assert key not in merged            # null removes
        elif not (isinstance(value, dict) and isinstance(base.get(key), dict)):
            assert merged[key] == value         # anything else replaces
    for key in base.keys() - over.keys():
        assert merged[key] == base[key]         # the rest is kept
    assert deep_merge(merged, {}) == merged


@pytest.mark.parametrize("old, new, path", [
    ("horizon: 1 year ", "horizon: .inf ", "scenario.horizon"),
    ("horizon: 1 year ", "horizon: nan ", "scenario.horizon"),
    ("horizon: 1 year ", "horizon: 1e400 days ", "scenario.horizon"),
    ("wte: 2,", "wte: .nan,", "services.team.staff.nurse.wte"),
    ("weights: [3, 1]", "weights: [3, .inf]", "cohorts.adults.attributes.urgency.weights.1"),
    ("rate: 2 per day", "rate: 1e13 per day", "cohorts.adults.rate"),
])
def test_non_finite_and_absurd_numbers_are_refused(tmp_path, old, new, path):
    file = tmp_path / "n.yaml"
    assert old in BASE
    file.write_text(BASE.replace(old, new))
    problems = _problems(file)
    assert path in {p.path for p in problems}, problems


yaml_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
              st.sampled_from(["3 days", "-1 week", "5 per week", "nan", "done", "risk >= amber", "fixed"])),
    lambda kids: st.one_of(st.lists(kids, max_size=3),
                           st.dictionaries(st.sampled_from(["scenario", "cohorts", "pathway", "steps", "kind",
                                                            "next", "dist", "mean", "name", "horizon", "x"]),
                                           kids, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=200))
def test_any_text_gives_a_scenario_error_not_a_crash(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "t.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError):
        load_scenario(path)


@settings(max_examples=60, deadline=None)
@given(data=st.dictionaries(st.sampled_from(["scenario", "cohorts", "pathway", "services", "attributes",
                                             "deterioration", "extends"]), yaml_values, max_size=5))
def test_any_structure_gives_a_scenario_error_not_a_crash(tmp_path_factory, data):
    import json

    path = tmp_path_factory.mktemp("fuzz") / "t.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")   # JSON is YAML
    try:
        load_scenario(path)
    except ScenarioError as exc:
        assert exc.problems and all(isinstance(p.message, str) and p.message for p in exc.problems)


def test_a_file_read_again_comes_from_the_cache_unchanged(tmp_path, monkeypatch):
    """The second read of the same bytes is the cached one (no YAML parsing) and gives the same
    data, lines and comments; an edited file is read afresh; a damaged entry is ignored."""
    from icssim.scenario import yaml_reader

    monkeypatch.setenv("ICSSIM_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "base.yaml"
    path.write_text(BASE)
    first = provenance(load_scenario(path))
    entries = list((tmp_path / "cache" / "yaml").glob("*.json"))
    assert len(entries) == 1

    def no_parsing(*args, **kwargs):
        raise AssertionError("parsed again")

    monkeypatch.setattr(yaml_reader, "_parse", no_parsing)
    again = provenance(load_scenario(path))
    assert (again.raw, again.lines, again.comments) == (first.raw, first.lines, first.comments)
    assert again.comments[("scenario", "horizon")] == "one year is enough here"
    path.write_text(BASE.replace("warmup: 30", "warmup: 31"))
    with pytest.raises(AssertionError, match="parsed again"):
        load_scenario(path)
    monkeypatch.undo()
    monkeypatch.setenv("ICSSIM_CACHE_DIR", str(tmp_path / "cache"))
    entries[0].write_text("{not json")
    path.write_text(BASE)
    assert provenance(load_scenario(path)).raw == first.raw


def test_cache_keeps_dates_and_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("ICSSIM_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "dated.yaml"
    path.write_text(BASE.replace("  warmup: 30\n", "  warmup: 30\n  start_date: 2026-04-01\n"))
    first = load_scenario(path).scenario.start_date
    assert load_scenario(path).scenario.start_date == first == __import__("datetime").date(2026, 4, 1)
    monkeypatch.setenv("ICSSIM_CACHE_DIR", "off")
    load_scenario(tmp_path / "dated.yaml")
    assert len(list((tmp_path / "cache" / "yaml").glob("*.json"))) == 1


def test_a_comment_just_above_a_key_is_its_source(tmp_path):
    """A key without a comment on its line takes the comment lines just above it (a common way to
    cite a source at length: ed_fragmented.yaml's warm-up), also after a nested mapping; a comment
    indented otherwise is not taken, and the file's header is no key's source."""
    from icssim.scenario import provenance

    text = BASE.replace("  warmup: 30", "  # the list fills in about a month\n  # (assumption)\n  warmup: 30")
    text = text.replace("pathway:\n", "# the pathway of the audit\npathway:\n")
    text = text.replace("      kind: assessment\n", "      # --- what it is ---\n      # (assumption)\n"
                        "      kind: assessment\n        # indented deeper: not the next key's\n")
    path = tmp_path / "s.yaml"
    path.write_text("# a file header\n" + text)
    comments = provenance(load_scenario(path)).comments
    assert comments[("scenario", "warmup")] == "the list fills in about a month (assumption)"
    assert comments[("scenario", "horizon")] == "one year is enough here"          # its own line's, as before
    assert comments[("pathway",)] == "the pathway of the audit"                  # after a nested mapping
    assert ("scenario",) not in comments
    assert comments[("pathway", "steps", "assess", "kind")] == "(assumption)"    # below a section's heading
    assert ("pathway", "steps", "assess", "service") not in comments
