"""Retraining without a person: Cloud Scheduler → Pub/Sub (CMEK) → a function that submits.

Any publisher (a scheduler, a new-data event) can use the topic; the function validates each
message against the pipeline's parameters and starts nothing on a bad one.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

from cdktf import AssetType, TerraformAsset, TerraformProvider
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

from infra.constructs.beta import ProjectServiceIdentity
from infra.constructs.props import Place
from infra.iam import RETRAIN_FUNCTION

SCHEDULED_MESSAGE = {"parameters": {}, "reason": "scheduled retraining"}


@dataclass(frozen=True)
class RetrainingProps:
    place: Place
    topic: str
    schedule: str  # cron
    time_zone: str
    runtime_service_account: str  # email: runs the function, receives its events
    build_service_account: str  # email: builds its container
    source_folder: Path  # the function's source, assembled (infra.function_source)


class Retraining(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        props: RetrainingProps,
        *,
        topic_key: str,
        function_key: str,
        source_bucket: str,
        image_repository: str,
        beta: TerraformProvider,
        depends_on=(),
        topic_depends_on=(),
        function_depends_on=(),
    ) -> None:
        """`function_key` must also encrypt `image_repository` (Cloud Run functions' rule);
        `*_depends_on`: the grants of each key to the agents that use it."""
        super().__init__(scope, id_)
        place, build_sa = props.place, props.build_service_account
        runtime_sa = props.runtime_service_account
        self.topic = PubsubTopic(
            self,
            "topic",
            project=place.project,
            name=props.topic,
            kms_key_name=topic_key,
            labels=place.labels,
            depends_on=[*depends_on, *topic_depends_on],
        )
        self.schedule = CloudSchedulerJob(
            self,
            "schedule",
            project=place.project,
            region=place.region,
            name="census-retraining",
            description="publishes a retraining request to the census-retraining topic",
            schedule=props.schedule,
            time_zone=props.time_zone,
            pubsub_target=CloudSchedulerJobPubsubTarget(
                topic_name=self.topic.id,
                data=base64.b64encode(json.dumps(SCHEDULED_MESSAGE).encode()).decode(),
            ),
            depends_on=list(depends_on),
        )
        asset = TerraformAsset(
            self, "source", path=str(props.source_folder), type=AssetType.ARCHIVE
        )
        # Eventarc's agent makes the function's Pub/Sub trigger; it exists only once asked
        # for, and a fresh project's first function fails without it.
        eventarc = ProjectServiceIdentity(
            self,
            "eventarc-agent",
            project=place.project,
            service="eventarc.googleapis.com",
            provider=beta,
            depends_on=list(depends_on),
        )
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
            project=place.project,
            location=place.region,
            name=RETRAIN_FUNCTION,
            description="validates a retraining message and submits the promotion pipeline",
            kms_key_name=function_key,
            build_config=Cloudfunctions2FunctionBuildConfig(
                runtime="python311",
                entry_point="on_message",
                service_account=f"projects/{place.project}/serviceAccounts/{build_sa}",
                docker_repository=image_repository,
                source=Cloudfunctions2FunctionBuildConfigSource(
                    storage_source=Cloudfunctions2FunctionBuildConfigSourceStorageSource(
                        bucket=source_bucket, object=source.name
                    )
                ),
            ),
            service_config=Cloudfunctions2FunctionServiceConfig(
                service_account_email=runtime_sa,
                max_instance_count=1,
                available_memory="1Gi",
                timeout_seconds=540,
                ingress_settings="ALLOW_INTERNAL_ONLY",
                environment_variables={"MLOPS_ENV": place.env},
            ),
            event_trigger=Cloudfunctions2FunctionEventTrigger(
                trigger_region=place.region,
                event_type="google.cloud.pubsub.topic.v1.messagePublished",
                pubsub_topic=self.topic.id,
                retry_policy="RETRY_POLICY_DO_NOT_RETRY",
                service_account_email=runtime_sa,
            ),
            labels=place.labels,
            depends_on=[*depends_on, *function_depends_on, eventarc],
        )

    def wait_for_build_grants(self, grants: list) -> None:
        """The function is built as its build identity: it waits for that identity's grants
        (made later, with every other grant)."""
        if not grants:
            raise ValueError("the retraining function's build identity has no grants")
        self.function.depends_on = [
            *(self.function.depends_on or []),
            *(f"{g.terraform_resource_type}.{g.friendly_unique_id}" for g in grants),
        ]
