"""Synthesize every env once per test session: provider loading is the expensive part."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="session")
def platform():
    from infra.settings import load_platform

    return load_platform()


@pytest.fixture(scope="session")
def synthesized_files(tmp_path_factory):
    from infra.settings import ENV_NAMES
    from infra.synth import synth

    return synth(ENV_NAMES, out_root=tmp_path_factory.mktemp("synth"))


@pytest.fixture(scope="session")
def stacks(synthesized_files) -> dict[str, dict]:
    return {env: json.loads(path.read_text()) for env, path in synthesized_files.items()}
