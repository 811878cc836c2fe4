"""An analyst's slips with path times and interval standards (issue 25), each told what was
expected: '.enter' on arrival or exit, a path time from exit, an interval from a point to itself
or back to a step's entry, and a time KPI named in the other unit."""

from __future__ import annotations

import copy

import pytest
import yaml

from icssim.errors import ScenarioError
from icssim.kpi_check import unknown_kpi
from icssim.scenario.loader import scenario_from_dict

from test_cli_validate import VALID

BASE = yaml.safe_load(VALID)


def _problems(**path_time: str) -> list[str]:
    """The messages for ``VALID`` with one path time ``t`` of these keys (none when it is valid)."""
    raw = copy.deepcopy(BASE)
    raw["scenario"]["path_times"] = {"t": {"label": "x", **path_time}}
    try:
        scenario_from_dict(raw)
    except ScenarioError as e:
        return [p.message for p in e.problems]
    return []


@pytest.mark.parametrize("point,key", [("arrival.enter", "from"), ("arrival.start", "from"),
                                       ("exit.enter", "to"), ("exit.end", "to")])
def test_a_point_of_arrival_or_exit_is_not_read_as_an_undefined_step(point, key):
    ends = {"from": "arrival", "to": "assess", key: point}
    whole = point.partition(".")[0]
    (message,) = _problems(**ends)
    assert message.startswith(f"{whole!r} is a point of its own, with no '.{point.partition('.')[2]}'")
    assert f"write {whole!r}" in message and "not defined" not in message


def test_from_exit_and_to_arrival_name_the_points_expected():
    points = "'<step>', '<step>.enter', '<step>.start' or '<step>.end'"
    assert _problems(**{"from": "exit", "to": "assess"}) == [
        f"an interval cannot start at exit: expected 'arrival', {points}"]
    assert _problems(**{"from": "assess", "to": "arrival"}) == [
        f"an interval cannot end at arrival: expected 'exit', {points}"]


@pytest.mark.parametrize("start,end,later", [("assess.enter", "assess.enter", "'assess.start' or a later step"),
                                             ("assess", "assess.start", "'assess.end' or a later step"),
                                             ("assess.start", "assess", "'assess.end' or a later step"),
                                             ("assess.end", "assess.end", "a later step")])
def test_an_interval_from_a_point_to_itself_is_refused(start, end, later):
    (message,) = _problems(**{"from": start, "to": end})
    assert message.startswith("'to' is the same point as 'from'") and "every time would be 0" in message
    assert message.endswith(f"expected a later point ({later})")


@pytest.mark.parametrize("start", ["assess.start", "assess", "assess.end"])
def test_an_interval_back_to_a_steps_entry_is_refused(start):
    (message,) = _problems(**{"from": start, "to": "assess.enter"})
    assert message == (f"'assess.enter' comes before {start!r} (a step is entered before it starts or ends), so every "
                       f"time would be 0 or negative: did you mean from 'assess.enter' to {start!r}?")


@pytest.mark.parametrize("start,end", [("assess.enter", "assess"), ("assess", "assess.end"), ("arrival", "exit"),
                                       # a drop-out from the queue ends a visit that never started, and a later
                                       # visit may start: not always negative, so left alone
                                       ("assess.end", "assess.start"), ("arrival", "assess.enter"),
                                       ("assess.end", "exit"), ("assess", "done")])
def test_intervals_that_can_be_positive_are_accepted(start, end):
    assert _problems(**{"from": start, "to": end}) == []


def test_a_standard_back_to_a_steps_entry_is_refused_too():
    raw = copy.deepcopy(BASE)
    raw["scenario"]["standards"] = {"s": {"from": "assess.end", "to": "assess.enter", "within": 2}}
    with pytest.raises(ScenarioError) as e:
        scenario_from_dict(raw)
    (problem,) = e.value.problems
    assert problem.path == "scenario.standards.s.to" and "comes before 'assess.end'" in problem.message


@pytest.mark.parametrize("name,meant", [("path_time_median_minutes_t", "path_time_median_days_t"),
                                        ("stage_wait_mean_days_assess", "stage_wait_mean_minutes_assess"),
                                        ("time_in_system_p95_days", "time_in_system_p95_minutes")])
def test_a_time_kpi_in_the_other_unit_says_why(name, meant):
    known = ["path_time_median_days_t", "stage_wait_mean_minutes_assess", "time_in_system_p95_minutes"]
    message = unknown_kpi(name, known)
    assert message == (f"{name!r} is not a KPI of this scenario; did you mean {meant!r}? (a time at a stage, from "
                       "arrival or on a path is named in minutes when the scenario's time_unit is minutes or hours, "
                       "else in days)")


def test_other_misspelt_kpis_keep_the_nearest_name():
    assert unknown_kpi("path_time_median_days_tt", ["path_time_median_days_t"]) == (
        "'path_time_median_days_tt' is not a KPI of this scenario; did you mean 'path_time_median_days_t'?")
    assert unknown_kpi("path_time_median_days_t", ["path_time_median_days_t"]) is None


@pytest.mark.parametrize("keys,message", [
    ({"from": "arrival"}, "an interval standard needs both 'from' and 'to': 'to' is missing (where its clock stops)"),
    ({"to": "assess"}, "an interval standard needs both 'from' and 'to': 'from' is missing (where its clock starts)"),
    ({"measure": "referral_to_assessment", "to": "assess"}, "give either 'measure' or 'from' and 'to', not both"),
    ({"measure": "referral_to_assessment", "from": "arrival", "to": "assess"},
     "give either 'measure' or 'from' and 'to', not both")])
def test_a_standard_half_an_interval_says_what_is_missing_or_too_much(keys, message):
    raw = copy.deepcopy(BASE)
    raw["scenario"]["standards"] = {"s": {"within": 2, **keys}}
    with pytest.raises(ScenarioError) as e:
        scenario_from_dict(raw)
    (problem,) = e.value.problems
    assert problem.path == "scenario.standards.s" and problem.message == message


def test_a_wait_named_in_report_waits_words_is_told_the_names_stay():
    known = ["wait_to_assessment_median", "wait_to_treatment_median"]
    message = unknown_kpi("wait_to_first_therapy_session_median", known)
    assert message.endswith("(the generic waits keep their names, wait_to_assessment_* and wait_to_treatment_*, "
                            "whatever words report.waits gives them)")
    assert unknown_kpi("wait_to_treatment_medain", known) == (
        "'wait_to_treatment_medain' is not a KPI of this scenario; did you mean 'wait_to_treatment_median'?")
