"""The simulated APIs, one module each; `install` registers their routes on a Simulation."""

from __future__ import annotations


def install(sim) -> None:
    from simulation.apis import (
        aiplatform,
        bigquery,
        iamcredentials,
        kms,
        metadata,
        monitoring,
        storage,
    )

    for api in (metadata, iamcredentials, storage, kms, bigquery, aiplatform, monitoring):
        api.install(sim)
