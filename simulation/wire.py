"""What the simulation says back and writes down: Google's error shape, the wire log."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse

_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
           404: "NOT_FOUND", 409: "ALREADY_EXISTS", 412: "FAILED_PRECONDITION"}  # fmt: skip


class ApiError(Exception):
    def __init__(self, status: int, message: str, **metadata: str) -> None:
        super().__init__(message)
        self.status, self.message, self.metadata = status, message, metadata

    def response(self) -> JSONResponse:
        error: dict[str, Any] = {
            "code": self.status,
            "message": self.message,
            "status": _STATUS.get(self.status, "UNKNOWN"),
            "errors": [{"message": self.message, "domain": "global", "reason": "forbidden"
                        if self.status == 403 else _STATUS.get(self.status, "error").lower()}],
        }  # fmt: skip
        if self.metadata:
            error["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "IAM_PERMISSION_DENIED",
                    "domain": "iam.googleapis.com",
                    "metadata": self.metadata,
                }
            ]
        return JSONResponse({"error": error}, status_code=self.status)


@dataclass
class Check:
    permission: str
    resource: str
    allowed: bool
    via: str  # the binding that allowed it, or why not
    binding: Any = None  # that binding (simulation.iam.Binding), where one allowed it


@dataclass
class WireEntry:
    seq: int
    at: float
    principal: str | None
    verb: str
    path: str
    method: str
    status: int = 0
    checks: list[Check] = field(default_factory=list)

    def line(self) -> str:
        checks = "; ".join(
            f"{'allowed' if c.allowed else 'DENIED'} {c.permission} on {c.resource}"
            for c in self.checks
        )
        return f"{self.seq:>4} {self.status} {self.method:<58} as {self.principal or '-'}" + (
            f"  [{checks}]" if checks else ""
        )
