"""A deployed model's container: this repository's real prediction server, one process each.

Vertex AI pulls the version's serving image and starts it with the AIP_* environment; here the
image URI selects a command (this repository's `python -m serving` for its serving image,
or one a test registers in `Simulation.images`), started on a free port with the same
environment, as the endpoint's serving identity, from a copy of the version's artifacts.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from simulation.wire import ApiError

# What this repository's serving image URIs look like, by tag or by digest.
SERVING_IMAGE = re.compile(r"/serving[:@]")
# Vertex AutoML Tabular's prediction container (simulation/automl_server.py stands in for it)
AUTOML_IMAGE = re.compile(r"-docker\.pkg\.dev/vertex-ai/automl-tabular/prediction-server")
# Google's published images: anyone may pull them, no grant in the project's repositories
PUBLIC_PROJECTS = ("vertex-ai",)

HEALTHY_WITHIN = 600  # seconds


def command_for(images: dict[str, list[str]], image: str) -> list[str]:
    """The command an image runs: a registered one, or this repository's server."""
    for prefix, command in images.items():
        if image.startswith(prefix):
            return command
    if SERVING_IMAGE.search(image):
        return [sys.executable, "-m", "serving"]
    if AUTOML_IMAGE.search(image):
        return [sys.executable, "-m", "simulation.automl_server"]
    raise ApiError(400, f"Image {image} cannot be pulled: the simulation knows no such image.")


def faulty(mode: str) -> list[str]:
    """The command of a bad serving container (simulation/faulty_server.py): `garbage`,
    `flaky` or `crash`; register it in `Simulation.images` under an image URI."""
    return [sys.executable, str(Path(__file__).with_name("faulty_server.py")), mode]


def repository_of(image: str) -> str | None:
    """LOCATION-docker.pkg.dev/PROJECT/REPO/NAME:TAG → projects/P/locations/L/repositories/R."""
    host, _, path = image.partition("/")
    if not host.endswith("-docker.pkg.dev") or path.count("/") < 2:
        return None
    project, repo = path.split("/")[:2]
    if project in PUBLIC_PROJECTS:
        return None
    return (
        f"projects/{project}/locations/{host.removesuffix('-docker.pkg.dev')}/repositories/{repo}"
    )


@dataclass
class Deployment:
    deployed_id: str
    process: subprocess.Popen
    url: str
    predict_route: str

    @classmethod
    def start(cls, sim, deployed_id: str, model: dict, image: str, identity: str) -> Deployment:
        command = command_for(sim.images, image)
        folder = sim.root / "vertex" / "deployed" / deployed_id
        artifacts = model.get("artifactUri", "")
        if artifacts.startswith("gs://"):
            source = sim.root / "storage" / artifacts[5:]
            if not source.is_dir():
                raise ApiError(400, f"Model artifacts not found at {artifacts}.")
            shutil.copytree(source, folder / "model")
        spec = model.get("containerSpec") or {}
        predict_route = spec.get("predictRoute", "/predict")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {
            **os.environ,
            **(sim.environ(identity) if identity else {}),
            "AIP_HTTP_PORT": str(port),
            "AIP_HEALTH_ROUTE": spec.get("healthRoute", "/health"),
            "AIP_PREDICT_ROUTE": predict_route,
            "AIP_STORAGE_URI": str(folder / "model"),
            "AIP_DEPLOYED_MODEL_ID": deployed_id,
            "AIP_MODE": "PREDICTION",
        }
        log = open(folder.parent / f"{deployed_id}.log", "w")  # noqa: SIM115 - closed on stop
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        deployment = cls(deployed_id, process, f"http://127.0.0.1:{port}", predict_route)
        sim.on_stop.append(deployment.stop)
        deployment.wait_healthy(env["AIP_HEALTH_ROUTE"], folder.parent / f"{deployed_id}.log")
        return deployment

    def wait_healthy(self, route: str, log) -> None:
        # Vertex gives a container many minutes to become healthy; a dead one is noticed at
        # once by its exit, so this bound only catches a hang, never a slow machine
        deadline = time.monotonic() + HEALTHY_WITHIN
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = log.read_text()[-500:] if log.exists() else ""
                raise ApiError(400, f"Model server failed to start: {tail}")
            try:
                if httpx.get(self.url + route, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise ApiError(400, f"Model server did not become healthy within {HEALTHY_WITHIN} s.")

    def predict(self, body: bytes) -> tuple[int, dict]:
        started = time.perf_counter()
        try:
            response = httpx.post(
                self.url + self.predict_route,
                content=body,
                headers={"content-type": "application/json"},
                timeout=30,
            )
            answer = response.json()
            status = response.status_code
        except (httpx.HTTPError, ValueError) as exc:
            status, answer = 500, {"error": f"model server failed: {exc}"}
        if not isinstance(answer, dict):
            answer = {"predictions": answer}
        answer["_latency_ms"] = (time.perf_counter() - started) * 1000
        return status, answer

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
