"""The one place that chooses an adapter: a tenant's services for a target, local or vertex.

Components, the CLI and the tests open a tenant here; everything after works through the
ports. The typed fields make mypy check each adapter against its port.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel.errors import UserError
from kernel.names import MODEL_NAME
from promotion.ports import Endpoint, Monitoring, Registry, RunLog, Storage, Warehouse
from settings import Tenants

TARGETS = ("local", "vertex")


@dataclass
class Staging:
    warehouse: Warehouse
    storage: Storage
    buckets_root: str  # prefix a bucket name is appended to: a folder, or "gs:/"
    runs: RunLog  # what each run's steps recorded (docs/lineage.md)

    def bucket_uri(self, bucket: str) -> str:
        return f"{self.buckets_root}/{bucket}"


@dataclass
class Prod:
    registry: Registry
    endpoint: Endpoint
    storage: Storage
    monitoring: Monitoring
    buckets_root: str

    def bucket_uri(self, bucket: str) -> str:
        return f"{self.buckets_root}/{bucket}"


def check_target(target: str) -> None:
    if target not in TARGETS:
        raise UserError(f"unknown target {target!r}; expected one of {', '.join(TARGETS)}")


def open_staging(target: str, workspace: str, tenants: Tenants) -> Staging:
    """Staging's warehouse and storage, as whoever runs the step (the pipeline SA)."""
    check_target(target)
    project = tenants.staging_project
    if target == "local":
        from adapters.local.runlog import DuckDBRunLog
        from adapters.local.storage import LocalStorage
        from adapters.local.warehouse import DuckDBWarehouse
        from adapters.local.workspace import LocalTenant, workspace_root

        tenant = LocalTenant(workspace_root(workspace), project)
        return Staging(
            DuckDBWarehouse(tenant.warehouse_path),
            LocalStorage(),
            str(tenant.path / "buckets"),
            DuckDBRunLog(tenant.warehouse_path),
        )
    from adapters.vertex.bigquery import BigQueryWarehouse
    from adapters.vertex.runlog import ExperimentsRunLog
    from adapters.vertex.storage import GcsStorage

    warehouse = BigQueryWarehouse(project, tenants.staging_dataset, tenants.region)
    runs = ExperimentsRunLog(project, tenants.region)
    return Staging(warehouse, GcsStorage(project=project), "gs:/", runs)


def open_prod(target: str, workspace: str, tenants: Tenants, *, as_: str = "deployer") -> Prod:
    """Prod's services. On Vertex every call is made as `as_`: "deployer" or "reader"
    (impersonated: the staging pipeline's way into prod), or "self" (the caller's own
    identity: prod's deploy trigger, which runs as the deployer)."""
    check_target(target)
    project, region, endpoint_id = tenants.prod_project, tenants.region, tenants.endpoint_id
    if target == "local":
        from adapters.local.endpoint import LocalEndpoint
        from adapters.local.monitoring import LocalMonitoring
        from adapters.local.registry import LocalRegistry
        from adapters.local.storage import LocalStorage
        from adapters.local.workspace import LocalTenant, workspace_root

        tenant = LocalTenant(workspace_root(workspace), project)
        local_registry = LocalRegistry(tenant, MODEL_NAME)
        return Prod(
            local_registry,
            LocalEndpoint(tenant, endpoint_id, local_registry),
            LocalStorage(),
            LocalMonitoring(tenant),
            str(tenant.path / "buckets"),
        )
    from adapters.vertex import session
    from adapters.vertex.credentials import impersonated, own_credentials
    from adapters.vertex.endpoint import VertexEndpoint
    from adapters.vertex.monitoring import VertexMonitoring
    from adapters.vertex.registry import VertexRegistry
    from adapters.vertex.storage import GcsStorage

    who = {"deployer": tenants.deployer_service_account, "reader": tenants.reader_service_account}
    if as_ not in (*who, "self"):
        raise ValueError(f"open_prod as {as_!r}: expected deployer, reader or self")
    credentials = own_credentials() if as_ == "self" else impersonated(who[as_])
    session.configure(project, region, credentials)
    storage = GcsStorage(credentials=credentials, project=project)
    registry = VertexRegistry(
        project, region, credentials, storage, tenants.serving_image, tenants.prod_kms_key
    )
    endpoint = VertexEndpoint(
        project, region, endpoint_id, credentials, registry, tenants.serving_service_account
    )
    monitoring = VertexMonitoring(project, region, endpoint.resource_name, credentials)
    return Prod(registry, endpoint, storage, monitoring, "gs:/")
