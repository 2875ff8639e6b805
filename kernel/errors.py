"""Errors the user can fix: the CLI prints them as one line, without a traceback."""

from typing import Any, NamedTuple

from kernel import exit_codes
from kernel.locations import redact


class UserError(Exception):
    """Bad input, a bad file or a bad setting; the message names it and says what is wrong."""

    exit_code = exit_codes.BAD_INPUT


class Outcome(UserError):
    """Not a mistake: an answer a script reads from its exit code ("nothing to judge"); the
    message is printed without "error:"."""


class DataError(UserError):
    """A data file is missing, corrupt, or has too many malformed rows."""


class Damaged(DataError):
    """A file the platform wrote and keeps (a state file, the skew baseline, the warehouse)
    is damaged or missing: the message names it and the command that restores it. Its own
    exit code, so a script tells "restore a file" from "fix your arguments"."""

    exit_code = exit_codes.DAMAGED


class Busy(UserError):
    """Another process holds what this command needs (prod's lock, the warehouse a run is
    writing): nothing is wrong, try again later."""

    exit_code = exit_codes.WAIT


class Failed(UserError):
    """A check found problems (policy, preflight, a failed run): exit 1, details given."""

    exit_code = exit_codes.FAILED


class PlatformRefused(Failed):
    """The platform refused or could not carry a call (denied, unauthenticated, over quota):
    nothing about the model can be concluded from it, so nothing is undone because of it."""


class ServingFailed(Failed):
    """The platform ran the version and the version failed (its server never became ready):
    the model's (or its image's) fault, so its deploy is rolled back."""


class Problem(NamedTuple):
    """One validation error: the dotted field path, the message, the value given, its kind."""

    field: str
    message: str
    value: Any
    kind: str


def validation_problems(exc: Any) -> list[Problem]:
    """The errors of a pydantic ValidationError, each field path joined and message cleaned."""
    return [
        Problem(
            ".".join(str(part) for part in error["loc"]),
            error["msg"].removeprefix("Value error, "),
            error.get("input"),
            error["type"],
        )
        for error in exc.errors()
    ]


def explain(exc: Any) -> str:
    """A pydantic ValidationError as one line: each field, its message, the value given."""
    parts = []
    for p in validation_problems(exc):
        shown = "" if isinstance(p.value, dict) or p.kind == "missing" else f" (got {p.value!r})"
        shown = redact(shown)  # a password inside a URI is never echoed
        parts.append(f"{p.field}: {p.message}{shown}" if p.field else p.message)
    return "; ".join(parts)
