"""Where this repository's Google clients connect: one endpoint template for every API.

`MLOPS_API_ENDPOINT` holds a template with `{service}` in it, for example
`https://{service}-myendpoint.p.googleapis.com` (Private Service Connect) or the simulated
cloud's `http://127.0.0.1:8765/{service}`; unset, each client uses Google's default. Every
client this repository creates takes its endpoint from here, so one setting moves them all.
"""

from __future__ import annotations

import os
from typing import Any

ENV_VAR = "MLOPS_API_ENDPOINT"
SERVICES = (
    "aiplatform",
    "storage",
    "bigquery",
    "cloudkms",
    "iamcredentials",
    "monitoring",
    "cloudresourcemanager",
    "pubsub",
)


def endpoint(service: str, environ: dict[str, str] | None = None) -> str | None:
    """The base URL for `service`, or None for Google's default."""
    if service not in SERVICES:
        raise ValueError(f"unknown Google API {service!r}; expected one of {SERVICES}")
    template = (os.environ if environ is None else environ).get(ENV_VAR, "").strip()
    if not template:
        return None
    if "{service}" not in template:
        raise ValueError(f"{ENV_VAR} must contain {{service}}, got {template!r}")
    return template.format(service=service).rstrip("/")


def client_options(service: str) -> dict[str, Any] | None:
    """`client_options` for a google-cloud client of `service` (None: the default)."""
    url = endpoint(service)
    return {"api_endpoint": url} if url else None


def transport(service: str) -> str | None:
    """REST when an endpoint is set: gRPC cannot reach a plain HTTP endpoint or proxy."""
    return "rest" if endpoint(service) else None


def impersonation_url(target: str) -> str | None:
    """google-auth's `iam_endpoint_override` (a full URL) for impersonating `target`."""
    url = endpoint("iamcredentials")
    return f"{url}/v1/projects/-/serviceAccounts/{target}:generateAccessToken" if url else None


STORAGE_OVERRIDE = "API_ENDPOINT_OVERRIDE"


def point_libraries() -> None:
    """Point what other libraries reach on their own where ours go:
    - the Storage clients they create (the Vertex AI SDK checks a pipeline's root bucket with
      its own): google-cloud-storage reads API_ENDPOINT_OVERRIDE (a value set is kept);
    - google-auth's Regional Access Boundary lookup, which a service account's credentials
      send after each token to iamcredentials.googleapis.com (no setting moves it): to the
      configured IAM Credentials endpoint."""
    url = endpoint("storage")
    if url:
        os.environ.setdefault(STORAGE_OVERRIDE, url)
    iam = endpoint("iamcredentials")
    if iam:
        try:
            from google.auth import _regional_access_boundary_utils as boundary
        except ImportError:  # a google-auth without the lookup
            return

        def lookup(service_account_email: str) -> str:
            return f"{iam}/v1/projects/-/serviceAccounts/{service_account_email}/allowedLocations"

        boundary.get_service_account_rab_endpoint = lookup
