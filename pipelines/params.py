"""The promotion pipeline's parameters: every tunable, its default from the env settings.

One pydantic model mirrors the pipeline function's signature (a test keeps them equal), so a
bad value (a threshold outside 0..1, a canary outside 1..100, an unknown feature) is refused
before anything runs, locally or on Vertex AI.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from infra.settings import Platform, Settings
from mlops.errors import UserError, validation_problems
from trainer.hyperparameters import Hyperparameters
from trainer.options import DEFAULT_MAX_BAD_FRACTION
from trainer.schema import FEATURE_NAMES

Fraction = Annotated[float, Field(ge=0, le=1)]
MODEL_NAME = "census-income"


class PipelineParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Tenancy: where things run and which keys and identities they use.
    staging_project: str
    prod_project: str
    region: str
    staging_kms_key: str = Field(description="CMEK for the pipeline job and training (staging)")
    prod_kms_key: str = Field(description="CMEK for the model, endpoint and monitoring (prod)")
    trainer_service_account: str
    deployer_service_account: str
    serving_service_account: str
    staging_dataset: str
    staging_models_bucket: str
    prod_models_bucket: str
    prod_data_bucket: str
    endpoint_id: str
    serving_image: str = Field(description="the prediction server image new versions use")
    # Data.
    train_data_uri: str
    test_data_uri: str
    max_bad_fraction: Fraction = DEFAULT_MAX_BAD_FRACTION
    # Model.
    hyperparameters: dict = Field(default_factory=dict)
    # Absolute bars and the champion comparison.
    min_roc_auc: Fraction
    min_accuracy: Fraction
    max_slice_gap: Fraction
    champion_margin: Fraction
    # Serving (prod).
    canary_percent: int = Field(ge=1, le=100)
    versions_kept: int = Field(ge=1, le=20)
    serving_machine_type: str
    min_replicas: int = Field(ge=1, le=100)
    max_replicas: int = Field(ge=1, le=100)
    # Monitoring (prod).
    skew_thresholds: dict[str, Fraction]
    drift_thresholds: dict[str, Fraction]
    sample_rate: float = Field(gt=0, le=1)
    interval_hours: int = Field(ge=1, le=24)
    alert_emails: list[str] = Field(min_length=1)
    # Run.
    commit: str = "unknown"
    workspace: str = ""

    @field_validator("hyperparameters")
    @classmethod
    def _hyperparameters(cls, values: dict) -> dict:
        try:
            Hyperparameters.model_validate(values)
        except ValidationError as exc:
            first = validation_problems(exc)[0]
            raise ValueError(f"{first.field}: {first.message} (got {first.value!r})") from None
        return values

    @field_validator("skew_thresholds", "drift_thresholds")
    @classmethod
    def _every_feature(cls, thresholds: dict) -> dict:
        unknown = sorted(set(thresholds) - set(FEATURE_NAMES))
        missing = sorted(set(FEATURE_NAMES) - set(thresholds))
        if unknown or missing:
            raise ValueError(
                f"thresholds must name every feature once; unknown {unknown}, missing {missing}"
            )
        return thresholds

    def hyperparameters_model(self) -> Hyperparameters:
        return Hyperparameters.model_validate(self.hyperparameters)


def feature_thresholds(default: float, overrides: dict[str, float]) -> dict[str, float]:
    return {name: overrides.get(name, default) for name in FEATURE_NAMES}


def defaults(platform: Platform, env: str = "staging", *, local: bool) -> dict:
    """Parameter defaults from settings: pipeline knobs from `env`, serving from its prod peer."""
    s: Settings = platform[env]
    if s.role != "non-prod":
        raise UserError(f"the promotion pipeline runs in a non-prod env; {env} is {s.role}")
    prod = platform.peer_of(env)
    monitoring = prod.monitoring
    data_root = f"gs://{s.buckets.data}/census"
    return {
        "staging_project": s.project_id,
        "prod_project": prod.project_id,
        "region": s.region,
        "staging_kms_key": s.key_id("vertex"),
        "prod_kms_key": prod.key_id("vertex"),
        "trainer_service_account": s.service_account_email("trainer"),
        "deployer_service_account": prod.service_account_email("deployer"),
        "serving_service_account": prod.service_account_email("serving"),
        "staging_dataset": s.bigquery_dataset,
        "staging_models_bucket": s.buckets.models,
        "prod_models_bucket": prod.buckets.models,
        "prod_data_bucket": prod.buckets.data,
        "endpoint_id": prod.serving.endpoint_id,
        "serving_image": "local" if local else f"{s.image_repository_url()}/serving:latest",
        "train_data_uri": "bundled:train" if local else f"{data_root}/adult.data",
        "test_data_uri": "bundled:test" if local else f"{data_root}/adult.test",
        "max_bad_fraction": DEFAULT_MAX_BAD_FRACTION,
        "hyperparameters": Hyperparameters().model_dump(),
        "min_roc_auc": s.pipeline.min_roc_auc,
        "min_accuracy": s.pipeline.min_accuracy,
        "max_slice_gap": s.pipeline.max_slice_gap,
        "champion_margin": s.pipeline.champion_margin,
        "canary_percent": prod.serving.canary_percent,
        "versions_kept": prod.serving.versions_kept,
        "serving_machine_type": prod.serving.machine_type,
        "min_replicas": prod.serving.min_replicas,
        "max_replicas": prod.serving.max_replicas,
        "skew_thresholds": feature_thresholds(
            monitoring.skew_threshold, monitoring.feature_thresholds
        ),
        "drift_thresholds": feature_thresholds(
            monitoring.drift_threshold, monitoring.feature_thresholds
        ),
        "sample_rate": monitoring.sample_rate,
        "interval_hours": monitoring.interval_hours,
        "alert_emails": list(monitoring.emails),
    }


def parse_overrides(pairs: list[str]) -> dict:
    """`name=value` pairs from the command line; values are JSON when they parse as JSON."""
    import json

    out = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise UserError(f"parameter override {pair!r} is not name=value")
        try:
            out[name] = json.loads(raw)
        except json.JSONDecodeError:
            out[name] = raw
    return out


def build(platform: Platform, env: str, overrides: dict, *, local: bool) -> PipelineParams:
    """Defaults from settings, then overrides; refused with a clear message if invalid."""
    values = defaults(platform, env, local=local)
    if "hyperparameters" in overrides and isinstance(overrides["hyperparameters"], dict):
        overrides = {
            **overrides,
            "hyperparameters": {**values["hyperparameters"], **overrides["hyperparameters"]},
        }
    values.update(overrides)
    try:
        return PipelineParams.model_validate(values)
    except ValidationError as exc:
        problems = [f"{p.field}: {p.message} (got {p.value!r})" for p in validation_problems(exc)]
        raise UserError("bad pipeline parameter " + "; ".join(problems)) from None
