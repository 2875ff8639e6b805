"""Container image references: prod runs images pinned by digest, never by a movable tag.

A tag names whatever was pushed last under it; a digest names one build forever. The build
resolves each pushed image's digest (cloudbuild/staging.yaml), and everything that hands an
image to Vertex AI for prod checks it here first.
"""

from __future__ import annotations

import re

from kernel.errors import UserError

# HOST[:PORT]/PATH...@sha256:<64 hex>, with no tag in between
_PINNED = re.compile(r"^[a-z0-9.-]+(?::[0-9]+)?(?:/[a-z0-9._-]+)+@sha256:[0-9a-f]{64}$")


def is_pinned(image: str) -> bool:
    return bool(_PINNED.match(image))


def require_pinned(image: str, where: str) -> str:
    """`image` if pinned by digest; else a UserError naming `where` and the value."""
    if not is_pinned(image):
        raise UserError(
            f"{where}: {image!r} is not pinned by digest; prod serves images as "
            "REPOSITORY/NAME@sha256:<64 hex digits> (the digest the build pushed, for example "
            "`docker inspect --format '{{index .RepoDigests 0}}' IMAGE`), never by a tag"
        )
    return image
