"""Vertex AutoML Tabular, the shell: export a trained model next to the run's other
artifacts, so staging can stage it and prod can upload it with AutoML's container."""

from __future__ import annotations

from adapters.vertex import session

EXPORT_FORMAT = "tf-saved-model"  # AutoML tabular's exportable format (models.export)


def export_model(model_name: str, destination: str, project: str, region: str) -> str:
    """models.export into the gs:// folder `destination`, as this process's identity (Vertex
    writes the files as its service agent); the exported folder's gs:// URI."""
    from google.cloud import aiplatform

    session.configure(project, region)
    exported = aiplatform.Model(model_name).export_model(
        export_format_id=EXPORT_FORMAT, artifact_destination=destination
    )
    return str(exported["artifactOutputUri"])
