"""Named-feature instances in, predictions out: the serving contract's pure core.

Shared by the smoke test, the local endpoint and the prediction server, so every path
validates instances the same way and answers in the same shape.
"""

from __future__ import annotations

import math
import operator
import re

import numpy as np
import pandas as pd

from kernel.text import excerpt
from trainer import schema


class InvalidInstance(ValueError):
    """An instance the model cannot score; the message names the instance and the field."""


_CODES = {
    f.name: {c: float(i) for i, c in enumerate(f.categories)}
    for f in schema.FEATURES
    if f.is_categorical
}
_NAMES = frozenset(schema.FEATURE_NAMES)
UNKNOWN_POLICIES = ("reject", "missing")


def encode_instances(instances: list, unknown_category: str = "reject") -> np.ndarray:
    """Validate named-feature instances and encode them as the model's matrix.

    A missing field, an unknown field, a wrong type, a non-finite number or (with the
    "reject" policy) an unknown category raises InvalidInstance naming instance and field;
    with the "missing" policy an unknown category is scored as a missing value. `None` is a
    valid value for any feature: the model handles missing values natively.

    Column by column (a few vectorised checks) when every value is fine; the slower row
    by row walk runs only to name the first bad value.
    """
    if unknown_category not in UNKNOWN_POLICIES:
        raise ValueError(f"unknown-category policy must be one of {UNKNOWN_POLICIES}")
    matrix = _encode_columns(instances, unknown_category)
    if matrix is None:
        matrix = _encode_rows(instances, unknown_category)
    return matrix


_NUMBER_TYPES = frozenset({int, float, type(None)})  # bool is a subclass, not one of these
_ROW = operator.itemgetter(*schema.FEATURE_NAMES)
_CODES_OR_NAN = {name: {**codes, None: np.nan} for name, codes in _CODES.items()}


def _encode_columns(instances: list, unknown_category: str) -> np.ndarray | None:
    """The fast path (C loops: itemgetter, map, set); None as soon as anything is off, and
    the row walk then says what."""
    for instance in instances:
        if type(instance) is not dict or instance.keys() != _NAMES:
            return None
    columns = zip(*map(_ROW, instances), strict=True)
    matrix = np.empty((len(instances), len(schema.FEATURES)), dtype=np.float64)
    for j, (feature, column) in enumerate(zip(schema.FEATURES, columns, strict=True)):
        if feature.is_categorical:
            try:  # an unknown category, or any value not a known string, maps to None
                encoded = list(map(_CODES_OR_NAN[feature.name].get, column))
            except TypeError:  # an unhashable value (a list or an object)
                return None
            if None in encoded:
                if unknown_category == "reject" or not set(map(type, column)) <= _TEXT_TYPES:
                    return None
                encoded = [np.nan if v is None else v for v in encoded]
            matrix[:, j] = encoded
        else:
            if not set(map(type, column)) <= _NUMBER_TYPES:
                return None
            values = np.array(column, dtype=np.float64)  # None becomes NaN
            if np.isinf(values).any():
                return None
            nan = np.isnan(values)  # None or a float NaN: only None is a missing value
            if nan.any() and (nan & _not_none(column)).any():
                return None
            low, high = feature.plausible or (-np.inf, np.inf)
            with np.errstate(invalid="ignore"):
                if ((values < low) | (values > high)).any():
                    return None
            matrix[:, j] = values
    return matrix


_TEXT_TYPES = frozenset({str, type(None)})
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _number_text(text: str, i: int, name: str) -> float:
    """A number sent as its decimal text (how AutoML tabular's clients send every value, so
    an endpoint serving both kinds of version takes one format); anything else refused."""
    if not _DECIMAL.match(text.strip()):
        raise InvalidInstance(f"instance {i}: field {name} must be a number, got {excerpt(text)}")
    return float(text)


def _not_none(column: tuple) -> np.ndarray:
    return np.fromiter((v is not None for v in column), dtype=bool, count=len(column))


def _encode_rows(instances: list, unknown_category: str) -> np.ndarray:
    matrix = np.empty((len(instances), len(schema.FEATURES)), dtype=np.float64)
    for i, instance in enumerate(instances):
        if not isinstance(instance, dict):
            raise InvalidInstance(f"instance {i}: expected an object of named features")
        if len(instance) != len(_NAMES) or not _NAMES.issuperset(instance):
            _explain_fields(i, instance)
        row = matrix[i]
        for j, feature in enumerate(schema.FEATURES):
            value = instance[feature.name]
            if value is None:
                row[j] = np.nan
            elif feature.is_categorical:
                if not isinstance(value, str):
                    raise InvalidInstance(
                        f"instance {i}: field {feature.name} must be a string, got {excerpt(value)}"
                    )
                code = _CODES[feature.name].get(value)
                if code is None:
                    if unknown_category == "reject":
                        hint = " (a missing value is null)" if value.strip() == "?" else ""
                        raise InvalidInstance(
                            f"instance {i}: field {feature.name} has unknown category "
                            f"{excerpt(value)}{hint}"
                        )
                    code = np.nan
                row[j] = code
            else:
                if isinstance(value, str):  # AutoML tabular's format: numbers as their text
                    value = _number_text(value, i, feature.name)
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise InvalidInstance(
                        f"instance {i}: field {feature.name} must be a number, got {excerpt(value)}"
                    )
                if not math.isfinite(value):
                    raise InvalidInstance(f"instance {i}: field {feature.name} is not finite")
                low, high = feature.plausible or (-math.inf, math.inf)
                if not low <= value <= high:
                    raise InvalidInstance(
                        f"instance {i}: field {feature.name} is {excerpt(value)}, outside the "
                        f"plausible range {feature.plausible_text}"
                    )
                row[j] = value
    return matrix


def _explain_fields(i: int, instance: dict) -> None:
    missing = [n for n in schema.FEATURE_NAMES if n not in instance]
    if missing:
        raise InvalidInstance(f"instance {i}: missing field {missing[0]}")
    unknown = sorted(map(str, set(instance) - _NAMES))
    named = ", ".join(excerpt(name) for name in unknown[:3])
    more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
    raise InvalidInstance(f"instance {i}: unknown field(s) {named}{more}")


def format_predictions(probabilities: np.ndarray, threshold: float) -> list[dict]:
    return [
        {
            "label": schema.POSITIVE_CLASS if p >= threshold else schema.NEGATIVE_CLASS,
            "probability": float(p),
        }
        for p in probabilities
    ]


def frame_to_instances(frame: pd.DataFrame) -> list[dict]:
    """Rows of a loaded frame as serving instances (None for missing)."""
    out = []
    for record in frame[list(schema.FEATURE_NAMES)].astype(object).to_dict("records"):
        out.append({k: (None if v is None or v != v else v) for k, v in record.items()})
    return out


def check_predictions(instances: list, response: list) -> list[str]:
    """What is wrong with a prediction response (empty when it is fine): the smoke test."""
    problems = []
    if len(response) != len(instances):
        return [f"{len(response)} predictions for {len(instances)} instances"]
    for i, p in enumerate(response):
        if not isinstance(p, dict) or p.get("label") not in schema.CLASSES:
            problems.append(f"prediction {i}: bad label in {p!r}")
            continue
        prob = p.get("probability")
        if not isinstance(prob, float | int) or not 0.0 <= prob <= 1.0:
            problems.append(f"prediction {i}: probability {prob!r} outside 0..1")
    return problems
