"""Turn the IAM plan (infra.iam) into one `*_iam_member` resource per grant."""

from __future__ import annotations

import re
from collections.abc import Callable

from cdktf_cdktf_provider_google.artifact_registry_repository_iam_member import (
    ArtifactRegistryRepositoryIamMember,
)
from cdktf_cdktf_provider_google.bigquery_dataset_iam_member import BigqueryDatasetIamMember
from cdktf_cdktf_provider_google.cloud_run_service_iam_member import CloudRunServiceIamMember
from cdktf_cdktf_provider_google.kms_crypto_key_iam_member import KmsCryptoKeyIamMember
from cdktf_cdktf_provider_google.kms_key_ring_iam_member import KmsKeyRingIamMember
from cdktf_cdktf_provider_google.project_iam_member import ProjectIamMember
from cdktf_cdktf_provider_google.pubsub_topic_iam_member import PubsubTopicIamMember
from cdktf_cdktf_provider_google.service_account_iam_member import ServiceAccountIamMember
from cdktf_cdktf_provider_google.storage_bucket_iam_member import StorageBucketIamMember
from constructs import Construct

from infra.iam import Grant


def grant_id(grant: Grant) -> str:
    """A stable, readable logical id, so a plan shows which grant changed."""
    who, domain = grant.member_email.split("@")
    if re.fullmatch(r"service-\d+", who):  # a service agent: named by its service's domain
        who = domain.split(".")[0]
    what = grant.resource.rsplit("/", 1)[-1].split("@")[0]
    role = grant.role.removeprefix("roles/")
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{grant.kind}-{what}-{role}-{who}")


# Per grant kind: the `*_iam_member` resource, and the arguments that say what it sits on.
WHERE: dict[str, tuple[type, Callable[[Grant, str], dict]]] = {
    "project": (ProjectIamMember, lambda g, _: {"project": g.resource}),
    "bucket": (StorageBucketIamMember, lambda g, _: {"bucket": g.resource}),
    "dataset": (
        BigqueryDatasetIamMember,
        lambda g, _: {"project": g.project, "dataset_id": g.resource},
    ),
    "repository": (
        ArtifactRegistryRepositoryIamMember,
        lambda g, region: {"project": g.project, "location": region, "repository": g.resource},
    ),
    "service_account": (
        ServiceAccountIamMember,
        lambda g, _: {"service_account_id": f"projects/{g.project}/serviceAccounts/{g.resource}"},
    ),
    "topic": (PubsubTopicIamMember, lambda g, _: {"project": g.project, "topic": g.resource}),
    "key": (KmsCryptoKeyIamMember, lambda g, _: {"crypto_key_id": g.resource}),
    "key_ring": (KmsKeyRingIamMember, lambda g, _: {"key_ring_id": g.resource}),
    "run_service": (
        CloudRunServiceIamMember,
        lambda g, region: {"project": g.project, "location": region, "service": g.resource},
    ),
}


class IamGrants(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        grants: list[Grant],
        *,
        region: str,
        depends_on: dict[tuple[str, str], list],
    ) -> None:
        """`depends_on` maps (kind, resource), ("member", email) or ("role", name) to what
        must exist first."""
        super().__init__(scope, id_)
        self.members = []
        for grant in grants:
            if grant.kind not in WHERE:
                raise ValueError(f"unknown grant kind {grant.kind!r}")
            resource, where = WHERE[grant.kind]
            needs = [
                *depends_on.get((grant.kind, grant.resource), []),
                *depends_on.get(("member", grant.member_email), []),
                *depends_on.get(("role", grant.role), []),
            ]
            self.members.append(
                resource(
                    self,
                    grant_id(grant),
                    **where(grant, region),
                    role=grant.role,
                    member=grant.member,
                    depends_on=needs,
                )
            )
