"""CMEK buckets with uniform access, public access prevention, versioning and lifecycle."""

from __future__ import annotations

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_google.storage_bucket import (
    StorageBucket,
    StorageBucketLifecycleRule,
    StorageBucketLifecycleRuleAction,
    StorageBucketLifecycleRuleCondition,
)
from constructs import Construct

from infra.settings import Settings

# Buckets whose loss would lose a model or the infrastructure's state.
PROTECTED_IN_PROD = ("models", "state")


def lifecycle_rules(purpose: str, settings: Settings) -> list[dict]:
    """Rules that match objects in a versioned bucket.

    Live objects in the pipeline root expire after the retention (they become noncurrent
    versions); every bucket drops noncurrent versions after the noncurrent retention.
    `days_since_noncurrent_time` only ever matches in a versioned bucket, which all are.
    """
    rules = [
        {
            "action": {"type": "Delete"},
            "condition": {
                "days_since_noncurrent_time": settings.buckets.noncurrent_retention_days,
                "with_state": "ARCHIVED",
            },
        }
    ]
    if purpose == "pipeline_root":
        rules.append(
            {
                "action": {"type": "Delete"},
                "condition": {
                    "age": settings.buckets.pipeline_root_retention_days,
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
        settings: Settings,
        *,
        name: str,
        purpose: str,
        kms_key_name: str,
        depends_on=(),
    ) -> None:
        super().__init__(scope, id_)
        protected = settings.role == "prod" and purpose in PROTECTED_IN_PROD
        self.bucket = StorageBucket(
            self,
            "bucket",
            project=settings.project_id,
            name=name,
            location=settings.region,
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
                for rule in lifecycle_rules(purpose, settings)
            ],
            soft_delete_policy={"retention_duration_seconds": 7 * 86400},
            force_destroy=False,
            labels={"env": settings.env, "purpose": purpose.replace("_", "-")},
            depends_on=list(depends_on),
            lifecycle=TerraformResourceLifecycle(prevent_destroy=protected),
        )


class Buckets(Construct):
    def __init__(
        self, scope: Construct, id_: str, settings: Settings, *, kms_key_name: str, depends_on=()
    ) -> None:
        super().__init__(scope, id_)
        names = {**settings.buckets.by_purpose(), "state": settings.state_bucket}
        self.buckets = {
            purpose: SecureBucket(
                self,
                purpose.replace("_", "-"),
                settings,
                name=name,
                purpose=purpose,
                kms_key_name=kms_key_name,
                depends_on=depends_on,
            ).bucket
            for purpose, name in names.items()
        }
