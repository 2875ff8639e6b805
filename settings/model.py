"""The typed settings of one tenant, and of all of them together (Platform).

Each env keeps `envs/<env>/settings.toml`. The stacks, the pipeline's parameter defaults, the
preflight, the monitor and the canary all read these objects; names one env needs from
another are derived through `Platform`, never typed twice. The groups a pipeline run takes
as parameters (Bars, Rollout, MonitoringSettings) are defined here once: their defaults live
only in the settings files.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cached_property
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kernel.errors import UserError
from settings.agents import key_users, service_agent_email
from trainer.schema import FEATURE_NAMES

Env = Literal["dev", "staging", "prod"]
Role = Literal["interactive", "non-prod", "prod"]
# Who may change prod after a run approves a candidate (docs/cicd.md, "Promotion modes").
Promotion = Literal["canary", "approval"]
# Which trainers a run uses (docs/automl.md): the custom LightGBM trainer, AutoML, or both.
Trainer = Literal["custom", "automl", "both"]
KeyPurpose = Literal["storage", "bigquery", "vertex", "artifacts", "pubsub", "functions"]
BucketPurpose = Literal["pipeline_root", "data", "models", "templates"]
Identity = Literal[
    "pipeline",
    "trainer",
    "deployer",
    "reader",
    "serving",
    "build",
    "infra",
    "planner",
    "retrain",
    "retrain_builder",
]

# Which dedicated identities each tenant role has (DESIGN.md, "The three tenants").
IDENTITIES_BY_ROLE: dict[str, tuple[str, ...]] = {
    "interactive": ("pipeline", "trainer", "build", "infra", "planner"),
    "non-prod": (
        "pipeline",
        "trainer",
        "build",
        "infra",
        "planner",
        "retrain",
        "retrain_builder",
    ),
    # no build identity: prod's builds run as the deployer (canary, deploy) or infra/planner
    "prod": ("deployer", "reader", "serving", "infra", "planner"),
}
# The CMEK keys each tenant role needs: only non-prod has the retraining topic (Pub/Sub).
KEYS_BY_ROLE: dict[str, tuple[str, ...]] = {
    "interactive": ("storage", "bigquery", "vertex", "artifacts"),
    "non-prod": ("storage", "bigquery", "vertex", "artifacts", "pubsub", "functions"),
    "prod": ("storage", "bigquery", "vertex"),  # no repositories: prod serves staging's images
}
# Keys a role may add: prod's topic of approved candidates (staging's promotion = "approval").
OPTIONAL_KEYS_BY_ROLE: dict[str, tuple[str, ...]] = {"prod": ("pubsub",)}
# The bucket purposes a run uses in a tenant, whose metadata the preflight reads.
RUN_BUCKETS = {"non-prod": ("pipeline_root", "data", "models"), "prod": ("models", "data")}

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
Fraction = Annotated[float, Field(ge=0, le=1)]
_PROJECT = r"[a-z][a-z0-9-]{4,28}[a-z0-9]"
ProjectId = Annotated[str, Field(pattern=rf"^{_PROJECT}$")]
REGION = r"^[a-z]+-[a-z]+[0-9]$"
DATASET = r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$"
ENDPOINT_ID = r"^[1-9][0-9]{0,9}$"
KMS_KEY = (
    rf"^projects/{_PROJECT}/locations/[a-z0-9-]+/keyRings/[A-Za-z0-9_-]{{1,63}}"
    r"/cryptoKeys/[A-Za-z0-9_-]{1,63}$"
)
SERVICE_ACCOUNT = rf"^[a-z][a-z0-9-]{{4,28}}[a-z0-9]@{_PROJECT}\.iam\.gserviceaccount\.com$"
# Compute Engine machine types: family-type[-size...], lowercase (n1-standard-4, e2-highmem-2,
# a2-highgpu-1g, c3-standard-4-lssd); no spaces, no shell.
MACHINE_TYPE = r"^[a-z][a-z0-9]*(-[a-z0-9]+){1,3}$"


def time_zone(name: str) -> str:
    """An IANA time zone this machine knows (Cloud Scheduler takes the same names)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not an IANA time zone (for example Europe/Amsterdam)"
        ) from None
    return name


