"""Terraform and its providers pinned: one version named once, a lock file beside every
synthesized stack that pins what the stack requires, and the builds refusing anything else."""

from __future__ import annotations

import copy
import re

import hcl2
import pytest
import yaml

from infra.toolchain import LOCK_FILE, locked_providers, place_lock, terraform_version
from kernel.errors import UserError
from settings import REPO_ROOT

pytestmark = pytest.mark.slow  # synthesizes the stacks


def test_the_lock_pins_exactly_what_every_stack_requires(stacks):
    locked = locked_providers()
    for part, stack in stacks.items():
        required = stack["terraform"]["required_providers"]
        pinned = {f"hashicorp/{p['source']}": p["version"] for p in required.values()}
        assert pinned.items() <= locked.items(), part
        assert stack["terraform"]["required_version"] == terraform_version(), part


def test_every_synthesized_stack_has_the_lock_beside_it(synthesized_files):
    for part, path in synthesized_files.items():
        beside = path.parent / ".terraform.lock.hcl"
        assert beside.read_text() == LOCK_FILE.read_text(), part


def test_the_lock_is_hcl_with_every_platforms_hashes():
    parsed = hcl2.loads(LOCK_FILE.read_text())
    providers = {k: v for block in parsed["provider"] for k, v in block.items()}
    assert set(providers) == {
        "registry.terraform.io/hashicorp/google",
        "registry.terraform.io/hashicorp/google-beta",
    }
    for name, body in providers.items():
        hashes = body["hashes"]
        hashes = hashes[0] if hashes and isinstance(hashes[0], list) else hashes  # hcl2's shape
        assert len(hashes) >= 10, name  # one per released platform
        assert all(re.fullmatch(r"(zh:[0-9a-f]{64}|h1:[A-Za-z0-9+/=]{44})", h) for h in hashes)


def test_a_stack_requiring_another_provider_version_is_refused(stacks, tmp_path):
    stack = copy.deepcopy(stacks["dev"])
    stack["terraform"]["required_providers"]["google"]["version"] = "6.51.0"
    with pytest.raises(
        UserError, match=r"provider google 6\.51\.0 is required by .* pins 6\.50\.0"
    ):
        place_lock(stack, tmp_path)
    assert not (tmp_path / ".terraform.lock.hcl").exists()


def test_the_builds_refuse_a_provider_the_lock_does_not_pin():
    config = yaml.safe_load((REPO_ROOT / "cloudbuild" / "infra.yaml").read_text())
    inits = re.findall(r"terraform init[^;]*;", str(config["steps"]))
    assert inits and all("-lockfile=readonly" in i for i in inits)


def test_a_bad_version_file_is_named(tmp_path, monkeypatch):
    import infra.toolchain as toolchain

    bad = tmp_path / ".terraform-version"
    bad.write_text("latest\n")
    monkeypatch.setattr(toolchain, "VERSION_FILE", bad)
    with pytest.raises(ValueError, match=r"\.terraform-version: 'latest' is not a Terraform"):
        toolchain.terraform_version()
