"""Open a tenant's services for a target: the local workspace or Google Cloud.

Components call these with plain parameters; everything after is target-agnostic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops.errors import UserError
from pipelines.params import MODEL_NAME

TARGETS = ("local", "vertex")


@dataclass
class Staging:
    warehouse: Any
    storage: Any
    buckets_root: str  # prefix a bucket name is appended to: a folder, or "gs:/"

    def bucket_uri(self, bucket: str) -> str:
        return f"{self.buckets_root}/{bucket}"


@dataclass
class Prod:
    registry: Any
    endpoint: Any
    storage: Any
    monitoring: Any
    buckets_root: str

    def bucket_uri(self, bucket: str) -> str:
        return f"{self.buckets_root}/{bucket}"


def _check(target: str) -> None:
    if target not in TARGETS:
        raise UserError(f"unknown target {target!r}; expected one of {', '.join(TARGETS)}")


def open_staging(
    target: str, *, workspace: str, project: str, dataset: str, region: str
) -> Staging:
    _check(target)
    if target == "local":
        from pipelines.local.prod import LocalStorage
        from pipelines.local.warehouse import DuckDBWarehouse
        from pipelines.local.workspace import LocalTenant, workspace_root

        tenant = LocalTenant(workspace_root(workspace), project)
        return Staging(
            DuckDBWarehouse(tenant.warehouse_path), LocalStorage(), str(tenant.path / "buckets")
        )
    from pipelines.vertex.services import open_staging as vertex_staging

    return vertex_staging(project=project, dataset=dataset, region=region)


def open_prod(
    target: str,
    *,
    workspace: str,
    project: str,
    region: str,
    endpoint_id: str,
    deployer_service_account: str,
    serving_image: str = "",
    kms_key: str = "",
) -> Prod:
    _check(target)
    if target == "local":
        from pipelines.local.prod import LocalEndpoint, LocalMonitoring, LocalRegistry, LocalStorage
        from pipelines.local.workspace import LocalTenant, workspace_root

        tenant = LocalTenant(workspace_root(workspace), project)
        registry = LocalRegistry(tenant, MODEL_NAME)
        return Prod(
            registry,
            LocalEndpoint(tenant, endpoint_id, registry),
            LocalStorage(),
            LocalMonitoring(tenant),
            str(tenant.path / "buckets"),
        )
    from pipelines.vertex.services import open_prod as vertex_prod

    return vertex_prod(
        project=project,
        region=region,
        endpoint_id=endpoint_id,
        deployer_service_account=deployer_service_account,
        serving_image=serving_image,
        kms_key=kms_key,
    )
