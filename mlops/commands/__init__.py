"""The `mlops` subcommands, one module per area; each has `add(commands)`."""

from __future__ import annotations

from pathlib import Path


def relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
