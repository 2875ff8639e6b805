"""The simulation's one HTTP server: every API under `/{service}/...`, every call checked.

Each route names the REST method it implements (its discovery name); before a handler
changes anything it calls `call.authorize(resource)`, which looks up the permission that
method needs and checks it against the caller's bindings. A denial answers 403 in Google's
error shape, so the client library raises what it raises in production. Every request goes
to the wire log: who, what, which permission on which resource, allowed or denied.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute

from simulation import iam
from simulation.apis.vertex.state import VertexState
from simulation.tokens import Tokens
from simulation.wire import ApiError, Check, WireEntry
from simulation.world import World


@dataclass
class Route:
    verb: str
    pattern: re.Pattern
    method: str  # the REST method's discovery name, for the IAM check and the wire log
    handler: Callable[..., Response]


class Call:
    """One request: who sent it, what it asked, and the checks it passed."""

    def __init__(self, sim: Simulation, request: Request, route: Route, entry: WireEntry) -> None:
        self.sim, self.request, self.route, self.entry = sim, request, route, entry
        self.principal = entry.principal
        self.body = b""

    @property
    def query(self):
        return self.request.query_params

    def json(self) -> dict:
        return json.loads(self.body or b"{}")

    def authorize(self, resource: str, permission: str | None = None) -> None:
        """403 unless the caller holds the permission the route's method needs on `resource`."""
        permission = permission or iam.required_permission(self.route.method)
        if permission is None:
            return
        self.sim.check(self.entry, self.principal, permission, resource)


