"""Vertex AI AutoML Tabular's contract, pure: what a training pipeline with the AutoML tabular
definition asks for, what the model it makes looks like, and AutoML's prediction formats
(online: an instance's values as strings, answered with classes and scores; batch to
BigQuery: the input row with a `predicted_<target>` record of classes and scores).

Written from Google's documentation of the API, not from this repository's client code, so a
client that builds the wrong format meets a refusal here as it would on Vertex.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass
from typing import Any

from simulation.wire import ApiError

DATASET_SCHEMA = "gs://google-cloud-aiplatform/schema/dataset/metadata/tabular_1.0.0.yaml"
DEFINITION = "gs://google-cloud-aiplatform/schema/trainingjob/definition/automl_tabular_1.0.0.yaml"
SCHEMATA = "https://storage.googleapis.com/google-cloud-aiplatform/schema/predict"
EXPORT_FORMAT = "tf-saved-model"
KINDS = ("categorical", "numeric", "auto", "text", "timestamp")
OBJECTIVES = ("maximize-au-roc", "minimize-log-loss", "maximize-au-prc",
              "maximize-precision-at-recall", "maximize-recall-at-precision")  # fmt: skip

# The simulation's scale for AutoML's budget: one node hour of Vertex training buys this many
# trials of the stand-in's search, within this many seconds (a real node hour would stall every
# test for an hour). Trials, not seconds, decide: the same search on any machine.
NODE_HOUR_TRIALS = 12
NODE_HOUR_SECONDS = 120.0

_BQ = re.compile(r"^bq://([a-z][a-z0-9-]*)\.([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?$")


def prediction_image(location: str) -> str:
    """AutoML Tabular's prediction container, from the multi-region of the model's region (an
    exported model's environment.json names it)."""
    area = location.split("-", 1)[0]
    multi = {"europe": "europe", "asia": "asia"}.get(area, "us")
    return f"{multi}-docker.pkg.dev/vertex-ai/automl-tabular/prediction-server-v1"


def bigquery_uri(uri: str, field: str, table: bool = True) -> tuple[str, str, str | None]:
    """bq://project.dataset[.table] as its parts; a wrong one is refused naming the field."""
    match = _BQ.match(uri or "")
    if match is None or (table and match.group(3) is None):
        shape = "bq://project.dataset.table" if table else "bq://project.dataset"
        raise ApiError(400, f"{field}: {uri!r} is not a BigQuery URI of the form {shape}.")
    return match.group(1), match.group(2), match.group(3)


@dataclass(frozen=True)
class Training:
    """What an AutoML tabular training pipeline asks, validated."""

    dataset_id: str
    target: str
    columns: dict[str, str]  # feature → its transformation
    budget_milli_node_hours: int
    objective: str
    early_stopping: bool

    @property
    def search_seconds(self) -> float:
        return self.budget_milli_node_hours / 1000 * NODE_HOUR_SECONDS

    @property
    def search_trials(self) -> int:
        return max(1, self.budget_milli_node_hours * NODE_HOUR_TRIALS // 1000)


def training_of(pipeline: dict) -> Training:
    """A TrainingPipeline body with the AutoML tabular definition, as Vertex validates it."""
    if pipeline.get("trainingTaskDefinition") != DEFINITION:
        raise ApiError(
            400,
            f"trainingTaskDefinition {pipeline.get('trainingTaskDefinition')!r}: the simulated "
            f"Vertex AI trains AutoML tabular models only ({DEFINITION}).",
        )
    inputs = pipeline.get("trainingTaskInputs") or {}
    if inputs.get("predictionType") != "classification":
        raise ApiError(
            400,
            f"trainingTaskInputs.predictionType {inputs.get('predictionType')!r}: the "
            "simulation trains classification models only.",
        )
    target = inputs.get("targetColumn")
    if not target:
        raise ApiError(400, "trainingTaskInputs.targetColumn is required.")
    columns: dict[str, str] = {}
    for i, transformation in enumerate(inputs.get("transformations") or []):
        field = f"trainingTaskInputs.transformations[{i}]"
        if not isinstance(transformation, dict) or len(transformation) != 1:
            raise ApiError(
                400, f"{field}: one transformation kind per column, got {transformation!r}."
            )
        ((kind, spec),) = transformation.items()
        if kind not in KINDS:
            raise ApiError(400, f"{field}: unknown kind {kind!r}.")
        # a Struct keeps the client's spelling: the SDK sends column_name, the docs columnName
        column = (spec or {}).get("columnName") or (spec or {}).get("column_name")
        if not column:
            raise ApiError(400, f"{field}.{kind}.columnName is required.")
        columns[column] = kind
    if not columns:
        raise ApiError(400, "trainingTaskInputs.transformations must name the feature columns.")
    if target in columns:
        raise ApiError(400, f"The target column {target!r} cannot also be a feature.")
    budget = int(inputs.get("trainBudgetMilliNodeHours") or 0)
    if not 1000 <= budget <= 72000:
        raise ApiError(
            400,
            f"trainingTaskInputs.trainBudgetMilliNodeHours {budget}: must be between 1000 "
            "and 72000.",
        )
    objective = inputs.get("optimizationObjective") or "maximize-au-roc"
    if objective not in OBJECTIVES:
        raise ApiError(400, f"trainingTaskInputs.optimizationObjective {objective!r} unknown.")
    dataset_id = (pipeline.get("inputDataConfig") or {}).get("datasetId")
    if not dataset_id:
        raise ApiError(400, "inputDataConfig.datasetId is required for AutoML tabular training.")
    return Training(
        dataset_id=dataset_id,
        target=target,
        columns=columns,
        budget_milli_node_hours=budget,
        objective=objective,
        early_stopping=not inputs.get("disableEarlyStopping", False),
    )


def model_resource(name: str, pipeline: dict, location: str) -> dict:
    """The Model an AutoML tabular pipeline uploads: Google-managed (no artifactUri), served
    by AutoML's own container, exportable as a saved model."""
    upload = pipeline.get("modelToUpload") or {}
    return {
        "name": name,
        "versionId": "1",
        "displayName": upload.get("displayName") or pipeline.get("displayName", ""),
        "labels": upload.get("labels") or {},
        "encryptionSpec": upload.get("encryptionSpec"),
        "trainingPipeline": pipeline["name"],
        "metadataSchemaUri": DEFINITION.replace("trainingjob/definition", "model/metadata"),
        "predictSchemata": {
            "instanceSchemaUri": f"{SCHEMATA}/instance/tables_1.0.0.yaml",
            "predictionSchemaUri": f"{SCHEMATA}/prediction/tables_classification_1.0.0.yaml",
        },
        "supportedExportFormats": [{"id": EXPORT_FORMAT, "exportableContents": ["ARTIFACT"]}],
        "supportedDeploymentResourcesTypes": ["DEDICATED_RESOURCES"],
        "supportedInputStorageFormats": ["bigquery", "csv"],
        "supportedOutputStorageFormats": ["bigquery", "csv"],
    }


def environment_json(location: str) -> bytes:
    """An exported AutoML tabular model's environment.json: the container that serves it."""
    return json.dumps({"container_uri": prediction_image(location)}).encode()


def online_row(instance: Any, columns: dict[str, str], index: int) -> dict[str, Any]:
    """One online instance as the model's row: a JSON object whose values are strings (AutoML
    tabular's documented format; numbers as their decimal text), missing or "" as null."""
    if not isinstance(instance, dict):
        raise ValueError(f"instances[{index}] must be a JSON object of column values")
    unknown = sorted(set(instance) - set(columns))
    if unknown:
        raise ValueError(f"instances[{index}]: unknown columns {unknown}")
    row: dict[str, Any] = {}
    for name, kind in columns.items():
        value = instance.get(name)
        if value is not None and not isinstance(value, str):
            raise ValueError(
                f"instances[{index}].{name}: {value!r} must be a string (AutoML tabular takes "
                "every value as a string)"
            )
        if value is None or value == "":
            row[name] = None
        elif kind == "numeric":
            try:
                number = float(value)
            except ValueError:
                raise ValueError(f"instances[{index}].{name}: {value!r} is not a number") from None
            if not math.isfinite(number):
                raise ValueError(f"instances[{index}].{name}: {value!r} is not a finite number")
            row[name] = number
        else:
            row[name] = value
    return row


def classes_and_scores(classes: list[str], probability_of_last: float) -> dict[str, list]:
    """A binary AutoML classification prediction: every class and its score."""
    p = float(probability_of_last)
    return {"classes": list(classes), "scores": [1.0 - p, p]}


def output_table(started: float) -> str:
    """The table a batch prediction job writes in its BigQuery destination dataset."""
    stamp = time.strftime("%Y_%m_%dT%H_%M_%S", time.gmtime(started))
    return f"predictions_{stamp}_{int(started % 1 * 1000):03d}Z"
