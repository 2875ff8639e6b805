"""The first apply, played over the synthesized JSON from empty projects.

Terraform applies a resource once everything it depends on (its `depends_on` and the
`${...}` references in its body) is applied, and everything else in parallel. So at the moment
a resource is created, what exists is what earlier stacks made plus what its own ancestors
made. `play` walks FIRST_APPLY (the order docs/infra.md gives) and reports every resource that,
at that moment, names something that does not exist yet: a service account, a service agent,
a bucket, a key or key ring, a dataset, a repository, a custom role, the function; a resource
encrypted with a key whose grants to the agents that use it are not yet in place; a resource
whose API is not yet enabled. Service agents exist once Google is asked for them: by
`google_project_service_identity`, or by the Cloud Storage and BigQuery data sources.

Pure: JSON in, findings out. The projects exist (created outside the stacks, with Service
Usage and Resource Manager on, and BigQuery's encryption agent asked for, as `docs/infra.md`
"Bootstrapping" says); nothing else does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from graphlib import TopologicalSorter

from infra.policy.rules import strings_of
from settings import (
    AGENT_DATA_SOURCE_APIS,
    AGENT_EMAIL_BY_API,
    BOOTSTRAP_AGENT_APIS,
    logging_writer_email,
)

# Each tenant's own stack on empty projects (dev is independent), then the grants in each
# project whose members live in the other, once both tenants' identities exist.
FIRST_APPLY = ("dev", "staging", "prod", "staging-cross-tenant", "prod-cross-tenant")

# Which API a resource type needs on (resource types not listed need none of ours).
API_OF_TYPE = (
    ("google_kms_", "cloudkms"),
    ("google_storage_", "storage"),
    ("google_bigquery_", "bigquery"),
    ("google_artifact_registry_", "artifactregistry"),
    ("google_vertex_ai_", "aiplatform"),
    ("google_service_account", "iam"),
    ("google_project_iam_custom_role", "iam"),
    ("google_cloudbuild_", "cloudbuild"),
    ("google_pubsub_", "pubsub"),
    ("google_cloud_scheduler_", "cloudscheduler"),
    ("google_cloudfunctions2_", "cloudfunctions"),
    ("google_cloud_run_", "run"),
    ("google_monitoring_", "monitoring"),
)
KMS_FIELDS = {"kms_key_name", "default_kms_key_name"}
_REF = re.compile(r"\$\{(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)(?:\.([A-Za-z0-9_.\[\]]+))?\}")
_EMAIL = re.compile(r"[a-z0-9][a-z0-9.-]*@[a-z0-9.-]+\.iam\.gserviceaccount\.com")
_KEY = re.compile(r"projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/\s]+")
_RING = re.compile(r"projects/[^/]+/locations/[^/]+/keyRings/[^/\s]+$")
_ROLE = re.compile(r"projects/[^/]+/roles/[A-Za-z0-9_.]+")
# Fields that name a resource by its bare name: (entity kind, field).
NAMED_BY_FIELD = {
    "bucket": "bucket",
    "dataset_id": "dataset",
    "repository": "repository",
}


@dataclass(frozen=True)
class Finding:
    step: str
    address: str
    problem: str

    def __str__(self) -> str:
        return f"{self.step}: {self.address}: {self.problem}"


@dataclass
class Step:
    stack: str
    resources: int  # resources and data sources
    waves: int  # the longest dependency chain: how many rounds terraform needs at least


@dataclass
class Play:
    steps: list[Step] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


@dataclass
class _Node:
    address: str
    rtype: str
    project: str
    body: dict
    parents: set[str] = field(default_factory=set)
    makes: set[tuple[str, str]] = field(default_factory=set)
    needs: set[tuple[str, str]] = field(default_factory=set)
    keys_used: set[str] = field(default_factory=set)


def _nodes(stack: dict, numbers: dict[str, str]) -> dict[str, _Node]:
    project = stack["provider"]["google"][0]["project"]
    nodes: dict[str, _Node] = {}
    for kind, prefix in (("resource", ""), ("data", "data.")):
        for rtype, by_name in stack.get(kind, {}).items():
            for name, body in by_name.items():
                address = f"{prefix}{rtype}.{name}"
                nodes[address] = _Node(address, rtype, body.get("project", project), body)
    values: dict[str, str] = {}  # "${...}" text → the value it resolves to

    def resolve(text: str) -> str:
        return _REF.sub(lambda m: values.get(m.group(0), m.group(0)), text)

    order = TopologicalSorter({a: _parents(n) & nodes.keys() for a, n in nodes.items()})
    for address in order.static_order():
        node = nodes[address]
        node.parents = _parents(node) & nodes.keys()
        body = {k: v for k, v in node.body.items() if k not in ("depends_on", "lifecycle")}
        resolved = [(f, resolve(s)) for f, s in strings_of(body)]
        node.makes = _makes(node, dict(resolved), numbers)
        for made_kind, made in node.makes:
            for attr in ("id", "name", "email", "email_address", "member"):
                ref = f"${{{address}.{attr}}}"
                if made_kind in ("account", "agent"):
                    values[ref] = made if attr != "member" else f"serviceAccount:{made}"
                elif attr in ("id", "name"):
                    values[ref] = made
        if node.rtype == "google_kms_crypto_key_iam_member":
            key = dict(resolved)["crypto_key_id"]
            node.makes.add(("key grant", key))
        for f, s in resolved:
            node.needs |= _named(f, s)
            if f in KMS_FIELDS and _KEY.fullmatch(s):
                node.keys_used.add(s)
        node.needs -= node.makes
        api = _api(node)
        if api:
            node.needs.add(("api", f"{node.project}/{api}"))
    return nodes


def _parents(node: _Node) -> set[str]:
    refs = {
        f"{'data.' if m.group(1) else ''}{m.group(2)}.{m.group(3)}"
        for _, s in strings_of(node.body)
        for m in _REF.finditer(s)
    }
    return refs | set(node.body.get("depends_on", []))


def _makes(node: _Node, body: dict[str, str], numbers: dict[str, str]) -> set[tuple[str, str]]:
    p, rtype = node.project, node.rtype
    number = numbers.get(p, "")
    if rtype == "google_service_account":
        return {("account", f"{body['account_id']}@{p}.iam.gserviceaccount.com")}
    if rtype == "google_project_service_identity":
        return {("agent", AGENT_EMAIL_BY_API[body["service"]].format(n=number))}
    if rtype in AGENT_DATA_SOURCE_APIS:
        return {("agent", AGENT_EMAIL_BY_API[AGENT_DATA_SOURCE_APIS[rtype]].format(n=number))}
    if rtype == "google_logging_project_sink":  # its writer identity: the Logging agent
        return {("agent", logging_writer_email(number))}
    if rtype == "google_project_service":
        return {("api", f"{p}/{body['service'].removesuffix('.googleapis.com')}")}
    if rtype == "google_kms_key_ring":
        return {("key ring", f"projects/{p}/locations/{body['location']}/keyRings/{body['name']}")}
    if rtype == "google_kms_crypto_key":
        return {("key", f"{body['key_ring']}/cryptoKeys/{body['name']}")}
    if rtype == "google_storage_bucket":
        return {("bucket", body["name"])}
    if rtype == "google_bigquery_dataset":
        return {("dataset", body["dataset_id"])}
    if rtype == "google_artifact_registry_repository":
        return {("repository", body["repository_id"])}
    if rtype == "google_project_iam_custom_role":
        return {("role", f"projects/{p}/roles/{body['role_id']}")}
    if rtype == "google_cloudfunctions2_function":
        return {("function", body["name"])}
    return set()


def _named(field_name: str, text: str) -> set[tuple[str, str]]:
    """What a string in a body names, as (kind, id)."""
    if _REF.search(text):
        return set()  # a reference: terraform waits for it by construction
    found = {("identity", e) for e in _EMAIL.findall(text)}
    if _KEY.fullmatch(text):
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


def _api(node: _Node) -> str | None:
    if node.rtype == "google_project_service_identity":
        return node.body["service"].removesuffix(".googleapis.com")
    if node.rtype in AGENT_DATA_SOURCE_APIS:
        return AGENT_DATA_SOURCE_APIS[node.rtype].removesuffix(".googleapis.com")
    return next((api for prefix, api in API_OF_TYPE if node.rtype.startswith(prefix)), None)


def _exists(made: set[tuple[str, str]], kind: str, name: str) -> bool:
    if kind == "identity":
        return ("account", name) in made or ("agent", name) in made
    return (kind, name) in made


def play(stacks: dict[str, dict], order: tuple[str, ...] = FIRST_APPLY) -> Play:
    """Apply `stacks` (by part) in `order` from empty projects; what would fail, and where."""
    numbers = {
        s["provider"]["google"][0]["project"]: s["output"]["project_number"]["value"]
        for s in stacks.values()
        if "project_number" in s.get("output", {})
    }
    result = Play()
    # what the bootstrap made (docs/infra.md): the agents it asks for, in every project
    made_before = {
        ("agent", AGENT_EMAIL_BY_API[api].format(n=number))
        for number in numbers.values()
        for api in BOOTSTRAP_AGENT_APIS
    }
    by_part = {part: _nodes(stack, numbers) for part, stack in stacks.items()}
    made_ever = {m for nodes in by_part.values() for n in nodes.values() for m in n.makes}
    for part in order:
        nodes = by_part[part]
        ancestors: dict[str, set[str]] = {}
        depth: dict[str, int] = {}
        for address in TopologicalSorter({a: n.parents for a, n in nodes.items()}).static_order():
            node = nodes[address]
            ancestors[address] = set(node.parents).union(*(ancestors[p] for p in node.parents))
            depth[address] = 1 + max((depth[p] for p in node.parents), default=0)
            made = made_before.union(*(nodes[a].makes for a in ancestors[address]))
            for kind, name in sorted(node.needs):
                if _exists(made, kind, name):
                    continue
                if (
                    kind == "identity"
                    and not name.startswith(("service-", "bq-"))
                    and not any(m[1] == name for m in made_ever)
                ):
                    problem = f"names {name}, which no stack creates"
                elif kind == "api":
                    problem = f"needs the {name.split('/')[1]} API, not enabled before it"
                else:
                    problem = f"names {kind} {name}, which does not exist yet"
                result.findings.append(Finding(part, address, problem))
            for key in sorted(node.keys_used):
                grants = [n for n in nodes.values() if ("key grant", key) in n.makes]
                waiting = [g.address for g in grants if g.address not in ancestors[address]]
                if waiting or not grants:
                    result.findings.append(
                        Finding(
                            part,
                            address,
                            f"is encrypted with {key.rsplit('/', 1)[-1]} before "
                            f"{len(waiting) or 'any'} of its key grants to the agents that use it",
                        )
                    )
        made_before |= {m for n in nodes.values() for m in n.makes}
        result.steps.append(Step(part, len(nodes), max(depth.values(), default=0)))
    return result
