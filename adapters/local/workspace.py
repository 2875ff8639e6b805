"""Where the local tenants live: one folder per project, with a warehouse, buckets and state.

    .mlops/<project>/warehouse.duckdb       the tenant's warehouse (BigQuery's stand-in)
    .mlops/<project>/buckets/<bucket>/...   one folder per Cloud Storage bucket
    .mlops/<project>/state/*.json           registry, endpoint, monitoring (prod)

State files are replaced atomically (kernel.atomic) under a lock, so a crash mid-write leaves
the last good state and two writers never interleave.
"""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from pathlib import Path

from kernel.atomic import write_json

ENV_VAR = "MLOPS_WORKSPACE"
DEFAULT = ".mlops"
# The prod tenant's state files.
REGISTRY = "registry"
ENDPOINT = "endpoint"
MONITORING = "monitoring"


def workspace_root(explicit: str | None = None) -> Path:
    return Path(explicit or os.environ.get(ENV_VAR) or DEFAULT).resolve()


class LocalTenant:
    def __init__(self, root: str | Path, project: str) -> None:
        self.project = project
        self.path = Path(root) / project

    def bucket(self, name: str) -> Path:
        return self.path / "buckets" / name

    @property
    def warehouse_path(self) -> Path:
        return self.path / "warehouse.duckdb"

    def state_path(self, name: str) -> Path:
        return self.path / "state" / f"{name}.json"

    def read_state(self, name: str, default):
        path = self.state_path(name)
        return json.loads(path.read_text()) if path.exists() else default

    def write_state(self, name: str, value) -> None:
        write_json(self.state_path(name), value)

    @contextmanager
    def locked(self):
        """An exclusive lock on this tenant's state for a read-modify-write."""
        lock = self.path / "state" / ".lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        with open(lock, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
