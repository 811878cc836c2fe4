"""engine.bucket_costs: how each booked cost is spread over the time buckets."""

from __future__ import annotations

import numpy as np
import pytest

from icssim.model.engine import bucket_costs


def reference_buckets(spans, n_buckets, width, n_cells):
    """The plain per-bucket loop the engine used to run for every booking."""
    out = np.zeros(n_buckets * n_cells)
    last = n_buckets - 1
    for cell, amount, t0, t1 in spans:
        b0, b1 = min(int(t0 // width), last), min(int(t1 // width), last)
        if b0 == b1:
            out[b0 * n_cells + cell] += amount
            continue
        for b in range(b0, b1 + 1):
            lo = max(b * width, t0)
            hi = min((b + 1) * width, t1) if b < last else t1
            out[b * n_cells + cell] += amount / (t1 - t0) * (hi - lo)
    return out


def test_span_is_spread_in_proportion_to_time_in_each_bucket():
    # £70 over days 5..12 with weekly buckets: 2 days in week 0, 5 days in week 1
    out = bucket_costs([(1, 70.0, 5.0, 12.0)], n_buckets=3, width=7.0, n_cells=2).reshape(3, 2)
    np.testing.assert_allclose(out[:, 1], [20.0, 50.0, 0.0])
    assert not out[:, 0].any()


def test_point_cost_and_cost_beyond_the_horizon():
    spans = [(0, 9.0, 3.0, 3.0), (0, 30.0, 10.0, 40.0)]  # a contact; an episode ending after bucket 2
    out = bucket_costs(spans, n_buckets=3, width=7.0, n_cells=1)
    np.testing.assert_allclose(out, [9.0, 4.0, 26.0])  # the last bucket keeps the tail (days 14..40)


def test_no_bookings_gives_zeros():
    assert bucket_costs([], n_buckets=4, width=7.0, n_cells=3).tolist() == [0.0] * 12


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_the_per_bucket_loop_and_keeps_every_pound(seed):
    rng = np.random.default_rng(seed)
    n_buckets, width, n_cells = 20, 7.0, 6
    t0 = rng.uniform(0, 150, 400)
    t1 = t0 + rng.choice([0.0, 1.0], 400) * rng.exponential(20, 400)
    spans = [(int(c), float(a), float(s), float(e))
             for c, a, s, e in zip(rng.integers(0, n_cells, 400), rng.uniform(1, 500, 400), t0, t1)]
    got = bucket_costs(spans, n_buckets, width, n_cells)
    np.testing.assert_allclose(got, reference_buckets(spans, n_buckets, width, n_cells), rtol=1e-12)
    assert got.sum() == pytest.approx(sum(s[1] for s in spans), rel=1e-12)


def test_buckets_after_long_spans_end_are_exactly_zero():
    # large long spans end before week 12; a difference array summed along time must not leave
    # round-off residue (1e-11 of a pound) in the weeks nobody is charged for
    spans = [(0, 123456.789, 0.3, 80.1), (0, 9876.5, 3.3, 70.0), (1, 1e7 / 3, 1.0, 83.9)]
    out = bucket_costs(spans, n_buckets=20, width=7.0, n_cells=2).reshape(20, 2)
    assert (out[12:] == 0.0).all()
    assert out.sum() == pytest.approx(123456.789 + 9876.5 + 1e7 / 3, rel=1e-14)
    np.testing.assert_allclose(out.ravel(), reference_buckets(spans, 20, 7.0, 2), rtol=1e-12)


def test_the_part_of_a_span_after_the_run_is_left_out():
    # horizon day 18: an episode over days 10..40 keeps 8 of its 30 days; a contact on day 20 is
    # after the run; a contact on day 18 is in it; an episode wholly after it is gone
    spans = [(0, 30.0, 10.0, 40.0), (0, 5.0, 20.0, 20.0), (0, 7.0, 18.0, 18.0), (0, 99.0, 19.0, 30.0)]
    out = bucket_costs(spans, n_buckets=3, width=7.0, n_cells=1, end=18.0)
    np.testing.assert_allclose(out, [0.0, 4.0, 4.0 + 7.0])  # days 10-14 | days 14-18 and day 18
    assert out.sum() == pytest.approx(30.0 * 8 / 30 + 7.0)


@pytest.mark.parametrize("seed", [0, 1])
def test_cutting_at_the_end_equals_the_buckets_before_it(seed):
    rng = np.random.default_rng(seed)
    t0 = rng.uniform(0, 150, 300)
    t1 = t0 + rng.choice([0.0, 1.0], 300) * rng.exponential(30, 300)
    spans = np.column_stack([rng.integers(0, 3, 300), rng.uniform(1, 500, 300), t0, t1])
    end = 140.0  # the last of 21 weekly buckets starts at day 140
    cut = bucket_costs(spans, 21, 7.0, 3, end=end).reshape(21, 3)
    whole = bucket_costs(spans, 200, 7.0, 3).reshape(200, 3)
    np.testing.assert_allclose(cut[:20], whole[:20], rtol=1e-12, atol=1e-9)
    points_at_end = spans[(spans[:, 2] == end) & (spans[:, 3] == end)]
    assert cut[20].sum() == pytest.approx(points_at_end[:, 1].sum(), abs=1e-9)
