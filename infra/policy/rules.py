"""The project's own policy rules, as pure functions over one stack's synthesized JSON.

Each rule yields Violations naming the resource address and what is wrong. Rules read the
Terraform JSON, not the constructs, so they judge exactly what would be deployed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from infra.iam import ALL_CUSTOM_ROLES
from kernel import gcp_iam
from kernel.images import is_pinned

MAX_ROTATION_SECONDS = 90 * 86400
PRIMITIVE_ROLES = {"roles/owner", "roles/editor", "roles/viewer"}
PUBLIC_MEMBERS = {"allUsers", "allAuthenticatedUsers"}
# Default identities a workload must never run as or be granted to.
DEFAULT_IDENTITY = re.compile(
    r"(-compute@developer\.gserviceaccount\.com|@cloudbuild\.gserviceaccount\.com"
    r"|@appspot\.gserviceaccount\.com)$"
)
IAM_TYPES = re.compile(r"^google_.*_iam_(member|binding|policy)$")
TOKEN_ROLES = {"roles/iam.serviceAccountTokenCreator", "roles/iam.workloadIdentityUser"}

# Where each data-bearing resource type keeps its CMEK key.
CMEK_FIELDS: dict[str, tuple[str, ...]] = {
    "google_storage_bucket": ("encryption", "default_kms_key_name"),
    "google_bigquery_dataset": ("default_encryption_configuration", "kms_key_name"),
    "google_artifact_registry_repository": ("kms_key_name",),
    "google_vertex_ai_metadata_store": ("encryption_spec", "kms_key_name"),
    "google_vertex_ai_endpoint": ("encryption_spec", "kms_key_name"),
    "google_vertex_ai_dataset": ("encryption_spec", "kms_key_name"),
    "google_vertex_ai_featurestore": ("encryption_spec", "kms_key_name"),
    "google_vertex_ai_index": ("encryption_spec", "kms_key_name"),
    "google_pubsub_topic": ("kms_key_name",),
}


@dataclass(frozen=True, order=True)
class Violation:
    rule: str
    resource: str
    message: str

    def __str__(self) -> str:
        return f"{self.resource}: [{self.rule}] {self.message}"


@dataclass(frozen=True)
class StackFacts:
    """What a rule may know besides the JSON: whether this env protects its keys, the
    cross-project token creators the design allows ((member email, service account id)), and
    the Docker repositories nothing pulls from by tag (repository id: why)."""

    protect_keys: bool
    token_creators: frozenset[tuple[str, str]] = frozenset()
    mutable_repositories: tuple[tuple[str, str], ...] = ()


def resources(stack: dict) -> Iterator[tuple[str, str, dict]]:
    for rtype, by_name in stack.get("resource", {}).items():
        for name, body in by_name.items():
            yield rtype, f"{rtype}.{name}", body


def _dig(body: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if isinstance(body, list):
            body = body[0] if body else None
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def cmek_everywhere(stack: dict, facts: StackFacts) -> Iterator[Violation]:
    for rtype, address, body in resources(stack):
        path = CMEK_FIELDS.get(rtype)
        if path and not _dig(body, path):
            yield Violation("cmek", address, f"no CMEK key ({'.'.join(path)} is unset)")


def _members(body: dict) -> list[str]:
    members = body.get("members") or []
    return [body["member"], *members] if body.get("member") else list(members)


def iam_roles(stack: dict, facts: StackFacts) -> Iterator[Violation]:
    for rtype, address, body in resources(stack):
        if not IAM_TYPES.match(rtype):
            continue
        role = body.get("role", "")
        if role in PRIMITIVE_ROLES:
            yield Violation("no-primitive-roles", address, f"primitive role {role}")
        if role.endswith(".admin") or role.endswith("Admin"):
            yield Violation("no-admin-roles", address, f"admin role {role} for a workload")
        for member in _members(body):
            if member in PUBLIC_MEMBERS:
                yield Violation("no-public-members", address, f"public member {member}")
            if DEFAULT_IDENTITY.search(member):
                yield Violation("no-default-identities", address, f"default identity {member}")


def key_rotation(stack: dict, facts: StackFacts) -> Iterator[Violation]:
    for rtype, address, body in resources(stack):
        if rtype != "google_kms_crypto_key":
            continue
        period = body.get("rotation_period")
        seconds = float(period.rstrip("s")) if period else None
        if seconds is None or seconds > MAX_ROTATION_SECONDS:
            yield Violation("key-rotation", address, f"rotation {period or 'unset'} > 90 days")
        if facts.protect_keys and not _dig(body, ("lifecycle", "prevent_destroy")):
            yield Violation("key-prevent-destroy", address, "lifecycle.prevent_destroy is off")


def bucket_hardening(stack: dict, facts: StackFacts) -> Iterator[Violation]:
    for rtype, address, body in resources(stack):
        if rtype != "google_storage_bucket":
            continue
        if body.get("uniform_bucket_level_access") is not True:
            yield Violation("bucket-ubla", address, "uniform bucket-level access is off")
        if body.get("public_access_prevention") != "enforced":
            yield Violation("bucket-pap", address, "public access prevention is not enforced")
        versioned = _dig(body, ("versioning", "enabled")) is True
        for i, rule in enumerate(body.get("lifecycle_rule") or []):
            condition = rule.get("condition") or {}
            if not condition:
                yield Violation(
                    "lifecycle-matches", address, f"lifecycle_rule[{i}] has no condition"
                )
            noncurrent = {
                "days_since_noncurrent_time",
                "num_newer_versions",
                "noncurrent_time_before",
            }
            if noncurrent & set(condition) and not versioned:
                yield Violation(
                    "lifecycle-matches",
                    address,
                    f"lifecycle_rule[{i}] matches noncurrent versions but versioning is off",
                )


def metadata_store_default(stack: dict, facts: StackFacts) -> Iterator[Violation]:
    for rtype, address, body in resources(stack):
        if rtype == "google_vertex_ai_metadata_store" and body.get("name") != "default":
            yield Violation(
                "metadata-store-default", address, "not named 'default': pipelines ignore it"
            )


def storage_access_audited(stack: dict, facts: StackFacts) -> Iterator[Violation]:
    buckets = [a for t, a, _ in resources(stack) if t == "google_storage_bucket"]
    audited = any(
        t == "google_project_iam_audit_config" and b.get("service") == "storage.googleapis.com"
        for t, _, b in resources(stack)
    )
    if buckets and not audited:
        yield Violation(
            "storage-access-logged", buckets[0], "no data-access audit logs for Cloud Storage"
        )


def _custom_roles(stack: dict) -> dict[str, frozenset[str]]:
    return {
        f"projects/{b['project']}/roles/{b['role_id']}": frozenset(b["permissions"])
        for t, _, b in resources(stack)
        if t == "google_project_iam_custom_role"
    }


def _identity(trigger: dict) -> str:
    return trigger.get("service_account", "").rsplit("/", 1)[-1]


# What every build's identity must do, and which changes no resource: write the build's
# logs (roles/logging.logWriter; Cloud Build refuses to start a build that cannot).
BUILD_LOGS = frozenset({"logging.logEntries.create", "logging.logEntries.route"})


def pull_requests_read_only(stack: dict, facts: StackFacts) -> Iterator[Violation]:
    """A trigger a pull request can start must run as an identity that can change nothing:
    every permission its bindings grant (in this stack) only reads, but its own logs."""
    custom = _custom_roles(stack)
    for rtype, address, body in resources(stack):
        github = body.get("github") or {}
        if rtype != "google_cloudbuild_trigger" or not github.get("pull_request"):
            continue
        who = f"serviceAccount:{_identity(body)}"
        writes, granted = set(), False
        for t, _, binding in resources(stack):
            if IAM_TYPES.match(t) and who in _members(binding):
                granted = True
                role = binding["role"]
                permissions = custom.get(role) or gcp_iam.role_permissions(role)
                writes |= {p for p in permissions if not gcp_iam.is_read_only(p)} - BUILD_LOGS
        if not granted:  # its powers come from elsewhere (bootstrap): they cannot be judged
            yield Violation(
                "pull-requests-read-only",
                address,
                f"a pull request can start it as {_identity(body)}, whose roles this stack "
                "does not grant, so nothing shows they only read",
            )
        if writes:
            yield Violation(
                "pull-requests-read-only",
                address,
                f"a pull request can start it as {_identity(body)}, which may write "
                f"({', '.join(sorted(writes)[:4])}{', ...' if len(writes) > 4 else ''})",
            )
        if github["pull_request"].get("comment_control") in (None, "COMMENTS_DISABLED"):
            yield Violation(
                "pull-requests-read-only",
                address,
                "anyone's pull request starts it: set comment_control so untrusted "
                "contributors wait for an owner's /gcbrun",
            )


def immutable_images(stack: dict, facts: StackFacts) -> Iterator[Violation]:
    """A Docker repository whose tags can be moved serves whatever was pushed last."""
    for rtype, address, body in resources(stack):
        docker = rtype == "google_artifact_registry_repository" and body.get("format") == "DOCKER"
        exempt = body.get("repository_id") in dict(facts.mutable_repositories)
        if docker and not exempt and not (body.get("docker_config") or {}).get("immutable_tags"):
            yield Violation("immutable-image-tags", address, "tags can be overwritten")


_IMAGE_REF = re.compile(
    r"^(?:[a-z0-9-]+-docker\.pkg\.dev|(?:[a-z]+\.)?gcr\.io|docker\.io)/[a-z0-9._/-]+"
    r"(?P<tag>:[A-Za-z0-9_.-]+)?(?:@sha256:[0-9a-f]{64})?$"
)
IMAGE_FIELDS = {"image", "image_uri", "container_image"}  # an untagged name there means :latest


def pinned_images(stack: dict, facts: StackFacts) -> Iterator[Violation]:
    """Whatever the stacks run (a container, a model server) runs one build, named by its
    digest: an image reference by tag runs whatever was pushed last under it."""
    for _, address, body in resources(stack):
        for field_name, value in strings_of(body):
            ref = _IMAGE_REF.match(value)
            if not ref or is_pinned(value):
                continue
            if ref.group("tag") or field_name in IMAGE_FIELDS:
                yield Violation(
                    "mutable-image-reference",
                    address,
                    f"{value} is not pinned by digest (use REPOSITORY/NAME@sha256:...)",
                )


def strings_of(value, name: str = "") -> Iterator[tuple[str, str]]:
    """(field name, value) for every string in a body, at any depth."""
    if isinstance(value, str):
        yield name, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings_of(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from strings_of(v, name)


def token_creators(stack: dict, facts: StackFacts) -> Iterator[Violation]:
    """Minting a service account's tokens from another project is a cross-tenant write path:
    only the ones the design names (facts.token_creators) may exist."""
    for rtype, address, body in resources(stack):
        if rtype != "google_service_account_iam_member" or not _mints_tokens(body["role"]):
            continue
        target = body["service_account_id"].split("/")[1]
        member = body["member"].split(":", 1)[-1]
        other_project = member.split("@", 1)[-1].split(".")[0] != target
        if other_project and (member, body["service_account_id"]) not in facts.token_creators:
            yield Violation(
                "cross-project-token-creators",
                address,
                f"{member} (another project) may mint tokens of {body['service_account_id']}",
            )


def _mints_tokens(role: str) -> bool:
    """A predefined token role, or one of this repository's custom roles that may mint."""
    if role in TOKEN_ROLES:
        return True
    minting = {"iam.serviceAccounts.getAccessToken", "iam.serviceAccounts.signJwt"}
    role_id = role.rsplit("/", 1)[-1]
    return any(r.role_id == role_id and minting & set(r.permissions) for r in ALL_CUSTOM_ROLES)


RULES: tuple[Callable[[dict, StackFacts], Iterator[Violation]], ...] = (
    cmek_everywhere,
    iam_roles,
    key_rotation,
    bucket_hardening,
    metadata_store_default,
    storage_access_audited,
    pull_requests_read_only,
    immutable_images,
    pinned_images,
    token_creators,
)


def check(stack: dict, facts: StackFacts) -> list[Violation]:
    return sorted(v for rule in RULES for v in rule(stack, facts))
