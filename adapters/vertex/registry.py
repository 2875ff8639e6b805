"""The Vertex AI Model Registry: versions of one model; champion and challenger are aliases."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from adapters.vertex import requests
from adapters.vertex.storage import GcsStorage
from kernel.names import MODEL_NAME, ON_DEVICE_LABEL, label_value
from promotion.ports import ModelVersion


class VertexRegistry:
    def __init__(
        self,
        project: str,
        region: str,
        credentials: Any,
        storage: GcsStorage,
        serving_image: str = "",
        kms_key: str = "",
    ) -> None:
        from google.cloud import aiplatform

        self.ai = aiplatform
        self.project, self.region, self.credentials = project, region, credentials
        self.storage, self.serving_image, self.kms_key = storage, serving_image, kms_key
        self.parent = f"projects/{project}/locations/{region}/models/{MODEL_NAME}"

    def _registry(self):
        return self.ai.models.ModelRegistry(self.parent, credentials=self.credentials)

    def model(self, version: str) -> Any:
        return self.ai.Model(f"{self.parent}@{version}", credentials=self.credentials)

    def versions(self) -> list[ModelVersion]:
        from google.api_core.exceptions import NotFound

        try:
            infos = self._registry().list_versions()
        except NotFound:
            return []
        out = []
        for info in infos:
            model = self.model(info.version_id)
            out.append(
                ModelVersion(
                    info.version_id,
                    model.uri,
                    dict(model.labels or {}),
                    [a for a in info.version_aliases if a != "default"],
                )
            )
        return out

    def find(self, label: str, value: str) -> ModelVersion | None:
        wanted = label_value(value)
        return next((v for v in self.versions() if v.labels.get(label) == wanted), None)

    def alias(self, name: str) -> ModelVersion | None:
        return next((v for v in self.versions() if name in v.aliases), None)

    def register(self, artifact_uri: str, labels: dict) -> ModelVersion:
        parent = self.parent if self.versions() else None
        request = requests.upload_request(
            artifact_uri=artifact_uri,
            serving_image=self.serving_image,
            parent_model=parent,
            project=self.project,
            region=self.region,
            kms_key=self.kms_key,
            run_id=labels["run"],
            commit=labels["commit"],
            candidate=labels["candidate"],
            on_device=labels.get(ON_DEVICE_LABEL, ""),
        )
        model = self.ai.Model.upload(**request, credentials=self.credentials)
        return ModelVersion(model.version_id, artifact_uri, dict(model.labels or {}))

    def set_alias(self, name: str, version: str | None) -> None:
        current = self.alias(name)
        if current and current.version != version:
            self._registry().remove_version_aliases([name], current.version)
        if version is not None and (current is None or current.version != version):
            self._registry().add_version_aliases([name], version)

    def delete(self, version: str) -> None:
        """One version; Vertex refuses to delete a model's only version, so then the model."""
        others = [v for v in self.versions() if v.version != version]
        if others:
            self._registry().delete_version(version)
        else:
            self.ai.Model(self.parent, credentials=self.credentials).delete()

    def fetch(self, version: ModelVersion) -> str:
        folder = Path(tempfile.mkdtemp(prefix=f"champion-v{version.version}-"))
        return str(self.storage.download_tree(version.artifact_uri, folder))
