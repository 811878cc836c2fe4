"""A file given to a command that runs another kind of file (a PSA file to ``icssim run``, a scenario
to ``icssim sweep``) is refused in one line naming what it is and the command that runs it, not as a
dozen unknown and missing keys (file_checks.refuse_other_kind)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import SCENARIOS, run_cli
from icssim.errors import IcssimError
from icssim.file_checks import file_kind, refuse_other_kind

SCENARIO = SCENARIOS / "ed_fragmented.yaml"
SWEEP = SCENARIOS / "sweeps" / "ed_cyp_capacity.yaml"
PSA = SCENARIOS / "sweeps" / "ed_psa.yaml"
NATIONAL = SCENARIOS / "sweeps" / "england_42_ics.yaml"
NATIONAL_PSA = SCENARIOS / "sweeps" / "england_42_ics_psa.yaml"
CALIBRATION = SCENARIOS / "calibration" / "ed_fragmented.yaml"

WRONG = [
    ("sweep", SCENARIO, "is a scenario file: run it with `icssim run` (a sweep file names it under 'base:')"),
    ("psa", SCENARIO, "is a scenario file: run it with `icssim run`"),
    ("optimise", SCENARIO, "is a scenario file: run it with `icssim run`"),
    ("calibrate", SCENARIO, "is a scenario file: run it with `icssim run` (a calibration file names it under "
                            "'scenario:')"),
    ("run", PSA, "ed_psa.yaml is a PSA file (a 'sweep:' with design: psa): run it with `icssim psa`"),
    ("run", SWEEP, "is a sweep file (a 'sweep:' with design: grid): run it with `icssim sweep`"),
    ("run", CALIBRATION, "is a calibration file (a 'calibration:' block): run it with `icssim calibrate`"),
    ("warmup", PSA, "is a PSA file"),
    ("calibrate", PSA, "is a PSA file (a 'sweep:' with design: psa): run it with `icssim psa`"),
    ("sweep", CALIBRATION, "is a calibration file"),
    ("sweep", NATIONAL, "england_42_ics.yaml is a national sweep file (areas, and base scenarios with teams of "
                        "their own): run it with `python -m icssim.national run`"),
    ("psa", NATIONAL_PSA, "is a national sweep file"),
    ("run", NATIONAL, "is a national sweep file"),
]


@pytest.mark.parametrize("command, path, said", WRONG, ids=[f"{c}-{p.name}-{i}" for i, (c, p, _) in enumerate(WRONG)])
def test_a_file_of_another_kind_is_refused_in_one_line(tmp_path, command, path, said):
    code, err = run_cli([command, str(path), "--out", str(tmp_path / "out")])
    assert code == 2, err
    assert err.strip().count("\n") == 0, err   # one line, not one per key the file's kind lacks
    assert said in err and str(path) in err, err
    assert "unknown key" not in err and not (tmp_path / "out").exists()


def test_compare_names_the_file_of_another_kind(tmp_path):
    code, err = run_cli(["compare", str(SCENARIO), str(PSA), "--out", str(tmp_path / "out")])
    assert code == 2 and err.strip().count("\n") == 0 and f"{PSA} is a PSA file" in err, err


@pytest.mark.parametrize("command, path", [
    ("run", SCENARIO), ("compare", SCENARIO), ("warmup", SCENARIO), ("sweep", SWEEP), ("sweep", PSA),
    ("psa", PSA), ("optimise", SWEEP), ("calibrate", CALIBRATION),
    ("sweep", SCENARIOS / "sweeps" / "ics_areas.yaml"),   # areas on one base: an ordinary sweep
])
def test_each_command_takes_its_own_kind(command, path):
    refuse_other_kind(path, command)


@pytest.mark.parametrize("text", [
    "swep: {name: x}\nbase: a.yaml\nparameters: {}\n",   # a sweep file with its key mistyped
    "- a list\n",
    "scenario: {name: [x\n",                               # not YAML
    "",
])
def test_a_file_of_no_clear_kind_is_left_to_the_command_s_reader(tmp_path, text):
    """A misspelt top-level key is not taken for a scenario: the command's reader names the key."""
    path = tmp_path / "odd.yaml"
    path.write_text(text)
    for command in ("run", "sweep", "calibrate"):
        refuse_other_kind(path, command)


def test_a_missing_file_is_left_to_the_command(tmp_path):
    refuse_other_kind(tmp_path / "nowhere.yaml", "sweep")
    code, err = run_cli(["sweep", str(tmp_path / "nowhere.yaml")])
    assert code == 2 and "is a scenario file" not in err


def test_file_kind_is_public_and_coarse():
    assert [file_kind(p) for p in (SCENARIO, SWEEP, PSA, NATIONAL, CALIBRATION)] == \
        ["scenario", "sweep", "sweep", "sweep", "calibration"]


def test_a_scenario_that_extends_another_is_a_scenario(tmp_path):
    derived = tmp_path / "derived.yaml"
    derived.write_text(f"extends: {SCENARIO}\n")
    with pytest.raises(IcssimError, match="is a scenario file"):
        refuse_other_kind(Path(derived), "sweep")
