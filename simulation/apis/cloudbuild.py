"""Cloud Build: running a trigger (triggers.run) and reading a build back.

triggers.run checks what Cloud Build checks: the caller may create builds in the project
(`cloudbuild.builds.create`) and act as the trigger's service account, and that account may
write the build's logs (a config with `logging: CLOUD_LOGGING_ONLY` and a user-specified
service account needs `logging.logEntries.create`). The build then runs in the background,
as the trigger's service account against this simulation, from this checkout: each step's
entrypoint and arguments, with the substitutions applied as Cloud Build applies them
(`${_X}`, `$_X`, `$$` for a literal `$`). Not modelled: the steps' container images (a step
runs on this machine), and a step whose id is `install` (`make install`: this checkout's
installed environment stands in for it).
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


@dataclass
class Build:
    id: str
    project: str
    trigger: str  # its name
    service_account: str
    status: str = "QUEUED"  # WORKING, SUCCESS, FAILURE
    steps: list[dict[str, Any]] = field(default_factory=list)  # id, status, exit, log
    finished: threading.Event = field(default_factory=threading.Event)

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "projectId": self.project,
            "status": self.status,
            "buildTriggerId": self.trigger,
            "serviceAccount": f"projects/{self.project}/serviceAccounts/{self.service_account}",
            "steps": [{"id": s["id"], "status": s["status"]} for s in self.steps],
        }

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
        if found.approval:
            raise ApiError(400, "The simulation does not model builds that wait for approval.")
        build = Build(uuid.uuid4().hex, pid, found.name, account)
        config = yaml.safe_load((REPO_ROOT / found.config).read_text())
        steps = self._steps(build, found, config)  # a bad substitution refuses it, as Google does
        limit = float(str(config.get("timeout", "600s")).removesuffix("s"))
        self.builds[build.id] = build
        threading.Thread(target=self._execute, args=(build, steps, limit), daemon=True).start()
        name = f"projects/{pid}/locations/{location}/operations/{build.id}"
        metadata = {"@type": T + "BuildOperationMetadata", "build": build.view()}
        return JSONResponse({"name": name, "metadata": metadata, "done": False})

    @route("GET", P + r"/builds/(?P<build>[^/:]+)", f"{M}.builds.get")
    def get(self, call: Any, project: str, location: str, build: str) -> JSONResponse:
        pid = self.sim.world.project_id(project)
        call.authorize(f"projects/{pid}")
        found = self.builds.get(build)
        if found is None or found.project != pid:
            raise ApiError(404, f"Build {build} not found.")
        return JSONResponse(found.view())

    def _steps(
        self, build: Build, trigger: Any, config: dict[str, Any]
    ) -> list[tuple[str, list[str] | None]]:
        """(step id, command) for each step of the trigger's config, substituted; None for
        a step the simulation does not run."""
        values = {
            **{k: str(v) for k, v in (config.get("substitutions") or {}).items()},
            **trigger.substitutions,
            "PROJECT_ID": build.project,
            "BUILD_ID": build.id,
        }
        steps: list[tuple[str, list[str] | None]] = []
        for number, step in enumerate(config["steps"]):
            name = step.get("id", str(number))
            command = [step["entrypoint"]] if step.get("entrypoint") else []
            command += [substitute(str(a), values) for a in step.get("args", [])]
            steps.append((name, None if name in SKIPPED_STEPS else command))
        return steps

    def _execute(
        self, build: Build, steps: list[tuple[str, list[str] | None]], limit: float
    ) -> None:
        """The build's steps, in order, as its service account; the first failure ends it,
        and the config's `timeout` ends the build (status TIMEOUT, the step killed)."""
        env = {**os.environ, **self.sim.environ(build.service_account)}
        deadline = time.monotonic() + limit
        build.status = "WORKING"
        try:
            for name, command in steps:
                if command is None:
                    build.steps.append({"id": name, "status": "SKIPPED", "log": "", "exit": 0})
                    continue
                started = time.monotonic()
                try:
                    done = subprocess.run(
                        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                        check=False, timeout=max(deadline - started, 0.0),
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


def install(sim: Any) -> None:
    register(sim, "cloudbuild", CloudBuild(sim))
