"""What the Terraform Google provider calls for each resource type and data source the
stacks synthesize, as Google method names (pure data). The permission each call checks comes
from kernel/gcp_iam.py; a plan refreshes with `read`, an apply adds `create` (and `update`
for a change). An `*_iam_member` reads and writes its parent's whole IAM policy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Calls:
    api: str  # the service that must be enabled in the resource's project
    read: str
    create: str
    update: str = ""  # "" where a change replaces the resource


def _iam(api: str, parent: str) -> Calls:
    return Calls(api, f"{parent}.getIamPolicy", f"{parent}.setIamPolicy", f"{parent}.setIamPolicy")


_KMS = "cloudkms.projects.locations.keyRings"
_AR = "artifactregistry.projects.locations.repositories"
_PROJECT = "cloudresourcemanager.projects"

RESOURCES: dict[str, Calls] = {
    "google_project_service": Calls(
        "serviceusage", "serviceusage.services.get", "serviceusage.services.enable"
    ),
    "google_project_service_identity": Calls(
        "serviceusage",
        "serviceusage.services.generateServiceIdentity",  # its read is the same call
        "serviceusage.services.generateServiceIdentity",
    ),
    "google_project_iam_audit_config": _iam("cloudresourcemanager", _PROJECT),
    "google_project_iam_member": _iam("cloudresourcemanager", _PROJECT),
    "google_project_iam_custom_role": Calls(
        "iam", "iam.projects.roles.get", "iam.projects.roles.create", "iam.projects.roles.patch"
    ),
    "google_service_account": Calls(
        "iam",
        "iam.projects.serviceAccounts.get",
        "iam.projects.serviceAccounts.create",
        "iam.projects.serviceAccounts.patch",
    ),
    "google_service_account_iam_member": _iam("iam", "iam.projects.serviceAccounts"),
    "google_kms_key_ring": Calls("cloudkms", f"{_KMS}.get", f"{_KMS}.create"),
    "google_kms_key_ring_iam_member": _iam("cloudkms", _KMS),
    "google_kms_crypto_key": Calls(
        "cloudkms",
        f"{_KMS}.cryptoKeys.get",
        f"{_KMS}.cryptoKeys.create",
        f"{_KMS}.cryptoKeys.patch",
    ),
    "google_kms_crypto_key_iam_member": _iam("cloudkms", f"{_KMS}.cryptoKeys"),
    "google_storage_bucket": Calls(
        "storage", "storage.buckets.get", "storage.buckets.insert", "storage.buckets.patch"
    ),
    "google_storage_bucket_iam_member": _iam("storage", "storage.buckets"),
    "google_storage_bucket_object": Calls(
        "storage", "storage.objects.get", "storage.objects.insert"
    ),
    "google_bigquery_dataset": Calls(
        "bigquery", "bigquery.datasets.get", "bigquery.datasets.insert", "bigquery.datasets.patch"
    ),
    # a dataset's IAM member is an access entry: the dataset read, then patched
    "google_bigquery_dataset_iam_member": Calls(
        "bigquery", "bigquery.datasets.get", "bigquery.datasets.patch", "bigquery.datasets.patch"
    ),
    "google_artifact_registry_repository": Calls(
        "artifactregistry", f"{_AR}.get", f"{_AR}.create", f"{_AR}.patch"
    ),
    "google_artifact_registry_repository_iam_member": _iam("artifactregistry", _AR),
    "google_vertex_ai_endpoint": Calls(
        "aiplatform",
        "aiplatform.projects.locations.endpoints.get",
        "aiplatform.projects.locations.endpoints.create",
        "aiplatform.projects.locations.endpoints.patch",
    ),
    "google_vertex_ai_metadata_store": Calls(
        "aiplatform",
        "aiplatform.projects.locations.metadataStores.get",
        "aiplatform.projects.locations.metadataStores.create",
    ),
    "google_pubsub_topic": Calls(
        "pubsub",
        "pubsub.projects.topics.get",
        "pubsub.projects.topics.create",
        "pubsub.projects.topics.patch",
    ),
    "google_pubsub_topic_iam_member": _iam("pubsub", "pubsub.projects.topics"),
    "google_cloudbuild_trigger": Calls(
        "cloudbuild",
        "cloudbuild.projects.locations.triggers.get",
        "cloudbuild.projects.locations.triggers.create",
        "cloudbuild.projects.locations.triggers.patch",
    ),
    "google_cloud_scheduler_job": Calls(
        "cloudscheduler",
        "cloudscheduler.projects.locations.jobs.get",
        "cloudscheduler.projects.locations.jobs.create",
        "cloudscheduler.projects.locations.jobs.patch",
    ),
    "google_cloudfunctions2_function": Calls(
        "cloudfunctions",
        "cloudfunctions.projects.locations.functions.get",
        "cloudfunctions.projects.locations.functions.create",
        "cloudfunctions.projects.locations.functions.patch",
    ),
    "google_cloud_run_service_iam_member": _iam("run", "run.projects.locations.services"),
    "google_logging_project_sink": Calls(
        "logging",
        "logging.projects.sinks.get",
        "logging.projects.sinks.create",
        "logging.projects.sinks.update",
    ),
    "google_monitoring_alert_policy": Calls(
        "monitoring",
        "monitoring.projects.alertPolicies.get",
        "monitoring.projects.alertPolicies.create",
        "monitoring.projects.alertPolicies.patch",
    ),
    "google_monitoring_notification_channel": Calls(
        "monitoring",
        "monitoring.projects.notificationChannels.get",
        "monitoring.projects.notificationChannels.create",
        "monitoring.projects.notificationChannels.patch",
    ),
}

# What removing a resource calls, where it is not the create method's own delete: Google
# keeps key rings and keys forever (the provider drops a ring from its state and destroys a
# key's versions), a service identity has no delete, an IAM member writes its parent's policy.
_DELETES: dict[str, str | None] = {
    "google_project_service": "serviceusage.services.disable",
    "google_project_service_identity": None,
    "google_kms_key_ring": None,
    "google_kms_crypto_key": f"{_KMS}.cryptoKeys.cryptoKeyVersions.destroy",
    "google_storage_bucket": "storage.buckets.delete",
    "google_storage_bucket_object": "storage.objects.delete",
}


def in_parent_policy(rtype: str) -> bool:
    """A member of its parent's policy: created, changed and removed by reading that policy
    and writing it back."""
    return rtype.endswith(("_iam_member", "_audit_config"))


def delete_method(rtype: str) -> str | None:
    """The Google method removing a resource of `rtype` calls (None: state only)."""
    if rtype in _DELETES:
        return _DELETES[rtype]
    create = RESOURCES[rtype].create
    if in_parent_policy(rtype):  # the policy written back without the member
        return create
    return create.rsplit(".", 1)[0] + ".delete"


# Data sources: read on every plan and apply.
DATA_SOURCES: dict[str, str] = {
    "google_storage_project_service_account": "storage.projects.serviceAccount.get",
}


def target(rtype: str, body: dict, project: str, region: str, creating: bool) -> str:
    """The resource a call's permission is checked on: the new resource's parent when it
    is created (the project, the key ring, the bucket), the resource itself otherwise; an
    `*_iam_member`'s parent in both cases."""
    p = f"projects/{body.get('project', project)}"
    where = body.get("location", body.get("region", region))
    if rtype == "google_kms_crypto_key":
        return body["key_ring"] if creating else f"{body['key_ring']}/cryptoKeys/{body['name']}"
    if rtype == "google_kms_crypto_key_iam_member":
        return body["crypto_key_id"]
    if rtype == "google_kms_key_ring_iam_member":
        return body["key_ring_id"]
    if rtype == "google_storage_bucket":
        return p if creating else f"projects/_/buckets/{body['name']}"
    if rtype == "google_storage_bucket_iam_member":
        return f"projects/_/buckets/{body['bucket']}"
    if rtype == "google_storage_bucket_object":
        return f"projects/_/buckets/{body['bucket']}/objects/{body['name']}"
    if rtype == "google_service_account_iam_member":
        return body["service_account_id"]
    if rtype == "google_bigquery_dataset_iam_member":
        return f"{p}/datasets/{body['dataset_id']}"
    if rtype == "google_artifact_registry_repository_iam_member":
        return f"{p}/locations/{where}/repositories/{body['repository']}"
    if rtype == "google_pubsub_topic_iam_member":
        topic = body["topic"]
        return topic if topic.startswith("projects/") else f"{p}/topics/{topic}"
    if rtype == "google_cloud_run_service_iam_member":
        return f"{p}/locations/{where}/services/{body['service']}"
    if creating or in_parent_policy(rtype) or rtype in _PROJECT_LEVEL:
        return p
    if rtype == "google_service_account":
        return f"{p}/serviceAccounts/{account_email(body, p)}"
    named = _OWN_NAME.get(rtype)
    return f"{p}/{named(body, where)}" if named else p


