"""Who a Vertex-target call runs as: the default identity, or the prod deployer impersonated.

Prod is always reached as the prod deployer: the staging pipeline SA may mint its tokens
and do nothing else in prod.
"""

from __future__ import annotations

from typing import Any

from kernel import gcp

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]


def deployer_credentials(deployer_service_account: str) -> Any:
    import google.auth
    from google.auth import impersonated_credentials

    source, _ = google.auth.default(scopes=SCOPES)
    return impersonated_credentials.Credentials(
        source_credentials=source,
        target_principal=deployer_service_account,
        target_scopes=SCOPES,
        lifetime=3600,
        iam_endpoint_override=gcp.impersonation_url(deployer_service_account),
    )
