"""The follow-up's health-event costs by payer (``event_cost_to_<payer>``, docs/health.md "Health
events" and "Who pays"), against closed forms.

Every person lives the same course: six months (182 days) in ``acute``, a tunnel state, then
``stable`` to the end of a 5-year follow-up, with no deaths. An event at a constant rate ``r`` a
year costing ``c`` each, over a stretch [a, b] of years since asking for help, costs
c × r × ∫ (1 + d)^−t dt = c × r × (e^−δa − e^−δb) / δ, δ = ln(1 + d) (continuous discounting at
the annual cost rate d), so each payer's cost per help-seeker is known to rounding.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from icssim.experiments import run_replication
from icssim.kpis import Window, kpi_info, kpi_of
from icssim.scenario import scenario_from_dict

DAYS_PER_YEAR = 365.25  # docs/scenario-format.md: a year is 365.25 days
DISCOUNT = 0.035
FOLLOW_UP = 5.0  # years
ACUTE = 182 / DAYS_PER_YEAR  # years in the tunnel state before moving on
REVIEW_RATE = DAYS_PER_YEAR / 91  # a review every 91 days, per year
#: per event: cost each, payer, and rate a year in (acute, stable)
AE, ADMISSION, REVIEW = (250.0, 1.2, 0.4), (3000.0, 0.3, 0.0), (110.0, REVIEW_RATE, REVIEW_RATE)

RAW = {
    "scenario": {"name": "payers", "time_unit": "days", "horizon": "2 years", "warmup": "6 months", "seed": 11},
    "cohorts": {"all": {"rate": "2 per day", "entry": "gp", "attributes": {"age": 30}}},
    "services": {"practice": {"cost_per_contact": 40, "payer": "primary_care"},
                 "clinic": {"cost_per_contact": 300},
                 "ltc_clinic": {"payer": "local_authority"}},
    "pathway": {"steps": {
        "gp": {"kind": "assessment", "service": "practice", "duration": "10 minutes", "next": "therapy"},
        "therapy": {"kind": "treatment", "service": "clinic", "duration": "1 hour", "next": "done"},
        "done": {"kind": "discharge", "outcome": "completed"}}},
    "health": {
        "states": {"acute": {"utility": 0.6, "cost_per_year": 1000, "then": "stable", "after": "182 days"},
                   "stable": {"utility": 0.8, "absorbing": True}},
        "start": {"acute": 1.0},
        "follow_up": f"{FOLLOW_UP:g} years",
        "discount": {"costs": DISCOUNT, "qalys": DISCOUNT},
        "events": {
            # no payer: the ICB's
            "ae_attendance": {"cost": AE[0], "rate": {"acute": f"{AE[1]} per year", "stable": f"{AE[2]} per year"}},
            # its own payer
            "admission": {"cost": ADMISSION[0], "payer": "specialised_commissioning",
                          "rate": {"acute": f"{ADMISSION[1]} per year"}},
            # a contact of a second service: the service's payer
            "ltc_review": {"service": "ltc_clinic", "every": "91 days", "cost": REVIEW[0]},
        },
    },
}


def annuity(t0: float, t1: float) -> float:
    """∫ (1 + DISCOUNT)^−t dt over [t0, t1] years."""
    delta = math.log1p(DISCOUNT)
    return (math.exp(-delta * t0) - math.exp(-delta * t1)) / delta


def event_cost(event: tuple[float, float, float]) -> float:
    """One person's discounted cost of an event (cost, rate in acute, rate in stable) over the follow-up."""
    cost, acute, stable = event
    return cost * (acute * annuity(0.0, ACUTE) + stable * annuity(ACUTE, FOLLOW_UP))


def run(raw: dict) -> tuple[dict, np.ndarray]:
    """The KPIs of one replication of ``raw``, and its window help-seekers' event costs."""
    rep = run_replication(scenario_from_dict(raw), 0)
    return rep.kpis, rep.records.health.event_costs[Window(rep.records).in_window]


def edited(**events: dict) -> dict:
    """:data:`RAW` with some events' fields changed (``{event: {field: value}}``; None removes one)."""
    raw = copy.deepcopy(RAW)
    for name, change in events.items():
        for key, value in change.items():
            raw["health"]["events"][name].pop(key, None)
            if value is not None:
                raw["health"]["events"][name][key] = value
    return raw


@pytest.fixture(scope="module")
def base() -> tuple[dict, np.ndarray]:
    return run(RAW)


