"""Google's service agents that use this platform's CMEK keys, by key purpose.

The stacks grant each one encrypter/decrypter on its own key; the preflight checks those
grants; both derive the emails from the project number through this one table.
"""

from __future__ import annotations

ENCRYPTER_DECRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"

# key purpose: (API whose agent it is, email template, what people call it)
SERVICE_AGENTS: dict[str, tuple[str, str, str]] = {
    "storage": (
        "storage.googleapis.com",
        "service-{n}@gs-project-accounts.iam.gserviceaccount.com",
        "Cloud Storage agent",
    ),
    "bigquery": (
        "bigquery.googleapis.com",
        "bq-{n}@bigquery-encryption.iam.gserviceaccount.com",
        "BigQuery agent",
    ),
    "vertex": (
        "aiplatform.googleapis.com",
        "service-{n}@gcp-sa-aiplatform.iam.gserviceaccount.com",
        "Vertex AI agent",
    ),
    "artifacts": (
        "artifactregistry.googleapis.com",
        "service-{n}@gcp-sa-artifactregistry.iam.gserviceaccount.com",
        "Artifact Registry agent",
    ),
    "pubsub": (
        "pubsub.googleapis.com",
        "service-{n}@gcp-sa-pubsub.iam.gserviceaccount.com",
        "Pub/Sub agent",
    ),
}
AGENT_NAMES: dict[str, str] = {purpose: agent[2] for purpose, agent in SERVICE_AGENTS.items()}


def service_agent_email(purpose: str, project_number: str) -> str:
    return SERVICE_AGENTS[purpose][1].format(n=project_number)
