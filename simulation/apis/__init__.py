"""The simulated APIs, one module each; `install` registers their routes on a Simulation."""

from __future__ import annotations


def install(sim) -> None:
    from simulation.apis import (
        bigquery,
        cloudbuild,
        cloudscheduler,
        experiments,
        iamcredentials,
        kms,
        logging,
        metadata,
        monitoring,
        pubsub,
        registry,
        storage,
        vertex,
    )

    apis = (metadata, iamcredentials, storage, kms, bigquery, vertex, experiments, monitoring,
            cloudbuild, cloudscheduler, pubsub, logging, registry)  # fmt: skip
    for api in apis:
        api.install(sim)
