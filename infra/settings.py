"""Typed, validated environment settings: the one source of every name and threshold.

Each env keeps `envs/<env>/settings.toml`. The stacks, the pipeline's parameter defaults and
the preflight all read these objects; names one env needs from another (the staging
pipeline's service account in prod's grants, prod's deployer in staging's pipeline) are
derived from the other env's settings through `Platform`, never typed twice.
"""

from __future__ import annotations

import re
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mlops.errors import UserError, validation_problems

REPO_ROOT = Path(__file__).resolve().parent.parent
ENVS_DIR = REPO_ROOT / "envs"
ENV_NAMES: tuple[str, ...] = ("dev", "staging", "prod")
SETTINGS_FILE = "settings.toml"

Env = Literal["dev", "staging", "prod"]
Role = Literal["interactive", "non-prod", "prod"]
KeyPurpose = Literal["storage", "bigquery", "vertex", "artifacts", "pubsub"]
BucketPurpose = Literal["pipeline_root", "data", "models", "templates"]
Identity = Literal["pipeline", "trainer", "deployer", "serving", "build", "infra"]

# Which dedicated identities each tenant role has (DESIGN.md, "The three tenants").
IDENTITIES_BY_ROLE: dict[str, tuple[str, ...]] = {
    "interactive": ("pipeline", "trainer", "build", "infra"),
    "non-prod": ("pipeline", "trainer", "build", "infra"),
    "prod": ("deployer", "serving", "build", "infra"),
}

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
Fraction = Annotated[float, Field(ge=0, le=1)]
ProjectId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")]
AccountId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")]
ResourceName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,62}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KmsSettings(_Strict):
    key_ring: ResourceName
    rotation_days: int = Field(ge=1, le=90, description="key rotation period, 90 days or less")
    keys: dict[KeyPurpose, ResourceName]

    @field_validator("keys")
    @classmethod
    def _every_purpose(cls, keys: dict) -> dict:
        missing = sorted(set(get_args(KeyPurpose)) - set(keys))
        if missing:
            raise ValueError(f"a key is needed for every purpose; missing {', '.join(missing)}")
        return keys


class BucketSettings(_Strict):
    pipeline_root: str
    data: str
    models: str
    templates: str
    pipeline_root_retention_days: int = Field(30, ge=1, le=3650)
    noncurrent_retention_days: int = Field(30, ge=1, le=3650)

    @field_validator("pipeline_root", "data", "models", "templates")
    @classmethod
    def _bucket_name(cls, name: str) -> str:
        if not _BUCKET_RE.match(name) or "goog" in name:
            raise ValueError(f"{name!r} is not a valid Cloud Storage bucket name")
        return name

    def by_purpose(self) -> dict[str, str]:
        return {p: getattr(self, p) for p in get_args(BucketPurpose)}


class ArtifactRegistrySettings(_Strict):
    images: ResourceName
    templates: ResourceName


class CloudBuildSettings(_Strict):
    github_owner: str = Field(pattern=r"^[A-Za-z0-9-]+$")
    github_repo: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    promotion_branch: str = Field("staging", pattern=r"^[A-Za-z0-9._/-]+$")
    infra_branch: str = Field(pattern=r"^[A-Za-z0-9._/-]+$")
    pr_checks: bool = Field(False, description="this env's Cloud Build runs the PR checks")
    timeout_minutes: int = Field(60, ge=5, le=1440)


class PipelineSettings(_Strict):
    """Defaults of the promotion pipeline's parameters (the pipeline runs in non-prod)."""

    min_roc_auc: Fraction = 0.92
    min_accuracy: Fraction = 0.86
    max_slice_gap: Fraction = 0.15
    champion_margin: Fraction = 0.0
    training_machine_type: str = "n1-standard-4"
    # Retraining without a person: Cloud Scheduler publishes to the retraining topic.
    retraining_schedule: str = Field("0 3 * * 1", pattern=r"^(\S+\s+){4}\S+$")
    retraining_time_zone: str = "Etc/UTC"


class ServingSettings(_Strict):
    """The prod endpoint: canary size, machines, replicas, versions kept."""

    endpoint_id: str = Field(
        "4242000001", pattern=r"^[1-9][0-9]{0,9}$", description="Vertex endpoint ids are numeric"
    )
    canary_percent: int = Field(10, ge=1, le=100)
    machine_type: str = "n1-standard-2"
    min_replicas: int = Field(1, ge=1, le=100)
    max_replicas: int = Field(2, ge=1, le=100)
    versions_kept: int = Field(2, ge=1, le=20)
    # Canary analysis: the challenger is judged once it has served this many requests.
    canary_min_requests: int = Field(200, ge=1)
    canary_max_error_rate_increase: Fraction = 0.01
    canary_max_latency_ratio: float = Field(1.5, ge=1)
    canary_window_minutes: int = Field(60, ge=1, le=10_080)
    # Cloud Monitoring alert policies on the prod endpoint.
    alert_error_rate: Fraction = 0.02
    alert_latency_p99_ms: float = Field(500, gt=0)

    @model_validator(mode="after")
    def _replicas(self) -> ServingSettings:
        if self.max_replicas < self.min_replicas:
            raise ValueError(f"max_replicas {self.max_replicas} < min_replicas {self.min_replicas}")
        return self


