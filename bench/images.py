"""What each image installs: its dependencies from the lock, measured, and its entry point run.

Reads the Dockerfile (of this checkout, or of `--rev REV` for a before figure): for each
target, the groups its `uv sync` lines add to the base's. Each set is installed from uv.lock
into a fresh virtual environment as the Dockerfile does (`--no-default-groups`, the project
itself left out: its source is a few hundred kB), then measured (MB on disk, distributions)
and its entry point imported with this checkout's source. No Docker engine is needed; the
base image's Python is this machine's.

    python bench/images.py              # this checkout: print, record bench/results/images.json
    python bench/images.py --rev REV    # another commit's: print, record images_before.json
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from figures import ROOT, record

UV = ROOT / ".tools" / "bin" / "uv"
# What each image runs, as an import of its entry point (the serving image's server, the
# trainer's task, every module a pipeline step imports).
ENTRY = {
    "serving": "import serving.__main__, trainer.compiled",
    "trainer": "import trainer.task, trainer.report",
    "components": "import pipelines.components, pipelines.pipeline, adapters.wiring, "
    "adapters.vertex.registry, trainer.automl, trainer.ondevice",
}


def image_groups(dockerfile: str) -> dict[str, list[str]]:
    """{target: the dependency groups its uv sync lines add} for each `FROM base AS` target."""
    targets: dict[str, list[str]] = {}
    current = None
    for line in dockerfile.splitlines():
        stage = re.match(r"FROM base AS (\w+)", line)
        if stage:
            current = targets.setdefault(stage.group(1), [])
        elif line.startswith("FROM "):
            current = None
        elif current is not None and "uv sync" in line:
            current += re.findall(r"--group[ =]([\w-]+)", line)
    return targets


def install(project: Path, groups: list[str], venv: Path) -> tuple[float, int]:
    """(MB on disk, distributions) of the image's set installed from the lock."""
    command = [str(UV), "sync", "--locked", "--no-default-groups", "--no-install-project",
               "--no-compile-bytecode", "--quiet", *(f"--group={g}" for g in groups)]  # fmt: skip
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run(command, cwd=project, env=env, check=True)
    (site,) = venv.glob("lib/python*/site-packages")
    size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file() and not p.is_symlink())
    return round(size / 1e6, 1), len(list(site.glob("*.dist-info")))


def runs(venv: Path, image: str) -> bool:
    """Whether the image's entry point imports with only its own dependencies."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", ENTRY[image]], env=env, capture_output=True, text=True
    )
    if done.returncode:
        print(f"  {image}: entry point failed: {done.stderr.strip().splitlines()[-1]}")
    return done.returncode == 0


def checkout(rev: str | None, into: Path) -> Path:
    """The Dockerfile, pyproject.toml, uv.lock and README of `rev` (None: this checkout)."""
    for name in ("Dockerfile", "pyproject.toml", "uv.lock", "README.md"):
        if rev is None:
            shutil.copy(ROOT / name, into / name)
        else:
            text = subprocess.run(["git", "show", f"{rev}:{name}"], cwd=ROOT, check=True,
                                  capture_output=True).stdout  # fmt: skip
            (into / name).write_bytes(text)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", help="measure this commit's Dockerfile and lock instead")
    args = parser.parse_args()
    figures: dict[str, float | int | str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        project = checkout(args.rev, Path(tmp))
        targets = image_groups((project / "Dockerfile").read_text())
        for image, groups in targets.items():
            size, count = install(project, groups, Path(tmp) / f"venv-{image}")
            ok = runs(Path(tmp) / f"venv-{image}", image) if args.rev is None else None
            shown = "+".join(["base", *groups])
            state = "" if ok is None else ("; entry point imports" if ok else "; ENTRY FAILED")
            print(f"{image:<11} {shown:<40} {size:>7.1f} MB  {count:>3} distributions{state}")
            figures[f"{image}_mb"], figures[f"{image}_distributions"] = size, count
            if ok is False:
                sys.exit(1)
    if args.rev is None:
        record("images", figures)
    else:
        record("images_before", {**figures, "rev": args.rev})


if __name__ == "__main__":
    main()
