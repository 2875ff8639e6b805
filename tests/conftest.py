"""Shared fixtures: crafted census files and a small, fast training set.

Nothing heavy is imported here: a pure test pays only for what it imports itself. Fixtures
import their libraries inside their bodies.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

# `make test-fast` sets this: the fast tier starts no process (no server, pipeline, simulated
# cloud, synth or CLI); a test that does belongs to the `slow` tier.
FAST_TIER = os.environ.get("MLOPS_TEST_TIER") == "fast"

# Servers and endpoints started by tests answer with LightGBM unless a test asks for compiled
# trees (tests/serving/test_compiled.py): compiling each freshly trained model would cost
# seconds of CPU per test. Servers started as subprocesses inherit this.
os.environ.setdefault("MLOPS_COMPILED_TREES", "off")


def _refuse_processes(*args, **kwargs):
    raise RuntimeError(
        "the fast tier starts no process (make test-fast): mark the test that did, or the "
        "module, `slow`"
    )


# The longest files (measured with --durations) start first: with `--dist loadfile` a file
# runs on one worker, so a long one started last sets the suite's wall time alone.
LONGEST_FIRST = (  # seconds per file, summed from --durations on 2 cores (2026-12-04)
    "tests/simulation/test_life.py",  # 186
    "tests/simulation/test_vertex_resume.py",  # 150
    "tests/simulation/test_deploy.py",  # 110
    "tests/pipelines/test_pipeline_local.py",  # 100
    "tests/simulation/test_deployer_role.py",  # 95
    "tests/simulation/test_automl.py",  # 85
    "tests/simulation/test_ci_push.py",  # 76
    "tests/simulation/test_run.py",  # 52
    "tests/simulation/test_canary_schedule.py",  # 50
    "tests/simulation/test_ci_pull_request.py",  # 49
    "tests/mlops/test_damaged_files.py",  # 45
    "tests/simulation/test_approval_deploy.py",  # 44
    "tests/serving/test_device_app.py",  # 35
    "tests/simulation/test_prod_lease.py",  # 30
)


def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        path = Path(str(item.path)).relative_to(config.rootpath).as_posix()
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: within a file and among the rest, collection order holds


def pytest_collection_finish(session):
    # In the processes that run tests (xdist's workers, or the only one), before any fixture:
    # session-scoped ones (synth starts node) included. xdist starts its workers earlier.
    config = session.config
    runs_tests = hasattr(config, "workerinput") or not config.getoption("numprocesses", None)
    if FAST_TIER and runs_tests:
        subprocess.Popen._execute_child = _refuse_processes  # type: ignore[method-assign]


@pytest.fixture
def write_csv(tmp_path: Path):
    """Write lines to a CSV in tmp_path and return its path."""

    def write(lines: list[str], name: str = "census.csv") -> Path:
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n")
        return path

    return write


@pytest.fixture(scope="session")
def census_train():
    from trainer import loader

    return loader.load_census(split="train")


@pytest.fixture(scope="session")
def census_test():
    from trainer import loader

    return loader.load_census(split="test")


# Synthesize every env once per test session: provider loading is the expensive part.
@pytest.fixture(scope="session")
def platform():
    from settings import load_platform

    return load_platform()


@pytest.fixture(scope="session")
def synthesized_files(tmp_path_factory):
    from infra.synth import synth
    from settings import ENV_NAMES

    return synth(ENV_NAMES, out_root=tmp_path_factory.mktemp("synth"))


@pytest.fixture(scope="session")
def stacks(synthesized_files) -> dict[str, dict]:
    """Every stack by part: `dev`, `staging`, `staging-cross-tenant`, `prod`, ..."""
    return {part: json.loads(path.read_text()) for part, path in synthesized_files.items()}


@pytest.fixture(scope="session")
def tenant_stacks(stacks) -> dict[str, dict]:
    """Each env's own stack, by env."""
    from infra.layout import is_cross_tenant

    return {part: stack for part, stack in stacks.items() if not is_cross_tenant(part)}


@pytest.fixture(scope="session")
def approval_envs(tmp_path_factory) -> Path:
    """A copy of envs/ with staging's `promotion = "approval"` (and what prod then needs)."""
    from simulation.modes import approval_envs

    return approval_envs(tmp_path_factory.mktemp("approval-envs"))


@pytest.fixture(scope="session")
def approval_platform(approval_envs):
    from settings import load_platform

    return load_platform(approval_envs)


@pytest.fixture(scope="session")
def approval_stacks(approval_envs, tmp_path_factory) -> dict[str, dict]:
    """Every stack, synthesized with staging's `promotion = "approval"`."""
    from infra.synth import synth
    from settings import ENV_NAMES

    out = tmp_path_factory.mktemp("approval-synth")
    files = synth(ENV_NAMES, envs_dir=approval_envs, out_root=out)
    return {part: json.loads(path.read_text()) for part, path in files.items()}
