"""Every image the builds and the Dockerfile run is pinned by digest, or named as awaiting
its digest (which needs registry access these machines lack); uv is installed by hash."""

from __future__ import annotations

import re
import shutil

from infra.policy.images import AWAITING_DIGEST, by_tag, images
from settings import REPO_ROOT

DIGEST = "sha256:" + "a" * 64


def test_no_image_is_by_tag_unless_awaiting_its_digest():
    assert by_tag(images()) == []


def test_the_awaiting_list_holds_only_images_still_in_use():
    """It only shrinks: an image pinned or gone leaves it."""
    assert {image for _, image in images()} >= AWAITING_DIGEST


def test_a_new_image_by_tag_fails_naming_its_file(tmp_path):
    shutil.copytree(REPO_ROOT / "cloudbuild", tmp_path / "cloudbuild")
    shutil.copy(REPO_ROOT / "Dockerfile", tmp_path / "Dockerfile")
    config = tmp_path / "cloudbuild" / "canary.yaml"
    config.write_text(config.read_text().replace("node:22-bookworm", "node:24", 1))
    assert by_tag(images(tmp_path)) == [
        "cloudbuild/canary.yaml: image 'node:24' is not pinned by digest (NAME@sha256:...)"
    ]
    config.write_text(config.read_text().replace("node:24", f"node:24@{DIGEST}", 1))
    assert by_tag(images(tmp_path)) == []


def test_builds_run_a_supported_node():
    names = {image for _, image in images()}
    assert not any(re.match(r"node:(1\d|20)\b", n) for n in names)  # Node 20: EOL 2026-10-30


def test_uv_is_installed_by_hash_in_the_images_and_locally():
    requirements = (REPO_ROOT / "uv-requirements.txt").read_text()
    assert re.search(r"^uv==[0-9.]+ \\$", requirements, re.M)
    assert len(re.findall(r"--hash=sha256:[0-9a-f]{64}", requirements)) >= 2
    assert "--require-hashes -r /tmp/uv-requirements.txt" in (REPO_ROOT / "Dockerfile").read_text()
    assert "--require-hashes -r uv-requirements.txt" in (REPO_ROOT / "Makefile").read_text()
