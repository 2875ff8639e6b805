"""PlatformStack: everything one env gets, composed from the constructs in infra/constructs.

The one place that reads Settings for the constructs: each gets its few values as props.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cdktf import App, GcsBackend, LocalBackend, TerraformOutput, TerraformStack
from constructs import Construct

from infra import function_source
from infra.cicd import triggers
from infra.constructs.alerts import AlertsProps, EndpointAlerts
from infra.constructs.anomalies import AnomalySink, AnomalySinkProps
from infra.constructs.apis import RequiredApis, apis_for
from infra.constructs.audit import DataAccessAuditLogs
from infra.constructs.beta import GoogleBetaProvider
from infra.constructs.cicd import (
    ApprovedCandidates,
    BuildTriggers,
    CanarySchedule,
    CanaryScheduleProps,
    TriggersProps,
)
from infra.constructs.grants import IamGrants
from infra.constructs.identities import ServiceAccounts
from infra.constructs.kms import CmekKeys, KeysProps
from infra.constructs.props import Place
from infra.constructs.registry import Registries, Repository
from infra.constructs.retraining import Retraining, RetrainingProps
from infra.constructs.roles import CustomRoles
from infra.constructs.storage import PROTECTED, PROTECTED_IN_PROD, Buckets, BucketsProps
from infra.constructs.vertex import Endpoint, MetadataStore
from infra.constructs.warehouse import Warehouse
from infra.iam import (
    RETRAIN_FUNCTION,
    Grant,
    cross_tenant_grants,
    custom_roles,
    promotion_of,
    tenant_grants,
)
from infra.layout import cross_tenant_part, stack_name
from infra.toolchain import terraform_version
from settings import Platform, Settings

# Relative to cdktf.out/stacks/<stack>/: lands in envs/<env>/, outside cdktf.out.
BOOTSTRAP_STATE_PATH = "../../../terraform.bootstrap.tfstate"


def place_of(s: Settings) -> Place:
    return Place(s.project_id, s.region, s.env)


def keys_props(s: Settings) -> KeysProps:
    return KeysProps(
        place=place_of(s),
        key_ring=s.kms.key_ring,
        keys={purpose: key for purpose, key in s.kms.keys.items()},
        rotation_period=s.rotation_period,
        prevent_destroy=s.keys_protected,
    )


def buckets_props(s: Settings) -> BucketsProps:
    return BucketsProps(
        place=place_of(s),
        names={**s.buckets.by_purpose(), "state": s.state_bucket},
        noncurrent_retention_days=s.buckets.noncurrent_retention_days,
        pipeline_root_retention_days=s.buckets.pipeline_root_retention_days,
        protected=PROTECTED_IN_PROD if s.role == "prod" else PROTECTED,
    )


def alerts_props(s: Settings) -> AlertsProps:
    serving = s.serving_settings()
    return AlertsProps(
        project=s.project_id,
        endpoint_id=serving.endpoint_id,
        emails=tuple(s.monitoring_settings().emails),
        error_rate=serving.alerts.error_rate,
        latency_p99_ms=serving.alerts.latency_p99_ms,
    )


def triggers_props(s: Settings, promotion: str = "canary") -> TriggersProps:
    return TriggersProps(
        place=place_of(s),
        github_owner=s.cloudbuild.github_owner,
        github_repo=s.cloudbuild.github_repo,
        triggers=tuple(triggers(s, promotion)),
        identities={i: s.service_account_email(i) for i in s.service_accounts},
    )


def retraining_props(s: Settings) -> RetrainingProps:
    pipeline = s.pipeline_settings()
    return RetrainingProps(
        place=place_of(s),
        topic=s.retraining_topic,
        schedule=pipeline.retraining_schedule or "",
        time_zone=pipeline.retraining_time_zone,
        runtime_service_account=s.service_account_email("retrain"),
        build_service_account=s.service_account_email("retrain_builder"),
        source_folder=function_source.assemble(function_source.folder(s.env)),
    )


@dataclass
class Tenant:
    """What the tenant stack built that later parts wait for or output."""

    apis: list[Any]
    kms: CmekKeys
    accounts: dict[str, Any]
    roles: dict[str, Any]
    granted: dict[str, list[Any]]  # key purpose → the grants a resource encrypted with it waits for
    buckets: dict[str, Any] = field(default_factory=dict)
    dataset: Any = None
    repos: dict[str, Any] = field(default_factory=dict)
    store: Any = None
    endpoint: Any = None
    retraining: Retraining | None = None

    def key(self, purpose: str) -> str:
        return str(self.kms.keys[purpose].id)


class PlatformStack(TerraformStack):
    """One env's tenant: keys first, then what is encrypted with them once their grants are
    in, identities and their grants, CI/CD and (non-prod) retraining, and the outputs."""

    def __init__(
        self, scope: Construct, platform: Platform, env: str, *, bootstrap_state: bool = False
    ) -> None:
        """`bootstrap_state`: local state, for an env's very first apply (docs/infra.md)."""
        super().__init__(scope, stack_name(env))
        s = platform[env]
        self.settings = s
        if bootstrap_state:
            LocalBackend(self, path=BOOTSTRAP_STATE_PATH)
        else:
            GcsBackend(self, bucket=s.state_bucket, prefix=f"census-ml/{env}")
        self.add_override("terraform.required_version", terraform_version())  # exactly
        from cdktf_cdktf_provider_google.provider import GoogleProvider

        GoogleProvider(self, "google", project=s.project_id, region=s.region)
        beta = GoogleBetaProvider(self, "google-beta", project=s.project_id, region=s.region)
        grants = tenant_grants(platform, env)
        promotion = promotion_of(platform, env)
        keys = [g for g in grants if g.kind == "key"]
        built = self._keys_and_identities(s, beta, keys, apis_for(s.role, promotion))
        self._data(s, built)
        self._vertex(s, beta, built, platform.peer_of(env))
        self._automation(s, promotion, built, beta)
        self._grants(s, [g for g in grants if g.kind != "key"], built)
        self._outputs(s, built)

    def _keys_and_identities(
        self, s: Settings, beta: Any, key_grants: list[Grant], services: tuple[str, ...]
    ) -> Tenant:
        apis = RequiredApis(self, "apis", project=s.project_id, apis=services).all
        DataAccessAuditLogs(self, "audit", project=s.project_id)
        kms = CmekKeys(self, "kms", keys_props(s), beta=beta, depends_on=apis)
        accounts = ServiceAccounts(
            self,
            "identities",
            place_of(s),
            accounts={i: a for i, a in s.service_accounts.items()},
            depends_on=apis,
        ).accounts
        roles = CustomRoles(
            self, "roles", project=s.project_id, roles=custom_roles(s), depends_on=apis
        ).by_name
        key_purpose = {s.key_id(p): p for p in s.kms.keys}
        self.key_iam = IamGrants(
            self,
            "key-iam",
            key_grants,
            region=s.region,
            depends_on={
                **{("key", s.key_id(p)): [kms.keys[p]] for p in s.kms.keys},
                **{("member", s.service_agent_email(a)): [r] for a, r in kms.agents.items()},
            },
        )
        granted: dict[str, list[Any]] = {}
        for g, m in zip(key_grants, self.key_iam.members, strict=True):
            granted.setdefault(key_purpose[g.resource], []).append(m)
        return Tenant(apis, kms, accounts, roles, granted)

    def _data(self, s: Settings, t: Tenant) -> None:
        """Buckets, the dataset and the repositories, each once its key's grants are in."""
        t.buckets = Buckets(
            self,
            "buckets",
            buckets_props(s),
            kms_key_name=t.key("storage"),
            depends_on=t.granted["storage"],
        ).buckets
        t.dataset = Warehouse(
            self,
            "warehouse",
            place_of(s),
            dataset_id=s.bigquery_dataset,
            kms_key_name=t.key("bigquery"),
            depends_on=t.granted["bigquery"],
        ).dataset
        repositories = repositories_of(s, t.key)
        t.repos = Registries(
            self,
            "registries",
            place_of(s),
            repositories,
            depends_on={
                r.name: t.granted["functions" if r.kind == "functions" else "artifacts"]
                for r in repositories
            },
        ).repositories

    def _vertex(self, s: Settings, beta: Any, t: Tenant, peer: Settings | None) -> None:
        t.store = MetadataStore(
            self,
            "metadata",
            place_of(s),
            kms_key_name=t.key("vertex"),
            beta=beta,
            depends_on=t.granted["vertex"],
        ).store
        if s.serving is not None:
            t.endpoint = Endpoint(
                self,
                "endpoint",
                place_of(s),
                endpoint_id=s.serving.endpoint_id,
                kms_key_name=t.key("vertex"),
                depends_on=t.granted["vertex"],
            ).endpoint
            EndpointAlerts(self, "alerts", alerts_props(s), depends_on=t.apis)
            if peer is not None and peer.role == "non-prod":  # its drift retrains there
                topic = f"projects/{peer.project_id}/topics/{peer.retraining_topic}"
                AnomalySink(
                    self, "anomalies", AnomalySinkProps(s.project_id, topic), depends_on=t.apis
                )

    def _automation(self, s: Settings, promotion: str, t: Tenant, beta: Any) -> None:
        """Cloud Build's triggers, and (non-prod) the retraining topic and function; (prod,
        promotion = "approval") the topic of approved candidates census-deploy listens on."""
        topics = []
        if s.role == "prod" and promotion == "approval":
            topics.append(
                ApprovedCandidates(
                    self,
                    "approved-candidates",
                    place_of(s),
                    s.approved_candidates_topic,
                    kms_key_name=t.key("pubsub"),
                    depends_on=[*t.apis, *t.granted["pubsub"]],
                ).topic
            )
        triggers = BuildTriggers(
            self,
            "triggers",
            triggers_props(s, promotion),
            depends_on=[*t.apis, *t.accounts.values(), *topics],
        ).triggers
        if s.role == "prod" and s.serving is not None:
            CanarySchedule(
                self,
                "canary-schedule",
                CanaryScheduleProps(
                    place_of(s), s.serving.canary.schedule, s.service_account_email("deployer")
                ),
                triggers["canary"],
                depends_on=t.apis,
            )
        if s.role == "non-prod":
            t.retraining = Retraining(
                self,
                "retraining",
                retraining_props(s),
                topic_key=t.key("pubsub"),
                function_key=t.key("functions"),
                beta=beta,
                source_bucket=t.buckets["templates"].name,  # a reference: it waits for it
                image_repository=t.repos[str(s.registry().functions)].id,
                depends_on=[*t.apis, *t.accounts.values(), t.buckets["templates"]],
                topic_depends_on=t.granted["pubsub"],
                function_depends_on=t.granted["functions"],
            )

    def _grants(self, s: Settings, grants: list[Grant], t: Tenant) -> None:
        """Every grant but the keys', each waiting for what it names."""
        bucket_names = {**s.buckets.by_purpose(), "state": s.state_bucket}
        needs: dict[tuple[str, str], list[Any]] = {
            **{("bucket", name): [t.buckets[p]] for p, name in bucket_names.items()},
            ("dataset", s.bigquery_dataset): [t.dataset],
            **{("repository", name): [r] for name, r in t.repos.items()},
            **{
                ("service_account", s.service_account_email(i)): [t.accounts[i]]
                for i in s.service_accounts
            },
            **{("member", s.service_account_email(i)): [t.accounts[i]] for i in s.service_accounts},
            ("member", s.service_agent_email("vertex")): [t.kms.agents["vertex"]],
            ("key_ring", s.key_ring_id): [t.kms.key_ring],
            **{("role", name): [role] for name, role in t.roles.items()},
        }
        if t.retraining is not None:
            needs[("run_service", RETRAIN_FUNCTION)] = [t.retraining.function]
        iam = IamGrants(self, "iam", grants, region=s.region, depends_on=needs)
        if t.retraining is not None:  # it is built as its build identity: after its grants
            builder = s.service_account_email("retrain_builder")
            t.retraining.wait_for_build_grants(
                [m for g, m in zip(grants, iam.members, strict=True) if g.member_email == builder]
            )

    def _outputs(self, s: Settings, t: Tenant) -> None:
        outputs = {
            "project_id": s.project_id,
            "project_number": s.project_number,
            "region": s.region,
            "key_ring": t.kms.key_ring.id,
            **{f"kms_key_{p}": t.key(p) for p in s.kms.keys},
            **{f"bucket_{p}": b.name for p, b in t.buckets.items()},
            **{f"service_account_{i}": a.email for i, a in t.accounts.items()},
            "bigquery_dataset": t.dataset.dataset_id,
            "metadata_store": t.store.id,
        }
        if s.artifact_registry is not None:
            outputs["image_repository"] = s.image_repository_url()
            outputs["template_repository"] = s.template_repository_url()
        if t.endpoint is not None:
            outputs["endpoint"] = t.endpoint.id
        if t.retraining is not None:
            outputs["retraining_topic"] = t.retraining.topic.id
        for name, value in outputs.items():
            TerraformOutput(self, f"output-{name}", value=value).override_logical_id(name)


