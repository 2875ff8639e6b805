"""What a project's owner does once, outside the stacks, before and after an env's first
apply (docs/infra.md "Bootstrapping"): the roles the env's `census-infra` identity needs to
apply its stacks from CI. They live with the projects, so nothing this repository applies
can widen them; the simulated plan and apply (simulation/terraform) prove they suffice."""

from __future__ import annotations

from collections.abc import Iterable

# An API the stack enables → the role that manages its resources.
INFRA_ROLE_OF_API: dict[str, str] = {
    "aiplatform.googleapis.com": "roles/aiplatform.admin",
    "artifactregistry.googleapis.com": "roles/artifactregistry.admin",
    "bigquery.googleapis.com": "roles/bigquery.dataOwner",  # datasets and their access
    "cloudbuild.googleapis.com": "roles/cloudbuild.builds.editor",  # triggers
    "cloudfunctions.googleapis.com": "roles/cloudfunctions.admin",  # and its Cloud Run IAM
    "cloudkms.googleapis.com": "roles/cloudkms.admin",
    "cloudresourcemanager.googleapis.com": "roles/resourcemanager.projectIamAdmin",
    "cloudscheduler.googleapis.com": "roles/cloudscheduler.admin",
    "iam.googleapis.com": "roles/iam.serviceAccountAdmin",
    "logging.googleapis.com": "roles/logging.configWriter",  # sinks
    "monitoring.googleapis.com": "roles/monitoring.admin",
    "pubsub.googleapis.com": "roles/pubsub.admin",
    "serviceusage.googleapis.com": "roles/serviceusage.serviceUsageAdmin",
    "storage.googleapis.com": "roles/storage.admin",
}
# Whatever the stack enables: its custom roles (read back on every plan, updated when a
# permission changes) and acting as the accounts it attaches to triggers, jobs and the
# function. Project-level because the accounts are made by the stack itself; it adds nothing
# serviceAccountAdmin does not already allow (that role may set any account's policy). And
# writing its builds' logs: every config logs to Cloud Logging only, which a build's own
# service account must be allowed, or Cloud Build refuses to start it.
INFRA_ROLES_ALWAYS: tuple[str, ...] = (
    "roles/iam.roleAdmin", "roles/iam.serviceAccountUser", "roles/logging.logWriter",
)  # fmt: skip


def infra_roles(apis: Iterable[str]) -> list[str]:
    """The roles the owner grants `census-infra` on a project whose stack enables `apis`."""
    return sorted({INFRA_ROLE_OF_API[a] for a in apis if a in INFRA_ROLE_OF_API}
                  | set(INFRA_ROLES_ALWAYS))  # fmt: skip
