"""Metric math: overall, per slice, and the curves the report and the Vertex UI draw."""

from __future__ import annotations

from typing import Literal, TypedDict

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from trainer import schema

# Slices smaller than this are reported but left out of the gap, where noise would dominate.
MIN_SLICE_FOR_GAP = 100


class BinaryMetrics(TypedDict):
    count: int
    positive_rate: float
    accuracy: float
    roc_auc: float | None
    log_loss: float
    f1: float
    precision: float
    recall: float
    brier: float


def binary_metrics(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> BinaryMetrics:
    """Accuracy, ROC AUC, log loss, F1 and friends; AUC is None for a one-class sample."""
    y = np.asarray(y)
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-15, 1 - 1e-15)
    predicted = (p >= threshold).astype(int)
    both_classes = len(np.unique(y)) == 2
    return {
        "count": len(y),
        "positive_rate": float(y.mean()) if len(y) else 0.0,
        "accuracy": float(skm.accuracy_score(y, predicted)),
        "roc_auc": float(skm.roc_auc_score(y, p)) if both_classes else None,
        "log_loss": float(skm.log_loss(y, p, labels=[0, 1])),
        "f1": float(skm.f1_score(y, predicted, zero_division=0)),
        "precision": float(skm.precision_score(y, predicted, zero_division=0)),
        "recall": float(skm.recall_score(y, predicted, zero_division=0)),
        "brier": float(skm.brier_score_loss(y, p)),
    }


def slice_metrics(
    frame: pd.DataFrame, y: np.ndarray, p: np.ndarray, threshold: float = 0.5
) -> dict[str, dict[str, BinaryMetrics]]:
    """{feature: {value: metrics}} for each slice feature; missing values are their own slice."""
    out: dict[str, dict[str, BinaryMetrics]] = {}
    for name in schema.SLICE_FEATURES:
        values = frame[name].astype(object).where(frame[name].notna(), "(missing)").to_numpy()
        out[name] = {
            str(value): binary_metrics(y[values == value], p[values == value], threshold)
            for value in sorted(set(values))
        }
    return out


def slice_gaps(
    slices: dict[str, dict[str, BinaryMetrics]],
    metric: Literal["accuracy", "roc_auc", "f1", "precision", "recall"] = "accuracy",
) -> dict[str, float]:
    """Largest minus smallest `metric` across the slices of each feature big enough to judge."""
    gaps = {}
    for name, by_value in slices.items():
        scores: list[float] = []
        for m in by_value.values():
            score = m[metric]
            if m["count"] >= MIN_SLICE_FOR_GAP and score is not None:
                scores.append(score)
        gaps[name] = float(max(scores) - min(scores)) if len(scores) > 1 else 0.0
    return gaps


def confusion(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> list[list[int]]:
    """Rows are the true class, columns the predicted, in schema.CLASSES order."""
    return skm.confusion_matrix(y, (p >= threshold).astype(int), labels=[0, 1]).tolist()


def roc_points(y: np.ndarray, p: np.ndarray, max_points: int = 200) -> dict[str, list[float]]:
    """The ROC curve thinned to at most `max_points`, enough to draw and small to log."""
    fpr, tpr, thresholds = skm.roc_curve(y, p)
    thresholds = np.minimum(thresholds, 1.0)  # sklearn puts +inf first
    if len(fpr) > max_points:
        keep = np.unique(np.linspace(0, len(fpr) - 1, max_points).round().astype(int))
        fpr, tpr, thresholds = fpr[keep], tpr[keep], thresholds[keep]
    return {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds": thresholds.tolist()}


def calibration_points(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict[str, list[float]]:
    observed, predicted = calibration_curve(y, p, n_bins=bins, strategy="quantile")
    return {"predicted": predicted.tolist(), "observed": observed.tolist()}


class Evaluation(BinaryMetrics):
    """Everything metrics.json holds: top-level keys are the official-test-split figures.
    The evaluate step passes it to decide and the candidate stages it, as JSON."""

    threshold: float
    slices: dict[str, dict[str, BinaryMetrics]]
    slice_accuracy_gap: dict[str, float]
    confusion_matrix: list[list[int]]
    roc_curve: dict[str, list[float]]
    calibration: dict[str, list[float]]


# What the Vertex UI and the run's KFP metrics show of an evaluation, in this order.
HEADLINE = ("accuracy", "roc_auc", "log_loss", "f1", "precision", "recall")


def evaluate(
    frame: pd.DataFrame, y: np.ndarray, p: np.ndarray, threshold: float = 0.5
) -> Evaluation:
    """The official-test-split figures, per slice, and the curves."""
    slices = slice_metrics(frame, y, p, threshold)
    return {
        **binary_metrics(y, p, threshold),
        "threshold": threshold,
        "slices": slices,
        "slice_accuracy_gap": slice_gaps(slices),
        "confusion_matrix": confusion(y, p, threshold),
        "roc_curve": roc_points(y, p),
        "calibration": calibration_points(y, p),
    }