def repositories_of(s: Settings, key: Callable[[str], str]) -> list[Repository]:
    """The env's Artifact Registry repositories, each with its key (prod has none)."""
    registry = s.artifact_registry
    if registry is None:
        return []
    repositories = [
        Repository(
            "images", registry.images, "DOCKER", "component, trainer and serving images",
            key("artifacts"),
        ),
        Repository("templates", registry.templates, "KFP", "compiled pipeline templates",
                   key("artifacts")),
    ]  # fmt: skip
    if registry.functions is not None:
        # Cloud Functions tags each build `latest`; the function runs the digest its deploy
        # recorded, so nothing pulls these images by tag.
        repositories.append(
            Repository(
                "functions",
                registry.functions,
                "DOCKER",
                "the retraining function's build images",
                key("functions"),
                immutable_tags=False,
            )
        )
    return repositories


class CrossTenantStack(TerraformStack):
    """The grants in `env`'s project whose members live in the peer tenant's project.

    Its own stack so that each tenant stack applies on empty projects, and this one after both
    exist (docs/infra.md, "First apply"); within the app it depends on the tenant stack.
    """

    def __init__(self, scope: Construct, platform: Platform, env: str) -> None:
        super().__init__(scope, stack_name(cross_tenant_part(env)))
        s = platform[env]
        GcsBackend(self, bucket=s.state_bucket, prefix=f"census-ml/{cross_tenant_part(env)}")
        self.add_override("terraform.required_version", terraform_version())
        from cdktf_cdktf_provider_google.provider import GoogleProvider

        GoogleProvider(self, "google", project=s.project_id, region=s.region)
        # Everything these name exists before this stack applies: no depends_on to add.
        IamGrants(self, "iam", cross_tenant_grants(platform, env), region=s.region, depends_on={})


def build_app(
    platform: Platform, env: str, outdir: str | None = None, *, bootstrap_state: bool = False
) -> App:
    """The CDKTF app of one env; `outdir` None lets the cdktf CLI choose (CDKTF_OUTDIR)."""
    app = App(outdir=outdir) if outdir else App()
    tenant = PlatformStack(app, platform, env, bootstrap_state=bootstrap_state)
    if platform.peer_of(env) is not None:
        CrossTenantStack(app, platform, env).add_dependency(tenant)
    return app
