"""A run's evaluation as a model registry holds it: Vertex AI Model Registry's evaluations
(models.evaluations.import and slices.batchImport), so the console shows a registered
version's figures overall and per slice as for a model Vertex evaluated itself; the local
registry keeps the same. Pure: tested field by field.

The metrics follow Vertex's classification schema (METRICS_SCHEMA): auRoc, logLoss, the
confusion matrix, and confidence metrics along the ROC curve (recall and false positive rate
at each threshold, precision and F1 derived from the class counts). auPrc is left out: the
evaluation does not compute it, and a figure derived from a thinned curve would mislead.
"""

from __future__ import annotations

from typing import Any

from trainer import schema

METRICS_SCHEMA = (
    "gs://google-cloud-aiplatform/schema/modelevaluation/classification_metrics_1.0.0.yaml"
)


def _confidence(
    threshold: float, recall: float, fpr: float, positives: float, negatives: float
) -> dict[str, float]:
    true_pos, false_pos = recall * positives, fpr * negatives
    precision = true_pos / (true_pos + false_pos) if true_pos + false_pos else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "confidenceThreshold": threshold,
        "recall": recall,
        "precision": precision,
        "falsePositiveRate": fpr,
        "f1Score": f1,
    }


def classification_metrics(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The overall figures in Vertex's classification schema."""
    count = evaluation["count"]
    positives = evaluation["positive_rate"] * count
    curve = evaluation["roc_curve"]
    points = [
        _confidence(t, r, f, positives, count - positives)
        for t, r, f in zip(curve["thresholds"], curve["tpr"], curve["fpr"], strict=True)
    ]
    metrics: dict[str, Any] = {
        "logLoss": evaluation["log_loss"],
        "confidenceMetrics": sorted(points, key=lambda p: p["confidenceThreshold"]),
        "confusionMatrix": {
            "annotationSpecs": [
                {"id": str(i), "displayName": c} for i, c in enumerate(schema.CLASSES)
            ],
            "rows": evaluation["confusion_matrix"],
        },
    }
    if evaluation.get("roc_auc") is not None:
        metrics["auRoc"] = evaluation["roc_auc"]
    return metrics


def slice_metrics(figures: dict[str, Any], threshold: float) -> dict[str, Any]:
    """One slice's figures: at the run's threshold only (the slices keep no curve)."""
    metrics: dict[str, Any] = {
        "logLoss": figures["log_loss"],
        "confidenceMetrics": [
            {
                "confidenceThreshold": threshold,
                "recall": figures["recall"],
                "precision": figures["precision"],
                "f1Score": figures["f1"],
            }
        ],
    }
    if figures.get("roc_auc") is not None:
        metrics["auRoc"] = figures["roc_auc"]
    return metrics


def evaluation_request(evaluation: dict[str, Any], run_id: str, trainer: str) -> dict[str, Any]:
    """The ModelEvaluation to import on a registered version."""
    return {
        "display_name": f"{run_id} ({trainer}): official test split",
        "metrics_schema_uri": METRICS_SCHEMA,
        "metrics": classification_metrics(evaluation),
        "slice_dimensions": list(evaluation["slices"]),
        "metadata": {
            "run": run_id,
            "trainer": trainer,
            "threshold": evaluation["threshold"],
            "accuracy": evaluation["accuracy"],
            "count": evaluation["count"],
        },
    }


def slice_requests(evaluation: dict[str, Any]) -> list[dict[str, Any]]:
    """A ModelEvaluationSlice per value of each slice feature."""
    return [
        {
            "slice_": {"dimension": feature, "value": value},
            "metrics_schema_uri": METRICS_SCHEMA,
            "metrics": slice_metrics(figures, evaluation["threshold"]),
        }
        for feature, by_value in evaluation["slices"].items()
        for value, figures in by_value.items()
    ]
