"""Sobol indices of a PSA (``design: sobol``): the design and the analysis recover the known
indices of the Ishigami function and of a linear net benefit, through the code the PSA uses."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

pytest.importorskip("SALib")

from icssim.health.sobol import design_size, incremental_net_benefit, indices, sobol_table  # noqa: E402
from icssim.sweep.draws import saltelli_values  # noqa: E402
from icssim.sweep.spec import Parameter, SweepSpec  # noqa: E402

#: Ishigami (a = 7, b = 0.1) over uniform(-pi, pi)^3: first-order and total indices in closed form
A, B = 7.0, 0.1
_V1 = 0.5 * (1 + B * math.pi**4 / 5) ** 2
_V2 = A**2 / 8
_V13 = B**2 * math.pi**8 * (1 / 18 - 1 / 50)
_V = _V1 + _V2 + _V13
ISHIGAMI_FIRST = [_V1 / _V, _V2 / _V, 0.0]
ISHIGAMI_TOTAL = [(_V1 + _V13) / _V, _V2 / _V, _V13 / _V]


def test_ishigami_indices_through_the_psa_design():
    params = {f"x{i}": Parameter(dist="uniform", low=-math.pi, high=math.pi) for i in range(3)}
    sets = saltelli_values(params, {}, 1024, seed=11)
    assert len(sets) == design_size(3, 1024) == 1024 * 5
    x = np.array([[s[f"x{i}"] for i in range(3)] for s in sets])
    y = np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2 + B * x[:, 2] ** 4 * np.sin(x[:, 0])
    found = indices(y, ["x1", "x2", "x3"])
    assert found["first_order"].to_numpy() == pytest.approx(ISHIGAMI_FIRST, abs=0.03)
    assert found["total"].to_numpy() == pytest.approx(ISHIGAMI_TOTAL, abs=0.03)
    # the intervals are honest: each holds the true value, and none is absurdly wide
    for column, truth in (("first_order", ISHIGAMI_FIRST), ("total", ISHIGAMI_TOTAL)):
        width = found[f"{column}_ci"].to_numpy()
        assert np.all(np.abs(found[column].to_numpy() - truth) <= 2.5 * width + 0.005)
        assert np.all(width < 0.1)


def test_linear_net_benefit_from_a_psa_table():
    """Strategy b's QALYs gain 0.001 x (q - 1) and its cost 10 x c: at £20,000 per QALY the
    incremental net benefit is 20 (q - 1) - 10 c, whose indices are the shares of its variance."""
    params = {"q": Parameter(dist="normal", mean=1.0, sd=0.5), "c": Parameter(dist="gamma", mean=2.0, sd=1.0)}
    sets = saltelli_values(params, {}, 512, seed=3)
    rows = []
    for draw, s in enumerate(sets):
        rows.append({"draw": draw, "strategy": "a", "cost": 100.0, "qalys": 5.0, "replications": 1})
        rows.append({"draw": draw, "strategy": "b", "cost": 100.0 + 10 * s["c"], "qalys": 5.0 + 0.001 * (s["q"] - 1),
                     "replications": 1})
    table = pd.DataFrame(rows)
    inb = incremental_net_benefit(table, "a", "b", 20_000.0)
    assert inb[0] == pytest.approx(20 * (sets[0]["q"] - 1) - 10 * sets[0]["c"])
    share_q = (20 * 0.5) ** 2 / ((20 * 0.5) ** 2 + (10 * 1.0) ** 2)
    found = sobol_table(table, "a", {"q": "QALY gain", "c": "extra cost"}, [20_000.0]).set_index("path")
    assert found.loc["q", "first_order"] == pytest.approx(share_q, abs=0.04)
    assert found.loc["c", "total"] == pytest.approx(1 - share_q, abs=0.04)
    assert found.loc["q", "parameter"] == "QALY gain" and set(found["strategy"]) == {"b"}


def test_a_constant_net_benefit_has_zero_indices():
    found = indices(np.full(4 * 8, 3.0), ["p", "q"])
    assert (found[["first_order", "total"]].to_numpy() == 0).all()


def test_outputs_that_are_not_a_whole_design_are_refused():
    with pytest.raises(ValueError, match="multiple of 4"):
        indices(np.arange(10.0), ["p", "q"])


def test_a_sobol_design_needs_a_power_of_2_base_samples():
    raw = {"sweep": {"name": "s"}, "base": "x.yaml", "design": "sobol", "samples": 100,
           "parameters": {"a.b": {"dist": "gamma", "mean": 1.0, "sd": 0.1}}}
    with pytest.raises(ValidationError, match="must be a power of 2"):
        SweepSpec.model_validate(raw)
    assert SweepSpec.model_validate({**raw, "samples": 64}).design == "sobol"


def test_a_saltelli_design_is_clipped_where_a_psas_sobol_points_are(monkeypatch):
    """One edge for both designs (icssim.sweep.draws.EDGE): the extremes a PSA checks its
    distributions' reach at before drawing are then those of a Sobol design's draws too."""
    from icssim.health.sobol import saltelli_unit
    from icssim.sweep import draws

    monkeypatch.setattr(draws, "EDGE", 0.2)
    u = saltelli_unit(2, 8, seed=3)
    assert u.min() == 0.2 and u.max() == 0.8


def test_icssim_psa_with_a_sobol_design_writes_the_indices(tmp_path):
    from helpers import SCENARIOS, run_cli

    sweep = tmp_path / "sobol.yaml"
    sweep.write_text(f"""
sweep: {{name: tiny_sobol, seed: 5, replications: 1}}
base: {{fragmented: {SCENARIOS / 'ed_fragmented.yaml'}, integrated: {SCENARIOS / 'ed_integrated.yaml'}}}
design: sobol
samples: 2
parameters:
  health.states.remitted_lasting.utility: {{dist: beta, mean: 0.9, sd: 0.025, label: Utility in remission}}
  services.adult_inpatient.cost_per_bed_day: {{dist: gamma, mean: 1264, sd: 126, label: Adult bed-day cost}}
kpis: [qalys_per_person, cost_per_person]
""")
    code, err = run_cli(["psa", str(sweep), "--out", str(tmp_path / "out"), "--yes", "-q", "-w", "2"])
    assert code == 0, err
    out = tmp_path / "out"
    table = pd.read_csv(out / "psa.csv")
    assert len(table) == 2 * design_size(2, 2)
    sobol = pd.read_csv(out / "sobol.csv")
    assert set(sobol["parameter"]) == {"Utility in remission", "Adult bed-day cost"}
    assert set(sobol["strategy"]) == {"integrated"} and len(sobol) == 2 * 2  # 2 parameters x 2 thresholds
    assert (out / "plots" / "sobol.png").is_file()
    assert not (out / "plots" / "cost_vs_wait.png").exists()   # a Sobol design's points are draws too
