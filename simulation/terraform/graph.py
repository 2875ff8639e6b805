"""A synthesized stack as Terraform walks it: its resources and data sources in dependency
order (`depends_on` and `${...}` references), each body resolved from what its ancestors
returned when they were applied, and what each names that must already exist. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from typing import Any

from infra.policy.rules import strings_of
from settings import AGENT_DATA_SOURCE_APIS, AGENT_EMAIL_BY_API, logging_writer_email
from simulation.terraform.provider import account_email

REF = re.compile(r"\$\{(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)(?:\.([A-Za-z0-9_.\[\]]+))?\}")
_EMAIL = re.compile(r"[a-z0-9][a-z0-9.-]*@[a-z0-9.-]+\.iam\.gserviceaccount\.com")
KEY = re.compile(r"projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/\s]+")
_RING = re.compile(r"projects/[^/]+/locations/[^/]+/keyRings/[^/\s]+$")
_ROLE = re.compile(r"projects/[^/]+/roles/[A-Za-z0-9_.]+")
# Fields that name a resource by its bare name: (field → kind).
NAMED_BY_FIELD = {"bucket": "bucket", "dataset_id": "dataset", "repository": "repository"}
# Fields that name the resource itself, not something it needs.
_OWN_FIELDS = {("google_bigquery_dataset", "dataset_id")}
KMS_FIELDS = ("kms_key_name", "default_kms_key_name")
__all__ = ["Node", "ancestors", "keys_used", "named", "nodes", "outputs", "resolve", "strings_of"]
_META = ("//", "depends_on", "lifecycle", "provider", "count", "for_each")


@dataclass
class Node:
    address: str  # google_storage_bucket.x or data.google_...
    rtype: str
    data: bool  # a data source: read on every plan, never created
    project: str
    region: str
    body: dict  # as synthesized, without Terraform's meta-arguments
    parents: frozenset[str] = field(default_factory=frozenset)
    protected: bool = False  # lifecycle.prevent_destroy


def nodes(stack: dict) -> dict[str, Node]:
    """Every resource and data source of `stack`, in an order Terraform could apply them."""
    google = stack["provider"]["google"][0]
    found: dict[str, Node] = {}
    for kind, prefix in (("resource", ""), ("data", "data.")):
        for rtype, by_name in stack.get(kind, {}).items():
            for name, raw in by_name.items():
                body = {k: v for k, v in raw.items() if k not in _META}
                refs = {_address(m) for _, s in strings_of(body) for m in REF.finditer(s)}
                address = f"{prefix}{rtype}.{name}"
                found[address] = Node(
                    address,
                    rtype,
                    kind == "data",
                    body.get("project", google["project"]),
                    body.get("location", body.get("region", google["region"])),
                    body,
                    frozenset(refs | set(raw.get("depends_on", []))),
                    bool((raw.get("lifecycle") or {}).get("prevent_destroy")),
                )
    for node in found.values():
        unknown = sorted(node.parents - found.keys())
        if unknown:
            raise ValueError(f"{node.address} depends on {unknown[0]}, which the stack lacks")
    order = TopologicalSorter({a: n.parents for a, n in found.items()})
    return {a: found[a] for a in order.static_order()}


def ancestors(found: dict[str, Node]) -> dict[str, set[str]]:
    """Everything each node waits for, directly or not (`found` in nodes()' order)."""
    result: dict[str, set[str]] = {}
    for address, node in found.items():
        result[address] = set(node.parents).union(*(result[p] for p in node.parents))
    return result


def _address(m: re.Match) -> str:
    return f"{'data.' if m.group(1) else ''}{m.group(2)}.{m.group(3)}"


def resolve(value: Any, outputs: dict[str, dict[str, str]]) -> Any:
    """`value` with every `${address.attribute}` its ancestors returned replaced."""
    if isinstance(value, str):

        def sub(m: re.Match) -> str:
            return outputs.get(_address(m), {}).get(m.group(4) or "id", m.group(0))

        return REF.sub(sub, value)
    if isinstance(value, dict):
        return {k: resolve(v, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, outputs) for v in value]
    return value


def outputs(node: Node, body: dict, number: str) -> dict[str, str]:
    """The attributes an apply of `node` (its resolved `body`) returns, as the provider names
    them; `number` is the project's number (agents are named by it)."""
    p, rtype = node.project, node.rtype
    if rtype == "google_service_account":
        email = account_email(body, p)
        return {"email": email, "member": f"serviceAccount:{email}",
                "id": f"projects/{p}/serviceAccounts/{email}", "name": email}  # fmt: skip
    agent = made_agent(node, body, number)
    if agent:
        return {"email": agent, "email_address": agent, "member": f"serviceAccount:{agent}"}
    if rtype == "google_kms_key_ring":
        return {"id": f"projects/{p}/locations/{body['location']}/keyRings/{body['name']}"}
    if rtype == "google_kms_crypto_key":
        return {"id": f"{body['key_ring']}/cryptoKeys/{body['name']}"}
    if rtype == "google_storage_bucket":
        return {"name": body["name"], "id": body["name"], "url": f"gs://{body['name']}"}
    if rtype == "google_bigquery_dataset":
        return {
            "dataset_id": body["dataset_id"],
            "id": f"projects/{p}/datasets/{body['dataset_id']}",
        }
    if rtype == "google_artifact_registry_repository":
        repo = f"projects/{p}/locations/{body['location']}/repositories/{body['repository_id']}"
        return {"id": repo, "name": body["repository_id"]}
    if rtype == "google_project_iam_custom_role":
        role = f"projects/{p}/roles/{body['role_id']}"
        return {"id": role, "name": role}
    if rtype == "google_pubsub_topic":
        return {"id": f"projects/{p}/topics/{body['name']}", "name": body["name"]}
    if rtype == "google_storage_bucket_object":
        return {"name": body["name"], "id": f"{body['bucket']}-{body['name']}"}
    if rtype == "google_cloudbuild_trigger":
        from simulation.world import trigger_id

        tid = trigger_id(p, body["name"])
        return {"trigger_id": tid, "id": f"projects/{p}/locations/global/triggers/{tid}"}
    if rtype in ("google_vertex_ai_endpoint", "google_vertex_ai_metadata_store"):
        kind = "endpoints" if rtype.endswith("endpoint") else "metadataStores"
        where = body.get("location", body.get("region", node.region))
        return {"id": f"projects/{p}/locations/{where}/{kind}/{body['name']}", "name": body["name"]}
    if rtype == "google_monitoring_notification_channel":
        return {"id": f"projects/{p}/notificationChannels/{_digits(node.address)}"}
    return {"id": f"{rtype}/{node.address}"}


def made_agent(node: Node, body: dict, number: str) -> str | None:
    """The Google service agent that applying or reading `node` brings into being."""
    if node.rtype == "google_project_service_identity":
        return AGENT_EMAIL_BY_API[body["service"]].format(n=number)
    if node.rtype in AGENT_DATA_SOURCE_APIS:
        return AGENT_EMAIL_BY_API[AGENT_DATA_SOURCE_APIS[node.rtype]].format(n=number)
    if node.rtype == "google_logging_project_sink":  # its writer identity: the Logging agent
        return logging_writer_email(number)
    return None


def _digits(text: str) -> str:
    """A stable numeric id, as Monitoring gives a channel."""
    return str(int.from_bytes(text.encode()[-6:], "big"))


def named(body: dict, rtype: str = "") -> set[tuple[str, str]]:
    """What a resolved body of `rtype` names that must exist before it: (kind, id)."""
    found: set[tuple[str, str]] = set()
    for field_name, text in strings_of(body):
        if (rtype, field_name) in _OWN_FIELDS:
            continue
        if REF.search(text):
            continue  # unresolved: not applied yet
        found |= {("identity", e) for e in _EMAIL.findall(text)}
        if KEY.fullmatch(text):
            found.add(("key", text))
        elif _RING.fullmatch(text):
            found.add(("key ring", text))
        if _ROLE.fullmatch(text):
            found.add(("role", text))
        if field_name in NAMED_BY_FIELD:
            found.add((NAMED_BY_FIELD[field_name], text))
        if field_name == "service" and not text.endswith(".googleapis.com"):
            found.add(("function", text))  # a Cloud Run service IAM member names the function
    return found


def keys_used(body: dict) -> set[str]:
    """The CMEK keys a resolved body encrypts with."""
    return {s for f, s in strings_of(body) if f in KMS_FIELDS and KEY.fullmatch(s)}
