"""``icssim validate`` and ``icssim run`` refuse bad scenario files with a clear message, no traceback.

Each bad file is checked for: non-zero exit, the file name, the line (where the mistake has one),
the key path, what was found and what was expected, and the absence of a Python traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from icssim.cli import main

VALID = """\
scenario:
  name: small
  time_unit: days
  horizon: 60
  warmup: 10
  population: 100000
attributes:
  urgency: [routine, urgent]
cohorts:
  young:
    rate: 3 per day
    entry: assess
    attributes:
      urgency: {values: [routine, urgent], weights: [3, 1]}
      age: {dist: uniform, low: 10, high: 18}
services:
  team:
    staff:
      clinician: {wte: 3, clinical_hours_per_week: 22.5, cost_per_hour: 60}
pathway:
  steps:
    assess:
      kind: assessment
      service: team
      staff: [clinician]
      duration: 1 hour
      queue: priority
      next: [{to: done, p: 0.7}, {to: other, p: 0.3}]
    done: {kind: discharge}
    other: {kind: discharge}
"""
# line numbers in VALID, for the expectations below
L_HORIZON, L_RATE, L_AGE, L_WTE, L_STAFF, L_DURATION, L_NEXT = 4, 11, 15, 19, 25, 26, 28


def _edit(old: str, new: str) -> str:
    assert old in VALID, old
    return VALID.replace(old, new, 1)


# name -> (file text, [fragments the message must contain])
BAD: dict[str, tuple[str, list[str]]] = {
    "not_yaml": ("scenario: {name: [x\nfoo: bar\n", ["not valid YAML"]),
    "yaml_tab": (_edit("      service: team", "\tservice: team"),
                 [":24:", "pathway.steps.assess.service", "a tab character", "indents with spaces only"]),
    "yaml_indent": (_edit("      service: team", "     service: team"),
                    [":24:", "pathway.steps.assess.service", "indented by 5 spaces", "expected the keys of one mapping"]),
    "yaml_duplicate_key": (_edit("      duration: 1 hour", "      duration: 1 hour\n      duration: 2 hours"),
                           [":27:", "pathway.steps.assess.duration", "duplicate key", "first at line 26"]),
    "list": ("- scenario\n- cohorts\n", [":1:", "expected a mapping", "found a list"]),
    "empty": ("", ["expected a mapping", "found an empty file"]),
    "unknown_key": (_edit("  warmup: 10", "  warmpu: 10"),
                    [":5:", "scenario.warmpu", "unknown key 'warmpu'", "did you mean 'warmup'?", "expected one of"]),
    "unknown_key_nested": (_edit("wte: 3, clinical_hours_per_week", "wte: 3, hours_per_week"),
                           [f":{L_WTE}:", "services.team.staff.clinician.hours_per_week",
                            "did you mean 'clinical_hours_per_week'?"]),
    "unknown_top_level": (VALID + "servces: {}\n", ["servces", "did you mean 'services'?"]),
    "wrong_type": (_edit("wte: 3,", "wte: three,"),
                   [f":{L_WTE}:", "services.team.staff.clinician.wte", "expected a number", "found 'three'"]),
    "wrong_type_list": (_edit("duration: 1 hour", "duration: [1, 2]"),
                        [f":{L_DURATION}:", "pathway.steps.assess.duration", "expected a mapping", "found a list"]),
    "wrong_type_int": (_edit("  warmup: 10", "  warmup: 10\n  seed: 1.5"),
                       [":6:", "scenario.seed", "expected a whole number", "found 1.5"]),
    "zero_rate": (_edit("rate: 3 per day", "rate: 0 per day"),
                  [f":{L_RATE}:", "cohorts.young.rate", "greater than 0", "found 0 per day"]),
    "negative_rate": (_edit("rate: 3 per day", "rate: -3"),
                      [f":{L_RATE}:", "cohorts.young.rate", "greater than 0", "found -3"]),
    "zero_rate_per_100k": (_edit("rate: 3 per day", "rate_per_100k_per_year: 0"),
                           [f":{L_RATE}:", "cohorts.young.rate_per_100k_per_year", "greater than 0", "found 0"]),
    "negative_duration": (_edit("duration: 1 hour", "duration: -1 hour"),
                          [f":{L_DURATION}:", "pathway.steps.assess.duration", "must not be negative",
                           "found -1 hours"]),
    "zero_duration": (_edit("duration: 1 hour", "duration: 0"),
                      [f":{L_DURATION}:", "pathway.steps.assess.duration", "greater than 0", "found 0"]),
    "zero_mean": (_edit("duration: 1 hour", "duration: {dist: exponential, mean: 0 hours}"),
                  [f":{L_DURATION}:", "pathway.steps.assess.duration", "mean must be greater than 0", "found 0"]),
    "zero_interval": (_edit("      queue: priority", "      queue: priority\n      dropout: {mean_time: 0 weeks}"),
                      [":28:", "pathway.steps.assess.dropout.mean_time", "greater than 0", "found 0"]),
    "negative_horizon": (_edit("horizon: 60", "horizon: -60"),
                         [f":{L_HORIZON}:", "scenario.horizon", "greater than 0", "found -60"]),
    "unknown_dist": (_edit("{dist: uniform,", "{dist: unifrom,"),
                     [f":{L_AGE}:", "cohorts.young.attributes.age.dist", "unknown distribution 'unifrom'",
                      "did you mean 'uniform'?", "fixed, exponential, gamma, lognormal, triangular, uniform, empirical"]),
    "dist_missing": (_edit("duration: 1 hour", "duration: {mean: 1 hour}"),
                     [f":{L_DURATION}:", "pathway.steps.assess.duration", "needs 'dist'", "exponential",
                      "found a mapping"]),
    "bad_unit": (_edit("horizon: 60", "horizon: 6 fortnights"),
                 [f":{L_HORIZON}:", "scenario.horizon", "unknown time unit 'fortnights'", "minute, hour, day"]),
    "bad_enum": (_edit("queue: priority", "queue: lifo"),
                 [":27:", "pathway.steps.assess.queue", "expected one of: fifo, priority", "found 'lifo'"]),
    "p_above_1": (_edit("{to: done, p: 0.7}, {to: other, p: 0.3}", "{to: done, p: 1.7}, {to: other, p: -0.7}"),
                  [f":{L_NEXT}:", "pathway.steps.assess.next.0.p", "probability between 0 and 1", "found 1.7"]),
    "p_below_0": (_edit("{to: done, p: 0.7}, {to: other, p: 0.3}", "{to: done, p: 1.7}, {to: other, p: -0.7}"),
                  ["pathway.steps.assess.next.1.p", "found -0.7"]),
    "missed_probability": (_edit("      queue: priority", "      queue: priority\n      missed: {probability: 2}"),
                           [":28:", "pathway.steps.assess.missed.probability", "between 0 and 1", "found 2"]),
    "routing_sum": (_edit("p: 0.3}", "p: 0.2}"),
                    [f":{L_NEXT}:", "pathway.steps.assess.next", "add up to 1", "found 0.9"]),
    "conditional_without_default": (_edit("next: [{to: done, p: 0.7}, {to: other, p: 0.3}]",
                                          'next: [{to: done, when: "age < 12"}]'),
                                    [f":{L_NEXT}:", "pathway.steps.assess.next", "needs a final branch without 'when'"]),
    "undefined_step": (_edit("{to: other, p: 0.3}", "{to: othr, p: 0.3}"),
                       [f":{L_NEXT}:", "pathway.steps.assess.next.1.to", "step 'othr' is not defined",
                        "did you mean 'other'?"]),
    "undefined_entry": (_edit("entry: assess", "entry: triage"),
                        [":12:", "cohorts.young.entry", "step 'triage' is not defined", "defined: assess, done, other"]),
    "undefined_service": (_edit("service: team", "service: teem"),
                          [":24:", "pathway.steps.assess.service", "service 'teem' is not defined",
                           "did you mean 'team'?"]),
    "undefined_role": (_edit("staff: [clinician]", "staff: [nurse]"),
                       [f":{L_STAFF}:", "pathway.steps.assess.staff.0", "staff role 'nurse' is not defined",
                        "defined: clinician"]),
    "no_way_out": (_edit("next: [{to: done, p: 0.7}, {to: other, p: 0.3}]", "next: loop")
                   + "    loop: {kind: delay, duration: 1 day, next: assess}\n",
                   [":22:", "pathway.steps.assess", "no way out", "reaches a discharge step"]),
    "no_discharge": (_edit("    done: {kind: discharge}\n    other: {kind: discharge}\n",
                           "    done: {kind: delay, duration: 1 day, next: assess}\n"
                           "    other: {kind: delay, duration: 1 day, next: assess}\n"),
                     ["pathway.steps", "no step of kind 'discharge'"]),
    "horizon_not_longer": (_edit("horizon: 60", "horizon: 10"),
                           [f":{L_HORIZON}:", "scenario.horizon", "must be longer than warmup", "(10)"]),
    "horizon_shorter_units": (_edit("horizon: 60", "horizon: 1 week").replace("warmup: 10", "warmup: 2 weeks"),
                              [f":{L_HORIZON}:", "scenario.horizon", "horizon (1 weeks) must be longer than warmup (2 weeks)"]),
    "absurd_population": (_edit("rate: 3 per day", "rate_per_100k_per_year: 50").replace(
                              "population: 100000", "population: 1000000000000"),
                          ["cohorts", "patients would arrive", "estimated run time", "minutes", "limit"]),
    "absurd_sampling": (_edit("  warmup: 10", "  warmup: 10\n  sample_every: 0.0001"),
                        [":6:", "scenario.sample_every", "expected at most"]),
    "sessions_without_caseload": (_edit("      queue: priority", "      queue: priority\n"
                                        "      sessions: {count: 4, every: 1 week}"),
                                  [":28:", "pathway.steps.assess.sessions", "caseload"]),
}


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def test_valid_file_exits_0(tmp_path, capsys):
    path = _write(tmp_path, "ok", VALID)
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr()
    assert "ok (small: 1 cohort, 1 service, 3 steps)" in out.out
    assert out.err == ""


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_file_is_refused_clearly(case, tmp_path, capsys):
    text, fragments = BAD[case]
    path = _write(tmp_path, case, text)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: INVALID" in err
    problems = [line.strip() for line in err.splitlines()[1:]]
    assert problems and all(p.startswith(str(path)) for p in problems), err
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in:\n{err}"
    assert "Traceback" not in err


@pytest.mark.parametrize("case", ["unknown_key", "routing_sum", "absurd_population", "not_yaml", "zero_rate"])
def test_run_applies_the_same_validation(case, tmp_path, capsys):
    text, fragments = BAD[case]
    path = _write(tmp_path, case, text)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"icssim: error: {path}")
    for fragment in fragments:
        assert fragment in err
    assert not out.exists()


def test_validate_reports_every_file_and_every_problem(tmp_path, capsys):
    good = _write(tmp_path, "good", VALID)
    bad = _write(tmp_path, "bad", _edit("wte: 3,", "wte: -3,").replace("queue: priority", "queue: lifo"))
    assert main(["validate", str(good), str(bad)]) == 2
    captured = capsys.readouterr()
    assert f"{good}: ok" in captured.out
    assert "services.team.staff.clinician.wte: expected a number at least 0, found -3" in captured.err
    assert "pathway.steps.assess.queue" in captured.err


def test_missing_base_and_cycle(tmp_path, capsys):
    child = _write(tmp_path, "child", "extends: nowhere.yaml\nscenario: {name: child}\n")
    assert main(["validate", str(child)]) == 2
    err = capsys.readouterr().err
    assert f"{child}:1: extends: base scenario" in err and "nowhere.yaml" in err and "does not exist" in err
    _write(tmp_path, "a", "extends: b.yaml\n" + VALID)
    b = _write(tmp_path, "b", "# b\nextends: a.yaml\nscenario: {name: b}\n")
    assert main(["validate", str(tmp_path / "a.yaml")]) == 2
    err = capsys.readouterr().err
    assert f"{b}:2: extends:" in err and "cycle (a.yaml -> b.yaml -> a.yaml)" in err


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "icssim", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=120)


def test_unsafe_tag_runs_nothing(tmp_path):
    marker = tmp_path / "PWNED"
    cases = {
        "value": VALID + f"x: !!python/object/apply:os.system ['touch {marker}']\n",
        "root": f"!!python/object/apply:os.system ['touch {marker}']\n",
        "key": VALID + f"? !!python/object/apply:os.system ['touch {marker}']\n: 1\n",
        "nested": _edit("duration: 1 hour", f"duration: !!python/object/apply:os.system ['touch {marker}']"),
    }
    paths = [_write(tmp_path, name, text) for name, text in cases.items()]
    proc = _cli("validate", *map(str, paths), cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("tags are not allowed") == 4
    assert proc.stderr.count("found the YAML tag '!!python/object/apply:os.system'") == 4
    assert f"{paths[3]}:{L_DURATION}:" in proc.stderr
    assert f"{paths[1]}:1:" in proc.stderr
    proc = _cli("run", str(paths[0]), "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert proc.returncode == 2
    assert "tags are not allowed" in proc.stderr and "Traceback" not in proc.stderr
    assert not marker.exists()
    assert not (tmp_path / "o").exists()


def test_process_level_messages(tmp_path, capsys):
    """The installed entry point: exit status and stderr, never a traceback."""
    proc = _cli("run", "missing.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "icssim: error: missing.yaml: file not found"
    assert main(["validate", str(tmp_path / "missing.yaml"), str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'missing.yaml'}: file not found" in err
    assert f"{tmp_path}: not a file" in err


HEAVY = ("pandas", "matplotlib", "scipy", "simpy", "pydantic", "numpy")


def _imported_by(code: str) -> list[str]:
    """The heavy libraries a fresh interpreter has imported after running ``code``."""
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_help_imports_no_heavy_library():
    """``icssim --help`` (and building the parser every command starts with) loads none of the
    scientific stack, so the command line answers at once; each command imports what it needs."""
    assert _imported_by("from icssim.cli import build_parser; build_parser()") == []


def test_validate_imports_neither_pandas_nor_matplotlib(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(VALID)
    code = (f"from icssim.cli import main\nimport contextlib, io\n"
            f"with contextlib.redirect_stdout(io.StringIO()): assert main(['validate', {str(path)!r}]) == 0")
    assert set(_imported_by(code)) & {"pandas", "matplotlib", "scipy", "simpy"} == set()



@pytest.mark.parametrize("command", ["validate", "run", "compare", "warmup", "report", "optimise", "sweep", "psa"])
def test_each_subcommand_help_says_what_it_does_with_an_example(command, capsys):
    from icssim.cli import main

    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert "example:\n  icssim " + command in text and "writes:" in text
    description = text.split("\n\n")[1]
    assert len(description) > 40 and not description.lstrip().startswith(("-", "positional"))


def test_four_mistakes_of_every_stage_in_one_pass(tmp_path, capsys):
    """Schema mistakes (a unit the clock cannot run in, a misspelt key, a negative WTE) and
    reference mistakes (a misspelt step in 'next', an unknown service) are all named in one pass,
    in file order; nothing the cuts made is reported (the cut staff role is not 'not defined')."""
    text = (VALID.replace("time_unit: days", "time_unit: months").replace("  warmup: 10", "  warmpu: 10")
            .replace("wte: 3,", "wte: -3,").replace("{to: other, p: 0.3}", "{to: othr, p: 0.3}"))
    path = _write(tmp_path, "four", text)
    assert main(["validate", str(path)]) == 2
    problems = capsys.readouterr().err.splitlines()[1:]
    assert [p.split(": ")[1] for p in problems] == [
        "scenario.time_unit", "scenario.warmpu", "services.team.staff.clinician.wte",
        "pathway.steps.assess.next.1.to"], problems
    assert "not a unit of the clock" in problems[0] and "'minutes'" not in problems[0]
    assert "did you mean 'other'?" in problems[3]
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 2
    assert capsys.readouterr().err.count("icssim: error:") == 4


def test_references_beside_a_cut_value_keep_their_checks(tmp_path, capsys):
    """A bad value that has a default (a queue discipline) leaves the rest checkable: a routing whose
    probabilities do not add up and an unknown service are reported with it."""
    text = VALID.replace("queue: lifo", "").replace("queue: priority", "queue: lifo") \
        .replace("p: 0.3}", "p: 0.2}").replace("service: team", "service: teem")
    path = _write(tmp_path, "three", text)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    for fragment in ("pathway.steps.assess.queue: expected one of: fifo, priority", "add up to 1",
                     "service 'teem' is not defined"):
        assert fragment in err, err


def test_a_cut_value_is_not_said_to_be_missing(tmp_path, capsys):
    """An invalid population is cut before the cross-checks run; a cohort's rate per 100,000 is then
    not said to need a population (the file has one, written wrong)."""
    text = VALID.replace("population: 100000", "population: 100,000").replace(
        "rate: 3 per day", "rate_per_100k_per_year: 1000")
    path = _write(tmp_path, "population", text)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "scenario.population: expected a whole number" in err and "needs 'scenario.population'" not in err


def test_settings_that_would_never_be_used_are_refused(tmp_path, capsys):
    """'on_reject' without 'accept' and 'outcome' on a step that is not a discharge would be
    silently ignored: icssim names them instead."""
    text = VALID.replace("      queue: priority\n", "      queue: priority\n      on_reject: other\n"
                                                      "      outcome: assessed\n")
    path = _write(tmp_path, "unused", text)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "pathway.steps.assess.on_reject: routes the referrals that fail 'accept'" in err
    assert "pathway.steps.assess.outcome: names how patients leave the pathway at a discharge step" in err


ILL_AND_WELL = """\
health:
  discount: {costs: 0.035}
  start: {ill: 1.0}
  states:
    ill: {utility: 0.6}
    well: {utility: 0.9, remission: true}
  transitions:
    - {from: ill, to: well, rate: 0.1 per year}
    - {from: well, to: ill, rate: 0.2 per year}
