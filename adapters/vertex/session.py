"""Vertex AI SDK configuration for a process: the project, region, identity and endpoint.

The SDK reads some resources back with its global configuration, whatever credentials the
call itself was given (Model.upload fetches the new version with the default credentials),
so a process that acts on prod sets prod's identity globally, once, here.
"""

from __future__ import annotations

from typing import Any

from kernel import gcp


def configure(project: str, region: str, credentials: Any = None) -> None:
    from google.cloud import aiplatform

    gcp.point_libraries()
    aiplatform.init(
        project=project,
        location=region,
        credentials=credentials,
        api_endpoint=gcp.endpoint("aiplatform"),
        api_transport=gcp.transport("aiplatform"),
    )
