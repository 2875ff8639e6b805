"""One dataset's feature statistics as TFDV makes them, from the values and their counts.

Vertex AI Model Monitoring computes skew and drift with TensorFlow Data Validation, so the
local monitor must build the same histograms before it measures anything (docs/monitoring.md):

- Missing values (NULL) are left out of everything; a float NaN is not missing, it is
  counted in `num_nan` and gets a bucket of its own when distances are taken.
- A categorical feature is its value counts (TFDV's rank histogram, at most 1,000 values).
- A numeric feature is TFDV's *standard* histogram: 10 equal-width buckets over this
  dataset's own finite minimum and maximum, filled by linear interpolation from a
  1,000-bucket quantiles histogram (basic_stats_generator.py, quantiles_util.py), plus
  point buckets for -inf and +inf. TFDV takes the quantiles from a sketch; the sketch is
  exact while a feature has fewer distinct values than its block (about 6,000), which is
  what the counts here give (the difference beyond that is measured in the fixtures).

Ported from TFDV 1.16.1 and tfx_bsl 1.16.1; the functions keep their order of operations,
so the floating-point results agree to the last bits on the fixtures.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

STANDARD_BUCKETS = 10  # StatsOptions.num_histogram_buckets
QUANTILE_BUCKETS = 1000  # num_quantiles_histogram_buckets (10) x _NUM_QUANTILES_FACTOR (100)
RANK_BUCKETS = 1000  # StatsOptions.num_rank_histogram_buckets


@dataclass
class Histogram:
    """Buckets as (low, high, count); `num_nan` kept beside them, as in TFDV's proto."""

    buckets: list[tuple[float, float, float]] = field(default_factory=list)
    num_nan: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"buckets": [list(b) for b in self.buckets], "num_nan": self.num_nan}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Histogram:
        return cls([(float(a), float(b), float(c)) for a, b, c in data["buckets"]], data["num_nan"])

    @property
    def total(self) -> float:
        return sum(c for _, _, c in self.buckets) + self.num_nan


def categorical(counts: dict[str, int]) -> dict[str, int]:
    """The rank histogram: present values only, the 1,000 most frequent."""
    present = {str(k): int(n) for k, n in counts.items() if k is not None and n > 0}
    if len(present) <= RANK_BUCKETS:
        return present
    kept = sorted(present.items(), key=lambda kv: (-kv[1], kv[0]))[:RANK_BUCKETS]
    return dict(kept)


def numeric(pairs: Iterable[tuple[float | None, int]]) -> Histogram | None:
    """The standard histogram of a numeric feature from (value, count) pairs.

    None (a feature with no value at all) means TFDV has no histogram to compare.
    """
    values, counts, num_nan = [], [], 0
    for value, n in pairs:
        if value is None or n <= 0:
            continue
        if math.isnan(value):
            num_nan += int(n)
        else:
            values.append(float(value))
            counts.append(float(n))
    if not values:
        return Histogram([], float(num_nan)) if num_nan else None
    order = np.argsort(values, kind="stable")
    v = np.asarray(values, dtype=np.float64)[order]
    w = np.asarray(counts, dtype=np.float64)[order]
    finite = v[np.isfinite(v)]
    finite_min = float(finite.min()) if finite.size else math.inf
    finite_max = float(finite.max()) if finite.size else -math.inf
    num_pos_inf = float(w[np.isposinf(v)].sum())
    q, cumulative = quantiles(v, w, QUANTILE_BUCKETS)
    histogram = equi_width(q, cumulative, finite_min, finite_max, STANDARD_BUCKETS, num_pos_inf)
    histogram.num_nan = float(num_nan)
    return histogram


