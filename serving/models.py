"""Which model answers a request: one model (Vertex) or the local endpoint's traffic split."""

from __future__ import annotations

import random
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from kernel import gcp
from kernel.uris import download_prefix
from promotion.ports import Endpoint, Registry
from trainer.compiled import Engine
from trainer.model import CensusModel


def load_model(storage_uri: str) -> CensusModel:
    """AIP_STORAGE_URI: a local folder, or gs://bucket/prefix copied down first."""
    if storage_uri.startswith("gs://"):
        from google.cloud import storage

        folder = Path(tempfile.mkdtemp(prefix="model-"))
        client = storage.Client(client_options=gcp.client_options("storage"))
        return CensusModel.load(download_prefix(client, storage_uri, folder))
    return CensusModel.load(storage_uri)


def compile_for_serving(model: CensusModel, version: str) -> CensusModel:
    """Compile the version's trees in the background and say in the log what answers."""

    def report(engine: Engine) -> None:
        if engine.state == "compiled":
            print(
                f"serving: version {version}: compiled trees in {engine.compile_seconds} s, "
                f"{engine.reason}",
                file=sys.stderr,
                flush=True,
            )
        else:
            print(
                f"serving: version {version}: LightGBM answers (compiled trees not used: "
                f"{engine.reason})",
                file=sys.stderr,
                flush=True,
            )

    model.compile(report)
    return model


def engines(models: dict[str, CensusModel]) -> dict[str, dict]:
    return {v: m.engine.describe() for v, m in models.items() if m.engine is not None}


@dataclass(frozen=True)
class Deployed:
    version: str
    model: CensusModel


class SingleModel:
    """The Vertex AI case: the container serves one model version."""

    def __init__(self, model: CensusModel, version: str) -> None:
        self.deployed = Deployed(version, model)

    def choose(self) -> Deployed | None:
        return self.deployed

    def versions(self) -> dict[str, int]:
        return {self.deployed.version: 100}

    def refresh(self, force: bool = False) -> None:
        pass

    def engines(self) -> dict[str, dict]:
        return engines({self.deployed.version: self.deployed.model})

    def problems(self) -> list[str]:
        return []


class TrafficRouter:
    """The local prod endpoint: each request goes to a version drawn by the traffic split.

    The split comes from the endpoint port and each version's artifact from the registry
    port; the split is re-read at most once a second, so a deploy or a canary promotion
    takes effect without a restart, and a version's model is loaded once.
    """

    def __init__(self, endpoint: Endpoint, registry: Registry, seed: int | None = None) -> None:
        self.endpoint, self.registry = endpoint, registry
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.loaded: dict[str, CensusModel] = {}
        self.split: dict[str, int] = {}
        self._checked = 0.0
        self.problem: str | None = None
        self._apply(self._read())  # at start a damaged state is an error, not a degradation

    def refresh(self, force: bool = False) -> None:
        """Re-read the split at most once a second. A damaged or unreadable state keeps the
        last good split serving and is reported by `problems` (health turns 503)."""
        now = time.monotonic()
        if not force and now - self._checked < 1.0:
            return
        self._checked = now
        try:
            self._apply(self._read())
        except Exception as exc:
            self.problem = f"serving the last good traffic split {self.split}: {exc}"
        else:
            self.problem = None

    def _read(self) -> dict[str, int]:
        return {v: p for v, p in self.endpoint.state().traffic.items() if p > 0}

    def _apply(self, split: dict[str, int]) -> None:
        if split == self.split:
            return
        missing = set(split) - set(self.loaded)
        versions = {v.version: v for v in self.registry.versions() if v.version in missing}
        models = {
            v: self.loaded.get(v)
            or compile_for_serving(CensusModel.load(self.registry.fetch(versions[v])), v)
            for v in split
        }
        with self.lock:
            self.loaded, self.split = models, split

    def problems(self) -> list[str]:
        return [self.problem] if self.problem else []

    def choose(self) -> Deployed | None:
        self.refresh()
        with self.lock:
            if not self.split:
                return None
            versions = list(self.split)
            version = self.random.choices(versions, weights=[self.split[v] for v in versions])[0]
            return Deployed(version, self.loaded[version])

    def versions(self) -> dict[str, int]:
        with self.lock:
            return dict(self.split)

    def engines(self) -> dict[str, dict]:
        with self.lock:
            return engines(self.loaded)
