"""Every image the builds and the Dockerfile run is pinned by digest: a tag names whatever
was pushed under it last, so a build by tag runs what nobody reviewed.

`NAME[:TAG]@sha256:<64 hex>` passes (the tag is kept for the reader). The images below are
still by tag: their digests need the registries (Docker Hub, gcr.io), which these machines
cannot reach; resolve each with `docker buildx imagetools inspect IMAGE` (or `crane digest`)
and pin it, and this list shrinks. Any other image by tag fails `mlops policy`.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from settings import REPO_ROOT

_PINNED = re.compile(r"^[a-z0-9./_-]+(?::[A-Za-z0-9._${}-]+)?@sha256:[0-9a-f]{64}$")
_FROM = re.compile(r"^FROM\s+(\S+)", re.M)

AWAITING_DIGEST = frozenset(
    {
        "node:22-bookworm",
        "hashicorp/terraform:${_TERRAFORM_VERSION}",
        "gcr.io/cloud-builders/docker",
        "gcr.io/google.com/cloudsdktool/cloud-sdk:slim",
        "python:3.11-slim",
    }
)


def images(root: Path = REPO_ROOT) -> list[tuple[str, str]]:
    """(file, image) for every step of cloudbuild/*.yaml and every FROM of the Dockerfile
    (not its own stages)."""
    found = []
    for config in sorted((root / "cloudbuild").glob("*.yaml")):
        for step in yaml.safe_load(config.read_text())["steps"]:
            found.append((f"cloudbuild/{config.name}", step["name"]))
    dockerfile = (root / "Dockerfile").read_text()
    stages = set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", dockerfile, re.M | re.I))
    found += [("Dockerfile", image) for image in _FROM.findall(dockerfile) if image not in stages]
    return found


def by_tag(found: list[tuple[str, str]], allowed: frozenset[str] = AWAITING_DIGEST) -> list[str]:
    """The images that are neither pinned nor awaiting their digest, each with its file."""
    return sorted({f"{where}: image {image!r} is not pinned by digest (NAME@sha256:...)"
                   for where, image in found
                   if not _PINNED.match(image) and image not in allowed})  # fmt: skip
