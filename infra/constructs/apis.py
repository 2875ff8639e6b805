"""The Google APIs each env needs, enabled in code; the retraining ones in non-prod only."""

from __future__ import annotations

from cdktf_cdktf_provider_google.project_service import ProjectService
from constructs import Construct

REQUIRED_APIS: tuple[str, ...] = (
    "aiplatform.googleapis.com",
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudkms.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "serviceusage.googleapis.com",
    "storage.googleapis.com",
)
# Scheduled retraining (Cloud Scheduler → Pub/Sub → a Cloud Run function): non-prod only.
RETRAINING_APIS: tuple[str, ...] = (
    "cloudfunctions.googleapis.com",
    "cloudscheduler.googleapis.com",
    "eventarc.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
)
# The scheduled canary judgement (Cloud Scheduler → the census-canary build): prod only.
CANARY_APIS: tuple[str, ...] = ("cloudscheduler.googleapis.com",)


# Approved candidates reach prod's census-deploy on a topic (promotion = "approval").
APPROVAL_APIS: tuple[str, ...] = ("pubsub.googleapis.com",)


def apis_for(role: str, promotion: str = "canary") -> tuple[str, ...]:
    by_role = {"non-prod": RETRAINING_APIS, "prod": CANARY_APIS}
    approval = APPROVAL_APIS if role == "prod" and promotion == "approval" else ()
    return REQUIRED_APIS + by_role.get(role, ()) + approval


class RequiredApis(Construct):
    def __init__(self, scope: Construct, id_: str, *, project: str, apis: tuple[str, ...]) -> None:
        super().__init__(scope, id_)
        self.services = {
            api: ProjectService(
                self,
                api.split(".")[0],
                project=project,
                service=api,
                disable_on_destroy=False,  # other workloads may use the API too
            )
            for api in apis
        }

    @property
    def all(self) -> list[ProjectService]:
        return list(self.services.values())
