"""Turn a census frame into the matrix the model sees: categories become schema codes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trainer import schema

CATEGORICAL_INDICES: list[int] = [i for i, f in enumerate(schema.FEATURES) if f.is_categorical]


def encode(frame: pd.DataFrame) -> np.ndarray:
    """Float matrix in schema order; categorical codes from the schema, NaN for missing.

    Values outside the schema become NaN here: gatekeeping is the loader's and the
    server's job, which reject them with a message before this point.
    """
    missing = [name for name in schema.FEATURE_NAMES if name not in frame.columns]
    if missing:
        raise KeyError(f"frame lacks feature columns: {', '.join(missing)}")
    matrix = np.empty((len(frame), len(schema.FEATURES)), dtype=np.float64)
    for i, feature in enumerate(schema.FEATURES):
        column = frame[feature.name]
        if feature.is_categorical:
            codes = pd.Categorical(column, categories=list(feature.categories)).codes
            matrix[:, i] = np.where(codes < 0, np.nan, codes)
        else:
            matrix[:, i] = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    return matrix


def labels(frame: pd.DataFrame) -> np.ndarray:
    """1 for >50K, 0 for <=50K."""
    return (frame[schema.LABEL].astype(str) == schema.POSITIVE_CLASS).to_numpy(dtype=np.int8)


def typical(frame: pd.DataFrame) -> dict[str, float | int | str | None]:
    """A typical row of `frame`: each numeric feature's median (whole when the feature's
    values are), each categorical one's most frequent category. The on-device app's
    defaults; recorded in the model's metadata at training."""
    row: dict[str, float | int | str | None] = {}
    for feature in schema.FEATURES:
        column = frame[feature.name].dropna()
        if column.empty:
            row[feature.name] = None
        elif feature.is_categorical:
            row[feature.name] = str(column.astype(str).value_counts().index[0])
        else:
            values = pd.to_numeric(column, errors="coerce").dropna()
            median = float(values.median())
            whole = bool((values == values.round()).all())
            row[feature.name] = round(median) if whole else median
    return row
