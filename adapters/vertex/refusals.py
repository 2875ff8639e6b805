"""Google's refusals as one line: which identity was refused which permission on what.

Pure interpretation of the two shapes a refused call takes: an API error (403 with an
ErrorInfo naming the permission and resource) and a failed impersonation (the IAM
Credentials API's JSON body inside google.auth's RefreshError).
"""

from __future__ import annotations

import json
import re
from typing import Any

# Vertex AI's answer to a change while a long-running operation on the resource runs (a
# killed deploy's deployModel goes on): worded as the simulation words it and as Google's
# "ongoing operation"; the live service's exact text is not verified here.
_OPERATION_RUNNING = re.compile(r"operation in progress|ongoing operation", re.IGNORECASE)
_PERMISSION = re.compile(r"[Pp]ermission '?([a-z]+\.[A-Za-z]+\.[A-Za-z]+)'?")
_RESOURCE = re.compile(r"on resource '([^']+)'")


def _error_info(details: Any) -> dict[str, str]:
    for detail in details or []:
        if isinstance(detail, dict) and detail.get("reason") and detail.get("metadata"):
            return dict(detail["metadata"])
    return {}


def refusal(exc: Any) -> tuple[int, str, str, str] | None:
    """(HTTP status, permission, resource, Google's message) of a refused call; None when
    `exc` is not a refusal (401, 403, 429)."""
    status, message, details = None, "", None
    code = getattr(exc, "code", None)
    if isinstance(code, int) and code in (401, 403, 429):  # google.api_core's HTTP errors
        status, message, details = code, str(getattr(exc, "message", exc)), exc.details
    elif type(exc).__name__ == "RefreshError" and len(exc.args) > 1:  # google.auth
        try:
            error = json.loads(exc.args[1])["error"]
        except (ValueError, KeyError, TypeError):
            return None
        status, message, details = error.get("code"), error.get("message", ""), error.get("details")
    if status not in (401, 403, 429):
        return None
    info = _error_info(details)
    permission = info.get("permission") or _first(_PERMISSION, message)
    resource = info.get("resource") or _first(_RESOURCE, message)
    return int(status or 0), permission, resource, message


def _first(pattern: re.Pattern[str], text: str) -> str:
    match = pattern.search(text)
    return match.group(1) if match else ""


def describe(exc: BaseException, acting_as: str, caller: str = "the caller") -> str | None:
    """One line for a refused call made as `acting_as` (by `caller`, who impersonates it, or
    is it); None when `exc` is no refusal. A refused impersonation is the caller's."""
    found = refusal(exc)
    if found is None:
        return None
    status, permission, resource, message = found
    if type(exc).__name__ == "RefreshError":
        return (
            f"Google Cloud refused {permission or 'a token'} on {resource or acting_as} to "
            f"{caller} ({status}): it may not act as {acting_as.split(',')[0]}"
        )
    if status == 429:
        return f"Google Cloud refused a call as {acting_as}: over quota (429): {message[:200]}"
    if status == 401:
        return f"Google Cloud did not accept the credentials of {acting_as} (401): {message[:200]}"
    what = f"{permission} on {resource}" if permission else message[:200]
    return f"Google Cloud refused {what} to {acting_as} (403)"


def operation_running(exc: BaseException) -> str | None:
    """Google's message when `exc` is a change refused (400) because an operation on the
    resource is still running; None otherwise. Not a refusal of the caller: try later."""
    code = getattr(exc, "code", None)
    message = str(getattr(exc, "message", "") or "")
    if code == 400 and _OPERATION_RUNNING.search(message):
        return message[:300]
    return None