def quantiles(values: np.ndarray, weights: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """tfx_bsl's GenerateQuantilesAndCumulativeWeights on an exact summary.

    The summary has one entry per distinct (sorted) value: min_rank = weight before it,
    max_rank = weight up to it. For rank r = 0..n the C++ loop finds the first entry whose
    (min_rank + max_rank) exceeds d_2 = 2 * (r * total / n); that index never goes back,
    so a searchsorted gives the same entries.
    """
    max_rank = np.cumsum(weights)
    min_rank = max_rank - weights
    total = max_rank[-1]
    rank = np.arange(n + 1, dtype=np.float64)
    d_2 = 2 * (rank * total / n)
    both = min_rank + max_rank
    next_idx = np.maximum(np.searchsorted(both, d_2, side="right"), 1)
    cur_idx = next_idx - 1
    size = len(values)
    at_end = next_idx >= size
    safe_next = np.minimum(next_idx, size - 1)
    next_min_rank = min_rank[cur_idx] + weights[cur_idx]  # NextMinRank of cur
    prev_max_rank = max_rank[safe_next] - weights[safe_next]  # PrevMaxRank of next
    take_cur = at_end | (d_2 < next_min_rank + prev_max_rank)
    chosen = np.where(take_cur, cur_idx, safe_next)
    return values[chosen], max_rank[chosen]


def _bin_weights(
    boundaries: np.ndarray, cumulative: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """quantiles_util._get_bin_weights: duplicate bins share their weight evenly."""
    cumulative = cumulative.astype(np.float64)
    low, high = boundaries[:-1], boundaries[1:]
    counts = np.diff(cumulative)
    i = 0
    while i < low.size:
        j = i + 1
        while j < low.size and high[i] == high[j]:
            j += 1
        if j > i + 1:
            counts[i:j] = counts[i:j].sum() / (j - i)
        i = j
    i = 0
    while i < low.size and low[0] == low[i] and high[0] == high[i]:
        i += 1
    if i > 0:
        counts[0:i] += cumulative[0] / i
    return low, high, counts


def _strip_infinities(
    q: np.ndarray, cumulative: np.ndarray, finite_max: float, pos_inf: float
) -> tuple[np.ndarray, np.ndarray, float]:
    neg_inf_idx = int(np.searchsorted(q, -math.inf, side="right"))
    if neg_inf_idx:
        num_neg_inf = cumulative[neg_inf_idx - 1]
        cumulative = cumulative[neg_inf_idx:] - num_neg_inf
        q = q[neg_inf_idx:]
    else:
        num_neg_inf = 0.0
    if pos_inf:
        pos_inf_idx = int(np.searchsorted(q, math.inf, side="left"))
        finite_max_count = cumulative[-1] - pos_inf
        q = np.concatenate([q[:pos_inf_idx], [finite_max]])
        cumulative = np.concatenate([cumulative[:pos_inf_idx], [finite_max_count]])
    return q, cumulative, float(num_neg_inf)


def _overlap(
    low: float, high: float, lo: float, hi: float, first: bool
) -> tuple[float, bool, bool]:
    """quantiles_util._overlap: (fraction, bucket precedes, bucket follows)."""
    if first and high == low == lo:
        return 1.0, False, False
    if not first and high == low == lo:
        return 0.0, True, False
    if high < lo:
        return 0.0, True, False
    if low > hi:
        return 0.0, False, True
    if lo <= low and hi >= high:
        return 1.0, False, False
    if lo <= low:
        return (hi - low) / (high - low), False, False
    if hi >= high:
        return (high - lo) / (high - low), False, False
    return (hi - lo) / (high - low), False, False


def equi_width(
    q: np.ndarray,
    cumulative: np.ndarray,
    finite_min: float,
    finite_max: float,
    buckets: int,
    num_pos_inf: float,
) -> Histogram:
    """quantiles_util.generate_equi_width_histogram."""
    result = Histogram()
    if not math.isfinite(finite_min) and not math.isfinite(finite_max):
        result.buckets.append((finite_min, finite_max, float(cumulative[-1])))
        return result
    q, cumulative, num_neg_inf = _strip_infinities(q, cumulative, finite_max, num_pos_inf)
    low, high, weights = _bin_weights(q, cumulative)
    if finite_min == finite_max:
        edges = np.array([finite_min, finite_max])
    else:
        edges = np.linspace(finite_min, finite_max, buckets + 1)
    if num_neg_inf:
        result.buckets.append((-math.inf, -math.inf, num_neg_inf))
    start = 0
    lows, highs, ws = low.tolist(), high.tolist(), weights.tolist()
    for i in range(edges.size - 1):
        lo, hi = float(edges[i]), float(edges[i + 1])
        count = 0.0
        for k in range(start, len(lows)):
            share, precedes, follows = _overlap(lows[k], highs[k], lo, hi, i == 0)
            if follows:
                break
            if precedes:
                start = k
            count += share * ws[k]
        result.buckets.append((lo, hi, count))
    if num_pos_inf:
        result.buckets.append((math.inf, math.inf, float(num_pos_inf)))
    return result
