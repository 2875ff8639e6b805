"""Helpers for tests against the simulated cloud."""

import copy
import os
import subprocess
import sys

from simulation.server import Simulation

STAGING_BUILD = "census-build@census-ml-staging.iam.gserviceaccount.com"


def without(stacks: dict, env: str, rtype: str, match) -> dict:
    """A copy of the stacks with the `rtype` resources of `env` that `match` removed."""
    changed = copy.deepcopy(stacks)
    resources = changed[env]["resource"][rtype]
    gone = [name for name, body in resources.items() if match(body)]
    assert gone, f"no {rtype} in {env} matched"
    for name in gone:
        del resources[name]
    return changed


def mlops_as(sim: Simulation, principal: str, *args: str) -> subprocess.CompletedProcess:
    """`mlops ARGS` in a fresh process that runs as `principal` against `sim`."""
    env = {**os.environ, **sim.environ(principal)}
    return subprocess.run(
        [sys.executable, "-m", "mlops.cli", *args], env=env, capture_output=True, text=True
    )
