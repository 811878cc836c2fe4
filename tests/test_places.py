"""Places as resources (issue 25): rooms, bays and cubicles held with the staff for each contact, with
a count (no WTE, no clinical hours) and a cost per hour of use."""

from __future__ import annotations

import math

import pytest

from icssim import experiments
from icssim.errors import ScenarioError
from icssim.scenario import scenario_from_dict


def _ed(place_step: dict | None = None, **service) -> dict:
    see = {"kind": "treatment", "service": "ed", "staff": ["doctor"], "places": ["cubicle"],
           "duration": {"dist": "exponential", "mean": "1 hour"}, "next": "home", **(place_step or {})}
    return {
        "scenario": {"name": "cubicles", "time_unit": "minutes", "horizon": "1000 days", "warmup": "10 days",
                     "seed": 4, "stage_waits": True},
        "cohorts": {"walk_in": {"rate": "1.6 per hour", "entry": "see"}},
        "services": {"ed": {"staff": {"doctor": {"wte": 10}},
                            "places": {"cubicle": {"count": 2, "cost_per_hour": 16}}, **service}},
        "pathway": {"steps": {"see": see, "home": {"kind": "discharge"}}},
    }


def test_two_cubicles_are_the_bottleneck_of_an_mmc_and_cost_per_hour_of_use():
    rep = experiments.run_replication(scenario_from_dict(_ed()), 0, keep_records=True)
    c, lam, mu = 2, 1.6, 1.0  # ten doctors, two cubicles: an M/M/2 (Erlang C)
    a = lam / mu
    tail = a ** c / math.factorial(c) * c / (c - a)
    erlang_c = tail / (sum(a ** k / math.factorial(k) for k in range(c)) + tail)
    assert rep.kpis["stage_wait_mean_minutes_see"] == pytest.approx(erlang_c / (c * mu - lam) * 60, rel=0.08)
    assert rep.kpis["utilisation_ed/cubicle"] == pytest.approx(lam / (c * mu), rel=0.03)
    place = next(r for r in rep.records.resources if r.name == "ed/cubicle")
    assert (place.kind, place.capacity, place.hours_available, place.cost_per_year) == ("place", 2, 0.0, 0.0)
    # £16 an hour of use: lam x 1 hour x 24 x 365.25 hours a year of use
    assert rep.kpis["cost_per_year"] == pytest.approx(16 * lam * 24 * 365.25, rel=0.03)


@pytest.mark.parametrize("step, words", [
    ({"places": ["bay"]}, "place of service 'ed' 'bay' is not defined"),
    ({"duration": None}, "needs a 'duration'"),
])
def test_bad_places_are_refused(step, words):
    d = _ed(step)
    if d["pathway"]["steps"]["see"].get("duration", 1) is None:
        del d["pathway"]["steps"]["see"]["duration"]
        d["pathway"]["steps"]["see"]["staff"] = []
    with pytest.raises(ScenarioError, match=words):
        scenario_from_dict(d)