class Simulation:
    """The simulated cloud: a World, its tokens, its HTTP server and its wire log."""

    def __init__(self, world: World, root: Path) -> None:
        self.world, self.root = world, root
        root.mkdir(parents=True, exist_ok=True)
        self.tokens = Tokens()
        self.wire: list[WireEntry] = []
        self.lock = threading.RLock()
        self.routes: dict[str, list[Route]] = {}
        self.port = 0
        self.images: dict[str, list[str]] = {}  # image URI prefix → command (tests add some)
        # Cloud Storage's object reader, for services that read objects as the caller
        self.read_object: Callable[[Any, str, str], bytes] | None = None
        self.write_object: Callable[[Any, str, str, bytes], Any] | None = None
        # What runs a created pipeline job (None: it stays pending, as a queue would hold it).
        self.run_pipelines: Callable[[dict], None] | None = None
        self.bigquery: Any = None  # the BigQuery API, for services reading tables as themselves
        self.on_stop: list[Callable[[], None]] = []
        # Called with each call's wire entry once its handler has answered, before the answer
        # is sent: how a test kills a client just after a change it asked for took effect.
        self.after_call: Callable[[WireEntry], None] | None = None
        # (time, endpoint, deployed model, status, total ms, model ms): what Monitoring counts
        # once `monitoring_delay` seconds have passed (Cloud Monitoring's points arrive late)
        self.monitoring_delay = 0.0
        self.predictions: list[tuple[float, str, str, int, float, float]] = []
        # Vertex AI's resources (simulation/apis/vertex), and the hooks its installer shares
        # with the other services.
        self.vertex = VertexState()
        self.builds: dict[str, Any] = {}  # Cloud Build's builds by id (apis/cloudbuild.py)
        self.cloudbuild: Any = None  # apis/cloudbuild.py: creating and running builds
        self.registry: Any = None  # apis/registry.py: the images pushed
        self.pubsub: Any = None  # apis/pubsub.py: publish, and delivery to functions
        self.logging: Any = None  # apis/logging.py: entries, routed by the stacks' sinks
        self.function_calls: list[tuple[str, int, str]] = []  # (function, exit, its output)
        # (time, endpoint, deployed model, instance): what a monitoring job analyses
        self.served_instances: list[tuple[float, str, str, dict]] = []
        self.create_custom_job: Callable[..., Any] | None = None
        self.pipeline_run_context: Callable[..., Any] | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        from simulation.apis import install

        install(self)

    # Routes and checks --------------------------------------------------------------------

    def route(self, service: str, verb: str, pattern: str, method: str):
        def register(handler):
            self.routes.setdefault(service, []).append(
                Route(verb, re.compile(pattern + r"$"), method, handler)
            )
            return handler

        return register

    def _holds(self, principal: str | None, permission: str, resource: str):
        """The binding granting `permission` on `resource` to `principal`, or None (also for a
        resource in a project this cloud does not have: Google answers such calls 403)."""
        if principal is None:
            return None
        with self.lock:
            w = self.world
            try:
                chain = w.chain(resource)
            except KeyError:
                return None
            return iam.holds(principal, permission, chain, w.bindings, w.custom_roles)

    def check(
        self, entry: WireEntry, principal: str | None, permission: str, resource: str
    ) -> None:
        binding = self._holds(principal, permission, resource)
        via = f"{binding.role} on {binding.resource}" if binding else "no binding grants it"
        entry.checks.append(Check(permission, resource, binding is not None, via, binding))
        if binding is None:
            raise ApiError(
                403,
                f"Permission '{permission}' denied on resource '{resource}' (or it may not "
                f"exist) for {principal}.",
                permission=permission,
                resource=resource,
            )

    def allowed(self, principal: str, permission: str, resource: str) -> bool:
        return self._holds(principal, permission, resource) is not None

    async def _dispatch(self, request: Request) -> Response:
        # The raw path: object names and resource names keep their encoded slashes.
        raw = request.scope.get("raw_path", request.url.path.encode()).decode().split("?")[0]
        _, service, rest = raw.split("/", 2) if raw.count("/") >= 2 else ("", raw[1:], "")
        rest = "/" + rest
        for route in self.routes.get(service, []):
            if route.verb != request.method:
                continue
            match = route.pattern.match(rest)
            if match is None:
                continue
            params = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
            return await self._run(request, route, params)
        return ApiError(404, f"the simulation has no {request.method} {service}{rest}").response()

    async def _run(self, request: Request, route: Route, params: dict) -> Response:
        principal = None
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            principal = self.tokens.principal(header[7:].strip())
        with self.lock:
            entry = WireEntry(
                len(self.wire) + 1, time.time(), principal, request.method,
                request.url.path, route.method,
            )  # fmt: skip
            self.wire.append(entry)
        call = Call(self, request, route, entry)
        call.body = await request.body()
        try:
            if principal is None and not route.method.startswith("metadata."):
                raise ApiError(401, "Request is missing a valid OAuth 2 access token.")
            response = route.handler(call, **params)
        except ApiError as exc:
            response = exc.response()
        entry.status = response.status_code
        if self.after_call is not None:
            self.after_call(entry)
        return response

    # The server -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Simulation:
        app = Starlette(routes=[StarletteRoute("/{rest:path}", self._dispatch, methods=_VERBS)])
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="simulation", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 300  # a thread that dies is noticed at once
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the simulated cloud did not start")
            time.sleep(0.01)
        return self

    def log_call(self, principal: str | None, verb: str, method: str) -> WireEntry:
        """A call the simulation makes on a principal's behalf (a launcher it stands in for)."""
        with self.lock:
            entry = WireEntry(len(self.wire) + 1, time.time(), principal, verb, "-", method)
            self.wire.append(entry)
        return entry

    def fire_job(self, name: str) -> Any:
        """A Cloud Scheduler job falls due: it is delivered now (apis/cloudscheduler.py);
        returns the target's response."""
        from simulation.apis.cloudscheduler import deliver

        return deliver(self, name)

    def run_monitoring(self, now: float | None = None) -> dict[str, list]:
        """Model Monitoring's interval has passed: each running monitoring job analyses what
        its endpoint served (apis/vertex/analysis.py); {job: its anomalies}."""
        from simulation.apis.vertex.analysis import run_job

        at = time.time() if now is None else now
        return {
            name: run_job(self, name, at)
            for name, job in list(self.vertex.jobs.items())
            if job.get("state") == "JOB_STATE_RUNNING"
        }

    def record_prediction(
        self, endpoint: str, deployed_id: str, status: int, total_ms: float, model_ms: float
    ) -> None:
        """What Cloud Monitoring counts: each prediction, its deployed model, status, latency."""
        with self.lock:
            self.predictions.append(
                (time.time(), endpoint, deployed_id, status, total_ms, model_ms)
            )

    def stop(self) -> None:
        for stop in reversed(self.on_stop):
            stop()
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout=10)

    def __enter__(self) -> Simulation:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def environ(self, principal: str) -> dict[str, str]:
        """The environment variables that make a process run as `principal`, against us."""
        host = f"127.0.0.1:{self.port}/metadata/{self.tokens.slot(principal)}"
        return {
            "MLOPS_API_ENDPOINT": f"{self.url}/{{service}}",
            "GCE_METADATA_HOST": host,
            "GCE_METADATA_IP": host,
            "GOOGLE_CLOUD_PROJECT": self.world.project_of_identity(principal),
            # No user credentials from this machine may stand in for the principal.
            "GOOGLE_APPLICATION_CREDENTIALS": "",
            "CLOUDSDK_CONFIG": str(self.root / "gcloud-config"),
            "NO_GCE_CHECK": "False",
        }

    def client(self, principal: str, timeout: float = 60):
        """An HTTP client calling this cloud's APIs as `principal` (a person's `gcloud`, an
        end user): paths relative to the simulation's URL."""
        import httpx

        token = self.tokens.issue(principal)
        return httpx.Client(
            base_url=self.url, headers={"authorization": f"Bearer {token}"}, timeout=timeout
        )

    def credentials(self, principal: str):
        """In-process credentials of `principal`, for tests that call a client directly."""
        from google.oauth2.credentials import Credentials

        return Credentials(token=self.tokens.issue(principal))


_VERBS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
