"""Cloud Build: running a trigger (triggers.run), builds from Pub/Sub messages, approving
them, and reading builds back.

triggers.run checks what Cloud Build checks: the caller may create builds in the project
(`cloudbuild.builds.create`) and act as the trigger's service account, and that account may
write the build's logs (a config with `logging: CLOUD_LOGGING_ONLY` and a user-specified
service account needs `logging.logEntries.create`). A message on the topic of a Pub/Sub
trigger creates a build too, with the trigger's substitutions bound to the message
(`$(body.message.attributes.KEY)`, `$(body.message.data)`, `$(body.message.messageId)`; a
missing key binds ""). A trigger with `approval_config` leaves its build PENDING until someone
holding `cloudbuild.builds.approve` approves it (builds.approve); a rejected build never runs
(its status here: CANCELLED). The build then runs in the background, as the trigger's service
account against this simulation, from its source (simulation/apis/builds.py: a workspace of
the commit's files, each step run there with the stand-in tools; simulation/apis/build_steps.py:
the substitutions, and what is stood in for). triggers.run takes the request's source
(`commitSha`, `branchName`, user `substitutions` over the trigger's).
"""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import yaml
from starlette.responses import JSONResponse

from settings import REPO_ROOT
from simulation.apis import build_steps as steps
from simulation.apis import builds
from simulation.apis.routing import register, route
from simulation.wire import ApiError

P = r"/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
M = "cloudbuild.projects.locations"
T = "type.googleapis.com/google.devtools.cloudbuild.v1."
_BINDING = re.compile(r"^\$\(body\.message\.(attributes\.([^)]+)|data|messageId)\)$")


def bind_message(
    substitutions: dict[str, str], data: bytes, attributes: dict[str, str], message_id: str
) -> dict[str, str]:
    """A Pub/Sub trigger's substitutions with their payload bindings resolved."""
    import base64

    def value(text: str) -> str:
        match = _BINDING.match(text)
        if match is None:
            return text
        if match.group(2) is not None:
            return attributes.get(match.group(2), "")
        if match.group(1) == "data":
            return base64.b64encode(data).decode()
        return message_id

    return {name: value(text) for name, text in substitutions.items()}


@dataclass
class Build:
    id: str
    project: str
    trigger: str  # its name
    service_account: str
    status: str = "QUEUED"  # PENDING (approval), WORKING, SUCCESS, FAILURE, CANCELLED
    steps: list[dict[str, Any]] = field(default_factory=list)  # id, status, exit, log
    finished: threading.Event = field(default_factory=threading.Event)
    substitutions: dict[str, str] = field(default_factory=dict)
    approval: dict[str, Any] | None = None  # state PENDING/APPROVED/REJECTED, and its result
    run: tuple[list, float] | None = None  # (steps, time limit), kept while it waits
    source: Any = None  # simulation.apis.builds.Source: the commit it builds

    def view(self) -> dict[str, Any]:
        view = {
            "id": self.id,
            "projectId": self.project,
            "status": self.status,
            "buildTriggerId": self.trigger,
            "serviceAccount": f"projects/{self.project}/serviceAccounts/{self.service_account}",
            "substitutions": self.substitutions,
            "steps": [{"id": s["id"], "status": s["status"]} for s in self.steps],
        }
        if self.approval is not None:
            view["approval"] = self.approval
        return view

    def log(self) -> str:
        return "\n".join(f"--- {s['id']} ({s['status']})\n{s['log']}" for s in self.steps)


