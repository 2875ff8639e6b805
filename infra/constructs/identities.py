"""Dedicated service accounts, one per workload; never the default compute or Cloud Build SA."""

from __future__ import annotations

from cdktf_cdktf_provider_google.service_account import ServiceAccount
from constructs import Construct

from infra.constructs.props import Place

PURPOSES = {
    "pipeline": "runs the census promotion pipeline on Vertex AI",
    "trainer": "runs the census custom training job",
    "deployer": "registers model versions and deploys them to the prod endpoint",
    "reader": "reads prod's registered versions for the staging decide step; changes nothing",
    "serving": "identity of the prod endpoint's prediction containers",
    "build": "runs this env's builds and submits pipeline runs (Cloud Build, retraining)",
    "infra": "applies this env's Terraform from Cloud Build (roles granted at bootstrap)",
    "planner": "plans pull requests and runs their checks: reads, never writes",
    "retrain": "runs the retraining function: reads the template, submits as the pipeline",
    "retrain_builder": "builds the retraining function's container",
}


class ServiceAccounts(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        place: Place,
        *,
        accounts: dict[str, str],
        depends_on=(),
    ) -> None:
        """`accounts`: identity → account id."""
        super().__init__(scope, id_)
        self.accounts = {
            identity: ServiceAccount(
                self,
                identity,
                project=place.project,
                account_id=account_id,
                display_name=f"census {identity} ({place.env})",
                description=PURPOSES[identity],
                depends_on=list(depends_on),
            )
            for identity, account_id in accounts.items()
        }
