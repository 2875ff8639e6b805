"""Vertex AI resources the stacks own: the metadata store, and prod's endpoint.

The metadata store must be named `default`, or pipeline runs will not use it; it exists
only in the google-beta provider (see beta.py). The endpoint gets a fixed numeric id from
settings so the pipeline finds it by id, never by display name.
"""

from __future__ import annotations

from cdktf import TerraformProvider
from cdktf_cdktf_provider_google.vertex_ai_endpoint import VertexAiEndpoint
from constructs import Construct

from infra.constructs.beta import VertexAiMetadataStore
from infra.constructs.props import Place
from kernel.names import MODEL_NAME


class MetadataStore(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        place: Place,
        *,
        kms_key_name: str,
        beta: TerraformProvider,
        depends_on=(),
    ) -> None:
        super().__init__(scope, id_)
        self.store = VertexAiMetadataStore(
            self,
            "store",
            provider=beta,
            project=place.project,
            region=place.region,
            name="default",
            description=f"census ML metadata ({place.env})",
            kms_key_name=kms_key_name,
            depends_on=depends_on,
        )


class Endpoint(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        place: Place,
        *,
        endpoint_id: str,
        kms_key_name: str,
        depends_on=(),
    ) -> None:
        super().__init__(scope, id_)
        self.endpoint = VertexAiEndpoint(
            self,
            "endpoint",
            project=place.project,
            location=place.region,
            region=place.region,
            name=endpoint_id,
            display_name=MODEL_NAME,
            description="census income classifier; versions and traffic are set by the pipeline",
            encryption_spec={"kms_key_name": kms_key_name},
            labels={**place.labels, "model": MODEL_NAME},
            depends_on=list(depends_on),
        )
