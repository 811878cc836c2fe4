"""Counting by meaning, not by kind (issue 25): a step's ``counts_as`` overrides its kind's default,
so two stages of one visit are not reported as a duplicated assessment."""

from __future__ import annotations

import numpy as np
import pytest

from icssim.errors import ScenarioError
from icssim.model import compile_plan, simulate
from icssim.scenario import scenario_from_dict


def _run(counts_as: str | None) -> dict[str, np.ndarray]:
    second = {"kind": "assessment", "service": "ed", "staff": ["doctor"], "duration": "20 minutes", "next": "home"}
    if counts_as is not None:
        second["counts_as"] = counts_as
    d = {"scenario": {"name": "stages", "time_unit": "hours", "horizon": "20 days", "seed": 2},
         "cohorts": {"walk_in": {"rate": "1 per hour", "entry": "triage_assessment"}},
         "services": {"ed": {"staff": {"nurse": {"wte": 3}, "doctor": {"wte": 3}}}},
         "pathway": {"steps": {
             "triage_assessment": {"kind": "assessment", "service": "ed", "staff": ["nurse"],
                                   "duration": "10 minutes", "next": "clinician_assessment"},
             "clinician_assessment": second,
             "home": {"kind": "discharge"}}}}
    P = simulate(compile_plan(scenario_from_dict(d))).patients
    done = ~np.isnan(P["exit"])
    return {k: v[done] for k, v in P.items()}


def test_by_default_a_second_assessment_is_a_duplicate():
    P = _run(None)
    assert len(P["pid"]) > 300
    assert (P["n_assessments"] == 2).all() and (P["n_duplicated_assessments"] == 1).all()


def test_a_further_stage_of_an_assessment_is_not_a_duplicate():
    P = _run("further_assessment")
    assert (P["n_assessments"] == 2).all() and (P["n_duplicated_assessments"] == 0).all()


def test_a_step_can_count_as_a_treatment_or_as_neither():
    P = _run("treatment")
    assert (P["n_assessments"] == 1).all() and not np.isnan(P["treat_start"]).any()
    assert (P["n_duplicated_assessments"] == 0).all()
    P = _run("none")
    assert (P["n_assessments"] == 1).all() and np.isnan(P["treat_start"]).all()


def test_unknown_meaning_is_refused():
    with pytest.raises(ScenarioError, match="counts_as"):
        d = {"scenario": {"name": "x", "horizon": 10}, "cohorts": {"a": {"rate": 1, "entry": "s"}},
             "pathway": {"steps": {"s": {"kind": "delay", "duration": 1, "counts_as": "triage", "next": "out"},
                                   "out": {"kind": "discharge"}}}}
        scenario_from_dict(d)
