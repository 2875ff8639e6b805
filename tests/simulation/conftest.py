"""A fresh simulated cloud per test, seeded from the session's synthesized stacks."""

import pytest

from simulation.server import Simulation
from simulation.world import World


@pytest.fixture
def cloud(tmp_path, stacks):
    """Start a simulation of `stacks` (or of changed stacks given to the returned function)."""
    started = []

    def start(seed: dict | None = None) -> Simulation:
        sim = Simulation(World.from_stacks(seed or stacks), tmp_path / f"cloud{len(started)}")
        started.append(sim.start())
        return sim

    yield start
    for sim in started:
        sim.stop()
