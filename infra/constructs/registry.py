"""Artifact Registry: a Docker repository for images and a KFP one for pipeline templates."""

from __future__ import annotations

from cdktf_cdktf_provider_google.artifact_registry_repository import ArtifactRegistryRepository
from constructs import Construct

from infra.constructs.props import Place


class Registries(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        place: Place,
        *,
        images: str,
        templates: str,
        kms_key_name: str,
        depends_on=(),
    ) -> None:
        super().__init__(scope, id_)
        self.repositories = {
            name: ArtifactRegistryRepository(
                self,
                kind,
                project=place.project,
                location=place.region,
                repository_id=name,
                format=fmt,
                description=description,
                kms_key_name=kms_key_name,
                # A pushed tag never moves: prod serves images pinned by digest, and a tag
                # names one build forever.
                docker_config={"immutable_tags": True} if fmt == "DOCKER" else None,
                labels=place.labels,
                depends_on=list(depends_on),
            )
            for kind, name, fmt, description in (
                ("images", images, "DOCKER", "component, trainer and serving images"),
                ("templates", templates, "KFP", "compiled pipeline templates"),
            )
        }
