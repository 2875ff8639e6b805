"""A run's evaluation as the model registry holds it (promotion/domain/evaluations.py)."""

import pytest

from promotion.domain.evaluations import METRICS_SCHEMA, evaluation_request, slice_requests

SLICE = {"count": 40, "positive_rate": 0.25, "accuracy": 0.8, "roc_auc": None,
         "log_loss": 0.4, "f1": 0.5, "precision": 0.6, "recall": 0.43, "brier": 0.1}  # fmt: skip
EVALUATION = {
    "count": 100, "positive_rate": 0.25, "accuracy": 0.85, "roc_auc": 0.9, "log_loss": 0.3,
    "f1": 0.7, "precision": 0.75, "recall": 0.66, "brier": 0.1, "threshold": 0.5,
    "slices": {"sex": {"Female": SLICE, "Male": {**SLICE, "roc_auc": 0.88}}},
    "slice_accuracy_gap": {"sex": 0.0}, "confusion_matrix": [[70, 5], [10, 15]],
    "roc_curve": {"fpr": [0.0, 0.2, 1.0], "tpr": [0.0, 0.8, 1.0], "thresholds": [1.0, 0.5, 0.0]},
    "calibration": {"predicted": [], "observed": []},
}  # fmt: skip


def test_the_overall_figures_follow_vertexs_classification_schema():
    request = evaluation_request(EVALUATION, "run-7", "custom-trainer")
    assert request["metrics_schema_uri"] == METRICS_SCHEMA
    assert request["display_name"] == "run-7 (custom-trainer): official test split"
    assert request["slice_dimensions"] == ["sex"]
    metrics = request["metrics"]
    assert (metrics["auRoc"], metrics["logLoss"]) == (0.9, 0.3)
    assert "auPrc" not in metrics  # not computed by the evaluation: not made up
    assert metrics["confusionMatrix"]["rows"] == [[70, 5], [10, 15]]
    assert [s["displayName"] for s in metrics["confusionMatrix"]["annotationSpecs"]] == [
        "<=50K",
        ">50K",
    ]
    # at threshold 0.5: 25 positives, 75 negatives; recall 0.8 -> 20 true positives, fpr 0.2
    # -> 15 false positives: precision 20/35
    (mid,) = [p for p in metrics["confidenceMetrics"] if p["confidenceThreshold"] == 0.5]
    assert mid["precision"] == pytest.approx(20 / 35)
    assert mid["f1Score"] == pytest.approx(2 * (20 / 35) * 0.8 / (20 / 35 + 0.8))
    thresholds = [p["confidenceThreshold"] for p in metrics["confidenceMetrics"]]
    assert thresholds == sorted(thresholds)
    assert request["metadata"]["accuracy"] == 0.85


def test_each_slice_value_is_a_slice_at_the_runs_threshold():
    slices = slice_requests(EVALUATION)
    assert [(s["slice_"]["dimension"], s["slice_"]["value"]) for s in slices] == [
        ("sex", "Female"), ("sex", "Male"),
    ]  # fmt: skip
    female, male = (s["metrics"] for s in slices)
    assert "auRoc" not in female and male["auRoc"] == 0.88  # one class: no AUC, none invented
    assert female["confidenceMetrics"] == [
        {"confidenceThreshold": 0.5, "recall": 0.43, "precision": 0.6, "f1Score": 0.5}
    ]
