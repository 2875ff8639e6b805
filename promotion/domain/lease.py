"""Prod's change lease on Vertex (docs/reliability.md, "One change to prod at a time"):
what the lease object says, whether it may be taken, and the line a waiter gives up with.
Pure: the Cloud Storage calls that read and write it are adapters/vertex/lease.py."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

LEASE_SECONDS = 600.0  # a holder renews every quarter of it; a killed holder's lapses
RENEW_FRACTION = 0.25


@dataclass(frozen=True)
class Lease:
    holder: str  # who changes prod: "run R: deploy (pid P on H)", "mlops canary (...)"
    since: datetime
    expires: datetime

    def to_json(self) -> str:
        return json.dumps(
            {
                "holder": self.holder,
                "since": self.since.isoformat(),
                "expires": self.expires.isoformat(),
            },
            sort_keys=True,
        )


def lease_length(text: str) -> float:
    """A lease's length in seconds as a setting gives it ("" for the default)."""
    if not text.strip():
        return LEASE_SECONDS
    value = float(text)  # ValueError: not a number
    if not math.isfinite(value) or value <= 0:
        raise ValueError("a lease lasts a positive, finite number of seconds")
    return value


def taken(holder: str, now: datetime, seconds: float) -> Lease:
    return Lease(holder, now, now + timedelta(seconds=seconds))


def renewed(lease: Lease, now: datetime, seconds: float) -> Lease:
    return Lease(lease.holder, lease.since, now + timedelta(seconds=seconds))


def parse(text: str) -> Lease | None:
    """The lease an object holds, or None when it is not one (written by hand, cut short):
    such an object guards nothing and may be taken over."""
    try:
        data = json.loads(text)
        since, expires = (datetime.fromisoformat(data[k]) for k in ("since", "expires"))
        holder = str(data["holder"])
    except (ValueError, KeyError, TypeError):
        return None
    if since.tzinfo is None or expires.tzinfo is None:
        return None
    return Lease(holder, since, expires)


def may_take(current: Lease | None, now: datetime) -> bool:
    """Free, not a lease, or lapsed (its holder stopped renewing: killed)."""
    return current is None or now >= current.expires


def next_look(current: Lease, now: datetime, poll: float, remaining: float) -> float:
    """Seconds until a waiter reads the lease again: every `poll`, sooner when it lapses
    or the wait ends first, never a busy loop."""
    lapses = (current.expires - now).total_seconds()
    return max(min(poll, lapses, remaining), 0.05)


def busy(current: Lease, where: str, waited: float) -> str:
    since = current.since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    until = current.expires.astimezone(UTC).strftime("%H:%M:%S")
    return (
        f"prod is being changed by {current.holder} (since {since} UTC; its lease {where} "
        f"runs to {until} UTC unless renewed); waited {waited:g} s; try again when it is done"
    )
