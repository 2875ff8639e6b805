"""Where the local tenants live: one folder per project, with a warehouse, buckets and state.

    .mlops/<project>/warehouse.duckdb       the tenant's warehouse (BigQuery's stand-in)
    .mlops/<project>/buckets/<bucket>/...   one folder per Cloud Storage bucket
    .mlops/<project>/state/*.json           registry, endpoint, monitoring (prod)
    .mlops/<project>/request_log/           the prod endpoint's request log (segments)

State files are replaced atomically (kernel.atomic) under a lock, so a crash mid-write leaves
the last good state and two writers never interleave; each write keeps the file it replaces
as `<name>.json.last-good`, and a file damaged anyway (a full disk, a hand edit) is named
with the command that restores that copy.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from kernel.atomic import write_bytes, write_json
from kernel.errors import Busy, Damaged

ENV_VAR = "MLOPS_WORKSPACE"
DEFAULT = ".mlops"
# The prod tenant's state files.
REGISTRY = "registry"
ENDPOINT = "endpoint"
MONITORING = "monitoring"


def evaluation_report(run_id: str) -> str:
    """The file name a run's evaluation report gets in the workspace's reports folder."""
    return f"evaluation-{run_id}.html"


def workspace_root(explicit: str | None = None) -> Path:
    return Path(explicit or os.environ.get(ENV_VAR) or DEFAULT).resolve()


class StateDamaged(Damaged):
    """A state file that does not parse or breaks an invariant: named, with how to recover."""


def last_good(path: Path) -> Path:
    return path.with_name(path.name + ".last-good")


def damaged_message(path: Path, exc: ValueError) -> str:
    what = (
        f"not JSON at line {exc.lineno}, column {exc.colno}"
        if isinstance(exc, json.JSONDecodeError)
        else str(exc)
    )
    good = last_good(path)
    if good.exists():
        stamp = datetime.fromtimestamp(good.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M:%S")
        recovery = (
            f"the last good copy ({stamp} UTC) is kept beside it; restore it with: "
            f"cp '{good}' '{path}'"
        )
    else:
        recovery = (
            f"no good copy is kept; move it aside (mv '{path}' '{path}.damaged') to start "
            "this state afresh"
        )
    return f"{path}: damaged state file ({what}); {recovery}"


class LocalTenant:
    def __init__(self, root: str | Path, project: str) -> None:
        self.project = project
        self.path = Path(root) / project

    def bucket(self, name: str) -> Path:
        return self.path / "buckets" / name

    @property
    def warehouse_path(self) -> Path:
        return self.path / "warehouse.duckdb"

    @property
    def request_log_path(self) -> Path:
        """The prod endpoint's request log: a folder of segments (adapters.local.request_log)."""
        return self.path / "request_log"

    def state_path(self, name: str) -> Path:
        return self.path / "state" / f"{name}.json"

    def read_state(self, name: str, default, check=None):
        """The state file's JSON, or `default` when there never was one (a file gone while
        its last good copy is kept was lost: damage, restored from that copy). `check(value)`
        raises ValueError naming the invariant a file that parses still breaks (traffic
        summing to 150, an alias to no version): the same one-line message as a file that
        does not."""
        path = self.state_path(name)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            if last_good(path).exists():  # written twice or more, then lost: not a fresh start
                raise StateDamaged(damaged_message(path, ValueError("missing"))) from None
            return default
        try:
            value = json.loads(data)
            if check is not None:
                check(value)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError alike
            raise StateDamaged(damaged_message(path, exc)) from None
        except (KeyError, TypeError, AttributeError) as exc:  # a field missing or misshapen
            raise StateDamaged(damaged_message(path, ValueError(f"malformed: {exc!r}"))) from None
        return value

    def write_state(self, name: str, value) -> None:
        """Replace the file atomically, keeping the one it replaces as the last good copy
        (when it still parses: a damaged file never overwrites a good copy)."""
        path = self.state_path(name)
        try:
            current = path.read_bytes()
            json.loads(current)
        except (FileNotFoundError, ValueError):
            pass
        else:
            write_bytes(last_good(path), current)
        write_json(path, value)

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


class RunInProgress(Busy):
    """Another run holds the workspace."""


@contextmanager
def one_run_at_a_time(root: Path, run: str):
    """An exclusive lock on the workspace for one run; a second run fails at once, naming
    the run that holds it. The lock dies with its process, so a killed run never leaves the
    workspace locked."""
    path = Path(root) / "run.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 1000, 0).decode(errors="replace").strip() or "a run"
            raise RunInProgress(
                f"another run is in progress in {root}: {holder}; wait for it to finish "
                "(or stop it) and run again"
            ) from None
        with _holding(fd, f"run {run}", "started"):
            yield
    finally:
        os.close(fd)  # releases the lock


@contextmanager
def _holding(fd: int, who: str, since: str):
    """A held lock file names its holder, and is emptied when let go."""
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{who} (pid {os.getpid()}, {since} {started})\n".encode(), 0)
    try:
        yield
    finally:
        os.ftruncate(fd, 0)


def run_in_progress(root: Path) -> str | None:
    """Who holds the workspace's run lock ("run ... (pid ..., started ...)"), or None when
    no run does; asking takes the lock for an instant and never waits."""
    path = Path(root) / "run.lock"
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return os.pread(fd, 1000, 0).decode(errors="replace").strip() or "a run"
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


class ProdBusy(Busy):
    """Another command is changing prod and did not finish within the wait: try later."""


PROD_LOCK_TIMEOUT = float(os.environ.get("MLOPS_PROD_LOCK_TIMEOUT", "600"))


@contextmanager
def changing_prod(tenant_path: Path, who: str, timeout: float | None = None):
    """One command at a time changes prod (a deploy, a canary's promotion or rollback): an
    exclusive lock on the prod tenant, waited for up to `timeout` seconds, naming its
    holder when the wait ends. It dies with its process, as the run lock does."""
    limit = PROD_LOCK_TIMEOUT if timeout is None else timeout
    path = Path(tenant_path) / "state" / "prod-change.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + limit
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 1000, 0).decode(errors="replace").strip()
                    raise ProdBusy(
                        f"prod is being changed by {holder or 'another command'}; waited "
                        f"{limit:g} s ({path}); try again when it is done"
                    ) from None
                time.sleep(0.1)
        with _holding(fd, who, "since"):
            yield
    finally:
        os.close(fd)  # releases the lock
