"""Named-feature instances in, predictions out: the serving contract's pure core.

Shared by the smoke test, the local endpoint and the prediction server, so every path
validates instances the same way and answers in the same shape.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from trainer import schema


class InvalidInstance(ValueError):
    """An instance the model cannot score; the message names the instance and the field."""


def validate_instance(index: int, instance: object) -> dict:
    if not isinstance(instance, dict):
        raise InvalidInstance(f"instance {index}: expected an object of named features")
    unknown = sorted(set(instance) - set(schema.FEATURE_NAMES))
    if unknown:
        raise InvalidInstance(f"instance {index}: unknown field(s) {', '.join(unknown)}")
    clean = {}
    for feature in schema.FEATURES:
        if feature.name not in instance:
            raise InvalidInstance(f"instance {index}: missing field {feature.name}")
        value = instance[feature.name]
        if value is None:
            clean[feature.name] = None  # missing is a valid value: the model handles it
        elif feature.is_categorical:
            if not isinstance(value, str):
                raise InvalidInstance(
                    f"instance {index}: field {feature.name} must be a string, got {value!r}"
                )
            if feature.code_of(value) is None:
                raise InvalidInstance(
                    f"instance {index}: field {feature.name} has unknown category {value!r}"
                )
            clean[feature.name] = value
        else:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidInstance(
                    f"instance {index}: field {feature.name} must be a number, got {value!r}"
                )
            if not math.isfinite(value):
                raise InvalidInstance(f"instance {index}: field {feature.name} is not finite")
            clean[feature.name] = float(value)
    return clean


def instances_to_frame(instances: list) -> pd.DataFrame:
    rows = [validate_instance(i, instance) for i, instance in enumerate(instances)]
    return pd.DataFrame(rows, columns=list(schema.FEATURE_NAMES))


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
