"""CMEK: one key ring per env, one key per purpose, and the service agents that use them.

One key per purpose (storage, bigquery, vertex, artifacts, pubsub) rather than one per env:
each Google service agent gets encrypt/decrypt on its own purpose's key only, so a
compromised or misconfigured agent reaches one class of data, and a key can be rotated or
disabled without touching the rest.
"""

from __future__ import annotations

from cdktf import TerraformProvider, TerraformResourceLifecycle
from cdktf_cdktf_provider_google.kms_crypto_key import KmsCryptoKey
from cdktf_cdktf_provider_google.kms_key_ring import KmsKeyRing
from constructs import Construct

from infra.constructs.beta import ProjectServiceIdentity
from infra.iam import SERVICE_AGENTS
from infra.settings import Settings


def protects_keys(settings: Settings) -> bool:
    """Staging and prod keys survive `terraform destroy`; dev's may go."""
    return settings.role in ("non-prod", "prod")


class CmekKeys(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        settings: Settings,
        *,
        beta: TerraformProvider,
        depends_on=(),
    ) -> None:
        super().__init__(scope, id_)
        lifecycle = TerraformResourceLifecycle(prevent_destroy=protects_keys(settings))
        self.key_ring = KmsKeyRing(
            self,
            "key-ring",
            project=settings.project_id,
            name=settings.kms.key_ring,
            location=settings.region,
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
                rotation_period=settings.rotation_period,
                version_template={
                    "algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION",
                    "protection_level": "SOFTWARE",
                },
                labels={"env": settings.env, "purpose": purpose},
                lifecycle=lifecycle,
            )
            for purpose, name in settings.kms.keys.items()
        }
        # Service agents exist only once something asks for them; create them explicitly so
        # the key grants below never name an agent that does not exist yet.
        self.agents = {
            purpose: ProjectServiceIdentity(
                self,
                f"agent-{purpose}",
                project=settings.project_id,
                service=service,
                provider=beta,
                depends_on=list(depends_on),
            )
            for purpose, (service, _) in SERVICE_AGENTS.items()
        }
