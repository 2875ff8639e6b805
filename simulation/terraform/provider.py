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

# Data sources: read on every plan and apply.
DATA_SOURCES: dict[str, str] = {
    "google_storage_project_service_account": "storage.projects.serviceAccount.get",
}
