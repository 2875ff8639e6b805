"""Cloud Storage URIs: split a gs:// URI, copy a prefix down. The client comes from the caller."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def split(uri: str) -> tuple[str, str]:
    """gs://bucket/a/b → ("bucket", "a/b")."""
    bucket, _, name = uri.removeprefix("gs://").partition("/")
    return bucket, name


def download_prefix(client: Any, uri: str, destination: Path) -> Path:
    """Every object under `uri` into `destination`, keeping the relative layout."""
    bucket, prefix = split(uri)
    for blob in client.list_blobs(bucket, prefix=prefix):
        target = destination / blob.name[len(prefix) :].lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        blob.download_to_filename(str(target))
    return destination
