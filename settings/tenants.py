"""The two tenants as a promotion run sees them: every name it needs, derived from settings.

Compiled into the pipeline template (so a run cannot be pointed elsewhere) and handed to
adapters.wiring, which opens each tenant's services from it.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from settings.model import (
    DATASET,
    ENDPOINT_ID,
    KMS_KEY,
    REGION,
    SERVICE_ACCOUNT,
    Platform,
    ProjectId,
    Promotion,
    Strict,
    bucket_name,
)

LOCAL_SERVING_IMAGE = "local"  # the local endpoint serves in-process


class Tenants(Strict):
    """Where a run reads and writes, and as whom: all derived from settings."""

    # Validated as settings validate them: a `--param tenants.*` override gets the same checks
    # (`prod_models_bucket=../../../x` is not a bucket name).
    staging_project: ProjectId
    prod_project: ProjectId
    region: str = Field(pattern=REGION)
    staging_kms_key: str = Field(
        pattern=KMS_KEY, description="CMEK for the pipeline job and training (staging)"
    )
    prod_kms_key: str = Field(
        pattern=KMS_KEY, description="CMEK for the model, endpoint and monitoring (prod)"
    )
    trainer_service_account: str = Field(pattern=SERVICE_ACCOUNT)
    deployer_service_account: str = Field(pattern=SERVICE_ACCOUNT)
    reader_service_account: str = Field(
        pattern=SERVICE_ACCOUNT, description="reads prod's registry, changes nothing"
    )
    serving_service_account: str = Field(pattern=SERVICE_ACCOUNT)
    staging_dataset: str = Field(pattern=DATASET)
    staging_pipeline_root: str
    staging_models_bucket: str
    staging_data_bucket: str = Field(description="the one bucket census data is read from")
    prod_models_bucket: str
    prod_data_bucket: str
    endpoint_id: str = Field(pattern=ENDPOINT_ID)

    _buckets = field_validator(
        "staging_pipeline_root",
        "staging_models_bucket",
        "staging_data_bucket",
        "prod_models_bucket",
        "prod_data_bucket",
    )(bucket_name)
    serving_image: str = Field(description="the prediction server image new versions use")
    promotion: Promotion = Field(description="canary: the run deploys; approval: it stops")
    approved_candidates_topic: str = Field(
        "",
        pattern=r"^(projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/topics/[A-Za-z][A-Za-z0-9._~+%-]{2,254})?$",
        description="approval: the prod topic an approved candidate is announced on",
    )


def tenants_for(platform: Platform, env: str, *, local: bool) -> Tenants:
    """The tenants of a promotion run from non-prod `env` to its prod peer."""
    s = platform[env]
    prod = platform.prod_peer_of(env)
    return Tenants(
        staging_project=s.project_id,
        prod_project=prod.project_id,
        region=s.region,
        staging_kms_key=s.key_id("vertex"),
        prod_kms_key=prod.key_id("vertex"),
        trainer_service_account=s.service_account_email("trainer"),
        deployer_service_account=prod.service_account_email("deployer"),
        reader_service_account=prod.service_account_email("reader"),
        serving_service_account=prod.service_account_email("serving"),
        staging_dataset=s.bigquery_dataset,
        staging_pipeline_root=s.buckets.pipeline_root,
        staging_models_bucket=s.buckets.models,
        staging_data_bucket=s.buckets.data,
        prod_models_bucket=prod.buckets.models,
        prod_data_bucket=prod.buckets.data,
        endpoint_id=prod.serving_settings().endpoint_id,
        promotion=s.pipeline_settings().promotion,
        approved_candidates_topic=(
            f"projects/{prod.project_id}/topics/{prod.approved_candidates_topic}"
            if s.pipeline_settings().promotion == "approval" and not local
            else ""
        ),
        serving_image=(
            LOCAL_SERVING_IMAGE if local else f"{s.image_repository_url()}/serving:latest"
        ),
    )
