"""A known key at the wrong level of a sweep or calibration file is told where it goes, with its file
and line, rather than "unknown key 'seed'; did you mean 'seed'?" (icssim.sweep.key_levels)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import run_cli
from icssim.calibrate.spec import load_calibration
from icssim.errors import ScenarioError
from icssim.sweep.spec import load_sweep

HERE = Path(__file__).resolve().parent


def _files(tmp_path: Path, text: str, name: str = "f.yaml") -> Path:
    (tmp_path / "mmc_small.yaml").write_text((HERE / "sweep" / "mmc_small.yaml").read_text())
    path = tmp_path / name
    path.write_text(text)
    return path


SWEEP = """sweep:
  name: t
  replications: 1
{sweep_extra}base: mmc_small.yaml
parameters:
  services.desk.staff.server.wte: [9, 10]
{top_extra}"""


def problems(exc: pytest.ExceptionInfo) -> list[str]:
    return [str(p) for p in exc.value.problems]


@pytest.mark.parametrize(("sweep_extra", "top_extra", "line", "expected"), [
    ("", "common_random_numbers: true\n", 7,
     "common_random_numbers: 'common_random_numbers' goes under 'sweep:', not at the top level"),
    ("", "seed: 1\n", 7, "seed: 'seed' goes under 'sweep:', not at the top level"),
    ("  base: mmc_small.yaml\n", "", 4, "sweep.base: 'base' goes at the top level, not under 'sweep:'"),
    ("", "label: Desk\n", 7, "label: 'label' goes in an entry of 'parameters:', not at the top level"),
])
def test_a_sweep_key_at_the_wrong_level_is_told_where_it_goes(tmp_path, sweep_extra, top_extra, line, expected):
    path = _files(tmp_path, SWEEP.format(sweep_extra=sweep_extra, top_extra=top_extra))
    with pytest.raises(ScenarioError) as exc:
        load_sweep(path)
    said = problems(exc)
    assert f"{path}:{line}: {expected}" in said, said
    assert not any("did you mean" in s for s in said), said


def test_the_missing_key_it_causes_is_not_said_again(tmp_path):
    path = _files(tmp_path, "sweep:\n  name: t\n  base: mmc_small.yaml\nparameters:\n"
                            "  services.desk.staff.server.wte: [9, 10]\n")
    with pytest.raises(ScenarioError) as exc:
        load_sweep(path)
    assert problems(exc) == [f"{path}:3: sweep.base: 'base' goes at the top level, not under 'sweep:'"]


def test_an_unknown_key_still_gets_its_suggestion(tmp_path):
    path = _files(tmp_path, SWEEP.format(sweep_extra="  replicatons: 2\n", top_extra=""))
    with pytest.raises(ScenarioError, match="unknown key 'replicatons'; did you mean 'replications'"):
        load_sweep(path)


CALIBRATION = """calibration:
  name: t
{settings_extra}scenario: mmc_small.yaml
{top_extra}parameters:
  cohorts.customers.rate: {{low: 3, high: 12}}
targets:
  u: {{kpi: utilisation_desk/server, value: 0.8, sd: 0.05, source: test}}
"""


@pytest.mark.parametrize(("settings_extra", "top_extra", "line", "expected"), [
    ("", "seed: 2026\n", 4, "seed: 'seed' goes under 'calibration:', not at the top level"),
    ("  scenario: mmc_small.yaml\n", "", 3,
     "calibration.scenario: 'scenario' goes at the top level, not under 'calibration:'"),
    ("", "generations: 3\n", 4, "generations: 'generations' goes under 'calibration:', not at the top level"),
])
def test_a_calibration_key_at_the_wrong_level_is_told_where_it_goes(tmp_path, settings_extra, top_extra, line,
                                                                    expected):
    text = CALIBRATION.format(settings_extra=settings_extra, top_extra=top_extra)
    if settings_extra:  # moved, not copied
        text = text.replace("\nscenario: mmc_small.yaml\n", "\n", 1)
    path = _files(tmp_path, text, "cal.yaml")
    with pytest.raises(ScenarioError) as exc:
        load_calibration(path)
    said = problems(exc)
    assert f"{path}:{line}: {expected}" in said, said
    assert not any("did you mean" in s or "required key is missing" in s for s in said), said


def test_validate_says_it_with_file_and_line(tmp_path):
    path = _files(tmp_path, SWEEP.format(sweep_extra="", top_extra="common_random_numbers: true\n"))
    code, err = run_cli(["validate", str(path)])
    assert code == 2
    assert "f.yaml:7: common_random_numbers: 'common_random_numbers' goes under 'sweep:', not at the top level" in err
