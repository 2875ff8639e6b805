"""One simulated cloud per test file for the CI scenes (tests/simulation/test_ci_*.py): the
first apply of every stack, the census data in staging, builds sealed (no process of a build
may reach a host but this machine)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulation.ci.scenes import CiCloud, calls_of

SEALED = Path(__file__).resolve().parents[1] / "sealed"


def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CiCloud]:
    root = tmp_path_factory.mktemp("ci")
    leaks = root / "leaks.log"
    with pytest.MonkeyPatch.context() as patch:
        path = os.pathsep.join(filter(None, [str(SEALED), os.environ.get("PYTHONPATH", "")]))
        patch.setenv("PYTHONPATH", path)
        patch.setenv("MLOPS_SEALED_LOG", str(leaks))
        with CiCloud(root / "cloud", log=lambda line: None) as cloud:
            yield cloud
    assert not leaks.exists(), leaks.read_text()  # nothing left the machine


def step(build, name: str) -> dict:
    (found,) = [s for s in build.steps if s["id"] == name]
    return found


def calls(cloud: CiCloud, build) -> list:
    return [e for s in build.steps for e in calls_of(cloud.sim, s)]


def explain(build) -> str:
    """A failed build's story, for an assertion's message."""
    return "\n".join(f"{s['id']} {s['status']}\n{s.get('log', '')[-1500:]}" for s in build.steps)
