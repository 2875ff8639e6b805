"""Artifact Registry: a Docker repository for images and a KFP one for pipeline templates."""

from __future__ import annotations

from cdktf_cdktf_provider_google.artifact_registry_repository import ArtifactRegistryRepository
from constructs import Construct

from infra.settings import Settings


class Registries(Construct):
    def __init__(
        self, scope: Construct, id_: str, settings: Settings, *, kms_key_name: str, depends_on=()
    ) -> None:
        super().__init__(scope, id_)
        repos = settings.artifact_registry
        self.repositories = {
            name: ArtifactRegistryRepository(
                self,
                kind,
                project=settings.project_id,
                location=settings.region,
                repository_id=name,
                format=fmt,
                description=description,
                kms_key_name=kms_key_name,
                labels={"env": settings.env},
                depends_on=list(depends_on),
            )
            for kind, name, fmt, description in (
                ("images", repos.images, "DOCKER", "component, trainer and serving images"),
                ("templates", repos.templates, "KFP", "compiled pipeline templates"),
            )
        }
