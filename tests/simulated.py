"""Helpers for tests against the simulated cloud."""

import copy
import os
import subprocess
import sys

from infra.layout import env_of
from simulation.server import Simulation

STAGING_BUILD = "census-build@census-ml-staging.iam.gserviceaccount.com"


def without(stacks: dict, env: str, rtype: str, match) -> dict:
    """A copy of the stacks with the `rtype` resources of `env` (either of its stacks) that
    `match` removed."""
    changed = copy.deepcopy(stacks)
    removed = 0
    for part, stack in changed.items():
        resources = stack.get("resource", {}).get(rtype, {})
        if env_of(part) != env:
            continue
        gone = [name for name, body in resources.items() if match(body)]
        for name in gone:
            del resources[name]
        removed += len(gone)
    assert removed, f"no {rtype} in {env} matched"
    return changed


def mlops_as(sim: Simulation, principal: str, *args: str) -> subprocess.CompletedProcess:
    """`mlops ARGS` in a fresh process that runs as `principal` against `sim`."""
    env = {**os.environ, **sim.environ(principal)}
    return subprocess.run(
        [sys.executable, "-m", "mlops.cli", *args], env=env, capture_output=True, text=True
    )