AccountId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")]
# A person or a group of people: an approval by a service account would be a robot's.
Approver = Annotated[str, Field(pattern=r"^(user|group):[^@\s]+@[^@\s]+\.[^@\s]+$")]
ResourceName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,62}$")]


def bucket_name(name: str) -> str:
    """Cloud Storage's naming rule (the dotted-name variant aside), or ValueError."""
    if not _BUCKET_RE.match(name) or "goog" in name:
        raise ValueError(f"{name!r} is not a valid Cloud Storage bucket name")
    return name


class Strict(BaseModel):
    """Unknown keys are errors and values never change after validation."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class KmsSettings(Strict):
    key_ring: ResourceName
    rotation_days: int = Field(ge=1, le=90, description="key rotation period, 90 days or less")
    keys: dict[KeyPurpose, ResourceName]


class BucketSettings(Strict):
    # pipeline_root and templates: where pipelines run and are published (not in prod)
    pipeline_root: str | None = None
    data: str
    models: str
    templates: str | None = None
    pipeline_root_retention_days: int | None = Field(None, ge=1, le=3650)
    noncurrent_retention_days: int = Field(ge=1, le=3650)

    _names = field_validator("pipeline_root", "data", "models", "templates")(
        lambda v: v if v is None else bucket_name(v)
    )

    def of(self, purpose: BucketPurpose) -> str:
        """The bucket for `purpose`; a ValueError where the tenant has none (prod's pipeline
        root and templates)."""
        name = getattr(self, purpose)
        if name is None:
            raise ValueError(f"buckets.{purpose}: this tenant has none")
        return name

    def by_purpose(self) -> dict[str, str]:
        """The buckets this tenant has, by purpose."""
        named = {p: getattr(self, p) for p in get_args(BucketPurpose)}
        return {p: name for p, name in named.items() if name is not None}


class ArtifactRegistrySettings(Strict):
    images: ResourceName
    templates: ResourceName
    # non-prod: the retraining function's build images, CMEK with the function's own key
    functions: ResourceName | None = None


class CloudBuildSettings(Strict):
    github_owner: str = Field(pattern=r"^[A-Za-z0-9-]+$")
    github_repo: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    promotion_branch: str = Field(pattern=r"^[A-Za-z0-9._/-]+$")
    infra_branch: str = Field(pattern=r"^[A-Za-z0-9._/-]+$")
    pr_checks: bool = Field(description="this env's Cloud Build runs the PR checks")
    approvers: tuple[Approver, ...] = Field(
        (),
        description="prod: the people who approve its infrastructure applies (the saved plan, "
        'which they may read) and, with promotion = "approval", its census-deploy builds; '
        "without them, the projects' owners approve",
    )


class Bars(Strict):
    """What a challenger must reach to be deployed (a pipeline parameter group)."""

    min_roc_auc: Fraction
    min_accuracy: Fraction
    max_slice_gap: Fraction
    champion_margin: Fraction = Field(description="ROC AUC gain over the champion, strictly")


class AutoMLSettings(Strict):
    """The AutoML challenger's budgets (a pipeline parameter group): Vertex AutoML Tabular's
    node hours, and the local stand-in's search time (trainer/automl.py)."""

    budget_milli_node_hours: int = Field(
        1000, ge=1000, le=72000, description="Vertex AutoML training budget (1000 = 1 node hour)"
    )
    time_budget_seconds: int = Field(
        60, ge=5, le=86_400, description="the local stand-in's search time"
    )
    # A time budget finds a different model on a slower machine; a trial count does not.
    max_trials: int = Field(
        0,
        ge=0,
        le=10_000,
        description="the local stand-in stops after this many trials or at its time budget, "
        "whichever comes first (0: the time budget alone); a count gives the same search on "
        "any machine",
    )


