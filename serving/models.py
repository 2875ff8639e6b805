"""Which model answers a request: one model (Vertex) or the local endpoint's traffic split."""

from __future__ import annotations

import gc
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


def settle_heap() -> None:
    """Collect once, then keep every object alive now (the libraries, the models, the
    compiled trees) out of the collector's later passes. A full collection over them took
    85-90 ms of the GIL (180,000 objects), a pause every request in flight waited for: it
    was the p99 at 20 clients (docs/serving.md, "Latency"). Later objects are collected as
    usual. A server settles its heap when it starts; `resettle_heap` again after a model
    is loaded or compiled; `release_heap` before it exits (frozen objects are never
    freed, and native libraries report them as leaks)."""
    gc.collect()
    gc.freeze()


def resettle_heap() -> None:
    """Settle the heap again, if the server settled it (a command or a test loading a
    model leaves its heap alone)."""
    if gc.get_freeze_count():
        settle_heap()


def release_heap() -> None:
    gc.unfreeze()


def compile_for_serving(model: CensusModel, version: str) -> CensusModel:
    """Compile the version's trees in the background and say in the log what answers."""

    def report(engine: Engine) -> None:
        resettle_heap()  # the compiled trees (LLVM's objects) join the settled heap
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
        self._following = False
        self._follower: threading.Thread | None = None
        self._unfollowed = threading.Event()
        self._refreshing = threading.Lock()  # one reader of the state at a time
        self.problem: str | None = None
        self._apply(self._read())  # at start a damaged state is an error, not a degradation

    def follow(self, every: float = 1.0) -> None:
        """Re-read the split every `every` seconds in a background thread until `unfollow`,
        so that no request waits for the state files or for a new version's model to load
        (requests are answered on the event loop: docs/serving.md, "Latency")."""

        def loop() -> None:
            while not self._unfollowed.wait(every):
                self.refresh(force=True)

        self._following = True
        self._unfollowed.clear()
        self._follower = threading.Thread(target=loop, name="traffic-split", daemon=True)
        self._follower.start()

    def unfollow(self) -> None:
        """Stop the background reads (and wait for one in progress)."""
        self._unfollowed.set()
        if self._follower is not None:
            self._follower.join()
        self._following, self._follower = False, None

    def refresh(self, force: bool = False) -> None:
        """Re-read the split at most once a second. A damaged or unreadable state keeps the
        last good split serving and is reported by `problems` (health turns 503)."""
        now = time.monotonic()
        if not force and now - self._checked < 1.0:
            return
        with self._refreshing:
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
        if missing:
            resettle_heap()

    def problems(self) -> list[str]:
        return [self.problem] if self.problem else []

    def choose(self) -> Deployed | None:
        if not self._following:
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