class MonitoringSettings(_Strict):
    emails: list[str] = Field(min_length=1)
    skew_threshold: Fraction = 0.3
    drift_threshold: Fraction = 0.3
    feature_thresholds: dict[str, Fraction] = Field(default_factory=dict)
    sample_rate: float = Field(0.8, gt=0, le=1)
    interval_hours: int = Field(1, ge=1, le=24)

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
        from trainer.schema import FEATURE_NAMES

        unknown = sorted(set(thresholds) - set(FEATURE_NAMES))
        if unknown:
            raise ValueError(f"unknown feature(s) {', '.join(unknown)}")
        return thresholds


class Settings(_Strict):
    env: Env
    role: Role
    project_id: ProjectId
    project_number: str = Field(pattern=r"^[0-9]{6,20}$")
    region: str = Field(pattern=r"^[a-z]+-[a-z]+[0-9]$")
    peer: Env | None = Field(None, description="the other tenant of a non-prod/prod pair")
    state_bucket: str
    kms: KmsSettings
    buckets: BucketSettings
    service_accounts: dict[Identity, AccountId]
    bigquery_dataset: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$")
    artifact_registry: ArtifactRegistrySettings
    cloudbuild: CloudBuildSettings
    pipeline: PipelineSettings = PipelineSettings()
    serving: ServingSettings = ServingSettings()
    monitoring: MonitoringSettings

    @field_validator("state_bucket")
    @classmethod
    def _state_bucket(cls, name: str) -> str:
        return BucketSettings._bucket_name(name)

    @model_validator(mode="after")
    def _identities_match_role(self) -> Settings:
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
        return self

    # Derived names: computed once here so stacks, pipelines and the preflight agree.

    def service_account_email(self, identity: str) -> str:
        return f"{self.service_accounts[identity]}@{self.project_id}.iam.gserviceaccount.com"

    @property
    def key_ring_id(self) -> str:
        return f"projects/{self.project_id}/locations/{self.region}/keyRings/{self.kms.key_ring}"

    def key_id(self, purpose: str) -> str:
        return f"{self.key_ring_id}/cryptoKeys/{self.kms.keys[purpose]}"

    @property
    def rotation_period(self) -> str:
        return f"{self.kms.rotation_days * 86400}s"

    def image_repository_url(self) -> str:
        return f"{self.region}-docker.pkg.dev/{self.project_id}/{self.artifact_registry.images}"

    @property
    def retraining_topic(self) -> str:
        return "census-retraining"

    def template_uri(self, commit: str) -> str:
        """Where the staging build uploads the compiled pipeline, versioned by commit."""
        return f"gs://{self.buckets.templates}/census-promotion/{commit}.yaml"

    def template_repository_url(self) -> str:
        return f"https://{self.region}-kfp.pkg.dev/{self.project_id}/{self.artifact_registry.templates}"


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

    @cached_property
    def prod(self) -> Settings:
        return next(s for s in self.envs.values() if s.role == "prod")

    @cached_property
    def non_prod(self) -> Settings:
        return next(s for s in self.envs.values() if s.role == "non-prod")


def settings_path(env: str, envs_dir: Path = ENVS_DIR) -> Path:
    return envs_dir / env / SETTINGS_FILE


def _describe(exc: ValidationError, path: Path) -> str:
    problems = []
    for p in validation_problems(exc):
        shown = "" if isinstance(p.value, dict) or p.kind == "missing" else f" (got {p.value!r})"
        problems.append(f"{p.field}: {p.message}{shown}" if p.field else p.message)
    return f"{path}: " + "; ".join(problems)


def load_settings(env: str, envs_dir: Path = ENVS_DIR) -> Settings:
    if env not in ENV_NAMES:
        raise UserError(f"unknown env {env!r}; expected one of {', '.join(ENV_NAMES)}")
    path = settings_path(env, envs_dir)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{path}: settings file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML ({exc})") from None
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise UserError(_describe(exc, path)) from None
    if settings.env != env:
        raise UserError(f"{path}: env: says {settings.env!r} but the file is in envs/{env}/")
    return settings


def load_platform(envs_dir: Path = ENVS_DIR) -> Platform:
    envs = {env: load_settings(env, envs_dir) for env in ENV_NAMES}
    try:
        return Platform(envs=envs)
    except ValidationError as exc:
        raise UserError(_describe(exc, envs_dir)) from None
