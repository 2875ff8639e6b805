"""The `mlops` subcommands, one module per area; each has `add(commands)`."""

from __future__ import annotations

from pathlib import Path

from mlops.errors import UserError


class Failed(UserError):
    """A check found problems (policy, preflight): exit 1, the details already printed."""

    exit_code = 1


def relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
