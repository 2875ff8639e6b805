"""Terraform's plan and apply, played against the simulated cloud as the identity that runs
them: each stack's resources in dependency order, each a call the cloud checks
(simulation/apis/resources.py). A plan reads the state, refreshes what the state holds and
reads the data sources; an apply then creates what is new and updates what changed, and a
resource whose call fails leaves everything that depends on it unapplied, as Terraform does.

No HTTP server: the calls go straight to the simulation's checks and its wire log.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from settings.bootstrap import infra_roles
from simulation.iam import Binding
from simulation.server import Simulation
from simulation.terraform import graph
from simulation.terraform.provider import RESOURCES
from simulation.terraform.resources import Op, ResourceApi
from simulation.wire import ApiError, WireEntry
from simulation.world import World

# The person the organisation hands the projects to (roles/owner on each): the bootstrap and
# the first apply run as them, before the stacks have made the identities CI runs as.
OWNER = "platform-owner@example.com"


def infra_identity(project: str) -> str:
    return f"census-infra@{project}.iam.gserviceaccount.com"


def planner_identity(project: str) -> str:
    return f"census-planner@{project}.iam.gserviceaccount.com"


_PROTECTED = (
    "Instance cannot be destroyed: Resource {address} has lifecycle.prevent_destroy set, but "
    "the plan calls for this resource to be destroyed. To avoid this error and continue with "
    "the plan, either disable lifecycle.prevent_destroy or reduce the scope of the plan using "
    "the -target flag."
)


STATE, LOCK = "default.tfstate", "default.tflock"
# The state backend's calls, by what it does to an object: (HTTP verb, Storage method).
_STATE_CALLS = {"get": ("GET", "storage.objects.get"), "create": ("POST", "storage.objects.insert"),
                "delete": ("DELETE", "storage.objects.delete")}  # fmt: skip
STALE = (
    "Saved plan is stale: the given plan file can no longer be applied because the state was "
    "changed by another operation after the plan was created."
)


@dataclass
class SavedPlan:
    """`terraform plan -out`'s file: the configuration planned, and the state serial."""

    part: str
    stack: dict
    serial: int


@dataclass
class Held:
    """A resource in Terraform's state: its node, the body applied, what the apply returned."""

    node: graph.Node
    body: dict
    outputs: dict[str, str]


@dataclass
class Change:
    address: str
    action: str  # create, update, replace, delete, no-op, read (a data source)
    error: str = ""  # the API's message when its call failed; "skipped: ..." when not reached


@dataclass
class Run:
    """One `terraform plan` or `apply` of one stack, as one identity."""

    part: str
    kind: str  # plan, apply
    principal: str
    changes: list[Change] = field(default_factory=list)
    calls: list[WireEntry] = field(default_factory=list)

    @property
    def errors(self) -> list[Change]:
        return [c for c in self.changes if c.error]

    @property
    def ok(self) -> bool:
        return not self.errors

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action and not c.error)

    def permissions(self) -> set[str]:
        return {check.permission for call in self.calls for check in call.checks}

    def mutating(self) -> list[WireEntry]:
        """Calls that change a resource (the state and its lock are Terraform's own)."""
        return [c for c in self.calls if c.verb != "GET" and not c.path.startswith("gs://")]

    def summary(self) -> str:
        denied = sum(1 for c in self.calls for k in c.checks if not k.allowed)
        head = (
            f"{self.kind} {self.part} as {self.principal}: {len(self.calls)} calls, "
            f"{len(self.permissions())} permissions checked, {denied} denied; "
        )
        if self.kind == "plan":
            body = (f"{self.count('create')} to create, {self.count('update')} to update, "
                    f"{self.count('delete') + self.count('replace')} to destroy, "
                    f"{self.count('no-op')} unchanged")  # fmt: skip
        else:
            body = f"{self.count('create')} created, {self.count('update')} updated"
            gone = self.count("delete") + self.count("replace")
            body += f", {gone} destroyed" if gone else ""
        return head + body + (f"; {len(self.errors)} FAILED" if self.errors else "")


