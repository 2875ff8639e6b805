"""BigQuery: datasets (more to come: load jobs, queries answered by DuckDB)."""

from __future__ import annotations

from starlette.responses import JSONResponse

from simulation.wire import ApiError


def install(sim) -> None:
    @sim.route(
        "bigquery",
        "GET",
        r"/bigquery/v2/projects/(?P<project>[^/]+)/datasets/(?P<dataset>[^/]+)",
        "bigquery.datasets.get",
    )
    def get_dataset(call, project, dataset):
        call.authorize(f"projects/{project}/datasets/{dataset}")
        found = sim.world.datasets.get(f"{project}.{dataset}")
        if found is None:
            raise ApiError(404, f"Not found: Dataset {project}:{dataset}")
        body = {
            "kind": "bigquery#dataset",
            "id": f"{project}:{dataset}",
            "datasetReference": {"projectId": project, "datasetId": dataset},
            "location": found.location,
        }
        if found.kms_key:
            body["defaultEncryptionConfiguration"] = {"kmsKeyName": found.kms_key}
        return JSONResponse(body)