class PipelineSettings(Strict):
    """The promotion pipeline (it runs in a non-prod tenant)."""

    bars: Bars
    trainer: Trainer = Field("custom", description="custom, automl or both (docs/automl.md)")
    automl: AutoMLSettings = AutoMLSettings()
    training_machine_type: str = Field(pattern=MACHINE_TYPE)
    # Vertex's own limit for a custom job is 7 days: a hung training would bill that long.
    training_timeout_hours: int = Field(
        ge=1, le=168, description="the training custom job is stopped after this many hours"
    )
    # Retraining without a person: Cloud Scheduler publishes to the retraining topic.
    retraining_schedule: str | None = Field(None, pattern=r"^(\S+\s+){4}\S+$")
    retraining_time_zone: str = "Etc/UTC"

    _zone = field_validator("retraining_time_zone")(time_zone)
    promotion: Promotion = Field(
        "canary",
        description="canary: a run deploys to prod itself; approval: a run stops with an "
        "approved candidate that prod's deploy trigger, after a person approves, deploys",
    )


class Rollout(Strict):
    """How a new version reaches the prod endpoint (a pipeline parameter group)."""

    canary_percent: int = Field(ge=1, le=100)
    machine_type: str = Field(pattern=MACHINE_TYPE)
    min_replicas: int = Field(ge=1, le=100)
    max_replicas: int = Field(ge=1, le=100)
    versions_kept: int = Field(ge=1, le=20)
    # Registry versions kept (the newest; never one deployed or aliased): older ones are
    # deleted after a deploy, so lookups and listings stay small.
    versions_retained: int = Field(ge=2, le=1000)

    @model_validator(mode="after")
    def _replicas(self) -> Rollout:
        if self.max_replicas < self.min_replicas:
            raise ValueError(f"max_replicas {self.max_replicas} < min_replicas {self.min_replicas}")
        if self.versions_retained < self.versions_kept:
            raise ValueError(
                f"versions_retained {self.versions_retained} < versions_kept "
                f"{self.versions_kept}: a deployed version is always retained"
            )
        return self


class CanaryCriteria(Strict):
    """When `mlops canary` judges a challenger, and what makes it roll back."""

    min_requests: int = Field(ge=1)
    max_error_rate_increase: Fraction
    max_latency_ratio: float = Field(ge=1)
    window_minutes: int = Field(ge=1, le=10_080)
    # When prod's scheduler runs the judgement (cron, UTC): Cloud Scheduler starts the
    # census-canary build, which runs `mlops canary` as the deployer.
    schedule: str = Field(pattern=r"^(\S+\s+){4}\S+$")


class AlertSettings(Strict):
    """Cloud Monitoring alert policies on the prod endpoint."""

    error_rate: Fraction
    latency_p99_ms: float = Field(gt=0)


class ServingSettings(Strict):
    """The prod endpoint: its id, how versions roll out, canary analysis, alerts."""

    endpoint_id: str = Field(pattern=ENDPOINT_ID, description="Vertex ids are numeric")
    expected_predictions_per_day: int = Field(
        ge=0, description="instances a day, for the cost estimate (mlops cost) only"
    )
    rollout: Rollout
    canary: CanaryCriteria
    alerts: AlertSettings


