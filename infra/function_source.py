"""The retraining function's source, assembled from this repository at synth time.

The function (pipelines/trigger/) imports a few of the repository's modules and reads the
env settings; those files, and a requirements.txt pinned to the versions in uv.lock, go into
one folder that the stack zips (TerraformAsset) and uploads. Same inputs, same folder: the
asset hash changes only when the function's code or pins do.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

from infra.settings import REPO_ROOT

MODULES = (
    "mlops/__init__.py",
    "mlops/errors.py",
    "mlops/atomic.py",
    "trainer/__init__.py",
    "trainer/schema.py",
    "trainer/hyperparameters.py",
    "trainer/options.py",
    "infra/__init__.py",
    "infra/providers.py",
    "infra/settings.py",
    "infra/iam.py",
    "pipelines/__init__.py",
    "pipelines/params.py",
    "pipelines/vertex/__init__.py",
    "pipelines/vertex/requests.py",
    "pipelines/vertex/submit.py",
    "pipelines/vertex/doctor.py",
    "pipelines/trigger/__init__.py",
    "pipelines/trigger/handler.py",
    "envs/dev/settings.toml",
    "envs/staging/settings.toml",
    "envs/prod/settings.toml",
)
ENTRY_POINT = "pipelines/trigger/main.py"  # becomes main.py at the root, as Functions expects
REQUIREMENTS = (
    "functions-framework",
    "pydantic",
    "google-cloud-aiplatform",
    "google-cloud-kms",
    "google-cloud-storage",
    "google-cloud-bigquery",
)


def locked_versions(lock: Path = REPO_ROOT / "uv.lock") -> dict[str, str]:
    data = tomllib.loads(lock.read_text())
    return {p["name"]: p["version"] for p in data["package"] if "version" in p}


def requirements(versions: dict[str, str]) -> str:
    missing = [name for name in REQUIREMENTS if name not in versions]
    if missing:
        raise ValueError(f"uv.lock has no {', '.join(missing)}; add them to pyproject.toml")
    return "".join(f"{name}=={versions[name]}\n" for name in REQUIREMENTS)


def assemble(destination: Path, root: Path = REPO_ROOT) -> Path:
    """Write the function's source folder; returns it."""
    if destination.exists():
        shutil.rmtree(destination)
    for relative in MODULES:
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / relative, target)
    shutil.copyfile(root / ENTRY_POINT, destination / "main.py")
    (destination / "requirements.txt").write_text(requirements(locked_versions(root / "uv.lock")))
    return destination
