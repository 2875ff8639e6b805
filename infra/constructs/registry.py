"""Artifact Registry: Docker repositories for images and a KFP one for pipeline templates."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_google.artifact_registry_repository import ArtifactRegistryRepository
from constructs import Construct

from infra.constructs.props import Place


@dataclass(frozen=True)
class Repository:
    kind: str  # images | templates | functions: the logical id, stable across renames
    name: str
    format: str  # DOCKER | KFP
    description: str
    kms_key_name: str
    # A pushed tag never moves: prod serves images pinned by digest, and a tag names one build
    # forever. Only a repository whose images nothing pulls by tag may leave it off.
    immutable_tags: bool = True


class Registries(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        place: Place,
        repositories: list[Repository],
        *,
        depends_on: dict[str, list],
    ) -> None:
        """`depends_on`: per repository name, what must exist first (its key's grants)."""
        super().__init__(scope, id_)
        self.repositories = {
            repo.name: ArtifactRegistryRepository(
                self,
                repo.kind,
                project=place.project,
                location=place.region,
                repository_id=repo.name,
                format=repo.format,
                description=repo.description,
                kms_key_name=repo.kms_key_name,
                docker_config=(
                    {"immutable_tags": repo.immutable_tags} if repo.format == "DOCKER" else None
                ),
                labels=place.labels,
                depends_on=depends_on.get(repo.name, []),
            )
            for repo in repositories
        }