class MonitoringSettings(Strict):
    """Skew and drift monitoring of the prod endpoint (a pipeline parameter group)."""

    emails: list[str] = Field(min_length=1)
    skew_threshold: Fraction
    drift_threshold: Fraction
    feature_thresholds: dict[str, Fraction] = Field(default_factory=dict)
    sample_rate: float = Field(gt=0, le=1)
    interval_hours: int = Field(ge=1, le=24)
    # Below this many logged rows a window is not judged (`mlops monitor` says so, exit 6):
    # TFDV's own-range histograms make small samples of unchanged traffic alert
    # (docs/monitoring.md).
    min_window_rows: int = Field(2000, ge=1)

    @field_validator("emails")
    @classmethod
    def _emails(cls, emails: list[str]) -> list[str]:
        for email in emails:
            if not _EMAIL_RE.match(email):
                raise ValueError(f"{email!r} is not an email address")
        return emails

    @field_validator("feature_thresholds")
    @classmethod
    def _known_features(cls, thresholds: dict) -> dict:
        unknown = sorted(set(thresholds) - set(FEATURE_NAMES))
        if unknown:
            raise ValueError(f"unknown feature(s) {', '.join(unknown)}")
        return thresholds

    def thresholds(self, measure: Literal["skew", "drift"]) -> dict[str, float]:
        """Every feature's threshold for `measure`: its override, or the default."""
        default = self.skew_threshold if measure == "skew" else self.drift_threshold
        return {name: self.feature_thresholds.get(name, default) for name in FEATURE_NAMES}


