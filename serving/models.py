"""Which model answers a request: one model (Vertex) or the local endpoint's traffic split."""

from __future__ import annotations

import random
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from mlops.gcs import download_prefix
from trainer.model import CensusModel


def load_model(storage_uri: str) -> CensusModel:
    """AIP_STORAGE_URI: a local folder, or gs://bucket/prefix copied down first."""
    if storage_uri.startswith("gs://"):
        from google.cloud import storage

        folder = Path(tempfile.mkdtemp(prefix="model-"))
        return CensusModel.load(download_prefix(storage.Client(), storage_uri, folder))
    return CensusModel.load(storage_uri)


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


class TrafficRouter:
    """The local prod endpoint: each request goes to a version drawn by the traffic split.

    The split and the versions' artifacts come from the local prod tenant's state, re-read
    when the endpoint state file changes (checked at most once a second), so a deploy or a
    canary promotion takes effect without a restart.
    """

    def __init__(self, tenant, seed: int | None = None) -> None:
        from pipelines.local.prod import ENDPOINT

        self.tenant = tenant
        self.state_file = tenant.state_path(ENDPOINT)
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.loaded: dict[str, CensusModel] = {}
        self.split: dict[str, int] = {}
        self._seen: float | None = None
        self._checked = 0.0
        self.refresh(force=True)

    def refresh(self, force: bool = False) -> None:
        from pipelines.local.prod import ENDPOINT, REGISTRY

        now = time.monotonic()
        if not force and now - self._checked < 1.0:
            return
        self._checked = now
        mtime = self.state_file.stat().st_mtime if self.state_file.exists() else None
        if mtime == self._seen and not force:
            return
        endpoint = self.tenant.read_state(ENDPOINT, {"traffic": {}})
        registry = self.tenant.read_state(REGISTRY, {"versions": []})
        artifacts = {v["version"]: v["artifact_uri"] for v in registry["versions"]}
        split = {v: p for v, p in endpoint["traffic"].items() if p > 0}
        models = {v: self.loaded.get(v) or CensusModel.load(artifacts[v]) for v in split}
        with self.lock:
            self.loaded, self.split, self._seen = models, split, mtime

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
