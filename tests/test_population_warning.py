"""A scenario population no planning area could have (150: the population in thousands?) is
warned of, with the referrals a year its rates per 100,000 give, by ``icssim validate`` (exit 0:
a warning, never a refusal); a real area's population is not."""

from __future__ import annotations

import pytest

from helpers import SCENARIOS
from icssim.cli import main


@pytest.mark.parametrize("population, warned", [(150, True), (9_999, True), (10_000, False), (150_000, False)])
def test_a_population_below_any_planning_area_s_is_warned_of(tmp_path, capsys, population, warned):
    path = tmp_path / "small.yaml"
    path.write_text(f"extends: {SCENARIOS}/ed_fragmented.yaml\nscenario:\n  population: {population}\n")
    assert main(["validate", str(path)]) == 0
    err = capsys.readouterr().err
    assert (f"icssim: warning: {path}:3: scenario.population: " in err) == warned, err
    if population == 150:
        assert "about 0.11 referrals a year in all" in err        # 30 + 42 per 100,000 of 150 people
        assert "(150,000 people is written 150000)" in err
