"""Retraining without a person: Cloud Scheduler → Pub/Sub (CMEK) → a function that submits.

Any publisher (a scheduler, a new-data event) can use the topic; the function validates each
message against the pipeline's parameters and starts nothing on a bad one.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from cdktf import AssetType, TerraformAsset
from cdktf_cdktf_provider_google.cloud_scheduler_job import (
    CloudSchedulerJob,
    CloudSchedulerJobPubsubTarget,
)
from cdktf_cdktf_provider_google.cloudfunctions2_function import (
    Cloudfunctions2Function,
    Cloudfunctions2FunctionBuildConfig,
    Cloudfunctions2FunctionBuildConfigSource,
    Cloudfunctions2FunctionBuildConfigSourceStorageSource,
    Cloudfunctions2FunctionEventTrigger,
    Cloudfunctions2FunctionServiceConfig,
)
from cdktf_cdktf_provider_google.pubsub_topic import PubsubTopic
from cdktf_cdktf_provider_google.storage_bucket_object import StorageBucketObject
from constructs import Construct

from infra import function_source
from infra.iam import RETRAIN_FUNCTION
from infra.settings import REPO_ROOT, Settings

SCHEDULED_MESSAGE = {"parameters": {}, "reason": "scheduled retraining"}


class Retraining(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        settings: Settings,
        *,
        kms_key_name: str,
        source_bucket: str,
        image_repository: str,
        depends_on=(),
    ) -> None:
        super().__init__(scope, id_)
        s = settings
        build_sa = s.service_account_email("build")
        self.topic = PubsubTopic(
            self,
            "topic",
            project=s.project_id,
            name=s.retraining_topic,
            kms_key_name=kms_key_name,
            labels={"env": s.env},
            depends_on=list(depends_on),
        )
        self.schedule = CloudSchedulerJob(
            self,
            "schedule",
            project=s.project_id,
            region=s.region,
            name="census-retraining",
            description="publishes a retraining request to the census-retraining topic",
            schedule=s.pipeline.retraining_schedule,
            time_zone=s.pipeline.retraining_time_zone,
            pubsub_target=CloudSchedulerJobPubsubTarget(
                topic_name=self.topic.id,
                data=base64.b64encode(json.dumps(SCHEDULED_MESSAGE).encode()).decode(),
            ),
            depends_on=list(depends_on),
        )
        folder = function_source.assemble(source_folder(s.env))
        asset = TerraformAsset(self, "source", path=str(folder), type=AssetType.ARCHIVE)
        source = StorageBucketObject(
            self,
            "source-object",
            bucket=source_bucket,
            name=f"functions/{RETRAIN_FUNCTION}-{asset.asset_hash}.zip",
            source=asset.path,
        )
        self.function = Cloudfunctions2Function(
            self,
            "function",
            project=s.project_id,
            location=s.region,
            name=RETRAIN_FUNCTION,
            description="validates a retraining message and submits the promotion pipeline",
            build_config=Cloudfunctions2FunctionBuildConfig(
                runtime="python311",
                entry_point="on_message",
                service_account=f"projects/{s.project_id}/serviceAccounts/{build_sa}",
                docker_repository=image_repository,
                source=Cloudfunctions2FunctionBuildConfigSource(
                    storage_source=Cloudfunctions2FunctionBuildConfigSourceStorageSource(
                        bucket=source_bucket, object=source.name
                    )
                ),
            ),
            service_config=Cloudfunctions2FunctionServiceConfig(
                service_account_email=build_sa,
                max_instance_count=1,
                available_memory="1Gi",
                timeout_seconds=540,
                ingress_settings="ALLOW_INTERNAL_ONLY",
                environment_variables={"MLOPS_ENV": s.env},
            ),
            event_trigger=Cloudfunctions2FunctionEventTrigger(
                trigger_region=s.region,
                event_type="google.cloud.pubsub.topic.v1.messagePublished",
                pubsub_topic=self.topic.id,
                retry_policy="RETRY_POLICY_DO_NOT_RETRY",
                service_account_email=build_sa,
            ),
            labels={"env": s.env},
            depends_on=list(depends_on),
        )


def source_folder(env: str) -> Path:
    return REPO_ROOT / "build" / "function-source" / env
