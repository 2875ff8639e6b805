"""What the Vertex AI routes share: its resources, and the checks every call makes."""

from __future__ import annotations

import calendar
import itertools
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse

from simulation.wire import ApiError, Check

V1 = r"/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
M = "aiplatform.projects.locations"
ENCRYPT = "cloudkms.cryptoKeyVersions.useToEncrypt"
T = "type.googleapis.com/google.cloud.aiplatform.v1."


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


def earlier(stamp: str, seconds: float) -> str:
    """An RFC 3339 time as `now()` writes it, `seconds` earlier."""
    then = calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) - seconds
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(then))


@dataclass
class VertexState:
    """Vertex AI's resources by full name (what tests and the simulated run read back)."""

    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # versions, aliases, next
    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)  # with "_servers"
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)  # monitoring jobs
    pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)
    custom_jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    contexts: dict[str, dict[str, Any]] = field(default_factory=dict)  # ML Metadata
    # AutoML Tabular (apis/vertex/automl.py): datasets, training pipelines, batch jobs, and
    # what the simulation keeps of each model they trained (its files, classes, columns)
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)
    training_pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)
    batch_jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    tabular: dict[str, dict[str, Any]] = field(default_factory=dict)
    threads: list[threading.Thread] = field(default_factory=list)  # training runs
    # Long-running operations by name: each is done once polled `operation_polls` times
    # (the simulation's clock for them: polls, not seconds, so tests stay fast and exact).
    operations: dict[str, dict[str, Any]] = field(default_factory=dict)
    operation_polls: int = 1
    # The next deploy's operation ends with this error ({"code", "message"}) after it started:
    # how a test plays Vertex running out of quota or failing inside (the platform's fault).
    deploy_fails: dict[str, Any] | None = None
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_000_001))
    dice: random.Random = field(default_factory=lambda: random.Random(7))

    def next_id(self) -> str:
        return str(next(self.ids))

    def pass_time(self, seconds: float) -> None:
        """Time passes with nobody calling: every running operation ends as Vertex ends it
        (no poll needed; a client killed mid-operation leaves it running, not stuck), and
        every model version was registered `seconds` earlier."""
        for op in self.operations.values():
            op["done"], op["polls_left"] = True, 0
        for model in self.models.values():
            for version in model["versions"].values():
                for key in ("createTime", "updateTime", "versionCreateTime", "versionUpdateTime"):
                    if key in version:
                        version[key] = earlier(version[key], seconds)


class Vertex:
    """The simulation and the state, with the checks every Vertex AI route makes."""

    def __init__(self, sim: Any, state: VertexState) -> None:
        self.sim, self.state = sim, state

    def project_id(self, project: str) -> str:
        try:
            return str(self.sim.world.project_id(project))
        except KeyError:
            raise ApiError(403, f"Permission denied on project {project}.") from None

    def parent(self, project: str, location: str) -> str:
        return f"projects/{self.project_id(project)}/locations/{location}"

    def operation(
        self,
        where: str,
        response: dict,
        kind: tuple[str, str],
        error: dict | None = None,
        metadata: dict | None = None,
    ) -> JSONResponse:
        """A long-running operation on `where`, not done yet: the caller polls it
        (operations.get) until it is, `operation_polls` polls later; then it holds
        `response`, or `error` (google.rpc.Status) when it failed after it started."""
        name = f"{where}/operations/{self.state.next_id()}"
        generic = {"createTime": now(), "updateTime": now()}
        self.state.operations[name] = {
            "name": name,
            "metadata": {"@type": kind[0], "genericMetadata": generic, **(metadata or {})},
            "done": False,
            "response": {"@type": kind[1], **response},
            "error": error,
            "polls_left": self.state.operation_polls,
            "resource": where,
        }
        return JSONResponse(self.view(name))

    def view(self, name: str) -> dict:
        op = self.state.operations[name]
        shown = {k: op[k] for k in ("name", "metadata", "done")}
        if not op["done"]:
            return shown
        return (
            {**shown, "error": op["error"]}
            if op["error"]
            else {**shown, "response": op["response"]}
        )

    def poll(self, name: str) -> dict:
        """One poll: the operation moves on; done once its polls are spent."""
        op = self.state.operations.get(name)
        if op is None:
            raise ApiError(404, f"Operation {name} not found.")
        if not op["done"]:
            op["polls_left"] -= 1
            op["done"] = op["polls_left"] <= 0
        return self.view(name)

    def busy(self, resource: str) -> None:
        """Vertex refuses a change to a resource while an operation on it is running."""
        for op in self.state.operations.values():
            if op["resource"] == resource and not op["done"]:
                raise ApiError(
                    400,
                    f"{resource} has an operation in progress ({op['name']}); retry once "
                    "it is done.",
                )

    def cmek(self, entry: Any, project: str, location: str, spec: dict | None) -> None:
        """Vertex encrypts with the key as its service agent; it must be allowed to."""
        key = (spec or {}).get("kmsKeyName")
        if not key:
            return
        found = self.sim.world.keys.get(key)
        if found is None or found.location != location:
            raise ApiError(
                400, f"The Cloud KMS key {key} does not exist or is not in region {location}."
            )
        if not self.agent_may(entry, project, ENCRYPT, key, key, "key policy"):
            raise ApiError(
                400,
                f"Vertex AI Service Agent {self.agent(project)} does not have permission "
                f"{ENCRYPT} on {key}: grant it roles/cloudkms.cryptoKeyEncrypterDecrypter.",
            )

    def agent(self, project: str) -> str:
        return str(self.sim.world.agent("aiplatform.googleapis.com", project))

    def agent_may(
        self, entry: Any, project: str, permission: str, resource: str, shown: str, via: str
    ) -> bool:
        """Whether the project's Vertex AI agent holds `permission` (checked and logged)."""
        agent = self.agent(project)
        allowed = bool(self.sim.allowed(agent, permission, resource))
        entry.checks.append(Check(f"{permission} (as {agent})", shown, allowed, via))
        return allowed

    def act_as(self, call: Any, identity: str, project: str) -> None:
        """Running something as `identity` needs permission to act as it."""
        account = self.sim.world.account_resource(identity, project)
        call.authorize(account, "iam.serviceAccounts.actAs")