def account_email(body: dict, project: str) -> str:
    return f"{body['account_id']}@{project.removeprefix('projects/')}.iam.gserviceaccount.com"


def identity(rtype: str, body: dict, project: str, region: str) -> str:
    """What the cloud knows a resource by (Terraform's address is the stack's, not Google's)."""
    keys = ("name", "role_id", "account_id", "service", "role", "member", "dataset_id",
            "repository_id", "display_name")  # fmt: skip
    own = ":".join(str(body.get(k, "")) for k in keys)
    return f"{rtype}:{target(rtype, body, project, region, False)}:{own}"


_PROJECT_LEVEL = ("google_project_service", "google_project_service_identity",
                  "google_project_iam_audit_config")  # fmt: skip
_OWN_NAME = {
    "google_kms_key_ring": lambda b, w: f"locations/{w}/keyRings/{b['name']}",
    "google_bigquery_dataset": lambda b, w: f"datasets/{b['dataset_id']}",
    "google_artifact_registry_repository": (
        lambda b, w: f"locations/{w}/repositories/{b['repository_id']}"
    ),
    "google_pubsub_topic": lambda b, w: f"topics/{b['name']}",
    "google_project_iam_custom_role": lambda b, w: f"roles/{b['role_id']}",
}

# The service agents that must hold a resource's CMEK key when it is created (settings.agents
# purposes): Google encrypts with the key as these agents.
CMEK_AGENTS: dict[str, tuple[str, ...]] = {
    "google_storage_bucket": ("storage",),
    "google_bigquery_dataset": ("bigquery",),
    "google_artifact_registry_repository": ("artifacts",),
    "google_vertex_ai_endpoint": ("vertex",),
    "google_vertex_ai_metadata_store": ("vertex",),
    "google_pubsub_topic": ("pubsub",),
    "google_cloudfunctions2_function": ("functions", "run", "artifacts", "storage"),
}
