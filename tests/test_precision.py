"""Replications until the answer is precise enough: one scenario's KPIs (run_to_precision) and a
comparison's paired differences (compare_to_precision)."""

import pandas as pd
import pytest

from icssim.errors import IcssimError
from icssim.precision import compare_to_precision, difference_half_widths, run_to_precision

from helpers import precision_needing_more, shipped


def test_precision_adds_replications_until_reached():
    s = shipped("ed_fragmented", horizon="1 year", warmup="2 months")
    res = run_to_precision(s, 0.02, ["referrals_per_year"], workers=1, start=3, cap=12, keep_records=False)
    assert res.precision["reached"]
    assert res.precision["relative_half_width"]["referrals_per_year"] <= 0.02
    capped = run_to_precision(s, 1e-6, ["referrals_per_year"], workers=1, start=3, cap=4, keep_records=False)
    assert not capped.precision["reached"] and len(capped.replications) == 4


def test_precision_stops_at_the_same_replication_whatever_the_workers():
    """The stopping rule is checked after each replication in number order, on any number of
    workers: it stops after the start and before the cap at the same replication on 1 and 2
    workers (it used to add one batch per worker, and so stop one replication later on 2)."""
    s = shipped("ed_fragmented", horizon="1 year", warmup="2 months")
    target = precision_needing_more(s, "wait_to_treatment_mean")
    one, two = (run_to_precision(s, target, ["wait_to_treatment_mean"], workers=w, start=3, cap=30,
                                 keep_records=False) for w in (1, 2))
    assert one.precision == two.precision and 3 < one.precision["replications"] < 30
    pd.testing.assert_frame_equal(one.kpis, two.kpis)


def test_precision_keeps_finished_replications_when_interrupted():
    s = shipped("ed_fragmented", horizon="1 year", warmup="2 months")
    finished: list = []

    def interrupt_after_three(_):
        if len(finished) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_to_precision(s, 1e-6, ["cost_per_year"], workers=2, start=3, cap=50, keep_records=False,
                         progress=interrupt_after_three, done=finished)
    assert [r.replication for r in finished] == [0, 1, 2]


def test_precision_names_a_mistyped_kpi_after_one_replication():
    s = shipped("ed_fragmented", horizon="1 year", warmup="2 months")
    finished: list = []
    with pytest.raises(IcssimError, match="unknown KPI.*wait_to_treatmnt_mean.*known: .*wait_to_treatment_mean"):
        run_to_precision(s, 0.05, ["wait_to_treatmnt_mean"], workers=1, start=5, keep_records=False, done=finished)
    assert len(finished) == 1


def test_run_to_precision_refuses_bad_targets():
    s = shipped("ed_fragmented", horizon="1 year", warmup="2 months")
    with pytest.raises(IcssimError, match="greater than 0"):
        run_to_precision(s, -0.1, ["cost_per_year"])
    with pytest.raises(IcssimError, match="max-replications must be at least 1"):
        run_to_precision(s, 0.05, ["cost_per_year"], cap=0)


def _pair(**changes):
    return [shipped("ed_fragmented", horizon="1 year", warmup="2 months"),
            shipped("ed_integrated", horizon="1 year", warmup="2 months", **changes)]


KPI = "wait_to_treatment_mean"


def _target_needing_more(scenarios, start=3):
    """60% of the relative half-width ``start`` replications give the difference: more are needed."""
    first = compare_to_precision(scenarios, 1e-9, [KPI], start=start, cap=start, workers=1, keep_records=False)
    return 0.6 * max(first.precision["relative_half_width"].values())


