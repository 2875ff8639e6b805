"""The three google-beta types the stacks use, without the prebuilt google-beta bindings.

The stacks need the google-beta provider for just `google_project_service_identity` and
`google_vertex_ai_metadata_store`. Loading the prebuilt google-beta package for them costs
1.2 s and ~430 MB of node memory on every synth (its JS index requires all ~1,600 resource
modules), so these thin typed wrappers over cdktf's own TerraformProvider and
TerraformResource emit the same Terraform JSON. Attribute names follow the provider docs.
"""

from __future__ import annotations

from cdktf import (
    TerraformProvider,
    TerraformProviderGeneratorMetadata,
    TerraformResource,
)
from constructs import Construct

PROVIDER = "google-beta"
# The same provider release the prebuilt google bindings (16.12.1) were generated from.
VERSION = "6.50.0"
_METADATA = TerraformProviderGeneratorMetadata(
    provider_name=PROVIDER, provider_version=VERSION, provider_version_constraint=VERSION
)


class GoogleBetaProvider(TerraformProvider):
    def __init__(self, scope: Construct, id_: str, *, project: str, region: str) -> None:
        super().__init__(
            scope,
            id_,
            terraform_resource_type=PROVIDER,
            terraform_generator_metadata=_METADATA,
            terraform_provider_source=PROVIDER,
        )
        self._attributes = {"project": project, "region": region}

    def _synthesize_attributes(self) -> dict:  # cdktf calls this back (jsii) at synth time
        return dict(self._attributes)


class _BetaResource(TerraformResource):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        tf_type: str,
        *,
        provider: TerraformProvider,
        attributes: dict,
        depends_on=(),
    ) -> None:
        super().__init__(
            scope,
            id_,
            terraform_resource_type=tf_type,
            terraform_generator_metadata=_METADATA,
            provider=provider,
            depends_on=list(depends_on) or None,
        )
        self._attributes = attributes

    def _synthesize_attributes(self) -> dict:  # cdktf calls this back (jsii) at synth time
        return dict(self._attributes)

    @property
    def id(self) -> str:
        return self.get_string_attribute("id")


class ProjectServiceIdentity(_BetaResource):
    TF_RESOURCE_TYPE = "google_project_service_identity"

    def __init__(
        self, scope: Construct, id_: str, *, project: str, service: str, provider, depends_on=()
    ) -> None:
        super().__init__(
            scope,
            id_,
            self.TF_RESOURCE_TYPE,
            provider=provider,
            attributes={"project": project, "service": service},
            depends_on=depends_on,
        )

    @property
    def email(self) -> str:
        return self.get_string_attribute("email")


class VertexAiMetadataStore(_BetaResource):
    TF_RESOURCE_TYPE = "google_vertex_ai_metadata_store"

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        project: str,
        region: str,
        name: str,
        description: str,
        kms_key_name: str,
        provider,
        depends_on=(),
    ) -> None:
        super().__init__(
            scope,
            id_,
            self.TF_RESOURCE_TYPE,
            provider=provider,
            attributes={
                "project": project,
                "region": region,
                "name": name,
                "description": description,
                "encryption_spec": {"kms_key_name": kms_key_name},
            },
            depends_on=depends_on,
        )
