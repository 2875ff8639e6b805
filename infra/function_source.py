"""The retraining function's source, built from this package at synth time.

Its code is this project's wheel (the packages pyproject.toml declares), unpacked; its
requirements.txt is the pinned closure of the `retraining-function` dependency group in
uv.lock (`uv export`); the env settings it reads come along. Same inputs, same folder: the
asset hash the stack uploads changes only when the function's code or pins do.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from kernel.errors import UserError
from settings import ENV_NAMES, REPO_ROOT

DEPENDENCY_GROUP = "retraining-function"
ENTRY_POINT = "pipelines/trigger/main.py"  # becomes main.py at the root, as Functions expects


def folder(env: str, root: Path = REPO_ROOT) -> Path:
    return root / "build" / "function-source" / env


def uv(root: Path = REPO_ROOT) -> str:
    """The uv `make` installed (.tools/bin/uv), else the one on PATH."""
    pinned = root / ".tools" / "bin" / "uv"
    found = str(pinned) if pinned.exists() else shutil.which("uv")
    if not found:
        raise UserError(
            "uv is needed to build the retraining function's source: run `make install`"
        )
    return found


def _run(args: list[str], root: Path) -> str:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}  # reproducible wheel timestamps
    done = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise UserError(f"{' '.join(args[:2])} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def requirements(root: Path = REPO_ROOT) -> str:
    """The pinned closure of the function's dependency group, from uv.lock."""
    return _run(
        [
            uv(root),
            "export",
            "--frozen",
            "--no-hashes",
            "--no-header",
            "--no-emit-project",
            "--no-annotate",
            "--only-group",
            DEPENDENCY_GROUP,
        ],
        root,
    )


def unpack_wheel(destination: Path, root: Path = REPO_ROOT) -> None:
    """Build this project's wheel and unpack its packages (not its metadata) into `destination`."""
    with tempfile.TemporaryDirectory() as out:
        _run([uv(root), "build", "--wheel", "--quiet", "--out-dir", out, str(root)], root)
        (wheel,) = Path(out).glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            for name in sorted(archive.namelist()):
                if ".dist-info/" not in name:
                    archive.extract(name, destination)


def assemble(destination: Path, root: Path = REPO_ROOT) -> Path:
    """Write the function's source folder; returns it.

    Built aside and swapped in under a lock: two synths at once (two shells, two test
    workers) each get a whole folder, never one the other is half-way through deleting."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=destination.parent, prefix=".assembling-") as work:
        staged = Path(work) / "source"
        staged.mkdir()
        unpack_wheel(staged, root)
        for env in ENV_NAMES:
            target = staged / "envs" / env / "settings.toml"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / "envs" / env / "settings.toml", target)
        shutil.copyfile(root / ENTRY_POINT, staged / "main.py")
        (staged / "requirements.txt").write_text(requirements(root))
        lock = destination.parent / f".{destination.name}.lock"
        with open(lock, "w") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            if destination.exists():
                destination.rename(Path(work) / "replaced")  # removed with `work`
            staged.rename(destination)
    return destination
