"""The local prod tenant: a model registry with versions and aliases, and an endpoint whose
state is a traffic split over deployed versions. Same interface as pipelines/vertex/prod.py.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.core.traffic import EndpointState
from pipelines.local.workspace import LocalTenant
from trainer import predict
from trainer.model import CensusModel

REGISTRY = "registry"
ENDPOINT = "endpoint"
MONITORING = "monitoring"


@dataclass
class ModelVersion:
    version: str
    artifact_uri: str
    labels: dict = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)


class LocalRegistry:
    def __init__(self, tenant: LocalTenant, model: str) -> None:
        self.tenant, self.model = tenant, model

    def _state(self) -> dict:
        return self.tenant.read_state(
            REGISTRY, {"model": self.model, "versions": [], "aliases": {}}
        )

    def versions(self) -> list[ModelVersion]:
        state = self._state()
        by_version = {}
        for v in state["versions"]:
            by_version[v["version"]] = ModelVersion(v["version"], v["artifact_uri"], v["labels"])
        for alias, version in state["aliases"].items():
            by_version[version].aliases.append(alias)
        return list(by_version.values())

    def find(self, label: str, value: str) -> ModelVersion | None:
        return next((v for v in self.versions() if v.labels.get(label) == value), None)

    def alias(self, name: str) -> ModelVersion | None:
        return next((v for v in self.versions() if name in v.aliases), None)

    def register(self, artifact_uri: str, labels: dict) -> ModelVersion:
        with self.tenant.locked():
            state = self._state()
            version = str(max((int(v["version"]) for v in state["versions"]), default=0) + 1)
            state["versions"].append(
                {
                    "version": version,
                    "artifact_uri": artifact_uri,
                    "labels": labels,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                }
            )
            self.tenant.write_state(REGISTRY, state)
        return ModelVersion(version, artifact_uri, labels)

    def delete(self, version: str) -> None:
        with self.tenant.locked():
            state = self._state()
            if version in state["aliases"].values():
                raise ValueError(f"version {version} has an alias; move it first")
            state["versions"] = [v for v in state["versions"] if v["version"] != version]
            self.tenant.write_state(REGISTRY, state)

    def fetch(self, version: ModelVersion) -> str:
        """A local folder holding the version's artifact (here it already is one)."""
        return version.artifact_uri

    def set_alias(self, name: str, version: str | None) -> None:
        with self.tenant.locked():
            state = self._state()
            if version is None:
                state["aliases"].pop(name, None)
            else:
                state["aliases"][name] = version
            self.tenant.write_state(REGISTRY, state)


class LocalEndpoint:
    def __init__(self, tenant: LocalTenant, endpoint_id: str, registry: LocalRegistry) -> None:
        self.tenant, self.endpoint_id, self.registry = tenant, endpoint_id, registry

    def _state(self) -> dict:
        return self.tenant.read_state(
            ENDPOINT, {"endpoint_id": self.endpoint_id, "deployed": [], "traffic": {}}
        )

    def state(self) -> EndpointState:
        s = self._state()
        return EndpointState(traffic=dict(s["traffic"]), deployed=tuple(s["deployed"]))

    def _update(self, change) -> None:
        with self.tenant.locked():
            s = self._state()
            change(s)
            EndpointState(traffic=s["traffic"], deployed=tuple(s["deployed"]))  # validates
            self.tenant.write_state(ENDPOINT, s)

    def deploy(self, version: str, traffic: dict[str, int], **_serving) -> None:
        def change(s: dict) -> None:
            if version not in s["deployed"]:
                s["deployed"].append(version)
            s["traffic"] = {v: p for v, p in traffic.items() if p > 0}

        self._update(change)

    def set_traffic(self, traffic: dict[str, int]) -> None:
        def change(s: dict) -> None:
            s["traffic"] = {v: p for v, p in traffic.items() if p > 0}

        self._update(change)

    def undeploy(self, version: str) -> None:
        def change(s: dict) -> None:
            if s["traffic"].get(version):
                raise ValueError(f"version {version} still has traffic; move it first")
            s["deployed"] = [v for v in s["deployed"] if v != version]

        self._update(change)

    def predict(self, instances: list, version: str) -> list[dict]:
        artifact = next(v.artifact_uri for v in self.registry.versions() if v.version == version)
        model = CensusModel.load(artifact)
        matrix = predict.encode_instances(instances)
        return predict.format_predictions(model.predict_matrix(matrix), model.threshold)


class LocalStorage:
    """Cloud Storage semantics over the workspace's bucket folders: copies appear whole."""

    def copy_tree(self, source: str, destination: str) -> str:
        return _publish(Path(destination), lambda tmp: _copy(Path(source), tmp))

    def stage(self, files: dict[str, str | Path], texts: dict[str, str], destination: str) -> str:
        """Files and texts into one folder, which appears only when complete."""

        def fill(tmp: Path) -> None:
            tmp.mkdir()
            for name, source in files.items():
                _copy(Path(source), tmp / name)
            for name, text in texts.items():
                (tmp / name).write_text(text)

        return _publish(Path(destination), fill)

    def read_text(self, uri: str) -> str:
        return Path(uri).read_text()


def _copy(source: Path, destination: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, destination)
    else:
        shutil.copy2(source, destination)


def _publish(destination: Path, fill) -> str:
    """Build `destination` in a hidden sibling, then swap it in: readers never see half."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = destination.with_name(f".{destination.name}.partial")
    _remove(tmp)
    fill(tmp)
    _remove(destination)
    tmp.rename(destination)
    return str(destination)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


class LocalMonitoring:
    """The monitoring configuration the local monitor reads (Vertex: the monitoring job)."""

    def __init__(self, tenant: LocalTenant) -> None:
        self.tenant = tenant

    def apply(self, config: dict) -> str:
        with self.tenant.locked():
            previous = self.tenant.read_state(MONITORING, None)
            self.tenant.write_state(MONITORING, config)
        return "updated" if previous else "created"

    def current(self) -> dict | None:
        return self.tenant.read_state(MONITORING, None)
