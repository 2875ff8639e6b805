"""Where census data may be read from: the bundled splits, the tenant's own data bucket, or a
configured local folder; anything else is refused before a byte is read (docs/reliability.md).
URIs are quoted redacted: a password inside one never reaches a message or a log."""

from __future__ import annotations

import os
import re
from pathlib import Path

DATA_DIR_VAR = "MLOPS_DATA_DIR"
BUNDLED = ("bundled:train", "bundled:test")
_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]*@")


def redact(text: str) -> str:
    """Every `scheme://user:password@` in `text` as `scheme://***@`."""
    return _CREDENTIALS.sub("***@", text)


def local_data_dir() -> Path:
    """The one local folder data may come from: $MLOPS_DATA_DIR, else ./data."""
    return Path(os.environ.get(DATA_DIR_VAR) or "data").resolve()


def check_data_uri(uri: str, buckets: set[str], local_dir: Path | None) -> str:
    """`uri` if it is an allowed data location, else ValueError saying what is allowed.
    `local_dir` None: no local file is allowed (the cloud, a retraining message)."""
    if uri in BUNDLED:
        return uri
    if uri.startswith("gs://"):
        bucket, _, name = uri.removeprefix("gs://").partition("/")
        if bucket in buckets and name and ".." not in name.split("/"):
            return uri
        raise ValueError(
            f"{redact(uri)}: data must be in the tenant's data bucket "
            f"({', '.join(f'gs://{b}/...' for b in sorted(buckets))})"
        )
    allowed = f"{', '.join(BUNDLED)} or gs://{'|'.join(sorted(buckets))}/..."
    if "://" in uri and not uri.startswith("file://"):
        raise ValueError(f"{redact(uri)}: not a data location this platform reads ({allowed})")
    if local_dir is None:
        raise ValueError(f"{redact(uri)}: local files are not read here; use {allowed}")
    path = Path(uri.removeprefix("file://")).resolve()  # symlinks and .. resolved first
    if not path.is_relative_to(local_dir):
        raise ValueError(
            f"{redact(uri)}: outside the local data folder {local_dir} "
            f"(set {DATA_DIR_VAR} to read from another folder)"
        )
    return uri
