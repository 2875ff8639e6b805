"""Who is calling: a metadata server per principal, and the bearer tokens it hands out.

On Vertex AI, Cloud Build and Cloud Run a process gets its identity from the metadata server;
here each principal gets one under `/metadata/<slot>/` of the simulation, and a process runs
as that principal when GCE_METADATA_HOST and GCE_METADATA_IP point there (google.auth finds
it as it does in production). Every bearer token maps back to its principal.
"""

from __future__ import annotations

import secrets
import threading


class Tokens:
    def __init__(self) -> None:
        self._principals: dict[str, str] = {}  # token → principal
        self._slots: list[str] = []  # metadata slot → principal
        self._lock = threading.Lock()

    def issue(self, principal: str) -> str:
        token = f"sim.{secrets.token_hex(16)}"
        with self._lock:
            self._principals[token] = principal
        return token

    def principal(self, token: str) -> str | None:
        with self._lock:
            return self._principals.get(token)

    def slot(self, principal: str) -> int:
        """The metadata-server slot of `principal` (made on first use)."""
        with self._lock:
            if principal not in self._slots:
                self._slots.append(principal)
            return self._slots.index(principal)

    def principal_of_slot(self, slot: int) -> str | None:
        with self._lock:
            return self._slots[slot] if 0 <= slot < len(self._slots) else None
