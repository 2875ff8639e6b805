"""The Terraform version, named once in `.terraform-version` (the file tfenv and tfswitch
read, so local use picks it): the stacks require it exactly and the infra builds run it
(their trigger passes it to cloudbuild/infra.yaml)."""

from __future__ import annotations

from settings import REPO_ROOT

VERSION_FILE = REPO_ROOT / ".terraform-version"


def terraform_version() -> str:
    version = VERSION_FILE.read_text().strip()
    if not version.replace(".", "").isdigit() or version.count(".") != 2:
        raise ValueError(f"{VERSION_FILE}: {version!r} is not a Terraform version (like 1.11.4)")
    return version
