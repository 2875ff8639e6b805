"""Vertex AI's (TFDV's) distances: L-infinity for categorical, Jensen-Shannon for numeric.

An alert fires when a distance is strictly above its threshold.
"""

from __future__ import annotations

import numpy as np


def l_infinity(p: dict[str, float], q: dict[str, float]) -> tuple[float, str | None]:
    """Largest absolute difference of the two normalized value distributions, and where."""
    p_total, q_total = sum(p.values()), sum(q.values())
    if not p_total or not q_total:
        raise ValueError("cannot compare an empty distribution")
    best, where = 0.0, None
    for key in sorted(set(p) | set(q)):
        diff = abs(p.get(key, 0) / p_total - q.get(key, 0) / q_total)
        if diff > best:
            best, where = diff, key
    return best, where


def jensen_shannon(p: list[float], q: list[float]) -> float:
    """JS divergence of two histograms over the same buckets, in bits (so within 0..1)."""
    a, b = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"histograms differ in buckets: {a.shape} vs {b.shape}")
    if a.sum() == 0 or b.sum() == 0:
        raise ValueError("cannot compare an empty histogram")
    a, b = a / a.sum(), b / b.sum()
    m = (a + b) / 2

    def kl(x: np.ndarray) -> float:
        mask = (x > 0) & (m > 0)
        return float(np.sum(x[mask] * np.log2(x[mask] / m[mask])))

    return min((kl(a) + kl(b)) / 2, 1.0)


def alerts(value: float | None, threshold: float) -> bool:
    return value is not None and value > threshold
