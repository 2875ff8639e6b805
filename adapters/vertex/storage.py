"""Cloud Storage for the Vertex target: copies, staged folders and small texts by gs:// URI."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kernel import gcp
from kernel.uris import download_prefix, split

# google-cloud-storage fetches each bucket's metadata in the background to label its trace
# spans: a buckets.get that every identity here, granted objects and not buckets, is denied
# (a 403 in prod's audit log per run, seen in the simulation's wire log). Nothing here traces.
NO_BUCKET_METADATA = "DISABLE_GCS_PYTHON_CLIENT_OTEL_BUCKET_METADATA"


class GcsStorage:
    def __init__(self, credentials: Any = None, project: str | None = None) -> None:
        from google.cloud import storage

        os.environ.setdefault(NO_BUCKET_METADATA, "true")

        self.client = storage.Client(
            project=project, credentials=credentials, client_options=gcp.client_options("storage")
        )

    def copy_tree(self, source: str, destination: str) -> str:
        src_bucket, src_prefix = split(source)
        dst_bucket, dst_prefix = split(destination)
        bucket = self.client.bucket(src_bucket)
        target = self.client.bucket(dst_bucket)
        for blob in self.client.list_blobs(src_bucket, prefix=src_prefix):
            bucket.copy_blob(blob, target, dst_prefix + blob.name[len(src_prefix) :])
        return destination

    def stage(self, files: dict[str, str | Path], texts: dict[str, str], destination: str) -> str:
        bucket_name, prefix = split(destination)
        bucket = self.client.bucket(bucket_name)
        for name, source in files.items():
            source = Path(source)
            paths = [p for p in source.rglob("*") if p.is_file()] if source.is_dir() else [source]
            for path in paths:
                relative = name if path == source else f"{name}/{path.relative_to(source)}"
                bucket.blob(f"{prefix}/{relative}").upload_from_filename(str(path))
        for name, text in texts.items():
            bucket.blob(f"{prefix}/{name}").upload_from_string(text)
        return destination

    def read_text(self, uri: str) -> str:
        from google.api_core.exceptions import NotFound

        bucket, name = split(uri)
        try:
            return self.client.bucket(bucket).blob(name).download_as_text()
        except NotFound:
            raise FileNotFoundError(uri) from None

    def checksums(self, uri: str) -> dict[str, str]:
        """Each object's bytes hashed here: Cloud Storage keeps MD5 and CRC32C, not SHA-256."""
        import hashlib

        bucket, name = split(uri)
        name = name.rstrip("/")
        found = {}
        for blob in self.client.list_blobs(bucket, prefix=name):
            if blob.name == name:
                relative = ""
            elif blob.name.startswith(f"{name}/"):
                relative = blob.name[len(name) + 1 :]
            else:
                continue  # a sibling that shares the prefix (model vs model.onnx)
            found[relative] = hashlib.sha256(blob.download_as_bytes()).hexdigest()
        return found

    def download_tree(self, uri: str, destination: Path) -> Path:
        return download_prefix(self.client, uri, destination)
