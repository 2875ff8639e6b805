"""Google's service agents that use this platform's CMEK keys, and which keys each uses.

The stacks grant each one encrypter/decrypter on the keys it uses; the preflight checks those
grants; the simulated cloud names the agents; all derive the emails through this one table.
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
    "functions": (
        "cloudfunctions.googleapis.com",
        "service-{n}@gcf-admin-robot.iam.gserviceaccount.com",
        "Cloud Functions agent",
    ),
    "run": (
        "run.googleapis.com",
        "service-{n}@serverless-robot-prod.iam.gserviceaccount.com",
        "Cloud Run agent",
    ),
}
AGENT_NAMES: dict[str, str] = {agent: spec[2] for agent, spec in SERVICE_AGENTS.items()}
# The same emails by API (what google_project_service_identity names a service by), and the
# provider's data sources that name (and make) the Cloud Storage and BigQuery agents.
AGENT_EMAIL_BY_API: dict[str, str] = {api: email for api, email, _ in SERVICE_AGENTS.values()}
# Eventarc's agent uses no key; it makes a function's Pub/Sub trigger, and exists only once
# asked for (a fresh project's first function fails without it).
AGENT_EMAIL_BY_API["eventarc.googleapis.com"] = (
    "service-{n}@gcp-sa-eventarc.iam.gserviceaccount.com"
)
AGENT_DATA_SOURCE_APIS: dict[str, str] = {
    "google_storage_project_service_account": "storage.googleapis.com",
}
# Agents the bootstrap asks for, as the project's owner, before any apply: BigQuery makes its
# encryption agent on the first projects.getServiceAccount, which checks bigquery.jobs.create
# (a right to run queries: a pull request's read-only plan must not hold it), so the stacks
# derive its email instead of reading the provider's data source (docs/infra.md).
BOOTSTRAP_AGENT_APIS: tuple[str, ...] = ("bigquery.googleapis.com",)

# Keys more than one agent uses. A CMEK-protected Cloud Run function needs its key on the
# Cloud Functions, Cloud Run, Artifact Registry and Cloud Storage agents (source, image and
# instances are all encrypted with it), and its image repository encrypted with the same key.
# Every other key is its own purpose's agent's alone.
KEY_USERS: dict[str, tuple[str, ...]] = {"functions": ("functions", "run", "artifacts", "storage")}


def key_users(purpose: str) -> tuple[str, ...]:
    """The service agents (SERVICE_AGENTS keys) that need encrypter/decrypter on a key."""
    return KEY_USERS.get(purpose, (purpose,))


def service_agent_email(agent: str, project_number: str) -> str:
    return SERVICE_AGENTS[agent][1].format(n=project_number)


# Cloud Logging's agent: the writer identity of a project's log sinks (a sink made with a
# unique writer identity writes as it), so a sink to another project's topic needs this
# agent to hold the publisher role there.
LOGGING_WRITER = "service-{n}@gcp-sa-logging.iam.gserviceaccount.com"


def logging_writer_email(project_number: str) -> str:
    return LOGGING_WRITER.format(n=project_number)
