"""Which scenarios can be compared, and what common random numbers can pair between them."""

from __future__ import annotations

import numpy as np

from icssim.comparability import comparability
from icssim.experiments import run_replication

from helpers import shipped


def test_population_difference_warns_that_crn_cannot_hold():
    a = shipped("ed_fragmented", horizon="1 year", warmup="2 months")
    b = shipped("ed_integrated", horizon="1 year", warmup="2 months", **{"cohorts.cyp.rate_per_100k_per_year": 40})
    assert any("common random numbers cannot hold" in w for w in comparability([a, b]))
    assert comparability([a, shipped("ed_integrated", horizon="1 year", warmup="2 months")]) == []


def test_a_cohort_only_one_scenario_has_leaves_the_shared_cohorts_arrivals_alone():
    """Streams are keyed by cohort name: the urgent integrated pathway's ward referrals (a cohort
    the fragmented one lacks) change no A&E attender's arrival, and the warning says what differs
    without claiming that common random numbers fail."""
    a, b = (shipped(f"urgent_mh_{name}", horizon="3 days", warmup="0 days") for name in ("fragmented", "integrated"))
    warnings = comparability([a, b])
    assert len(warnings) == 1 and "cannot hold" not in warnings[0], warnings
    assert warnings[0].startswith("'urgent_mh_integrated' adds the cohort \u201cReferrals to liaison from the "
                                  "hospital's wards\u201d, which 'urgent_mh_fragmented' does not have. "), warnings

    def arrivals(s) -> dict[str, np.ndarray]:
        rec = run_replication(s, 0).records
        cohort = np.asarray(rec.cohorts)[rec.patients["cohort"]]
        return {c: np.sort(rec.patients["arrival"][cohort == c]) for c in rec.cohorts}

    first, second = arrivals(a), arrivals(b)
    assert set(second) - set(first) == {"ward_referrals"}
    for c in first:
        assert len(first[c]) > 10 and np.array_equal(first[c], second[c])
