"""Training statistics: the schema check of the validate step and the skew baseline.

Numeric features get an equal-width histogram over the training range (TFDV's standard
histogram) plus underflow/overflow/missing buckets; categorical features get their value
counts. The monitor bins serving traffic into exactly these buckets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trainer import schema

BINS = 10
MISSING = "__missing__"
# Above this share of missing values a feature is anomalous (the census max is ~5.7%).
MAX_MISSING_SHARE = 0.2


def numeric_stats(values: pd.Series) -> dict:
    present = values.dropna().to_numpy(dtype=np.float64)
    lo, hi = (float(present.min()), float(present.max())) if len(present) else (0.0, 1.0)
    if hi == lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, BINS + 1)
    return {
        "kind": "numeric",
        "edges": edges.tolist(),
        "counts": bin_numeric(values, edges.tolist()),
        "mean": float(present.mean()) if len(present) else None,
        "std": float(present.std()) if len(present) else None,
    }


def bin_numeric(values: pd.Series | np.ndarray, edges: list[float]) -> list[int]:
    """[underflow, BINS buckets..., overflow, missing] counts; the top edge is inclusive.

    Equal-width buckets by arithmetic, the same formula `monitoring.profiles` runs in SQL,
    so training and serving values land in the same bucket.
    """
    v = np.asarray(values, dtype=np.float64)
    index = bucket_index(v, edges[0], edges[-1], len(edges) - 1)
    return np.bincount(index, minlength=len(edges) + 2).astype(int).tolist()


def bucket_index(v: np.ndarray, lo: float, hi: float, bins: int) -> np.ndarray:
    """0 underflow, 1..bins inside, bins+1 overflow, bins+2 missing."""
    width = (hi - lo) / bins
    with np.errstate(invalid="ignore"):
        inside = np.floor((v - lo) / width).astype(np.float64) + 1
    inside = np.clip(np.nan_to_num(inside, nan=0), 1, bins)
    index = np.where(v < lo, 0, np.where(v > hi, bins + 1, inside))
    return np.where(np.isnan(v), bins + 2, index).astype(np.int64)


def categorical_stats(values: pd.Series) -> dict:
    counts = values.astype(object).where(values.notna(), MISSING).value_counts()
    return {"kind": "categorical", "counts": {str(k): int(v) for k, v in counts.items()}}


def compute(frame: pd.DataFrame) -> dict:
    """Per-feature statistics of a loaded census frame (the skew baseline)."""
    features = {}
    for feature in schema.FEATURES:
        column = frame[feature.name]
        features[feature.name] = (
            categorical_stats(column) if feature.is_categorical else numeric_stats(column)
        )
    label = frame[schema.LABEL].astype(str)
    return {
        "rows": len(frame),
        "features": features,
        "label_positive_share": float((label == schema.POSITIVE_CLASS).mean()),
    }


def anomalies(frame: pd.DataFrame, stats: dict) -> list[str]:
    """What makes the data unfit to train on, each naming the feature and the value."""
    found = []
    missing_columns = [c for c in schema.RAW_COLUMNS if c not in frame.columns]
    if missing_columns:
        return [f"missing columns: {', '.join(missing_columns)}"]
    if stats["rows"] == 0:
        found.append("no rows")
    for feature in schema.FEATURES:
        column = frame[feature.name]
        share = float(column.isna().mean())
        if share > MAX_MISSING_SHARE:
            found.append(f"{feature.name}: {share:.1%} missing > {MAX_MISSING_SHARE:.0%}")
        if feature.is_categorical:
            unknown = set(column.dropna().astype(str)) - set(feature.categories)
            if unknown:
                found.append(f"{feature.name}: unknown categories {sorted(unknown)[:5]}")
        elif column.notna().any() and not pd.api.types.is_numeric_dtype(column):
            found.append(f"{feature.name}: not numeric ({column.dtype})")
    positive = stats["label_positive_share"]
    if not 0.05 <= positive <= 0.95:
        found.append(f"{schema.LABEL}: positive share {positive:.1%} outside 5%..95%")
    return found