"""


def test_a_cut_transition_leaves_the_course_s_states_unjudged(tmp_path, capsys):
    """A transition with a bad rate is cut before the cross-checks run; the health states it joined
    are then not said to be unreachable or never left (that would be the cut's doing). A state
    that is truly unreachable is still named beside a mistake elsewhere in the block."""
    path = _write(tmp_path, "cut", VALID + ILL_AND_WELL.replace("rate: 0.1 per year", "rate: -0.1 per year"))
    assert main(["validate", str(path)]) == 2
    problems = capsys.readouterr().err.splitlines()[1:]
    assert len(problems) == 1 and "health.transitions.0.rate: hazard 'untreated' must not be negative" in problems[0]
    both = ILL_AND_WELL.replace("0.035", "0.35").replace("  transitions:\n",
                                                         "    lost: {utility: 0.5, absorbing: true}\n  transitions:\n")
    path = _write(tmp_path, "two", VALID + both)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "health.discount.costs: expected a number at most 0.2" in err
    assert "health.states.lost: no one can reach this state" in err


@pytest.mark.parametrize("unit, hint", [("hrs", "write 'hours'"), ("weeeks", "did you mean 'weeks'?"),
                                        ("years", "not a unit of the clock")])
def test_time_unit_hint(unit, hint, tmp_path, capsys):
    path = _write(tmp_path, "unit", VALID.replace("time_unit: days", f"time_unit: {unit}"))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert hint in err and "minutes'?" not in err


SWEEP = """\
sweep:
  name: staffing
  replications: 2
base: small.yaml
parameters:
  services.team.staff.clinician.wte: [2, 3, 4]
"""

CALIBRATION = """\
calibration:
  name: fit
scenario: small.yaml
parameters:
  services.team.staff.clinician.wte: {low: 2, high: 4}
targets:
  referrals:
    kpi: referrals_per_year
    value: 1000
    sd: 50
    source: assumption
"""


def test_a_sweep_or_calibration_file_is_validated_as_one(tmp_path, capsys):
    """A file with a top-level 'sweep:' or 'calibration:' is checked as 'icssim sweep' or 'icssim
    calibrate' checks it (its base scenario too), not as a scenario with unknown keys; a scenario
    beside it is checked as before."""
    scenario = _write(tmp_path, "small", VALID)
    sweep = _write(tmp_path, "sweep", SWEEP)
    calibration = _write(tmp_path, "calibration", CALIBRATION)
    assert main(["validate", str(sweep), str(calibration), str(scenario)]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines() == [f"{sweep}: ok (staffing: a sweep file, 3 points on 1 base scenario, design grid)",
                                    f"{calibration}: ok (fit: a calibration file, 1 parameters fitted to 1 targets "
                                    f"of {tmp_path / 'small.yaml'})",
                                    f"{scenario}: ok (small: 1 cohort, 1 service, 3 steps)"]
    assert out.err == ""


@pytest.mark.parametrize("old, new, expected", [
    ("  replications: 2", "  replicatons: 2",
     ":3: sweep.replicatons: unknown key 'replicatons'; did you mean 'replications'?"),
    ("clinician.wte:", "clinican.wte:",
     ":6: parameters.services.team.staff.clinican.wte: no key 'clinican' under services.team.staff of"),
    # a swept value the scenario refuses: the line of the value in the sweep file
    ("[2, 3, 4]", "[2, lots]", ":6: parameters.services.team.staff.clinician.wte.1: point 1 (small, "
                               "services.team.staff.clinician.wte=lots) is not a valid scenario: "
                               "services.team.staff.clinician.wte: expected a number, found 'lots'"),
    ("[2, 3, 4]", "\n    low: -4\n    high: 2\n    step: 6", ":7: parameters.services.team.staff.clinician.wte.low: "
                                                            "point 0 (small, services.team.staff.clinician.wte=-4)"),
    ("[2, 3, 4]", "\n    values:\n      - 2\n      - -1", ":9: parameters.services.team.staff.clinician.wte.values.1: "
                                                         "point 1 (small, services.team.staff.clinician.wte=-1)"),
])
def test_a_sweep_file_s_mistake_is_named_by_file_line_and_key(old, new, expected, tmp_path, capsys):
    _write(tmp_path, "small", VALID)
    sweep = _write(tmp_path, "sweep", SWEEP.replace(old, new))
    other = _write(tmp_path, "other", VALID)
    assert main(["validate", str(sweep), str(other)]) == 2
    out = capsys.readouterr()
    assert out.err.startswith(f"{sweep}: INVALID\n  {sweep}{expected}"), out.err
    assert "unknown key 'sweep'" not in out.err and "Traceback" not in out.err
    assert out.out == f"{other}: ok (small: 1 cohort, 1 service, 3 steps)\n"   # the next file is still checked


def test_a_sweep_s_or_calibration_s_base_scenario_is_validated(tmp_path, capsys):
    """The base scenario's mistakes are named by its own file and line; a calibration file's by its."""
    _write(tmp_path, "small", VALID.replace("wte: 3,", "wte: three,"))
    sweep = _write(tmp_path, "sweep", SWEEP)
    calibration = _write(tmp_path, "calibration", CALIBRATION)
    assert main(["validate", str(sweep), str(calibration)]) == 2
    base_problem = f"{tmp_path / 'small.yaml'}:{L_WTE}: services.team.staff.clinician.wte: expected a number"
    err = capsys.readouterr().err
    assert f"{sweep}: INVALID\n  {base_problem}" in err and f"{calibration}: INVALID\n  {base_problem}" in err
    calibration = _write(tmp_path, "calibration", CALIBRATION.replace("targets:", "targets:\n  fitted: {}"))
    assert main(["validate", str(calibration)]) == 2
    assert f"{calibration}:7: targets.fitted.kpi: required key is missing" in capsys.readouterr().err


def test_a_base_s_problem_a_child_caused_names_the_child_s_line(tmp_path, capsys):
    """A child that sets a base's staff to null: each role the base's steps name is 'not defined' at
    the base's line, and the message names the child's line that removed them."""
    base = _write(tmp_path, "base", VALID)
    child = _write(tmp_path, "child", "extends: base.yaml\nscenario:\n  name: child\n"
                                      "services:\n  team:\n    staff: null\n")
    assert main(["validate", str(child)]) == 2
    assert capsys.readouterr().err.splitlines()[1:] == [
        f"  {base}:{L_STAFF}: pathway.steps.assess.staff.0: staff role 'clinician' is not defined in service "
        f"'team'; defined: none (services.team.staff is set to null at {child}:6)"]


def test_a_national_sweep_file_is_validated_as_the_national_run_splits_it(capsys):
    """england_42_ics.yaml scales teams each pathway has its own of: 'icssim sweep' cannot run it
    whole, 'python -m icssim.national run' splits it per pathway; validate checks it that way."""
    path = Path(__file__).resolve().parents[1] / "scenarios" / "sweeps" / "england_42_ics.yaml"
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "a national sweep file for 'python -m icssim.national run', 84 points on 2 base scenarios" in out


def test_a_misspelt_option_is_refused_with_the_commands_usage_and_the_option_meant(capsys):
    """``--replicatons`` printed the top-level usage and no hint; now the command's own usage, the
    argument refused and the option it most likely meant (exit 2, argparse's status)."""
    from icssim.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["run", "scenarios/ed_fragmented.yaml", "--replicatons", "3"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "usage: icssim run" in err
    assert "icssim run: error: unrecognized arguments: --replicatons 3 (--replicatons: did you mean " \
           "--replications?)" in err
    with pytest.raises(SystemExit):
        main(["validate", "scenarios/ed_fragmented.yaml", "--zzz"])
    assert "unrecognized arguments: --zzz\n" in capsys.readouterr().err   # no hint when nothing is close
