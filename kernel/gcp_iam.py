"""Google Cloud IAM reference data: what each predefined role grants, what each REST method
checks. Pure; read by the policy gate (infra/policy) and the simulated cloud (simulation/).

The data is the iam-dataset, vendored in kernel/iam_data (MIT). The dataset lists every
permission a method *may* check; a call needs the method's own permission (the first
listed); conditional ones apply where their condition arises. Methods the dataset leaves
empty are filled in from Google's documentation (DOCUMENTED).
"""

from __future__ import annotations

import gzip
import json
from functools import cache
from importlib import resources

# Permissions of methods the dataset leaves empty, from each API's reference documentation.
DOCUMENTED: dict[str, tuple[str, ...]] = {
    # cloud.google.com/vertex-ai/docs/general/access-control (Models, Endpoints)
    "aiplatform.projects.locations.models.listVersions": ("aiplatform.models.list",),
    "aiplatform.projects.locations.models.deleteVersion": ("aiplatform.models.delete",),
    "aiplatform.projects.locations.models.mergeVersionAliases": ("aiplatform.models.update",),
    "aiplatform.projects.locations.models.list": ("aiplatform.models.list",),
    "aiplatform.projects.locations.endpoints.mutateDeployedModel": ("aiplatform.endpoints.update",),
    "aiplatform.projects.locations.endpoints.patch": ("aiplatform.endpoints.update",),
    "aiplatform.projects.locations.operations.get": ("aiplatform.operations.get",),
    "aiplatform.projects.locations.pipelineJobs.get": ("aiplatform.pipelineJobs.get",),
    "aiplatform.projects.locations.customJobs.get": ("aiplatform.customJobs.get",),
    # cloud.google.com/kms/docs/reference/permissions-and-roles: anyone may ask.
    "cloudkms.projects.locations.keyRings.cryptoKeys.testIamPermissions": (),
    # cloud.google.com/bigquery/docs/access-control
    "bigquery.jobs.query": ("bigquery.jobs.create",),
    # cloud.google.com/bigquery/docs/reference/rest/v2/projects/getServiceAccount: "Requires
    # the bigquery.jobs.create permission on the project resource" (what the provider's
    # google_bigquery_default_service_account data source calls on every plan)
    "bigquery.projects.getServiceAccount": ("bigquery.jobs.create",),
    "bigquery.tabledata.list": ("bigquery.tables.getData",),
}


@cache
def _data(name: str) -> dict:
    raw = (resources.files("kernel") / "iam_data" / f"{name}.json.gz").read_bytes()
    return json.loads(gzip.decompress(raw))


def role_permissions(role: str, custom: dict[str, frozenset[str]] | None = None) -> frozenset[str]:
    """Every permission `role` grants; custom roles (projects/*/roles/*) from `custom`."""
    if custom and role in custom:
        return custom[role]
    found = _data("roles").get(role)
    if found is None:
        raise KeyError(f"unknown role {role!r}")
    return frozenset(found["permissions"])


def method_permissions(method: str) -> tuple[str, ...]:
    """Every permission the REST method `method` (discovery name) may check."""
    if method in DOCUMENTED:
        return DOCUMENTED[method]
    api = method.split(".", 1)[0]
    listed = _data("methods").get(api, {}).get(method)
    if listed is None:
        raise KeyError(f"unknown method {method!r}")
    return tuple(listed)


def required_permission(method: str) -> str | None:
    """The permission a call of `method` needs always (None: no permission is checked)."""
    permissions = method_permissions(method)
    return permissions[0] if permissions else None


READ_VERBS = ("get", "list", "search", "testIamPermissions", "query")


def is_read_only(permission: str) -> bool:
    """A permission that reads and changes nothing (get, list, getIamPolicy, search...)."""
    verb = permission.rsplit(".", 1)[-1]
    return verb.startswith(READ_VERBS) and verb not in ("getAccessToken", "getOpenIdToken")
