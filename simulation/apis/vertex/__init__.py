"""Vertex AI: the model registry (versions, aliases), endpoints (deployed models, traffic,
predictions through the real server), monitoring jobs, pipeline and custom jobs.

Long-running operations are returned running and are done once polled (`operations.get`)
`VertexState.operation_polls` times; a change to an endpoint while one of its operations
runs is refused, as Vertex refuses it. A deployed model is
served by this repository's real prediction server (`python -m serving`, Vertex's
custom-container contract), started from a copy of the model's artifacts, as the endpoint's
serving identity would see it; predict routes each request by the traffic split and answers
with the deployed model that served it. CMEK: the project's Vertex AI agent must hold
encrypt permission on the key, in the resource's region, or the call fails as Vertex fails it.

One module per resource family; `state.Vertex` holds what they share (sim.vertex).
"""

from __future__ import annotations

from typing import Any

from simulation.apis.routing import register
from simulation.apis.vertex.automl import AutoML
from simulation.apis.vertex.endpoints import Endpoints
from simulation.apis.vertex.jobs import Jobs, Operations
from simulation.apis.vertex.models import Models
from simulation.apis.vertex.state import Vertex


def install(sim: Any) -> None:
    vertex = Vertex(sim, sim.vertex)
    jobs = Jobs(vertex)
    for api in (Models(vertex), Endpoints(vertex), jobs, Operations(vertex), AutoML(vertex)):
        register(sim, "aiplatform", api)
    sim.create_custom_job = jobs.create_custom_job
