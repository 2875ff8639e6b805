"""Prod's change lease as a Cloud Storage object, taken and given back under generation
preconditions (docs/reliability.md, "One change to prod at a time"): the Vertex stand-in
for the local flock, since the deploy and the canary run on different machines."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kernel.errors import UserError
from kernel.uris import split
from kernel.workspace import PROD_LOCK_TIMEOUT, ProdBusy
from promotion.domain import lease as rules

POLL_SECONDS = 5.0


def lease_seconds() -> float:
    """MLOPS_PROD_LEASE_SECONDS, or 600."""
    text = os.environ.get("MLOPS_PROD_LEASE_SECONDS", "")
    try:
        return rules.lease_length(text)
    except ValueError as exc:
        raise UserError(f"MLOPS_PROD_LEASE_SECONDS={text!r}: {exc}") from None


@dataclass
class _Held:
    """The lease as last written, and its generation: what a renewal or the give-back
    must still find."""

    lease: rules.Lease
    generation: int


class GcsLease:
    """One object, `uri`; every call is made by `client` (the deployer's credentials)."""

    def __init__(
        self,
        client: Any,
        uri: str,
        *,
        seconds: float | None = None,
        poll: float = POLL_SECONDS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        bucket, name = split(uri)
        self.uri, self.blob_name = uri, name
        self.bucket = client.bucket(bucket)
        self.seconds = lease_seconds() if seconds is None else seconds
        self.poll, self.clock = poll, clock

    @contextmanager
    def held(self, who: str, timeout: float | None = None) -> Iterator[None]:
        holder = f"{who} (pid {os.getpid()} on {socket.gethostname()})"
        current, generation = self._take(holder, PROD_LOCK_TIMEOUT if timeout is None else timeout)
        stop = threading.Event()
        kept = _Held(current, generation)
        renewer = threading.Thread(
            target=self._renew, args=(kept, stop), name="prod-lease", daemon=True
        )
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            self._give_back(kept.generation)

    def _take(self, holder: str, timeout: float) -> tuple[rules.Lease, int]:
        from google.api_core.exceptions import NotFound, PreconditionFailed

        started = time.monotonic()
        while True:
            now = self.clock()
            found = self.bucket.get_blob(self.blob_name)
            current = None if found is None else rules.parse(_text(found))
            if found is None or rules.may_take(current, now):
                lease = rules.taken(holder, now, self.seconds)
                try:  # only if it is still what was read: of two takers, one wins
                    return lease, self._write(lease, 0 if found is None else found.generation)
                except (PreconditionFailed, NotFound):
                    continue  # someone else took it first: read again
            assert current is not None  # a live lease
            waited = time.monotonic() - started
            if waited >= timeout:
                raise ProdBusy(rules.busy(current, self.uri, round(waited, 1)))
            time.sleep(rules.next_look(current, now, self.poll, timeout - waited))

    def _write(self, lease: rules.Lease, generation: int) -> int:
        blob = self.bucket.blob(self.blob_name)
        blob.upload_from_string(
            lease.to_json(), content_type="application/json", if_generation_match=generation
        )
        return int(blob.generation)

    def _renew(self, kept: _Held, stop: threading.Event) -> None:
        from google.api_core.exceptions import GoogleAPIError, PreconditionFailed

        while not stop.wait(max(self.seconds * rules.RENEW_FRACTION, 0.05)):
            lease = rules.renewed(kept.lease, self.clock(), self.seconds)
            try:
                kept.generation = self._write(lease, kept.generation)
                kept.lease = lease
            except PreconditionFailed:  # it lapsed and another took it: not ours to renew
                _warn(f"prod's change lease {self.uri} was taken by another after it lapsed")
                return
            except GoogleAPIError as exc:  # Storage failing: tried again next quarter
                _warn(f"prod's change lease {self.uri} could not be renewed ({exc})")

    def _give_back(self, generation: int) -> None:
        from google.api_core.exceptions import NotFound, PreconditionFailed

        with contextlib.suppress(PreconditionFailed, NotFound):  # lapsed, taken: theirs now
            self.bucket.blob(self.blob_name).delete(if_generation_match=generation)


def _text(blob: Any) -> str:
    from google.api_core.exceptions import NotFound, PreconditionFailed

    try:
        return blob.download_as_text(if_generation_match=blob.generation)
    except (NotFound, PreconditionFailed):
        return ""  # changed since it was read: the take's own precondition fails, read again


def _warn(what: str) -> None:
    print(
        f"warning: {what}; another change to prod may start before this one ends",
        file=sys.stderr,
        flush=True,
    )
