"""Turn the IAM plan (infra.iam) into one `*_iam_member` resource per grant."""

from __future__ import annotations

import re

from cdktf_cdktf_provider_google.artifact_registry_repository_iam_member import (
    ArtifactRegistryRepositoryIamMember,
)
from cdktf_cdktf_provider_google.bigquery_dataset_iam_member import BigqueryDatasetIamMember
from cdktf_cdktf_provider_google.cloud_run_service_iam_member import CloudRunServiceIamMember
from cdktf_cdktf_provider_google.kms_crypto_key_iam_member import KmsCryptoKeyIamMember
from cdktf_cdktf_provider_google.kms_key_ring_iam_member import KmsKeyRingIamMember
from cdktf_cdktf_provider_google.project_iam_member import ProjectIamMember
from cdktf_cdktf_provider_google.service_account_iam_member import ServiceAccountIamMember
from cdktf_cdktf_provider_google.storage_bucket_iam_member import StorageBucketIamMember
from constructs import Construct

from infra.iam import Grant


def grant_id(grant: Grant) -> str:
    """A stable, readable logical id, so a plan shows which grant changed."""
    who = grant.member_email.split("@")[0]
    what = grant.resource.rsplit("/", 1)[-1].split("@")[0]
    role = grant.role.removeprefix("roles/")
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{grant.kind}-{what}-{role}-{who}")


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
        """`depends_on` maps (kind, resource) or ("member", email) to what must exist first."""
        super().__init__(scope, id_)
        self.members = []
        for grant in grants:
            needs = [
                *depends_on.get((grant.kind, grant.resource), []),
                *depends_on.get(("member", grant.member_email), []),
            ]
            common = {"role": grant.role, "member": grant.member, "depends_on": needs}
            rid = grant_id(grant)
            if grant.kind == "project":
                r = ProjectIamMember(self, rid, project=grant.resource, **common)
            elif grant.kind == "bucket":
                r = StorageBucketIamMember(self, rid, bucket=grant.resource, **common)
            elif grant.kind == "dataset":
                r = BigqueryDatasetIamMember(
                    self, rid, project=grant.project, dataset_id=grant.resource, **common
                )
            elif grant.kind == "repository":
                r = ArtifactRegistryRepositoryIamMember(
                    self,
                    rid,
                    project=grant.project,
                    location=region,
                    repository=grant.resource,
                    **common,
                )
            elif grant.kind == "service_account":
                r = ServiceAccountIamMember(
                    self,
                    rid,
                    service_account_id=f"projects/{grant.project}/serviceAccounts/{grant.resource}",
                    **common,
                )
            elif grant.kind == "key":
                r = KmsCryptoKeyIamMember(self, rid, crypto_key_id=grant.resource, **common)
            elif grant.kind == "key_ring":
                r = KmsKeyRingIamMember(self, rid, key_ring_id=grant.resource, **common)
            elif grant.kind == "run_service":
                r = CloudRunServiceIamMember(
                    self,
                    rid,
                    project=grant.project,
                    location=region,
                    service=grant.resource,
                    **common,
                )
            else:
                raise ValueError(f"unknown grant kind {grant.kind!r}")
            self.members.append(r)
