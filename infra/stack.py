"""PlatformStack: everything one env gets, composed from the constructs in infra/constructs."""

from __future__ import annotations

import os

from cdktf import App, GcsBackend, LocalBackend, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_google.provider import GoogleProvider
from constructs import Construct

from infra.constructs.alerts import EndpointAlerts
from infra.constructs.apis import RequiredApis
from infra.constructs.audit import DataAccessAuditLogs
from infra.constructs.beta import GoogleBetaProvider
from infra.constructs.cicd import BuildTriggers
from infra.constructs.grants import IamGrants
from infra.constructs.identities import ServiceAccounts
from infra.constructs.kms import CmekKeys
from infra.constructs.registry import Registries
from infra.constructs.retraining import Retraining
from infra.constructs.storage import Buckets
from infra.constructs.vertex import Endpoint, MetadataStore
from infra.constructs.warehouse import Warehouse
from infra.iam import RETRAIN_FUNCTION, plan_grants, service_agent_email
from infra.settings import Platform

# Set to 1 for the very first apply of an env, before its state bucket exists (docs/infra.md).
BOOTSTRAP_ENV_VAR = "MLOPS_BOOTSTRAP_STATE"


def stack_name(env: str) -> str:
    return f"census-ml-{env}"


class PlatformStack(TerraformStack):
    def __init__(self, scope: Construct, platform: Platform, env: str) -> None:
        super().__init__(scope, stack_name(env))
        s = platform[env]
        self.settings = s
        if os.environ.get(BOOTSTRAP_ENV_VAR) == "1":
            # Relative to cdktf.out/stacks/<stack>/: lands in envs/<env>/, outside cdktf.out.
            LocalBackend(self, path="../../../terraform.bootstrap.tfstate")
        else:
            GcsBackend(self, bucket=s.state_bucket, prefix=f"census-ml/{env}")
        GoogleProvider(self, "google", project=s.project_id, region=s.region)
        beta = GoogleBetaProvider(self, "google-beta", project=s.project_id, region=s.region)

        apis = RequiredApis(self, "apis", s).all
        DataAccessAuditLogs(self, "audit", s)
        kms = CmekKeys(self, "kms", s, beta=beta, depends_on=apis)
        accounts = ServiceAccounts(self, "identities", s, depends_on=apis).accounts

        grants = plan_grants(platform, env)
        key_grants = [g for g in grants if g.kind == "key"]
        key_purpose = {s.key_id(p): p for p in s.kms.keys}
        self.key_iam = IamGrants(
            self,
            "key-iam",
            s,
            key_grants,
            depends_on={
                **{("key", s.key_id(p)): [k] for p, k in kms.keys.items()},
                **{
                    ("member", service_agent_email(p, s.project_number)): [a]
                    for p, a in kms.agents.items()
                },
            },
        )
        granted = {
            key_purpose[g.resource]: m
            for g, m in zip(key_grants, self.key_iam.members, strict=True)
        }

        def key(purpose: str) -> str:
            return kms.keys[purpose].id

        buckets = Buckets(
            self, "buckets", s, kms_key_name=key("storage"), depends_on=[granted["storage"]]
        ).buckets
        dataset = Warehouse(
            self, "warehouse", s, kms_key_name=key("bigquery"), depends_on=[granted["bigquery"]]
        ).dataset
        repos = Registries(
            self, "registries", s, kms_key_name=key("artifacts"), depends_on=[granted["artifacts"]]
        ).repositories
        store = MetadataStore(
            self,
            "metadata",
            s,
            kms_key_name=key("vertex"),
            beta=beta,
            depends_on=[granted["vertex"]],
        ).store
        endpoint = None
        if s.role == "prod":
            endpoint = Endpoint(
                self, "endpoint", s, kms_key_name=key("vertex"), depends_on=[granted["vertex"]]
            ).endpoint
            EndpointAlerts(self, "alerts", s, depends_on=apis)

        BuildTriggers(self, "triggers", s, depends_on=[*apis, *accounts.values()])
        retraining = None
        if s.role == "non-prod":
            retraining = Retraining(
                self,
                "retraining",
                s,
                kms_key_name=key("pubsub"),
                source_bucket=s.buckets.templates,
                image_repository=repos[s.artifact_registry.images].id,
                depends_on=[granted["pubsub"], *apis, *accounts.values(), buckets["templates"]],
            )

        bucket_names = {**s.buckets.by_purpose(), "state": s.state_bucket}
        needs: dict[tuple[str, str], list] = {
            **{("bucket", name): [buckets[p]] for p, name in bucket_names.items()},
            ("dataset", s.bigquery_dataset): [dataset],
            **{("repository", name): [r] for name, r in repos.items()},
            **{("service_account", s.service_account_email(i)): [a] for i, a in accounts.items()},
            **{("member", s.service_account_email(i)): [a] for i, a in accounts.items()},
            ("member", service_agent_email("vertex", s.project_number)): [kms.agents["vertex"]],
            ("key_ring", s.key_ring_id): [kms.key_ring],
        }
        if retraining is not None:
            needs[("run_service", RETRAIN_FUNCTION)] = [retraining.function]
        IamGrants(self, "iam", s, [g for g in grants if g.kind != "key"], depends_on=needs)

        outputs = {
            "project_id": s.project_id,
            "project_number": s.project_number,
            "region": s.region,
            "key_ring": kms.key_ring.id,
            **{f"kms_key_{p}": key(p) for p in s.kms.keys},
            **{f"bucket_{p}": b.name for p, b in buckets.items()},
            **{f"service_account_{i}": a.email for i, a in accounts.items()},
            "bigquery_dataset": dataset.dataset_id,
            "image_repository": s.image_repository_url(),
            "template_repository": s.template_repository_url(),
            "metadata_store": store.id,
        }
        if endpoint is not None:
            outputs["endpoint"] = endpoint.id
        if retraining is not None:
            outputs["retraining_topic"] = retraining.topic.id
        for name, value in outputs.items():
            TerraformOutput(self, f"output-{name}", value=value).override_logical_id(name)


def build_app(platform: Platform, env: str, outdir: str | None = None) -> App:
    """The CDKTF app of one env; `outdir` None lets the cdktf CLI choose (CDKTF_OUTDIR)."""
    app = App(outdir=outdir) if outdir else App()
    PlatformStack(app, platform, env)
    return app
