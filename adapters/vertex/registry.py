"""The Vertex AI Model Registry: versions of one model; champion and challenger are aliases."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from adapters.vertex import requests
from adapters.vertex.storage import GcsStorage
from kernel.names import CHAMPION, MODEL_NAME, ON_DEVICE_LABEL
from promotion.domain import evaluations
from promotion.ports import ModelVersion

DEFAULT_ALIAS = "default"  # Vertex's own: on the first version until moved


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

    def _client(self) -> Any:
        """The Model service client the SDK configured (REST, this region, these
        credentials): listVersions with a filter, and get by alias, return whole versions."""
        return self._registry().client

    def _list(self, label: str = "", value: str = "", page_size: int = 0) -> list[ModelVersion]:
        from google.api_core.exceptions import NotFound

        request = requests.versions_request(self.parent, label, value, page_size)
        try:
            pages = self._client().list_model_versions(request=request)
            if page_size:  # one page is all the caller needs
                return [requests.model_version(m) for m in next(iter(pages.pages)).models]
            return [requests.model_version(m) for m in pages]
        except NotFound:
            return []

    def versions(self) -> list[ModelVersion]:
        """Every version: one listVersions call per page of 100."""
        return self._list()

    def find(self, label: str, value: str) -> ModelVersion | None:
        """One filtered listVersions call."""
        return next(iter(self._list(label, value)), None)

    def alias(self, name: str) -> ModelVersion | None:
        """One get of `model@alias` (Vertex resolves the alias; 404 when no version has it)."""
        from google.api_core.exceptions import NotFound

        try:
            return requests.model_version(self._client().get_model(name=f"{self.parent}@{name}"))
        except NotFound:
            return None

    def _exists(self) -> bool:
        from google.api_core.exceptions import NotFound

        try:
            self._client().get_model(name=self.parent)
        except NotFound:
            return False
        return True

    def register(
        self, artifact_uri: str, labels: dict, container: str | None = None
    ) -> ModelVersion:
        parent = self.parent if self._exists() else None
        request = requests.upload_request(
            artifact_uri=artifact_uri,
            serving_image=container or self.serving_image,
            prebuilt=container is not None,
            parent_model=parent,
            project=self.project,
            region=self.region,
            kms_key=self.kms_key,
            run_id=labels["run"],
            commit=labels["commit"],
            candidate=labels["candidate"],
            on_device=labels.get(ON_DEVICE_LABEL, ""),
            trainer=labels.get("trainer", ""),
        )
        model = self.ai.Model.upload(**request, credentials=self.credentials)
        return ModelVersion(model.version_id, artifact_uri, dict(model.labels or {}))

    def import_evaluation(self, version: str, evaluation: dict, run_id: str, trainer: str) -> None:
        """models.evaluations.import, then its slices (slices.batchImport)."""
        client = self._client()
        imported = client.import_model_evaluation(
            parent=f"{self.parent}@{version}",
            model_evaluation=evaluations.evaluation_request(evaluation, run_id, trainer),
        )
        client.batch_import_model_evaluation_slices(
            parent=imported.name, model_evaluation_slices=evaluations.slice_requests(evaluation)
        )

    def has_evaluation(self, version: str) -> bool:
        """models.evaluations.list of the version: one page of one is enough."""
        listed = self._client().list_model_evaluations(
            request={"parent": f"{self.parent}@{version}", "page_size": 1}
        )
        return next(iter(listed), None) is not None

    def set_alias(self, name: str, version: str | None) -> None:
        """Move `name`; the champion takes Vertex's `default` alias along, so the model's
        unversioned name is what serves, and no retired version keeps `default` (Vertex
        refuses to delete the version that holds it)."""
        current = self.alias(name)
        if current and current.version != version:
            self._registry().remove_version_aliases([name], current.version)
        if version is not None and (current is None or current.version != version):
            moved = [name, DEFAULT_ALIAS] if name == CHAMPION else [name]
            self._registry().add_version_aliases(moved, version)

    def delete(self, version: str) -> None:
        """One version; Vertex refuses to delete a model's only version, so then the model."""
        others = [v for v in self._list(page_size=2) if v.version != version]
        if others:
            self._registry().delete_version(version)
        else:
            self.ai.Model(self.parent, credentials=self.credentials).delete()

    def fetch(self, version: ModelVersion) -> str:
        folder = Path(tempfile.mkdtemp(prefix=f"champion-v{version.version}-"))
        return str(self.storage.download_tree(version.artifact_uri, folder))
