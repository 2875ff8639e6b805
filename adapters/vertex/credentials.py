"""Who a Vertex-target call runs as: the caller's own identity, or a prod identity
impersonated.

The staging pipeline reaches prod only by impersonation: the prod reader (the decide step
reads the champion) and, when runs may promote on their own, the prod deployer. Prod's own
deploy trigger runs as the deployer and needs no impersonation.
"""

from __future__ import annotations

from typing import Any

from kernel import gcp

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]


def own_credentials() -> Any:
    import google.auth

    credentials, _ = google.auth.default(scopes=SCOPES)
    return credentials


def impersonated(service_account: str) -> Any:
    from google.auth import impersonated_credentials

    return impersonated_credentials.Credentials(
        source_credentials=own_credentials(),
        target_principal=service_account,
        target_scopes=SCOPES,
        lifetime=3600,
        iam_endpoint_override=gcp.impersonation_url(service_account),
    )
