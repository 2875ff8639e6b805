"""Vertex AI's (TFDV's) distances: L-infinity for categorical, Jensen-Shannon for numeric.

Ported from TFDV 1.16.1's anomalies/metrics.cc, including what decides close cases: the
most-changed value is the *last* key (in byte order) with the largest difference, and the
two numeric histograms are aligned (their bucket boundaries merged, each count spread
evenly over the merged buckets; point, infinite and NaN buckets kept apart) before the
divergence. An alert fires when a distance is strictly above its threshold.
"""

from __future__ import annotations

import math

from promotion.domain.histograms import Histogram


def l_infinity(p: dict[str, float], q: dict[str, float]) -> tuple[float, str]:
    """Largest absolute difference of the two normalized value distributions, and where.

    TFDV's GetLInftyNorm: keys in std::map (byte) order, `>=` so the last tie wins; an
    empty side stays all zeros (Normalize leaves a zero sum alone).
    """
    a, b = _normalized(p), _normalized(q)
    best, where = 0.0, ""
    for key in sorted(set(a) | set(b), key=lambda k: k.encode()):
        diff = abs(a.get(key, 0.0) - b.get(key, 0.0))
        if diff >= best:
            best, where = diff, key
    return best, where


def _normalized(counts: dict[str, float]) -> dict[str, float]:
    total = 0.0
    for key in sorted(counts, key=lambda k: k.encode()):
        total += counts[key]
    return dict(counts) if total == 0 else {k: v / total for k, v in counts.items()}


def jensen_shannon(p: Histogram, q: Histogram) -> float:
    """JS divergence (bits) of two standard histograms after TFDV's AlignHistograms."""
    a, b = _align(p, q)
    a, b = _normalize(a, "reference"), _normalize(b, "current")
    m = [(x + y) / 2 for x, y in zip(a, b, strict=True)]
    return min((_kl(a, m) + _kl(b, m)) / 2, 1.0)


def _kl(p: list[float], q: list[float]) -> float:
    result = 0.0
    for x, y in zip(p, q, strict=True):
        if x > 0 and y > 0:
            result += x * math.log2(x / y)
    return result


def _normalize(counts: list[float], which: str) -> list[float]:
    total = 0.0
    for c in counts:
        total += c
    if total == 0:
        raise ValueError(f"cannot compare an empty histogram ({which})")
    return [c / total for c in counts]


def _strip(h: Histogram):
    """Ordinary buckets, point masses by value, and the mass of infinite buckets."""
    plain: list[tuple[float, float, float]] = []
    points: dict[float, float] = {}
    infinite = 0.0
    for low, high, count in h.buckets:
        if not math.isfinite(low) or not math.isfinite(high):
            infinite += count
        elif low == high:
            points[low] = points.get(low, 0.0) + count
        else:
            plain.append((low, high, count))
    return plain, points, infinite


def _rebucket(boundaries: list[float], buckets: list) -> list[tuple[float, float, float]]:
    """RebucketHistogram: each bucket's count spread evenly over the boundaries it covers."""
    out, index, last = [], 0, len(boundaries) - 1
    for low, high, count in buckets:
        while low > boundaries[index]:
            out.append((boundaries[index], boundaries[index + 1], 0.0))
            index += 1
        if low == high and low == boundaries[index]:
            out.append((boundaries[index], boundaries[index + 1], count))
            index += 1
            continue
        covered = []
        while high > boundaries[index]:
            covered.append(boundaries[index])
            index += 1
        covered.append(boundaries[index])
        width = high - low
        for i in range(len(covered) - 1):
            out.append((covered[i], covered[i + 1], (covered[i + 1] - covered[i]) / width * count))
    for i in range(index, last):
        out.append((boundaries[i], boundaries[i + 1], 0.0))
    return out


def _align(h1: Histogram, h2: Histogram) -> tuple[list[float], list[float]]:
    """AlignHistograms: the two histograms' counts over one set of buckets."""
    plain1, points1, inf1 = _strip(h1)
    plain2, points2, inf2 = _strip(h2)
    bounds1 = {x for low, high, _ in plain1 for x in (low, high)}
    bounds2 = {x for low, high, _ in plain2 for x in (low, high)}
    nan1, nan2 = h1.num_nan, h2.num_nan
    if bounds1 != bounds2:
        boundaries = sorted(bounds1 | bounds2)
        plain1, plain2 = _rebucket(boundaries, plain1), _rebucket(boundaries, plain2)
        nan1 = nan2 = 0.0  # RebucketHistogram builds new protos without num_nan: TFDV drops it
    a = [c for _, _, c in plain1]
    b = [c for _, _, c in plain2]
    for point in sorted(set(points1) | set(points2)):
        a.append(points1.get(point, 0.0))
        b.append(points2.get(point, 0.0))
    if inf1:
        a.append(inf1)
        b.append(0.0)
    if inf2:
        a.append(0.0)
        b.append(inf2)
    if nan1 > 0 or nan2 > 0:  # sic: the two NaN masses go to different buckets
        a += [0.0, nan1]
        b += [nan2, 0.0]
    return a, b


def alerts(value: float | None, threshold: float) -> bool:
    return value is not None and value > threshold
