"""Terraform and its providers, pinned. The version is named once in `.terraform-version`
(the file tfenv and tfswitch read, so local use picks it): the stacks require it exactly and
the infra builds run it (their trigger passes it to cloudbuild/infra.yaml). The providers'
versions and hashes are in infra/.terraform.lock.hcl, copied into every synthesized stack
(Terraform reads the lock file from the folder it runs in)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from kernel.errors import UserError
from settings import REPO_ROOT

VERSION_FILE = REPO_ROOT / ".terraform-version"
LOCK_FILE = REPO_ROOT / "infra" / ".terraform.lock.hcl"
_LOCKED = re.compile(
    r'^provider "registry\.terraform\.io/([^"]+)" \{\n  version\s+= "([^"]+)"', re.M
)


def terraform_version() -> str:
    version = VERSION_FILE.read_text().strip()
    if not version.replace(".", "").isdigit() or version.count(".") != 2:
        raise ValueError(f"{VERSION_FILE}: {version!r} is not a Terraform version (like 1.11.4)")
    return version


def locked_providers(lock: Path = LOCK_FILE) -> dict[str, str]:
    """{"hashicorp/google": "6.50.0", ...} as the lock file pins them."""
    return dict(_LOCKED.findall(lock.read_text()))


def place_lock(stack: dict, stack_dir: Path, lock: Path = LOCK_FILE) -> None:
    """Put the lock file beside a synthesized stack, once it pins what the stack requires."""
    locked = locked_providers(lock)
    for name, wanted in stack.get("terraform", {}).get("required_providers", {}).items():
        source = wanted["source"] if "/" in wanted["source"] else f"hashicorp/{wanted['source']}"
        if locked.get(source) != wanted["version"]:
            raise UserError(
                f"{lock.relative_to(REPO_ROOT)}: provider {name} {wanted['version']} is required "
                f"by {stack_dir.name} but the lock pins {locked.get(source, 'nothing')}; "
                "update the lock (its header says how)"
            )
    shutil.copyfile(lock, stack_dir / ".terraform.lock.hcl")
