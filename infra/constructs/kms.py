"""CMEK: one key ring per env, one key per purpose, and the service agents that use them.

One key per purpose (storage, bigquery, vertex, artifacts, pubsub, functions) rather than one
per env: each Google service agent gets encrypt/decrypt on the keys of its own purpose only
(settings.key_users), so a compromised or misconfigured agent reaches one class of data, and a
key can be rotated or disabled without touching the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdktf import TerraformProvider, TerraformResourceLifecycle
from cdktf_cdktf_provider_google.data_google_storage_project_service_account import (
    DataGoogleStorageProjectServiceAccount,
)
from cdktf_cdktf_provider_google.kms_crypto_key import KmsCryptoKey
from cdktf_cdktf_provider_google.kms_key_ring import KmsKeyRing
from constructs import Construct

from infra.constructs.beta import ProjectServiceIdentity
from infra.constructs.props import Place
from settings import BOOTSTRAP_AGENT_APIS, SERVICE_AGENTS, key_users

# The agents the provider documents data sources for (reading one makes the agent exist);
# BigQuery's is asked for by the bootstrap instead (settings.BOOTSTRAP_AGENT_APIS).
AGENT_DATA_SOURCES = {"storage": DataGoogleStorageProjectServiceAccount}


@dataclass(frozen=True)
class KeysProps:
    place: Place
    key_ring: str
    keys: dict[str, str]  # purpose → key name
    rotation_period: str  # e.g. "7776000s"
    prevent_destroy: bool  # staging and prod keys survive `terraform destroy`


class CmekKeys(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        props: KeysProps,
        *,
        beta: TerraformProvider,
        depends_on=(),
    ) -> None:
        super().__init__(scope, id_)
        lifecycle = TerraformResourceLifecycle(prevent_destroy=props.prevent_destroy)
        place = props.place
        self.key_ring = KmsKeyRing(
            self,
            "key-ring",
            project=place.project,
            name=props.key_ring,
            location=place.region,
            depends_on=list(depends_on),
            lifecycle=lifecycle,
        )
        self.keys = {
            purpose: KmsCryptoKey(
                self,
                f"key-{purpose}",
                name=name,
                key_ring=self.key_ring.id,
                purpose="ENCRYPT_DECRYPT",
                rotation_period=props.rotation_period,
                version_template={
                    "algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION",
                    "protection_level": "SOFTWARE",
                },
                labels={**place.labels, "purpose": purpose},
                lifecycle=lifecycle,
            )
            for purpose, name in props.keys.items()
        }
        # Service agents exist only once something asks for them; ask explicitly so the key
        # grants never name an agent that does not exist yet. Cloud Storage has its own data
        # source for this (google_project_service_identity returns no email for it); BigQuery's
        # agent the bootstrap made; the others are created with google_project_service_identity.
        self.agents: dict[str, Any] = {}
        for agent in dict.fromkeys(a for purpose in props.keys for a in key_users(purpose)):
            service = SERVICE_AGENTS[agent][0]
            if service in BOOTSTRAP_AGENT_APIS:
                continue
            if agent in AGENT_DATA_SOURCES:
                self.agents[agent] = AGENT_DATA_SOURCES[agent](
                    self,
                    f"agent-{agent}",
                    project=place.project,
                    depends_on=list(depends_on),
                )
            else:
                self.agents[agent] = ProjectServiceIdentity(
                    self,
                    f"agent-{agent}",
                    project=place.project,
                    service=service,
                    provider=beta,
                    depends_on=list(depends_on),
                )
