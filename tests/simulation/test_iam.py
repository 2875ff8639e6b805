"""IAM as the simulation evaluates it: roles, methods, bindings through the hierarchy."""

import pytest

from simulation import iam
from simulation.iam import Binding

KEY = "projects/p/locations/r/keyRings/k/cryptoKeys/vertex"
SA = "serviceAccount:build@p.iam.gserviceaccount.com"


def test_roles_and_methods_come_from_the_dataset():
    assert "cloudkms.cryptoKeys.get" in iam.role_permissions("roles/cloudkms.viewer")
    assert "cloudkms.cryptoKeys.getIamPolicy" not in iam.role_permissions("roles/cloudkms.viewer")
    assert "storage.objects.get" not in iam.role_permissions("roles/storage.legacyBucketReader")
    assert iam.required_permission("storage.buckets.get") == "storage.buckets.get"
    assert iam.required_permission(
        "iamcredentials.projects.serviceAccounts.generateAccessToken"
    ) == ("iam.serviceAccounts.getAccessToken")
    with pytest.raises(KeyError, match="unknown role"):
        iam.role_permissions("roles/made.up")


def test_documented_gaps_are_filled():
    assert iam.method_permissions("aiplatform.projects.locations.models.deleteVersion") == (
        "aiplatform.models.delete",
    )
    kms = "cloudkms.projects.locations.keyRings.cryptoKeys.testIamPermissions"
    assert iam.required_permission(kms) is None
    # the BigQuery agent's data source: a plan needs a permission that runs queries (issue 27)
    bigquery = iam.required_permission("bigquery.projects.getServiceAccount")
    assert bigquery == "bigquery.jobs.create"
    assert bigquery in iam.role_permissions("roles/bigquery.jobUser")


def test_a_binding_on_an_ancestor_grants_the_permission():
    chain = [KEY, KEY.split("/cryptoKeys/")[0], "projects/p"]
    on_ring = Binding(chain[1], "roles/cloudkms.viewer", SA)
    principal = "build@p.iam.gserviceaccount.com"
    assert iam.holds(principal, "cloudkms.cryptoKeys.get", chain, [on_ring], {}) == on_ring
    assert iam.holds(principal, "cloudkms.cryptoKeys.getIamPolicy", chain, [on_ring], {}) is None
    elsewhere = Binding("projects/other", "roles/cloudkms.viewer", SA)
    assert iam.holds(principal, "cloudkms.cryptoKeys.get", chain, [elsewhere], {}) is None
    custom = {"projects/p/roles/preflight": frozenset({"cloudkms.cryptoKeys.getIamPolicy"})}
    grant = Binding(chain[1], "projects/p/roles/preflight", SA)
    assert iam.holds(principal, "cloudkms.cryptoKeys.getIamPolicy", chain, [grant], custom)