def test_compare_to_precision_adds_replications_until_the_difference_is_precise():
    """It stops after the start and before the cap, at the first replication where the paired
    difference's half-width is within the target share of the mean difference, and says so; the
    same seed stops at the same replication on 1 and on 2 workers."""
    scenarios = _pair()
    target = _target_needing_more(scenarios)
    one, two = (compare_to_precision(scenarios, target, [KPI], start=3, cap=40, workers=w, keep_records=False)
                for w in (1, 2))
    pr = one.precision
    assert pr == two.precision and pr["reached"] and 3 < pr["replications"] < 40
    assert pr["judged"] == ["ed_integrated"]
    n = pr["replications"]
    assert [len(r.replications) for r in one.results] == [n, n]
    d = one.differences().set_index("kpi").loc[KPI]
    assert d["diff_half_width"] / abs(d["diff_mean"]) == pytest.approx(pr["relative_half_width"][
        f"{KPI}: ed_integrated - ed_fragmented"]) and d["diff_half_width"] <= target * abs(d["diff_mean"])
    shorter = compare_to_precision(scenarios, target, [KPI], start=3, cap=n - 1, workers=1, keep_records=False)
    assert not shorter.precision["reached"]   # one fewer did not reach it
    pd.testing.assert_frame_equal(one.results[1].kpis, two.results[1].kpis)


def test_compare_to_precision_judges_only_the_scenarios_named():
    """With judged=[2], a third scenario's difference counts and the second's does not: the second
    is the first again, whose difference of 0 could never be known to a share of itself."""
    a, b = _pair()
    same = shipped("ed_fragmented", horizon="1 year", warmup="2 months", **{"scenario.name": "copy"})
    cmp = compare_to_precision([a, same, b], 0.5, [KPI], start=3, cap=6, workers=1, keep_records=False, judged=[2])
    assert list(cmp.precision["relative_half_width"]) == [f"{KPI}: ed_integrated - ed_fragmented"]
    assert cmp.precision["judged"] == ["ed_integrated"]
    unjudged = compare_to_precision([a, same], 0.5, [KPI], start=3, cap=4, workers=1, keep_records=False)
    assert not unjudged.precision["reached"] and unjudged.precision["replications"] == 4


def test_compare_to_precision_names_a_mistyped_kpi_after_one_replication_of_each():
    finished: list = []
    with pytest.raises(IcssimError, match="unknown KPI for --precision: wait_to_treatmnt_mean"):
        compare_to_precision(_pair(), 0.05, ["wait_to_treatmnt_mean"], start=5, workers=1, keep_records=False,
                             done=finished)
    assert len(finished) == 2


def test_compare_to_precision_refuses_bad_targets():
    with pytest.raises(IcssimError, match="greater than 0"):
        compare_to_precision(_pair(), 0, [KPI])
    with pytest.raises(IcssimError, match="at least 2 to give a confidence interval"):
        compare_to_precision(_pair(), 0.05, [KPI], cap=1)
    with pytest.raises(IcssimError, match="at least two scenarios"):
        compare_to_precision(_pair()[:1], 0.05, [KPI])


class _Rep:
    def __init__(self, **kpis):
        self.kpis = kpis


def test_difference_half_widths_is_the_paired_t_interval_over_the_mean_difference():
    """Three replications of two scenarios, differences 1, 2 and 3: mean 2, sd 1, half-width
    t(0.975, 2) / sqrt(3) = 2.484; a difference of 0 is never precise (infinite)."""
    done = [_Rep(x=0.0, y=1.0), _Rep(x=1.0, y=1.0), _Rep(x=0.0, y=1.0), _Rep(x=2.0, y=1.0),
            _Rep(x=0.0, y=1.0), _Rep(x=3.0, y=1.0)]
    rel = difference_half_widths(done, ["a", "b"], [1], ["x", "y"])
    assert rel["x: b - a"] == pytest.approx(4.302653 / 3 ** 0.5 / 2, rel=1e-6)
    assert rel["y: b - a"] == float("inf")


def test_compare_to_precision_keeps_finished_replications_when_interrupted():
    """Ctrl-C during a comparison to a precision: what finished is in ``done``, in compare's order
    (replication 0 of each scenario, then 1, ...), for the command to keep its complete pairs."""
    finished: list = []

    def interrupt_after_five(_):
        if len(finished) == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        compare_to_precision(_pair(), 1e-6, [KPI], start=3, cap=50, workers=2, keep_records=False,
                             progress=interrupt_after_five, done=finished)
    assert [r.replication for r in finished] == [0, 0, 1, 1, 2]
