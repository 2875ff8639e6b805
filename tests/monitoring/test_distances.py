"""Exact values on hand-computed distributions, including TFDV's close-case rules."""

import math

import numpy as np
import pytest

from monitoring.distances import alerts, jensen_shannon, l_infinity
from promotion.domain import histograms
from promotion.domain.histograms import Histogram


def test_l_infinity_on_hand_computed_counts():
    # (3/4, 1/4) vs (1/2, 1/2): 1/4 on both keys; TFDV keeps the last key in byte order
    assert l_infinity({"a": 3, "b": 1}, {"a": 1, "b": 1}) == (0.25, "b")
    assert l_infinity({"b": 1}, {"a": 5}) == (1.0, "b")  # disjoint supports
    assert l_infinity({"a": 2, "b": 2}, {"a": 10, "b": 10}) == (0.0, "b")
    # byte order, not locale order: "Z" (0x5a) sorts before "a" (0x61)
    assert l_infinity({"Z": 1, "a": 1}, {"Z": 2}) == (0.5, "a")


def test_l_infinity_against_an_empty_side_is_the_other_side_s_largest_share():
    assert l_infinity({"a": 3, "b": 1}, {}) == (0.75, "a")


def test_jensen_shannon_on_identical_buckets():
    one = Histogram([(0.0, 1.0, 1.0), (1.0, 2.0, 0.0)])
    other = Histogram([(0.0, 1.0, 0.0), (1.0, 2.0, 1.0)])
    assert jensen_shannon(one, other) == 1.0  # disjoint: one full bit
    p = Histogram([(0.0, 1.0, 3.0), (1.0, 2.0, 1.0)])
    q = Histogram([(0.0, 1.0, 1.0), (1.0, 2.0, 3.0)])
    # p=(3/4,1/4), q=(1/4,3/4), m=(1/2,1/2): JS = 3/4 log2(3/2) + 1/4 log2(1/2)
    expected = 0.75 * math.log2(1.5) + 0.25 * math.log2(0.5)
    assert jensen_shannon(p, q) == pytest.approx(expected, abs=1e-15)


def test_histograms_over_different_ranges_are_aligned_by_spreading_counts_evenly():
    # [0,2) holds 2 and [2,4) 2; the other [1,3) holds 4. Merged boundaries 0,1,2,3,4:
    # p = (1,1,1,1)/4, q = (0,2,2,0)/4 -> m = (1/8, 3/8, 3/8, 1/8)
    p = Histogram([(0.0, 2.0, 2.0), (2.0, 4.0, 2.0)])
    q = Histogram([(1.0, 3.0, 4.0)])
    m = [1 / 8, 3 / 8, 3 / 8, 1 / 8]
    kl_p = sum(0.25 * math.log2(0.25 / x) for x in m)
    kl_q = 2 * 0.5 * math.log2(0.5 / (3 / 8))
    assert jensen_shannon(p, q) == pytest.approx((kl_p + kl_q) / 2, abs=1e-15)


def test_nan_buckets_never_overlap_and_vanish_when_buckets_are_rebuilt():
    # Same boundaries: NaN masses go to two different buckets (TFDV's AlignHistograms)
    p = Histogram([(0.0, 1.0, 1.0)], num_nan=1.0)
    q = Histogram([(0.0, 1.0, 1.0)], num_nan=1.0)
    # p=(1/2, 0, 1/2), q=(1/2, 1/2, 0): m=(1/2, 1/4, 1/4); JS = 1/2 log2(2) = 0.5
    assert jensen_shannon(p, q) == pytest.approx(0.5, abs=1e-15)
    # different boundaries: the rebuilt histograms carry no NaN count at all
    r = Histogram([(0.0, 2.0, 1.0)], num_nan=5.0)
    assert jensen_shannon(p, r) == jensen_shannon(Histogram(p.buckets), Histogram(r.buckets))


def test_point_and_infinite_buckets_are_compared_apart():
    point = Histogram([(3.0, 3.0, 4.0)])
    assert jensen_shannon(point, Histogram([(3.0, 3.0, 1.0)])) == 0.0
    assert jensen_shannon(point, Histogram([(0.0, 1.0, 4.0)])) == 1.0
    with_inf = Histogram([(0.0, 1.0, 1.0), (math.inf, math.inf, 1.0)])
    # the infinite mass is a bucket of its own: p=(1/2, 1/2), q=(1, 0), m=(3/4, 1/4)
    js = (0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(0.5 / 0.25) + math.log2(1 / 0.75)) / 2
    assert jensen_shannon(with_inf, Histogram([(0.0, 1.0, 2.0)])) == pytest.approx(js, abs=1e-15)


def test_an_empty_histogram_is_refused_naming_the_side():
    with pytest.raises(ValueError, match="empty histogram \\(current\\)"):
        jensen_shannon(Histogram([(0.0, 1.0, 1.0)]), Histogram([], num_nan=3.0))


def test_alerts_fire_strictly_above_the_threshold():
    assert alerts(0.31, 0.3) and not alerts(0.3, 0.3) and not alerts(None, 0.3)


def test_standard_histogram_of_a_few_values_by_hand():
    # values 0 (x2) and 10 (x2): 10 buckets of width 1 over [0, 10]; the quantiles put
    # half the mass at the minimum (first bucket) and half at the maximum (last bucket),
    # but for the one quantile bucket [0, 10] whose count is spread over all ten
    h = histograms.numeric([(0.0, 2), (10.0, 2), (None, 7), (math.nan, 3)])
    assert h is not None and len(h.buckets) == 10 and h.num_nan == 3
    assert [b[0] for b in h.buckets] == list(np.linspace(0, 10, 11)[:-1])
    assert h.buckets[0][2] == pytest.approx(2.0, abs=1e-3)
    assert h.buckets[0][2] > 2.0
    assert h.buckets[5][2] == pytest.approx(h.buckets[1][2])
    assert h.buckets[5][2] > 0
    assert sum(b[2] for b in h.buckets) == pytest.approx(4.0)


def test_standard_histogram_edge_cases():
    assert histograms.numeric([(None, 5)]) is None  # nothing present: no histogram
    only_nan = histograms.numeric([(math.nan, 4)])
    assert only_nan == Histogram([], 4.0)
    constant = histograms.numeric([(7.0, 5)])
    assert constant is not None and len(constant.buckets) == 1
    assert constant.buckets[0][:2] == (7.0, 7.0) and constant.buckets[0][2] == pytest.approx(5.0)
    infinite = histograms.numeric([(1.0, 1), (2.0, 1), (math.inf, 2), (-math.inf, 1)])
    assert infinite is not None
    assert infinite.buckets[0] == (-math.inf, -math.inf, 1.0)
    assert infinite.buckets[-1] == (math.inf, math.inf, 2.0)
    assert sum(b[2] for b in infinite.buckets) == pytest.approx(5.0)


def test_rank_histogram_keeps_present_values_and_the_thousand_most_frequent():
    assert histograms.categorical({"a": 2, None: 5, "b": 0}) == {"a": 2}
    many = {f"v{i:04d}": 1 + (i % 3) for i in range(1500)}
    kept = histograms.categorical(many)
    assert len(kept) == 1000 and min(kept.values()) >= 2
