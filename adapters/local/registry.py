"""The local model registry: versions with labels and aliases, in the prod tenant's state."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from kernel.workspace import REGISTRY, LocalTenant
from promotion.domain import evaluations
from promotion.ports import ModelVersion


def _check(state: dict) -> None:
    """What the file must mean: each version once, with its artifact and labels; each alias
    on a registered version."""
    seen: set[str] = set()
    for v in state["versions"]:
        if not isinstance(v["artifact_uri"], str) or not isinstance(v["labels"], dict):
            raise ValueError(f"version {v['version']} has no artifact_uri or labels")
        if v["version"] in seen:
            raise ValueError(f"version {v['version']} is registered twice")
        seen.add(v["version"])
    for alias, version in state["aliases"].items():
        if version not in seen:
            raise ValueError(f"alias {alias} points at version {version}, which is not registered")


def _created(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


class LocalRegistry:
    def __init__(self, tenant: LocalTenant, model: str) -> None:
        self.tenant, self.model = tenant, model

    def _state(self) -> dict:
        return self.tenant.read_state(
            REGISTRY, {"model": self.model, "versions": [], "aliases": {}}, check=_check
        )

    def versions(self) -> list[ModelVersion]:
        state = self._state()
        by_version = {}
        for v in state["versions"]:
            by_version[v["version"]] = ModelVersion(
                v["version"], v["artifact_uri"], v["labels"], [], _created(v.get("created"))
            )
        for alias, version in state["aliases"].items():
            by_version[version].aliases.append(alias)
        return list(by_version.values())

    def find(self, label: str, value: str) -> ModelVersion | None:
        return next((v for v in self.versions() if v.labels.get(label) == value), None)

    def alias(self, name: str) -> ModelVersion | None:
        return next((v for v in self.versions() if name in v.aliases), None)

    def register(
        self, artifact_uri: str, labels: dict, container: str | None = None
    ) -> ModelVersion:
        with self.tenant.locked():
            state = self._state()
            version = str(max((int(v["version"]) for v in state["versions"]), default=0) + 1)
            state["versions"].append(
                {
                    "version": version,
                    "artifact_uri": artifact_uri,
                    "labels": labels,
                    **({"container": container} if container else {}),
                    "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                }
            )
            self.tenant.write_state(REGISTRY, state)
        return ModelVersion(version, artifact_uri, labels)

    def import_evaluation(self, version: str, evaluation: dict, run_id: str, trainer: str) -> None:
        """Kept on the version, in the shape Vertex's registry holds it."""
        with self.tenant.locked():
            state = self._state()
            (held,) = [v for v in state["versions"] if v["version"] == version]
            held["evaluation"] = {
                **evaluations.evaluation_request(evaluation, run_id, trainer),
                "slices": evaluations.slice_requests(evaluation),
            }
            self.tenant.write_state(REGISTRY, state)

    def has_evaluation(self, version: str) -> bool:
        return any("evaluation" in v for v in self._state()["versions"] if v["version"] == version)

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
