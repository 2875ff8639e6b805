"""The quarantine record: light on imports, since the ports (and the retraining function,
which installs no data libraries) name it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BadRow:
    line: int | None  # None where the warehouse keeps no line order (BigQuery)
    reason: str
    raw: str
