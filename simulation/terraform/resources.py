"""What the Terraform Google provider meets in the simulated cloud: each resource type's
read, create and update (simulation/terraform/provider.py names the Google methods), checked
as Google checks them: the API on in the resource's project, the caller's permission on the
resource (or its parent when creating), `actAs` on every service account a resource runs as,
everything it names already there, a CMEK user's service agents holding its key, and a
function's build identity able to build it. The world grows one resource at a time.

Called in-process by the applier (applier.py), which stands in for
Terraform and the provider: the calls, their checks and the wire log are the Simulation's
own; the provider's exact REST paths and bodies are not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel.gcp_iam import required_permission
from settings import AGENT_EMAIL_BY_API, AGENT_NAMES, service_agent_email
from simulation.terraform import graph
from simulation.terraform.provider import (
    CMEK_AGENTS,
    DATA_SOURCES,
    RESOURCES,
    delete_method,
    identity,
    in_parent_policy,
    target,
)
from simulation.wire import ApiError, WireEntry

EVENTARC_AGENT = AGENT_EMAIL_BY_API["eventarc.googleapis.com"]
# What Google keeps when Terraform destroys it.
KEPT = ("google_kms_key_ring", "google_kms_crypto_key", "google_project_service_identity")
# Fields that name a service account a resource runs as: the caller must be allowed to act as it.
RUNS_AS = ("service_account", "service_account_email")
_KIND_MESSAGES = {
    "identity": "Service account {name} does not exist.",
    "key": "CryptoKey {name} not found.",
    "key ring": "KeyRing {name} not found.",
    "role": "Role {name} not found.",
    "bucket": "The specified bucket does not exist: {name}.",
    "dataset": "Not found: Dataset {name}",
    "repository": "Repository {name} not found.",
    "function": "Resource '{name}' of kind 'SERVICE' was not found.",
}


@dataclass
class Op:
    """One resource's call: who, on what (its node, its body resolved)."""

    principal: str
    node: graph.Node
    body: dict
    part: str = ""  # the stack it belongs to

    @property
    def project(self) -> str:
        return self.body.get("project", self.node.project)


