"""Equal-budget comparisons: rescaling keeps the staff mix and hits the budget."""

from __future__ import annotations

import pytest

from icssim.budget import at_budget, equal_budget_set, establishment_cost, shown_names
from icssim.scenario import load_scenario

from helpers import SCENARIOS, run_cli


def test_rescaled_scenario_costs_the_budget_and_keeps_its_mix():
    variant = load_scenario(SCENARIOS / "ed_integrated.yaml")
    rescaled = at_budget(variant, 5_000_000.0, "half")
    assert establishment_cost(rescaled) == pytest.approx(5_000_000.0, rel=1e-3)
    staff, before = rescaled.services["ed_service"].staff, variant.services["ed_service"].staff
    assert staff["therapist"].wte / staff["physician"].wte == pytest.approx(
        before["therapist"].wte / before["physician"].wte, rel=1e-3)
    assert rescaled.scenario.name == "half"


def test_shipped_equal_budget_scenario_costs_what_the_fragmented_one_costs():
    base = establishment_cost(load_scenario(SCENARIOS / "ed_fragmented.yaml"))
    fair = establishment_cost(load_scenario(SCENARIOS / "ed_integrated_equal_budget.yaml"))
    assert fair == pytest.approx(base, rel=1e-3)


def test_equal_budget_set_is_base_base_at_variant_variant_at_base_variant():
    base, variant = (load_scenario(SCENARIOS / f"{n}.yaml") for n in ("ed_fragmented", "ed_integrated"))
    names = [s.scenario.name for s in equal_budget_set(base, variant)]
    assert names == ["ed_fragmented", "ed_fragmented_at_ed_integrated_budget",
                     "ed_integrated_at_ed_fragmented_budget", "ed_integrated"]


def test_plots_name_a_rescaled_scenario_in_words_and_keep_other_names():
    names = ["a_b", "a_b_at_c_budget", "c_at_a_b_budget", "c", "x_at_y_budget"]
    assert shown_names(names) == {"a_b": "a_b", "a_b_at_c_budget": "a_b at c's staff budget",
                                  "c_at_a_b_budget": "c at a_b's staff budget", "c": "c",
                                  "x_at_y_budget": "x_at_y_budget"}  # (no x or y compared: a user's own name)


def test_equal_budget_needs_exactly_two_scenarios(tmp_path):
    files = [str(SCENARIOS / f"{n}.yaml") for n in ("ed_fragmented", "ed_integrated", "ed_freed")]
    code, err = run_cli(["compare", *files, "--equal-budget", "--out", str(tmp_path / "x"), "--yes"])
    assert code == 2
    assert "--equal-budget compares exactly two scenarios" in err
    assert not (tmp_path / "x").exists()
