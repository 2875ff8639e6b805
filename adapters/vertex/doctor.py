"""`mlops doctor`: the preflight a run cannot skip, found before a run starts, not 20 min in.

Pure core: what must hold (expectations, from settings) and what is wrong (judging the facts
the shell gathered). Shell: read keys, their IAM policies, buckets and the dataset with the
Google Cloud clients, and ask KMS which of the caller's permissions hold.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from kernel import gcp
from kernel.errors import UserError
from promotion.ports import Problem
from settings import AGENT_NAMES, ENCRYPTER_DECRYPTER, Platform, key_users
from settings.model import KeyPurpose

# The purposes whose keys a run touches, in either tenant.
KEYS_USED: tuple[KeyPurpose, ...] = ("vertex", "storage", "bigquery")
CALLER_PERMISSIONS = ("cloudkms.cryptoKeys.get", "cloudkms.cryptoKeys.getIamPolicy")
# The custom role the stacks grant the submitter for exactly these (infra.iam.PREFLIGHT_ROLE).
PREFLIGHT_ROLE_ID = "the census preflight role (custom censusPreflight)"


@dataclass(frozen=True)
class KeyExpectation:
    key_id: str
    region: str
    members: tuple[tuple[str, str], ...]  # (member, who it is)
    deploy_fix: str


@dataclass
class KeyFacts:
    exists: bool
    primary_state: str | None = None  # e.g. ENABLED, DISABLED, DESTROYED
    encrypters: set[str] = field(default_factory=set)  # members with encrypter/decrypter
    caller_permissions: set[str] = field(default_factory=set)


def key_location(key_id: str) -> str:
    parts = key_id.split("/")
    return parts[parts.index("locations") + 1]


def expectations(platform: Platform, env: str) -> list[KeyExpectation]:
    s = platform[env]
    fix = f"cd envs/{env} && cdktf deploy"
    out = []
    for purpose in KEYS_USED:
        members = tuple(
            (f"serviceAccount:{s.service_agent_email(a)}", f"{s.env} {AGENT_NAMES[a]}")
            for a in key_users(purpose)
        )
        out.append(
            KeyExpectation(
                key_id=s.key_id(purpose), region=s.region, members=members, deploy_fix=fix
            )
        )
    return out


def judge_key(expected: KeyExpectation, facts: KeyFacts) -> list[Problem]:
    key = expected.key_id
    if not facts.exists:
        return [Problem(key, "key does not exist", expected.deploy_fix)]
    problems = []
    location = key_location(key)
    if location != expected.region:
        problems.append(
            Problem(
                key,
                f"key is in {location}, the pipeline runs in "
                f"{expected.region}; CMEK keys must share the region",
                "set kms settings to a key ring in the pipeline's region",
            )
        )
    if facts.primary_state != "ENABLED":
        problems.append(
            Problem(
                key,
                f"primary version is {facts.primary_state or 'missing'}",
                f"gcloud kms keys versions enable (or restore) on {key}",
            )
        )
    for member, who in expected.members:
        if member not in facts.encrypters:
            problems.append(
                Problem(key, f"{who} ({member}) lacks {ENCRYPTER_DECRYPTER}", expected.deploy_fix)
            )
    missing = sorted(set(CALLER_PERMISSIONS) - facts.caller_permissions)
    if missing:
        problems.append(
            Problem(
                key,
                f"the caller lacks {', '.join(missing)}, so the preflight cannot verify this key",
                f"grant {PREFLIGHT_ROLE_ID} on the key ring to the caller ({expected.deploy_fix})",
            )
        )
    return problems


def judge_buckets(
    expected: Mapping[str, str], found: Mapping[str, str | None], env: str
) -> list[Problem]:
    """`found`: bucket -> its default KMS key, or absent when the bucket does not exist."""
    problems = []
    for bucket, key in expected.items():
        if bucket not in found:
            problems.append(
                Problem(f"gs://{bucket}", "bucket does not exist", f"cd envs/{env} && cdktf deploy")
            )
        elif found[bucket] != key:
            problems.append(
                Problem(
                    f"gs://{bucket}",
                    f"default KMS key is {found[bucket]}, expected {key}",
                    f"cd envs/{env} && cdktf deploy",
                )
            )
    return problems


def judge_dataset(
    dataset: str, found_key: str | None, exists: bool, expected_key: str, env: str
) -> list[Problem]:
    if not exists:
        return [Problem(dataset, "dataset does not exist", f"cd envs/{env} && cdktf deploy")]
    if found_key != expected_key:
        return [
            Problem(
                dataset,
                f"default CMEK key is {found_key}, expected {expected_key}",
                f"cd envs/{env} && cdktf deploy",
            )
        ]
    return []


def denied(resource: str, permission: str | None, env: str) -> Problem:
    """The caller may not read `resource`: name what is missing and where it is granted."""
    what = permission or "read access"
    return Problem(
        resource,
        f"the caller lacks {what}, so the preflight cannot verify it",
        f"grant it to the submitter in infra/iam.py (preflight_grants), then "
        f"cd envs/{env} && cdktf deploy",
    )


def checked_buckets(platform: Platform, env: str) -> dict[str, str]:
    """The buckets a run uses in `env`, each with the key it must be encrypted with."""
    s = platform[env]
    return {getattr(s.buckets, p): s.key_id("storage") for p in s.run_buckets}


def preflight(platform: Platform, env: str) -> list[Problem]:
    """The shell: gather facts from Google Cloud as the caller, and judge them.

    A fact the caller may not read becomes a Problem naming the missing permission (Google
    answers 403 both for a missing grant and, to the ungranted, for a missing resource).
    """
    s = platform[env]
    try:
        import google.auth
        from google.api_core import exceptions
        from google.cloud import bigquery, kms, storage

        google.auth.default()
    except Exception as exc:  # DefaultCredentialsError and friends
        raise UserError(
            f"no Google Cloud credentials ({exc.__class__.__name__}): run "
            "`gcloud auth application-default login` (`mlops submit --dry-run` prints a "
            "run's request without any)"
        ) from None
    problems: list[Problem] = []
    client = kms.KeyManagementServiceClient(
        transport=gcp.transport("cloudkms"), client_options=gcp.client_options("cloudkms")
    )
    for expected in expectations(platform, env):
        try:
            key = client.get_crypto_key(name=expected.key_id)
            policy = client.get_iam_policy(request={"resource": expected.key_id})
            granted = client.test_iam_permissions(
                request={"resource": expected.key_id, "permissions": list(CALLER_PERMISSIONS)}
            )
            facts = KeyFacts(
                exists=True,
                primary_state=key.primary.state.name if key.primary else None,
                encrypters={
                    m for b in policy.bindings if b.role == ENCRYPTER_DECRYPTER for m in b.members
                },
                caller_permissions=set(granted.permissions),
            )
        except exceptions.NotFound:
            facts = KeyFacts(exists=False)
        except exceptions.Forbidden as exc:
            problems.append(denied(expected.key_id, _permission(exc), env))
            continue
        problems += judge_key(expected, facts)
    gcs = storage.Client(project=s.project_id, client_options=gcp.client_options("storage"))
    expected_buckets = checked_buckets(platform, env)
    found = {}
    for bucket in expected_buckets:
        try:
            existing = gcs.lookup_bucket(bucket)
        except exceptions.Forbidden as exc:
            problems.append(denied(f"gs://{bucket}", _permission(exc), env))
            found[bucket] = expected_buckets[bucket]  # judged as unknown, not as wrong
            continue
        if existing is not None:
            found[bucket] = existing.default_kms_key_name
    problems += judge_buckets(expected_buckets, found, env)
    if s.role == "prod":
        return problems  # runs use the non-prod dataset only
    bq = bigquery.Client(project=s.project_id, client_options=gcp.client_options("bigquery"))
    try:
        dataset = bq.get_dataset(f"{s.project_id}.{s.bigquery_dataset}")
        config = dataset.default_encryption_configuration
        problems += judge_dataset(
            dataset.dataset_id,
            config.kms_key_name if config else None,
            True,
            s.key_id("bigquery"),
            env,
        )
    except exceptions.NotFound:
        problems += judge_dataset(s.bigquery_dataset, None, False, s.key_id("bigquery"), env)
    except exceptions.Forbidden as exc:
        problems.append(
            denied(f"dataset {s.project_id}.{s.bigquery_dataset}", _permission(exc), env)
        )
    return problems


def _permission(exc) -> str | None:
    """The permission Google says was missing (ErrorInfo metadata, or the message)."""
    metadata = getattr(exc, "metadata", None) or {}
    if metadata.get("permission"):
        return metadata["permission"]
    match = re.search(r"[Pp]ermission '?([a-z]+\.[A-Za-z]+\.[A-Za-z]+)'?", str(exc))
    return match.group(1) if match else None


class VertexPreflight:
    """promotion.ports.Preflight on Google Cloud, as the caller."""

    def problems(self, platform: Platform, env: str) -> list[Problem]:
        return preflight(platform, env)
