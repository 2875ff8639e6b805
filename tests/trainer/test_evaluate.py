import math

import numpy as np
import pandas as pd
import pytest

from trainer import evaluate


def test_binary_metrics_on_a_hand_computed_sample():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.6, 0.4, 0.9])
    m = evaluate.binary_metrics(y, p)
    assert m["accuracy"] == 0.5  # 0.1 and 0.9 right, 0.6 and 0.4 wrong
    assert m["roc_auc"] == 0.75  # 3 of 4 positive/negative pairs ordered correctly
    expected_ll = -(math.log(0.9) + math.log(0.4) + math.log(0.4) + math.log(0.9)) / 4
    assert m["log_loss"] == pytest.approx(expected_ll)
    assert m["f1"] == 0.5 and m["precision"] == 0.5 and m["recall"] == 0.5
    assert m["count"] == 4 and m["positive_rate"] == 0.5


def test_one_class_sample_has_no_auc():
    assert evaluate.binary_metrics(np.array([1, 1]), np.array([0.7, 0.8]))["roc_auc"] is None


def test_slices_and_gap_ignore_tiny_slices():
    n = 300
    frame = pd.DataFrame(
        {
            "sex": ["Female"] * n + ["Male"] * n + ["Male"] * 0,
            "race": ["White"] * (2 * n - 5) + ["Other"] * 5,
        }
    )
    y = np.array([0] * n + [1] * n)
    p = np.array([0.2] * n + [0.3] * n)  # female all right, male all wrong
    slices = evaluate.slice_metrics(frame, y, p)
    assert slices["sex"]["Female"]["accuracy"] == 1.0
    assert slices["sex"]["Male"]["accuracy"] == 0.0
    gaps = evaluate.slice_gaps(slices)
    assert gaps["sex"] == 1.0
    assert gaps["race"] == 0.0  # 'Other' has 5 rows, below the minimum slice size


def test_missing_slice_values_form_their_own_slice():
    frame = pd.DataFrame({"sex": ["Male", None], "race": ["White", "White"]})
    slices = evaluate.slice_metrics(frame, np.array([0, 1]), np.array([0.1, 0.9]))
    assert set(slices["sex"]) == {"Male", "(missing)"}


def test_roc_points_are_thinned_and_bounded():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 5000)
    p = rng.random(5000)
    roc = evaluate.roc_points(y, p, max_points=50)
    assert len(roc["fpr"]) <= 50
    assert roc["fpr"][0] == 0.0 and roc["tpr"][-1] == 1.0
    assert max(roc["thresholds"]) <= 1.0


def test_confusion_matrix_orientation():
    y = np.array([0, 0, 0, 1])
    p = np.array([0.9, 0.1, 0.2, 0.8])
    assert evaluate.confusion(y, p) == [[2, 1], [0, 1]]