def test_each_payer_pays_its_events_discounted_over_the_follow_up(base):
    """The ICB pays the A&E attendances (no payer named), specialised commissioning the admissions
    (their own payer), the local authority the reviews (their service's payer); the practice's
    payer pays for no event and gets no follow-up cost."""
    k, costs = base
    assert len(costs) > 500
    assert k["event_cost_to_icb"] == pytest.approx(event_cost(AE), rel=1e-10)
    assert k["event_cost_to_specialised_commissioning"] == pytest.approx(event_cost(ADMISSION), rel=1e-10)
    assert k["event_cost_to_local_authority"] == pytest.approx(event_cost(REVIEW), rel=1e-10)
    assert sorted(n for n in k if n.startswith("event_cost_to_")) == [
        "event_cost_to_icb", "event_cost_to_local_authority", "event_cost_to_specialised_commissioning"]
    # the budget-impact view (cost_to_<payer>_*) is the pathway's: the reviews are not in it
    assert k["cost_to_local_authority_year_all"] == 0.0
    assert k["follow_up_cost_ltc_clinic"] == pytest.approx(k["event_cost_to_local_authority"], rel=1e-12)
    # (the tunnel matters: at the acute rate throughout, the A&E cost would be another)
    assert abs(k["event_cost_to_icb"] - AE[0] * AE[1] * annuity(0.0, FOLLOW_UP)) > 100


def test_the_payers_parts_add_up_to_the_events_part_of_the_cost_per_person(base):
    """Σ over payers = each window help-seeker's event cost, averaged; and = what the events add to
    ``cost_per_person`` (the same run with every event free). The states' own cost is no payer's."""
    k, costs = base
    parts = sum(v for n, v in k.items() if n.startswith("event_cost_to_"))
    assert parts == pytest.approx(costs.mean(), rel=1e-12)
    assert parts == pytest.approx(event_cost(AE) + event_cost(ADMISSION) + event_cost(REVIEW), rel=1e-10)
    free, _ = run(edited(**{e: {"cost": 0.0} for e in RAW["health"]["events"]}))
    assert k["cost_per_person"] - free["cost_per_person"] == pytest.approx(parts, rel=1e-9)
    assert all(free[n] == 0.0 for n in k if n.startswith("event_cost_to_"))
    # the state's cost (GBP 1,000 a year while acute) is in cost_per_person but in no payer's part
    stateless = copy.deepcopy(RAW)
    stateless["health"]["states"]["acute"]["cost_per_year"] = 0
    without, _ = run(stateless)
    assert k["cost_per_person"] - without["cost_per_person"] == pytest.approx(1000 * annuity(0.0, ACUTE), rel=1e-9)
    for name in (n for n in k if n.startswith("event_cost_to_")):
        assert without[name] == k[name]


def test_two_events_of_one_service_naming_two_payers_split():
    """Two contacts of the same service: one takes the service's payer, the other names its own.
    Each payer gets its own event's cost; naming the service's payer merges them."""
    review2 = {"service": "ltc_clinic", "every": "91 days", "cost": 70.0}
    raw = copy.deepcopy(RAW)
    raw["health"]["events"] = {"ltc_review": RAW["health"]["events"]["ltc_review"],
                               "nurse_call": {**review2, "payer": "icb"}}
    k, costs = run(raw)
    nurse = (70.0, REVIEW_RATE, REVIEW_RATE)
    assert k["event_cost_to_local_authority"] == pytest.approx(event_cost(REVIEW), rel=1e-10)
    assert k["event_cost_to_icb"] == pytest.approx(event_cost(nurse), rel=1e-10)
    assert k["event_cost_to_icb"] + k["event_cost_to_local_authority"] == pytest.approx(costs.mean(), rel=1e-12)
    raw["health"]["events"]["nurse_call"]["payer"] = "local_authority"
    merged, _ = run(raw)
    assert "event_cost_to_icb" not in merged
    assert merged["event_cost_to_local_authority"] == pytest.approx(event_cost(REVIEW) + event_cost(nurse), rel=1e-10)


def test_moving_an_event_to_another_payer_moves_exactly_its_cost(base):
    """The admissions given to the ICB instead: the ICB's part grows by their cost, and
    specialised commissioning, which pays for no event now, has no part."""
    k, _ = base
    moved, _ = run(edited(admission={"payer": None}))
    assert "event_cost_to_specialised_commissioning" not in moved
    assert moved["event_cost_to_icb"] == pytest.approx(k["event_cost_to_icb"] + event_cost(ADMISSION), rel=1e-10)
    assert moved["event_cost_to_local_authority"] == k["event_cost_to_local_authority"]


def test_no_events_no_payer_parts():
    raw = copy.deepcopy(RAW)
    raw["health"]["events"] = {}
    k, _ = run(raw)
    assert "cost_per_person" in k and not any(n.startswith("event_cost_to_") for n in k)


def test_the_kpis_are_labelled_as_value_for_money_by_payer():
    info = kpi_info("event_cost_to_specialised_commissioning")
    assert info.label.startswith("Cost to specialised commissioning (NHS England")
    assert "health events over the follow-up (discounted)" in info.label
    assert (info.unit, info.better, info.family, info.subject, info.group) == (
        "GBP", "lower", "payer", "specialised_commissioning", "Value for money")
    assert kpi_info("event_cost_to_primary_care").label.startswith("Cost to primary_care per help-seeker")
    # its own family, not the budget-impact view's (cost_to_) nor a second service's (follow_up_cost_)
    assert type(kpi_of("event_cost_to_icb")).__name__ == "EventPayerCost"
    assert type(kpi_of("cost_to_icb_year_all")).__name__ == "PayerCosts"