class ResourceApi:
    def __init__(self, sim) -> None:
        self.sim = sim
        self.store: dict[str, dict] = {}  # what the cloud holds, by identity → body
        # Provenance: which (stack, address) made each thing and binding; and what the last
        # create relied on (things it named, APIs, the bindings its checks passed through).
        self.made_by: dict[object, tuple[str, str]] = {}
        self.relied: set = set()  # (kind, name) and Binding
        self.last: Op | None = None  # the last create

    # Reads ----------------------------------------------------------------------------

    def read(self, op: Op) -> dict | None:
        """Refresh (plan) or read (data source): the body the cloud holds, None if absent."""
        node = op.node
        if node.data:
            entry = self._call(op, DATA_SOURCES[node.rtype], f"projects/{op.project}", "GET")
            self._grow(op)
            entry.status = 200
            return op.body
        calls = RESOURCES[node.rtype]
        entry = self._call(op, calls.read, self._target(op, False), "GET")
        held = self.store.get(self.identity(op))
        entry.status = 200 if held is not None else 404
        return held

    # Writes ---------------------------------------------------------------------------

    def create(self, op: Op) -> None:
        self.relied, self.last = set(), op
        calls = RESOURCES[op.node.rtype]
        entries = []
        if in_parent_policy(op.node.rtype):  # read, modify, write
            entries.append(self._call(op, calls.read, self._target(op, True), "GET"))
            entries[-1].status = 200
        entry = self._call(op, calls.create, self._target(op, True), "POST")
        entries.append(entry)
        self._preconditions(op, entry)
        self.relied |= {c.binding for e in entries for c in e.checks if c.binding}
        self._grow(op)
        entry.status = 200

    def update(self, op: Op) -> None:
        calls = RESOURCES[op.node.rtype]
        entry = self._call(op, calls.update or calls.create, self._target(op, False), "PATCH")
        self._grow(op)
        entry.status = 200

    def delete(self, op: Op) -> None:
        """Remove a resource; what it made leaves the world (Google keeps key rings, keys and
        agents: the provider forgets those, and destroys a key's versions)."""
        method = delete_method(op.node.rtype)
        if method is not None:
            if in_parent_policy(op.node.rtype):
                read = RESOURCES[op.node.rtype].read
                self._call(op, read, self._target(op, False), "GET").status = 200
            self._call(op, method, self._target(op, False), "DELETE").status = 200
        maker = (op.part, op.node.address)
        for thing in [t for t, by in self.made_by.items() if by == maker]:
            if op.node.rtype not in KEPT:
                self.sim.world.forget(thing)
                del self.made_by[thing]
        if op.node.rtype == "google_kms_crypto_key":
            self.sim.world.keys[self._target(op, False)].state = "DESTROY_SCHEDULED"
        self.store.pop(self.identity(op), None)

    # Checks ---------------------------------------------------------------------------

    def _call(self, op: Op, method: str, resource: str, verb: str) -> WireEntry:
        """The wire entry of one call, its API and permission checked (raises ApiError)."""
        entry = self.sim.log_call(op.principal, verb, method)
        try:
            api = RESOURCES[op.node.rtype].api if not op.node.data else "storage"
            self._enabled(op.project, f"{api}.googleapis.com")
            permission = required_permission(method)
            if permission is not None:
                self.sim.check(entry, op.principal, permission, resource)
        except ApiError as exc:
            entry.status = exc.status
            raise
        return entry

    def _enabled(self, project: str, service: str) -> None:
        world = self.sim.world
        self.relied.add(("api", f"{project}/{service}"))
        if f"{project}/{service}" not in world.apis:
            number = world.projects.get(project, project)
            raise ApiError(
                403,
                f"{service.split('.')[0]} API has not been used in project {number} before or "
                f"it is disabled. Enable it by visiting https://console.developers.google.com"
                f"/apis/api/{service}/overview?project={number} then retry.",
                reason="SERVICE_DISABLED",
                service=service,
            )

    def _preconditions(self, op: Op, entry: WireEntry) -> None:
        try:
            self._exists(op)
            self._acts_as(op, entry)
            self._cmek(op, entry)
            if op.node.rtype == "google_cloudfunctions2_function":
                self._function(op, entry)
        except ApiError as exc:
            entry.status = exc.status
            raise

    def _exists(self, op: Op) -> None:
        world = self.sim.world
        if op.node.rtype == "google_project_service_identity":
            service = op.body["service"]
            self._enabled(op.project, service)
        for kind, name in sorted(graph.named(op.body, op.node.rtype)):
            self.relied.add((kind, name))
            if not world.has(kind, name):
                raise ApiError(400 if kind == "identity" else 404,
                               _KIND_MESSAGES[kind].format(name=name))  # fmt: skip

    def _acts_as(self, op: Op, entry: WireEntry) -> None:
        """Attaching a service account needs iam.serviceAccounts.actAs on it."""
        for field_name, text in graph.strings_of(op.body):
            if field_name in RUNS_AS and "@" in text:
                email = text.rsplit("/", 1)[-1]
                resource = self.sim.world.account_resource(email, op.project)
                self.sim.check(entry, op.principal, "iam.serviceAccounts.actAs", resource)

    def _cmek(self, op: Op, entry: WireEntry) -> None:
        """Google encrypts as the resource's service agents: each must hold the key now."""
        number = self.sim.world.projects[op.project]
        for key in sorted(graph.keys_used(op.body)):
            for purpose in CMEK_AGENTS.get(op.node.rtype, ()):
                agent = service_agent_email(purpose, number)
                self.relied.add(("identity", agent))
                if not self.sim.world.is_identity(agent):
                    raise ApiError(400, f"The {AGENT_NAMES[purpose]} {agent} does not "
                                        f"exist: it cannot use key {key}.")  # fmt: skip
                self.sim.check(entry, agent, "cloudkms.cryptoKeyVersions.useToEncrypt", key)

    def _function(self, op: Op, entry: WireEntry) -> None:
        """A function is built as its build identity from its source into its repository,
        and its event trigger is made by Eventarc's agent."""
        number = self.sim.world.projects[op.project]
        if op.body.get("event_trigger"):
            agent = EVENTARC_AGENT.format(n=number)
            self.relied.add(("identity", agent))
            if not self.sim.world.is_identity(agent):
                raise ApiError(
                    400,
                    f'Invalid resource state for "": Permission denied while using the '
                    f"Eventarc Service Agent. The Eventarc service agent {agent} does not "
                    f"exist yet: ask for it (generateServiceIdentity) and retry.",
                )
        build = op.body.get("build_config") or {}
        builder = build.get("service_account", "").rsplit("/", 1)[-1]
        source = (build.get("source") or {}).get("storage_source") or {}
        needs = [
            ("logging.logEntries.create", f"projects/{op.project}"),
            ("storage.objects.get",
             f"projects/_/buckets/{source.get('bucket')}/objects/{source.get('object')}"),
            ("artifactregistry.repositories.uploadArtifacts", build.get("docker_repository", "")),
        ]  # fmt: skip
        for permission, resource in needs:
            self.sim.check(entry, builder, permission, resource)

    # The world --------------------------------------------------------------------------

    def _target(self, op: Op, creating: bool) -> str:
        return target(op.node.rtype, op.body, op.node.project, op.node.region, creating)

    def identity(self, op: Op) -> str:
        """What names the resource in the cloud (a changed one is another resource)."""
        return identity(op.node.rtype, op.body, op.node.project, op.node.region)

    def _grow(self, op: Op) -> None:
        world, node = self.sim.world, op.node
        had, bindings = world.inventory(), len(world.bindings)
        google = {"project": node.project, "region": node.region}
        kind = "data" if node.data else "resource"
        self.sim.world.add({"provider": {"google": [google]},
                            kind: {node.rtype: {"_": op.body}}})  # fmt: skip
        for made in [*(world.inventory() - had), *world.bindings[bindings:]]:
            self.made_by.setdefault(made, (op.part, node.address))
        if not node.data:
            self.store[self.identity(op)] = op.body
