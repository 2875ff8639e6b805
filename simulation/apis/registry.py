"""Artifact Registry's Docker endpoint (LOCATION-docker.pkg.dev): what `docker push` and a
pull by digest send. A push puts a manifest under a tag; its digest is the SHA-256 of the
manifest's bytes, as a registry computes it. Checked as Google checks a push: the caller may
upload to the repository (`artifactregistry.repositories.uploadArtifacts`) and create the
tag (`artifactregistry.tags.create`); a repository with immutable tags refuses moving a tag
to another digest. Not modelled: layers and blobs (the manifest names none), the
repository's CMEK key.

Paths: /docker/LOCATION/v2/PROJECT/REPOSITORY/IMAGE/manifests/TAG-OR-DIGEST.
"""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.responses import Response

from simulation.apis.routing import register, route
from simulation.wire import ApiError

MANIFEST = (
    r"/(?P<location>[a-z0-9-]+)/v2/(?P<project>[^/]+)/(?P<repository>[^/]+)/(?P<image>.+)"
    r"/manifests/(?P<reference>[^/]+)"
)
MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"


class Registry:
    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.manifests: dict[tuple[str, str], bytes] = {}  # (repository/image, digest)
        self.tags: dict[tuple[str, str], str] = {}  # (repository/image, tag) → digest

    def repository(self, project: str, location: str, repository: str) -> str:
        name = f"projects/{project}/locations/{location}/repositories/{repository}"
        if name not in self.sim.world.repositories:
            raise ApiError(404, f"Repository {name} not found.")
        return name

    @route("PUT", MANIFEST, "artifactregistry.docker.push")
    def push(self, call: Any, location: str, project: str, repository: str, image: str,
             reference: str) -> Response:  # fmt: skip
        name = self.repository(project, location, repository)
        call.authorize(name, "artifactregistry.repositories.uploadArtifacts")
        digest = "sha256:" + hashlib.sha256(call.body).hexdigest()
        key = f"{name}/{image}"
        if not reference.startswith("sha256:"):
            held = self.tags.get((key, reference))
            if held is not None and held != digest and name in self.sim.world.immutable_tags:
                raise ApiError(
                    400,
                    f"tag {image}:{reference} already exists in {name} and the repository's "
                    "tags are immutable",
                )
            if held is None:
                call.authorize(name, "artifactregistry.tags.create")
            self.tags[(key, reference)] = digest
        self.manifests[(key, digest)] = call.body
        return Response(status_code=201, headers={"Docker-Content-Digest": digest})

    @route("GET", MANIFEST, "artifactregistry.docker.pull")
    def pull(self, call: Any, location: str, project: str, repository: str, image: str,
             reference: str) -> Response:  # fmt: skip
        name = self.repository(project, location, repository)
        call.authorize(name, "artifactregistry.repositories.downloadArtifacts")
        key = f"{name}/{image}"
        digest = reference if reference.startswith("sha256:") else self.tags.get((key, reference))
        body = self.manifests.get((key, digest or ""))
        if body is None or digest is None:
            raise ApiError(404, f"manifest unknown: {image}:{reference} in {name}")
        return Response(body, media_type=MEDIA_TYPE, headers={"Docker-Content-Digest": digest})


def install(sim: Any) -> None:
    sim.registry = Registry(sim)
    register(sim, "docker", sim.registry)
