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
account against this simulation, from this checkout: each step's entrypoint, arguments and
`env`, with the substitutions applied as Cloud Build applies them (`${_X}`, `$_X`, `$$` for a
literal `$`). Not modelled: the steps' container images (a step runs on this machine), and a
step whose id is `install` (`make install`: this checkout's installed environment stands in
for it).
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import yaml
from starlette.responses import JSONResponse

from settings import REPO_ROOT
from simulation.apis.routing import register, route
from simulation.wire import ApiError

P = r"/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
M = "cloudbuild.projects.locations"
T = "type.googleapis.com/google.devtools.cloudbuild.v1."
SKIPPED_STEPS = ("install",)
_BINDING = re.compile(r"^\$\(body\.message\.(attributes\.([^)]+)|data|messageId)\)$")
_SUBSTITUTION = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def substitute(text: str, values: dict[str, str]) -> str:
    """Cloud Build's substitution of one argument; an unknown name is refused as it is."""

    def one(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        if name is None:
            return "$"
        if name not in values:
            raise ApiError(400, f"invalid value for 'build.substitutions': key {name!r} unknown")
        return values[name]

    return _SUBSTITUTION.sub(one, text)


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
        if not self.sim.allowed(account, "logging.logEntries.create", f"projects/{pid}"):
            raise ApiError(
                400,
                f"The build's service account {account} does not have permission to write "
                "logs to Cloud Logging (logging.logEntries.create): grant it "
                "roles/logging.logWriter.",
            )
        return _operation(self.create(found, found.substitutions), location, done=False)

    def create(self, trigger: Any, substitutions: dict[str, str]) -> Build:
        """A build of `trigger`: started, or PENDING when the trigger requires approval."""
        build = Build(uuid.uuid4().hex, trigger.project, trigger.name, trigger.service_account)
        config = yaml.safe_load((REPO_ROOT / trigger.config).read_text())
        build.substitutions = {
            **{k: str(v) for k, v in (config.get("substitutions") or {}).items()},
            **substitutions,
            "PROJECT_ID": build.project,
            "BUILD_ID": build.id,
        }
        steps = self._steps(build, config)  # a bad substitution refuses it, as Google does
        limit = float(str(config.get("timeout", "600s")).removesuffix("s"))
        self.builds[build.id] = build
        if trigger.approval:
            build.status, build.run = "PENDING", (steps, limit)
            build.approval = {"state": "PENDING", "config": {"approvalRequired": True}}
        else:
            self._start(build, steps, limit)
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

    def _steps(self, build: Build, config: dict[str, Any]) -> list[tuple[str, list | None, dict]]:
        """(step id, command, env) for each step of the config, substituted; None for a step
        the simulation does not run."""
        values = build.substitutions
        steps: list[tuple[str, list | None, dict]] = []
        for number, step in enumerate(config["steps"]):
            name = step.get("id", str(number))
            command = [step["entrypoint"]] if step.get("entrypoint") else []
            command += [substitute(str(a), values) for a in step.get("args", [])]
            env = dict(substitute(str(e), values).split("=", 1) for e in step.get("env", []))
            steps.append((name, None if name in SKIPPED_STEPS else command, env))
        return steps

    def _execute(
        self, build: Build, steps: list[tuple[str, list | None, dict]], limit: float
    ) -> None:
        """The build's steps, in order, as its service account; the first failure ends it,
        and the config's `timeout` ends the build (status TIMEOUT, the step killed)."""
        env = {**os.environ, **self.sim.environ(build.service_account)}
        deadline = time.monotonic() + limit
        build.status = "WORKING"
        try:
            for name, command, step_env in steps:
                if command is None:
                    build.steps.append({"id": name, "status": "SKIPPED", "log": "", "exit": 0})
                    continue
                started = time.monotonic()
                try:
                    done = subprocess.run(
                        command, cwd=REPO_ROOT, env={**env, **step_env}, capture_output=True,
                        text=True, check=False, timeout=max(deadline - started, 0.0),
                    )  # fmt: skip
                except subprocess.TimeoutExpired:
                    build.status = "TIMEOUT"
                    build.steps.append({"id": name, "status": "TIMEOUT", "log": "", "exit": -1})
                    return
                build.steps.append(
                    {
                        "id": name,
                        "status": "SUCCESS" if done.returncode == 0 else "FAILURE",
                        "exit": done.returncode,
                        "log": done.stdout + done.stderr,
                        "seconds": round(time.monotonic() - started, 1),
                    }
                )
                if done.returncode != 0:
                    build.status = "FAILURE"
                    return
            build.status = "SUCCESS"
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
