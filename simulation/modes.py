"""A copy of envs/ switched to staging's `promotion = "approval"`: what a platform team edits
to turn it on (staging's mode; prod's approvers and the key of its approved-candidates topic)."""

from __future__ import annotations

import shutil
from pathlib import Path

from settings import ENV_NAMES, ENVS_DIR

# The simulation's approver: a person (its IAM knows users, not groups' members).
APPROVER = "user:release-approver@example.com"


def approval_envs(
    out: Path, approvers: tuple[str, ...] = (APPROVER,), envs: Path = ENVS_DIR
) -> Path:
    """envs/ copied into `out` with approval mode on; `out`."""
    for env in ENV_NAMES:
        (out / env).mkdir(parents=True, exist_ok=True)
        shutil.copy(envs / env / "settings.toml", out / env / "settings.toml")
    _edit(out / "staging" / "settings.toml", 'promotion = "canary"', 'promotion = "approval"')
    members = ", ".join(f'"{a}"' for a in approvers)
    prod = out / "prod" / "settings.toml"
    _edit(prod, "[cloudbuild]\n", f"[cloudbuild]\napprovers = [{members}]\n")
    _edit(prod, 'vertex = "vertex" }', 'vertex = "vertex", pubsub = "pubsub" }')
    return out


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    if text.count(old) != 1:
        raise ValueError(f"{path}: expected {old!r} once, to turn approval mode on")
    path.write_text(text.replace(old, new))