class CloudBuild:
    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.builds: dict[str, Build] = sim.builds
        self.sources: dict[str, Any] = {}  # commit → Source, for triggers.run --sha
        self.full = False  # run the test suite's step too (simulation/apis/build_steps.py)

    @route("POST", P + r"/triggers/(?P<trigger>[^/:]+):run", f"{M}.triggers.run")
    def run(self, call: Any, project: str, location: str, trigger: str) -> JSONResponse:
        world = self.sim.world
        pid = world.project_id(project)
        found = world.trigger(pid, trigger)
        if found is None:
            raise ApiError(404, f"Trigger {trigger} not found in {pid}.")
        call.authorize(f"projects/{pid}")  # cloudbuild.builds.create
        account = found.service_account
        call.authorize(world.account_resource(account, pid), "iam.serviceAccounts.actAs")
        asked = (call.json() if call.body else {}).get("source") or {}
        extra = asked.get("substitutions") or {}
        builtin = [k for k in extra if not k.startswith("_")]
        if builtin:
            raise ApiError(400, f"invalid substitutions: {builtin[0]!r} is built in; only "
                           "user-defined substitutions (starting with _) may be set")  # fmt: skip
        source = self.source(asked.get("commitSha", ""), asked.get("branchName", ""))
        build = self.create(found, {**found.substitutions, **extra}, source)
        return _operation(build, location, done=False)

    def source(self, commit: str = "", branch: str = "") -> Any:
        """The commit a build checks out: one an earlier build here built, else this
        checkout as it is (the simulation holds one repository)."""
        known = self.sources.get(commit)
        if known is not None:
            return known
        head = builds.Source.head(REPO_ROOT, branch)
        return builds.Source(head.root, commit or head.commit, branch)

    def create(self, trigger: Any, substitutions: dict[str, str], source: Any = None) -> Build:
        """A build of `trigger` from `source` (default: this checkout): started, or PENDING
        when the trigger requires approval. Refused when its service account may not write
        its logs (every config logs to Cloud Logging only)."""
        account = trigger.service_account
        if not self.sim.allowed(
            account, "logging.logEntries.create", f"projects/{trigger.project}"
        ):
            raise ApiError(
                400,
                f"The build's service account {account} does not have permission to write "
                "logs to Cloud Logging (logging.logEntries.create): grant it "
                "roles/logging.logWriter.",
            )
        build = Build(uuid.uuid4().hex, trigger.project, trigger.name, account)
        build.source = source or self.source()
        self.sources.setdefault(build.source.commit, build.source)
        config = yaml.safe_load((build.source.root / trigger.config).read_text())
        declared = {k: str(v) for k, v in (config.get("substitutions") or {}).items()}
        unmatched = sorted(k for k in substitutions if k.startswith("_") and k not in declared)
        if unmatched:
            raise ApiError(400, f'key "{unmatched[0]}" in the substitution data is not matched '
                           f"in the template {trigger.config}")  # fmt: skip
        build.substitutions = {
            **declared,
            **substitutions,
            **builds.builtins(build.source, build.project, build.id, trigger.name),
        }
        # a bad substitution refuses it, as Google does
        planned = steps.steps(config, build.substitutions, self.full)
        limit = float(str(config.get("timeout", "600s")).removesuffix("s"))
        self.builds[build.id] = build
        if trigger.approval:
            build.status, build.run = "PENDING", (planned, limit)
            build.approval = {"state": "PENDING", "config": {"approvalRequired": True}}
        else:
            self._start(build, planned, limit)
        return build

    def on_message(self, trigger: Any, data: bytes, attributes: dict, message_id: str) -> None:
        """A message on a Pub/Sub trigger's topic: a build (a refused one is logged)."""
        entry = self.sim.log_call(f"cloudbuild ({trigger.name})", "POST", f"{M}.builds.create")
        try:
            bound = bind_message(trigger.substitutions, data, attributes, message_id)
            self.create(trigger, bound)
            entry.status = 200
        except ApiError as exc:
            entry.status = exc.status

    def _start(self, build: Build, steps: list, limit: float) -> None:
        threading.Thread(target=self._execute, args=(build, steps, limit), daemon=True).start()

    @route("GET", P + r"/builds", f"{M}.builds.list")
    def list_builds(self, call: Any, project: str, location: str) -> JSONResponse:
        """The project's builds, newest first; `filter` understands status="X"."""
        pid = self.sim.world.project_id(project)
        call.authorize(f"projects/{pid}")
        wanted = re.search(
            r'status\s*=\s*"?([A-Z_]+)"?', call.request.query_params.get("filter", "")
        )
        found = [
            b.view()
            for b in reversed(self.builds.values())
            if b.project == pid and (wanted is None or b.status == wanted.group(1))
        ]
        return JSONResponse({"builds": found})

    @route("POST", P + r"/builds/(?P<build>[^/:]+):approve", f"{M}.builds.approve")
    def approve(self, call: Any, project: str, location: str, build: str) -> JSONResponse:
        pid = self.sim.world.project_id(project)
        call.authorize(f"projects/{pid}")  # cloudbuild.builds.approve
        found = self.builds.get(build)
        if found is None or found.project != pid:
            raise ApiError(404, f"Build {build} not found.")
        if found.approval is None or found.approval["state"] != "PENDING" or found.run is None:
            raise ApiError(400, f"Build {build} is not pending approval.")
        result = dict(call.json().get("approvalResult") or {})
        decision = result.get("decision")
        if decision not in ("APPROVED", "REJECTED"):
            raise ApiError(400, "approvalResult.decision must be APPROVED or REJECTED.")
        result["approverAccount"] = call.principal
        found.approval = {**found.approval, "state": decision, "result": result}
        steps, limit = found.run
        found.run = None
        done = decision == "REJECTED"
        if done:
            found.status = "CANCELLED"
            found.finished.set()
        else:
            found.status = "QUEUED"
            self._start(found, steps, limit)
        return _operation(found, location, done)

    @route("GET", P + r"/builds/(?P<build>[^/:]+)", f"{M}.builds.get")
    def get(self, call: Any, project: str, location: str, build: str) -> JSONResponse:
        pid = self.sim.world.project_id(project)
        call.authorize(f"projects/{pid}")
        found = self.builds.get(build)
        if found is None or found.project != pid:
            raise ApiError(404, f"Build {build} not found.")
        return JSONResponse(found.view())

    def _execute(self, build: Build, planned: list, limit: float) -> None:
        """The build's steps in a workspace of its source, as its service account; the
        config's `timeout` ends it (TIMEOUT)."""
        try:
            workspace = builds.checkout(build.source, self.sim.root / "builds" / build.id)
            builds.execute(build, planned, self.sim, workspace, limit)
        except Exception as exc:  # the build cannot run here: failed, with the reason
            build.status = "FAILURE"
            build.steps.append({"id": "simulation", "status": "FAILURE", "log": repr(exc)})
        finally:
            build.finished.set()


def _operation(build: Build, location: str, done: bool) -> JSONResponse:
    """The long-running operation triggers.run and builds.approve answer with."""
    name = f"projects/{build.project}/locations/{location}/operations/{build.id}"
    metadata = {"@type": T + "BuildOperationMetadata", "build": build.view()}
    return JSONResponse({"name": name, "metadata": metadata, "done": done})


def install(sim: Any) -> None:
    sim.cloudbuild = CloudBuild(sim)
    register(sim, "cloudbuild", sim.cloudbuild)
