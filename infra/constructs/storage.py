"""CMEK buckets with uniform access, public access prevention, versioning and lifecycle."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_google.storage_bucket import (
    StorageBucket,
    StorageBucketLifecycleRule,
    StorageBucketLifecycleRuleAction,
    StorageBucketLifecycleRuleCondition,
)
from constructs import Construct

from infra.constructs.props import Place

# Buckets whose loss would lose the infrastructure's state (every env) or a served model (prod).
PROTECTED = ("state",)
PROTECTED_IN_PROD = ("models", "state")


@dataclass(frozen=True)
class BucketsProps:
    place: Place
    names: dict[str, str]  # purpose → bucket name
    noncurrent_retention_days: int
    pipeline_root_retention_days: int | None  # where there is a pipeline root
    protected: tuple[str, ...]  # purposes with prevent_destroy


def lifecycle_rules(purpose: str, props: BucketsProps) -> list[dict]:
    """Rules that match objects in a versioned bucket.

    Live objects in the pipeline root expire after the retention (they become noncurrent
    versions); every bucket drops noncurrent versions after the noncurrent retention.
    `days_since_noncurrent_time` only ever matches in a versioned bucket, which all are.
    """
    rules = [
        {
            "action": {"type": "Delete"},
            "condition": {
                "days_since_noncurrent_time": props.noncurrent_retention_days,
                "with_state": "ARCHIVED",
            },
        }
    ]
    if purpose == "pipeline_root":
        if props.pipeline_root_retention_days is None:
            raise ValueError("a pipeline root bucket needs pipeline_root_retention_days")
        rules.append(
            {
                "action": {"type": "Delete"},
                "condition": {
                    "age": props.pipeline_root_retention_days,
                    "with_state": "LIVE",
                },
            }
        )
    return rules


class SecureBucket(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        props: BucketsProps,
        *,
        purpose: str,
        kms_key_name: str,
        depends_on=(),
    ) -> None:
        super().__init__(scope, id_)
        place = props.place
        self.bucket = StorageBucket(
            self,
            "bucket",
            project=place.project,
            name=props.names[purpose],
            location=place.region,
            storage_class="STANDARD",
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning={"enabled": True},
            encryption={"default_kms_key_name": kms_key_name},
            # Typed structs: jsii drops snake_case keys of dicts nested inside lists.
            lifecycle_rule=[
                StorageBucketLifecycleRule(
                    action=StorageBucketLifecycleRuleAction(**rule["action"]),
                    condition=StorageBucketLifecycleRuleCondition(**rule["condition"]),
                )
                for rule in lifecycle_rules(purpose, props)
            ],
            soft_delete_policy={"retention_duration_seconds": 7 * 86400},
            force_destroy=False,
            labels={**place.labels, "purpose": purpose.replace("_", "-")},
            depends_on=list(depends_on),
            lifecycle=TerraformResourceLifecycle(prevent_destroy=purpose in props.protected),
        )


class Buckets(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        props: BucketsProps,
        *,
        kms_key_name: str,
        depends_on=(),
    ) -> None:
        super().__init__(scope, id_)
        self.buckets = {
            purpose: SecureBucket(
                self,
                purpose.replace("_", "-"),
                props,
                purpose=purpose,
                kms_key_name=kms_key_name,
                depends_on=depends_on,
            ).bucket
            for purpose in props.names
        }