class Settings(Strict):
    env: Env
    role: Role
    project_id: ProjectId
    project_number: str = Field(pattern=r"^[0-9]{6,20}$")
    region: str = Field(pattern=REGION)
    peer: Env | None = Field(None, description="the other tenant of a non-prod/prod pair")
    state_bucket: str
    kms: KmsSettings
    buckets: BucketSettings
    service_accounts: dict[Identity, AccountId]
    bigquery_dataset: str = Field(pattern=DATASET)
    artifact_registry: ArtifactRegistrySettings | None = Field(None, description="not in prod")
    cloudbuild: CloudBuildSettings
    pipeline: PipelineSettings | None = Field(None, description="non-prod and interactive")
    serving: ServingSettings | None = Field(None, description="prod only")
    monitoring: MonitoringSettings | None = Field(None, description="prod only")

    _state_bucket = field_validator("state_bucket")(bucket_name)

    @model_validator(mode="after")
    def _fits_role(self) -> Settings:
        expected = set(IDENTITIES_BY_ROLE[self.role])
        if set(self.service_accounts) != expected:
            raise ValueError(
                f"service_accounts for a {self.role} tenant must be exactly "
                f"{', '.join(sorted(expected))}; got {', '.join(sorted(self.service_accounts))}"
            )
        if self.role == "interactive" and self.peer is not None:
            raise ValueError("an interactive (dev) tenant has no peer")
        if self.role != "interactive" and self.peer is None:
            raise ValueError(f"a {self.role} tenant needs its peer env")
        keys, optional = set(KEYS_BY_ROLE[self.role]), set(OPTIONAL_KEYS_BY_ROLE.get(self.role, ()))
        if not keys <= set(self.kms.keys) <= keys | optional:
            also = f" (and optionally {', '.join(sorted(optional))})" if optional else ""
            raise ValueError(
                f"kms.keys must be exactly {', '.join(sorted(keys))}{also} for the {self.role} "
                f"role; got {', '.join(sorted(self.kms.keys))}"
            )
        if self.cloudbuild.approvers and self.role != "prod":
            raise ValueError("cloudbuild.approvers: only prod's deploys are approved")
        wanted = {"serving", "monitoring"} if self.role == "prod" else {"pipeline"}
        for section in ("pipeline", "serving", "monitoring"):
            present = getattr(self, section) is not None
            if present != (section in wanted):
                verdict = "required" if section in wanted else "not used"
                raise ValueError(f"[{section}]: {verdict} in a {self.role} tenant")
        if self.role == "non-prod" and self.pipeline and not self.pipeline.retraining_schedule:
            raise ValueError("pipeline.retraining_schedule: a non-prod tenant retrains on a cron")
        self._fits_role_resources()
        return self

    def _fits_role_resources(self) -> None:
        """Prod runs no pipeline and builds no image: it serves what staging built."""
        builds = self.role != "prod"
        for field_name in ("pipeline_root", "templates", "pipeline_root_retention_days"):
            if (getattr(self.buckets, field_name) is not None) != builds:
                verdict = "required" if builds else "not used"
                raise ValueError(f"buckets.{field_name}: {verdict} in a {self.role} tenant")
        if (self.artifact_registry is not None) != builds:
            verdict = "required" if builds else "not used (prod serves the images staging built)"
            raise ValueError(f"[artifact_registry]: {verdict} in a {self.role} tenant")
        functions = self.artifact_registry.functions if self.artifact_registry else None
        if (functions is not None) != (self.role == "non-prod"):
            verdict = "required" if self.role == "non-prod" else "not used"
            raise ValueError(
                f"artifact_registry.functions: {verdict} in a {self.role} tenant "
                "(the retraining function's images)"
            )

    # Derived names: computed once here so stacks, pipelines and the preflight agree.

    def service_account_email(self, identity: Identity) -> str:
        return f"{self.service_accounts[identity]}@{self.project_id}.iam.gserviceaccount.com"

    def service_agent_email(self, agent: str) -> str:
        """A Google service agent (settings.SERVICE_AGENTS) in this tenant's project."""
        return service_agent_email(agent, self.project_number)

    def key_user_emails(self, purpose: KeyPurpose) -> tuple[str, ...]:
        """The service agents in this project that use the `purpose` key."""
        return tuple(self.service_agent_email(a) for a in key_users(purpose))

    @property
    def key_ring_id(self) -> str:
        return f"projects/{self.project_id}/locations/{self.region}/keyRings/{self.kms.key_ring}"

    def key_id(self, purpose: KeyPurpose) -> str:
        return f"{self.key_ring_id}/cryptoKeys/{self.kms.keys[purpose]}"

    @property
    def rotation_period(self) -> str:
        return f"{self.kms.rotation_days * 86400}s"

    def registry(self) -> ArtifactRegistrySettings:
        if self.artifact_registry is None:
            raise ValueError(f"{self.env} has no Artifact Registry: prod serves staging's images")
        return self.artifact_registry

    def image_repository_url(self) -> str:
        return f"{self.region}-docker.pkg.dev/{self.project_id}/{self.registry().images}"

    @property
    def retraining_topic(self) -> str:
        return "census-retraining"

    @property
    def approved_candidates_topic(self) -> str:
        """Prod's topic that starts census-deploy (promotion = "approval")."""
        return "census-approved-candidates"

    def template_uri(self, commit: str) -> str:
        """Where the staging build uploads the compiled pipeline, versioned by commit."""
        return f"gs://{self.buckets.templates}/census-promotion/{commit}.yaml"

    def template_repository_url(self) -> str:
        return f"https://{self.region}-kfp.pkg.dev/{self.project_id}/{self.registry().templates}"

    @property
    def keys_protected(self) -> bool:
        """Staging and prod keys survive `terraform destroy` (prevent_destroy); dev's may go."""
        return self.role in ("non-prod", "prod")

    @property
    def run_buckets(self) -> tuple[str, ...]:
        """The bucket purposes a run uses here (dev counts as non-prod)."""
        return RUN_BUCKETS["prod" if self.role == "prod" else "non-prod"]

    # The role-specific sections, for callers that already know the role.

    def pipeline_settings(self) -> PipelineSettings:
        if self.pipeline is None:
            raise UserError(f"{self.env} is a {self.role} env; the pipeline runs in non-prod")
        return self.pipeline

    def serving_settings(self) -> ServingSettings:
        if self.serving is None:
            raise UserError(f"{self.env} is a {self.role} env; the endpoint lives in prod")
        return self.serving

    def monitoring_settings(self) -> MonitoringSettings:
        if self.monitoring is None:
            raise UserError(f"{self.env} is a {self.role} env; monitoring lives in prod")
        return self.monitoring


