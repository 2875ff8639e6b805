"""The retraining function's source, built from this package at synth time.

Its code is this project's wheel (the packages pyproject.toml declares), unpacked; its
requirements.txt is the pinned closure of the `retraining-function` dependency group in
uv.lock (`uv export`); the env settings it reads come along. Same inputs, same folder: the
asset hash the stack uploads changes only when the function's code or pins do.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
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


def digest(folder: Path) -> str:
    """What the folder holds (every file's path and bytes), as 16 hex digits."""
    sha = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        sha.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return sha.hexdigest()[:16]


STALE_SECONDS = 3600  # an older source folder no synth can still be reading


def assemble(destination: Path, root: Path = REPO_ROOT) -> Path:
    """Write the function's source folder; returns it: `<destination>-<digest>`.

    Content-addressed and never changed once written: two synths at once (two shells, two
    test workers) each read a whole folder, and neither can remove or replace the one the
    other's asset copy is reading. Folders of other contents older than an hour go."""
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
        final = destination.with_name(f"{destination.name}-{digest(staged)}")
        lock = destination.parent / f".{destination.name}.lock"
        with open(lock, "w") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            if not final.exists():
                staged.rename(final)
            os.utime(final)  # in use now: not stale for another synth
            for old in destination.parent.glob(f"{destination.name}-*"):
                if old != final and time.time() - old.stat().st_mtime > STALE_SECONDS:
                    shutil.rmtree(old, ignore_errors=True)
            if destination.is_dir() and not destination.is_symlink():
                shutil.rmtree(destination, ignore_errors=True)  # the un-addressed layout
    return final