class Cloud:
    """Empty projects for the stacks, their state, and plan/apply against them."""

    def __init__(self, stacks: dict[str, dict], sim: Simulation | None = None) -> None:
        """Empty projects in a simulation of their own, or in `sim` (World.empty's)."""
        self.stacks = stacks
        if sim is None:
            # the simulation writes nothing here; its folder goes when the Cloud does
            self._folder = tempfile.TemporaryDirectory(prefix="infra-sim-")
            sim = Simulation(World.empty(stacks, OWNER), Path(self._folder.name))
        self.sim = sim
        self.world = sim.world
        self.api = ResourceApi(self.sim)
        self._part = ""  # the stack being run
        # Terraform's state per stack: address → what was applied; its serial (written
        # states), which a saved plan must still match
        self.state: dict[str, dict[str, Held]] = {}
        self.serial: dict[str, int] = {}

    def project(self, part: str) -> str:
        return self.stacks[part]["provider"]["google"][0]["project"]

    # Terraform's commands ----------------------------------------------------------------

    def plan(self, part: str, principal: str, stack: dict | None = None, lock: bool = True) -> Run:
        """`terraform plan` (`lock=False`: `-lock=false`, which a read-only planner needs)."""
        return self._run(part, principal, stack, apply=False, lock=lock)

    def apply(self, part: str, principal: str, stack: dict | None = None, lock: bool = True) -> Run:
        return self._run(part, principal, stack, apply=True, lock=lock)

    def apply_saved(self, saved: SavedPlan, principal: str) -> Run:
        """`terraform apply tfplan`: the configuration as planned, refused once the state
        moved on since (Terraform's "Saved plan is stale")."""
        if saved.serial != self.serial.get(saved.part, 0):
            run = Run(saved.part, "apply", principal)
            run.changes.append(Change("terraform state", "read", STALE))
            return run
        return self._run(saved.part, principal, saved.stack, apply=True)

    def save(self, run: Run, stack: dict | None = None) -> SavedPlan:
        """What `plan -out` writes: the configuration planned and the state it saw."""
        return SavedPlan(run.part, stack or self.stacks[run.part], self.serial.get(run.part, 0))

    def grant_infra(self, part: str) -> Run:
        """The owner's bootstrap grants to the env's `census-infra` (settings/bootstrap.py)."""
        project = self.project(part)
        services = self.stacks[part]["resource"].get("google_project_service", {})
        apis = [body["service"] for body in services.values()]
        member = f"serviceAccount:{infra_identity(project)}"
        grants = {
            f"infra_{role.split('/')[-1].replace('.', '_')}": {
                "project": project, "role": role, "member": member,
            }
            for role in infra_roles(apis)
        }  # fmt: skip
        stack = {
            "provider": self.stacks[part]["provider"],
            "resource": {"google_project_iam_member": grants},
        }
        return self._run(f"{part}-bootstrap", OWNER, stack, apply=True)

    # The walk ------------------------------------------------------------------------------

    def _run(
        self, part: str, principal: str, stack: dict | None, apply: bool, lock: bool = True
    ) -> Run:
        stack = stack if stack is not None else self.stacks[part]
        self._part = part
        run = Run(part, "apply" if apply else "plan", principal)
        first = len(self.sim.wire)
        state = self.state.setdefault(part, {})
        backend = (stack.get("terraform") or {}).get("backend", {}).get("gcs")
        remote = backend and state  # the first apply keeps local state (docs/infra.md)
        locked = False
        try:
            if remote and lock:
                self._state_object(principal, backend, "create", LOCK)
                locked = True
            if remote:
                self._state_object(principal, backend, "get", STATE)
            self._walk(stack, principal, state, run, apply)
            changed = any(run.count(a) for a in ("create", "update", "replace", "delete"))
            if apply and changed:
                self.serial[part] = self.serial.get(part, 0) + 1
                if remote:
                    self._state_object(principal, backend, "create", STATE)
        except ApiError as exc:
            what = "lock" if remote and lock and not locked else "read"
            run.changes.append(Change("terraform state", what, exc.message))
        finally:
            if locked:
                self._state_object(principal, backend, "delete", LOCK)
        run.calls = self.sim.wire[first:]
        return run

    def _walk(self, stack: dict, principal: str, state: dict, run: Run, apply: bool) -> None:
        """Refresh, then (apply) change; a refresh that fails stops the run, as Terraform's."""
        nodes = graph.nodes(stack)
        outputs = {a: held.outputs for a, held in state.items()}
        planned = self._refresh(nodes, state, principal, outputs, run)
        if run.errors:
            return
        failed: set[str] = set()
        waits_for = graph.ancestors(nodes)
        made_now: set[tuple[str, str]] = set()
        for address, action in planned.items():
            node = nodes[address] if address in nodes else state[address].node
            if action == "done":
                run.changes.append(Change(address, "read"))
                continue
            if not apply or action == "no-op":
                run.changes.append(Change(address, action))
                continue
            blocked = sorted(node.parents & failed)
            if blocked:
                failed.add(address)
                run.changes.append(Change(address, action, f"skipped: {blocked[0]} failed"))
                continue
            try:
                self._change(address, action, node, principal, state, outputs)
                if action in ("create", "replace"):
                    self._no_race(self.api.last, made_now, waits_for[address])
                    made_now.add((self._part, address))
                run.changes.append(Change(address, action))
            except ApiError as exc:
                failed.add(address)
                run.changes.append(Change(address, action, exc.message))

    def _refresh(
        self, nodes: dict, state: dict, principal: str, outputs: dict, run: Run
    ) -> dict[str, str]:
        """What the plan would do to each address: read, create, update, replace, delete,
        no-op; refusing, as Terraform does, to destroy what has prevent_destroy."""
        planned: dict[str, str] = {}
        expected = dict(outputs)  # what each resource will answer once the plan is applied
        for address, node in nodes.items():
            if node.data and not node.parents <= state.keys():
                planned[address] = "read"  # read during the apply, once its parents exist
                continue
            op = self._op(principal, node, expected)
            try:
                if node.data:
                    self._read_data(op, outputs)
                    expected[address] = outputs[address]
                    planned[address] = "done"
                    continue
                planned[address] = self._diff(address, op, state, principal)
                if planned[address] != "no-op":  # dependents see its new attributes
                    expected[address] = graph.outputs(node, op.body, self._number(node))
            except ApiError as exc:
                run.changes.append(Change(address, "read", exc.message))
        for address in reversed(list(state)):  # what the stack no longer has: dependents first
            if address not in nodes:
                held = state[address]
                try:
                    self.api.read(Op(principal, held.node, held.body, self._part))
                    planned[address] = "delete"
                except ApiError as exc:
                    run.changes.append(Change(address, "read", exc.message))
        for address, action in planned.items():
            node = nodes[address] if address in nodes else state[address].node
            if action in ("delete", "replace") and node.protected:
                run.changes.append(Change(address, action, _PROTECTED.format(address=address)))
        return planned

    def _diff(self, address: str, op: Op, state: dict, principal: str) -> str:
        """Refresh what the state holds (read by the identity it was made with), then how
        the configuration differs: create, no-op, update, or replace when what names the
        resource changed or its type cannot be updated in place."""
        if address not in state:
            return "create"
        before = state[address]
        was = Op(principal, before.node, before.body, self._part)
        held = self.api.read(was)
        if held is None:
            return "create"
        if held == op.body:
            return "no-op"
        moved = self.api.identity(was) != self.api.identity(op)
        return "update" if RESOURCES[op.node.rtype].update and not moved else "replace"

    def _change(
        self, address: str, action: str, node: graph.Node, principal: str, state: dict,
        outputs: dict,
    ) -> None:  # fmt: skip
        if action == "read":
            self._read_data(self._op(principal, node, outputs), outputs)
            return
        if action in ("delete", "replace"):
            held = state.pop(address)
            outputs.pop(address, None)
            self.api.delete(Op(principal, held.node, held.body, self._part))
            if action == "delete":
                return
        op = self._op(principal, node, outputs)
        (self.api.update if action == "update" else self.api.create)(op)
        outputs[address] = graph.outputs(node, op.body, self._number(node))
        state[address] = Held(node, op.body, outputs[address])

    def _op(self, principal: str, node: graph.Node, outputs: dict) -> Op:
        return Op(principal, node, graph.resolve(node.body, outputs), self._part)

    def _no_race(self, op: Op | None, made_now: set, waits_for: set[str]) -> None:
        """Terraform creates what a resource does not wait for in parallel with it: anything
        its create relied on that this run made must be among what it waits for."""
        if op is None:
            return
        for thing in sorted(self.api.relied, key=str):
            maker = self.api.made_by.get(thing)
            if maker is not None and maker in made_now and maker[1] not in waits_for:
                what = (f"{thing.role} for {thing.member} on {thing.resource}"
                        if isinstance(thing, Binding) else " ".join(thing))  # fmt: skip
                raise ApiError(
                    409,
                    f"races {maker[1]}: it needs {what}, which that makes, and does not wait "
                    f"for it (Terraform applies them in parallel); add it to depends_on",
                )

    def _number(self, node: graph.Node) -> str:
        return self.world.projects[node.project]

    def _read_data(self, op: Op, outputs: dict) -> None:
        self.api.read(op)
        outputs[op.node.address] = graph.outputs(op.node, op.body, self._number(op.node))

    def _state_object(self, principal: str, backend: dict, action: str, suffix: str) -> None:
        """The state (or lock) object in the env's state bucket: the state read by every
        plan, written by an apply that changed something; the lock made and removed around
        any run without `-lock=false`."""
        verb, method = _STATE_CALLS[action]
        entry = self.sim.log_call(principal, verb, method)
        name = f"{backend['prefix']}/{suffix}"
        entry.path = f"gs://{backend['bucket']}/{name}"
        permission = f"storage.objects.{action}"
        try:
            self.sim.check(entry, principal, permission,
                           f"projects/_/buckets/{backend['bucket']}/objects/{name}")  # fmt: skip
        except ApiError as exc:
            entry.status = exc.status
            raise
        entry.status = 200