class Platform(BaseModel):
    """All tenants together, so cross-tenant names are derived, not repeated."""

    model_config = ConfigDict(frozen=True)
    envs: dict[str, Settings]

    @model_validator(mode="after")
    def _peers(self) -> Platform:
        for name, settings in self.envs.items():
            if settings.peer is None:
                continue
            peer = self.envs.get(settings.peer)
            if peer is None:
                raise ValueError(f"{name}: peer {settings.peer!r} has no settings")
            if peer.peer != name:
                raise ValueError(f"{name}: peer {settings.peer} does not name {name} back")
            if {settings.role, peer.role} != {"non-prod", "prod"}:
                raise ValueError(f"{name}: peers must be one non-prod and one prod tenant")
            if peer.region != settings.region:
                raise ValueError(
                    f"{name}: region {settings.region} differs from peer {peer.env}'s "
                    f"{peer.region}; CMEK keys must sit in the pipeline's region"
                )
            if settings.role == "non-prod" and settings.pipeline is not None:
                _approval_needs(settings.pipeline.promotion, peer)
        projects = [s.project_id for s in self.envs.values()]
        if len(set(projects)) != len(projects):
            raise ValueError("every env needs its own project")
        return self

    def __getitem__(self, env: str) -> Settings:
        try:
            return self.envs[env]
        except KeyError:
            raise UserError(
                f"unknown env {env!r}; expected one of {', '.join(self.envs)}"
            ) from None

    def peer_of(self, env: str) -> Settings | None:
        peer = self[env].peer
        return self.envs[peer] if peer else None

    def prod_peer_of(self, env: str) -> Settings:
        """The prod tenant a non-prod env promotes to."""
        s = self[env]
        peer = self.peer_of(env)
        if s.role != "non-prod" or peer is None:
            raise UserError(f"the promotion pipeline runs in a non-prod env; {env} is {s.role}")
        return peer

    @cached_property
    def prod(self) -> Settings:
        return next(s for s in self.envs.values() if s.role == "prod")


def _approval_needs(promotion: str, prod: Settings) -> None:
    """What staging's `promotion` asks of prod: in approval mode, people who approve and a
    key for the topic of approved candidates; in canary mode, no such key (approvers are
    optional there: they approve prod's infrastructure applies)."""
    where = f"envs/{prod.env}/settings.toml"
    has_key = "pubsub" in prod.kms.keys
    if promotion == "approval":
        if not prod.cloudbuild.approvers:
            raise ValueError(
                f'{where}: cloudbuild.approvers: staging\'s promotion = "approval" needs '
                'the people who approve deploys, e.g. ["group:release-approvers@example.com"]'
            )
        if not has_key:
            raise ValueError(
                f'{where}: kms.keys.pubsub: staging\'s promotion = "approval" needs a key '
                'for the topic of approved candidates: add pubsub = "pubsub" to kms.keys'
            )
    elif has_key:  # approvers approve infrastructure applies in either mode
        raise ValueError(
            f'{where}: kms.keys.pubsub: only used when staging\'s promotion = "approval" '
            f"(it is {promotion!r}): remove it"
        )


class Price(Strict):
    """One list price, with when it was taken and where from (envs/prices.toml)."""

    usd: float = Field(ge=0)
    as_of: date
    source: str = Field(pattern=r"^https://")


class Prices(Strict):
    """The price table the cost estimates use; machine prices by machine type."""

    region: str = Field(pattern=REGION)
    training_hour: dict[str, Price]
    prediction_node_hour: dict[str, Price]
    pipeline_run: Price
    monitoring_gb_analyzed: Price
    bigquery_tib_scanned: Price
    bigquery_gb_month: Price
    bigquery_streaming_gb: Price
    storage_gb_month: Price
    kms_key_version_month: Price
