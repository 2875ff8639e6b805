"""What a construct needs to know of its env, and no more: small frozen props objects.

The stack (infra/stack.py) reads the settings and hands each construct only these, so a
construct can be read, tested and reused without the whole Settings object.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Place:
    """Where a construct's resources go, and the env label they carry."""

    project: str
    region: str
    env: str

    @property
    def labels(self) -> dict[str, str]:
        return {"env": self.env}
