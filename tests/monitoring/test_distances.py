"""Exact values on hand-computed distributions."""

import math

import pytest

from monitoring.distances import alerts, jensen_shannon, l_infinity


def test_l_infinity_on_hand_computed_counts():
    # (3/4, 1/4) vs (1/2, 1/2): the largest difference is 1/4, on either key
    assert l_infinity({"a": 3, "b": 1}, {"a": 1, "b": 1}) == (0.25, "a")
    assert l_infinity({"a": 1}, {"b": 5}) == (1.0, "a")  # disjoint supports
    assert l_infinity({"a": 2, "b": 2}, {"a": 10, "b": 10})[0] == 0.0


def test_jensen_shannon_on_hand_computed_histograms():
    assert jensen_shannon([1, 0], [0, 1]) == 1.0  # disjoint: one full bit
    assert jensen_shannon([5, 5], [1, 1]) == 0.0
    # p=(3/4,1/4), q=(1/4,3/4), m=(1/2,1/2): JS = 3/4 log2(3/2) + 1/4 log2(1/2)
    expected = 0.75 * math.log2(1.5) + 0.25 * math.log2(0.5)
    assert jensen_shannon([3, 1], [1, 3]) == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(0.188722, abs=1e-6)


def test_alerts_fire_strictly_above_the_threshold():
    assert alerts(0.31, 0.3) and not alerts(0.3, 0.3) and not alerts(None, 0.3)


def test_empty_or_mismatched_inputs_are_refused():
    with pytest.raises(ValueError, match="empty"):
        jensen_shannon([0, 0], [1, 1])
    with pytest.raises(ValueError, match="differ in buckets"):
        jensen_shannon([1, 1], [1, 1, 1])
    with pytest.raises(ValueError, match="empty"):
        l_infinity({}, {"a": 1})
