"""Names several layers must agree on: the model, the pipeline, the serving contract, aliases.

Changing one here changes it for the registry, the endpoint, the server and the pipeline at
once; nothing else spells them.
"""

import re

MODEL_NAME = "census-income"
PIPELINE_NAME = "census-promotion"

# The Vertex AI custom-container contract's defaults (AIP_HTTP_PORT and friends override).
SERVING_PORT = 8080
HEALTH_ROUTE = "/health"
PREDICT_ROUTE = "/predict"

# Registry version aliases: what serves, and what is on canary.
CHAMPION = "champion"
CHALLENGER = "challenger"
# on a version while its deploy runs; left behind by a deploy killed part way
DEPLOYING = "deploying"
# The registry label that finds a run's version again on a retry.
CANDIDATE_LABEL = "candidate"
# The registry label that points at a version's on-device model (ONNX), a file beside the
# model; label values allow no dots, so it names model.onnx as "model-onnx".
ON_DEVICE_LABEL = "on-device"
ON_DEVICE_LABEL_VALUE = "model-onnx"

# The promotion pipeline's steps (its KFP task names): the pipeline builds them, the local
# runner and the Vertex submitter read their durations by these names.
# In the order a run reaches them (approve or deploy: the run's promotion mode picks one).
STEP_NAMES = (
    "ingest",
    "validate",
    "train",
    "automl",
    "evaluate",
    "export",
    "decide",
    "approve",
    "deploy",
    "monitor",
)

# How a model trained by the custom trainer names its trainer (the AutoML stand-in names
# itself in its model.json; models from before the stand-in say nothing: this).
CUSTOM_TRAINER = "custom trainer (LightGBM)"


def label_value(text: str) -> str:
    """A Vertex label value: lowercase letters, digits, - and _, at most 63 characters."""
    return re.sub(r"[^a-z0-9_-]", "-", text.lower())[:63] or "none"


def trainer_label(trainer: str) -> str:
    """A trainer's name as a registry label: "automl-stand-in (FLAML 2.7.0)" ->
    "automl-stand-in" (the version in brackets is in the model's own model.json)."""
    return label_value(trainer.split(" (")[0].strip())
