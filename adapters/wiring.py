"""The one place that chooses an adapter: a tenant's services for a target, local or vertex.

Components, the CLI and the tests open a tenant here; everything after works through the
ports. The typed fields make mypy check each adapter against its port.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kernel import gcp
from kernel.errors import Busy, PlatformRefused, UserError
from kernel.names import MODEL_NAME
from kernel.workspace import LocalTenant, workspace_root
from promotion.domain import layout
from promotion.ports import (
    AlertLog,
    Endpoint,
    LoggedRequests,
    Monitoring,
    Preflight,
    Registry,
    RequestLog,
    RunLog,
    ServingFigures,
    Storage,
    Warehouse,
)
from settings import Tenants

TARGETS = ("local", "vertex")


@dataclass
class Staging:
    warehouse: Warehouse
    storage: Storage
    runs: RunLog  # what each run's steps recorded (docs/lineage.md)
    candidates_root: str  # where the decide step stages candidates (promotion.domain.layout)


@dataclass
class Prod:
    registry: Registry
    endpoint: Endpoint
    storage: Storage
    monitoring: Monitoring
    figures: ServingFigures  # the canary's evidence
    layout: layout.ProdLayout  # where prod keeps each run's copy
    impersonated: str | None = None  # the prod identity the calls run as, if not the caller's
    caller: Any = None  # the caller's own credentials (Vertex), to name it in a refusal
    lock_folder: Any = None  # local: the prod tenant, whose lock one change at a time holds
    lease: Any = None  # Vertex: the lease object in prod's models bucket (GcsLease)

    def changing(self, who: str):
        """Held while `who` changes prod (deploy, canary): one at a time, waited for and its
        holder named; a file lock locally, a Cloud Storage lease on Vertex
        (docs/reliability.md, "One change to prod at a time")."""
        from kernel.workspace import changing_prod

        if self.lease is not None:
            return self.lease.held(who)
        return changing_prod(self.lock_folder, who)

    def caller_email(self) -> str:
        """The caller's email once its token was used (a metadata server names it)."""
        email = getattr(self.caller, "service_account_email", None)
        return str(email) if email and email != "default" else "the caller"

    def identity(self) -> str:
        """Who the calls run as, for a refusal's message."""
        caller = self.caller_email()
        return f"{self.impersonated}, impersonated by {caller}" if self.impersonated else caller

    @contextmanager
    def refusals(self) -> Iterator[None]:
        """A call Google refused (401, 403, 429) becomes one line naming who was refused
        what: kernel.errors.PlatformRefused. A change refused while an operation on the
        resource still runs is Busy (exit 5): nothing about the caller or the model."""
        try:
            yield
        except Exception as exc:
            from adapters.vertex.refusals import describe, operation_running

            running = operation_running(exc)
            if running is not None:  # an interrupted deploy's operation still runs: wait
                raise Busy(
                    f"Vertex AI is still running an operation on prod's endpoint and refused "
                    f"the change ({running}); run this again once it has ended (minutes: the "
                    "scheduled judgement does)"
                ) from None
            line = describe(exc, self.identity(), self.caller_email())
            if line is None:
                raise
            raise PlatformRefused(line) from None


def _buckets_root(target: str, workspace: str, project: str) -> str:
    """What a bucket name is appended to: the tenant's folder locally, "gs:/" on Vertex."""
    if target == "local":
        return str(LocalTenant(workspace_root(workspace), project).path / "buckets")
    return "gs:/"


def _prod_layout(target: str, workspace: str, tenants: Tenants) -> layout.ProdLayout:
    root = _buckets_root(target, workspace, tenants.prod_project)
    return layout.ProdLayout.of(root, tenants.prod_models_bucket, tenants.prod_data_bucket)


def staged_candidates(target: str, workspace: str, tenants: Tenants) -> str:
    """Where the decide step stages candidates: staging's models bucket."""
    root = _buckets_root(target, workspace, tenants.staging_project)
    return layout.candidates_root(root, tenants.staging_models_bucket)


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

    candidates = staged_candidates(target, workspace, tenants)
    if target == "local":
        tenant = LocalTenant(workspace_root(workspace), project)
        return Staging(
            DuckDBWarehouse(tenant.warehouse_path),
            LocalStorage(),
            DuckDBRunLog(tenant.warehouse_path),
            candidates,
        )
    from adapters.vertex.bigquery import BigQueryWarehouse
    from adapters.vertex.runlog import ExperimentsRunLog
    from adapters.vertex.storage import GcsStorage

    gcp.point_libraries()
    warehouse = BigQueryWarehouse(project, tenants.staging_dataset, tenants.region)
    runs = ExperimentsRunLog(project, tenants.region)
    return Staging(warehouse, GcsStorage(project=project), runs, candidates)


def announcer(target: str, tenants: Tenants) -> Callable[[dict[str, str], bytes], str] | None:
    """Where an approved candidate is announced (promotion = "approval"): prod's topic, on
    Vertex, as the caller; None locally, where a person runs `mlops deploy` instead."""
    check_target(target)
    if target == "local" or not tenants.approved_candidates_topic:
        return None
    from adapters.vertex.pubsub import PubSubPublisher

    gcp.point_libraries()
    return PubSubPublisher(tenants.approved_candidates_topic)


def open_prod(target: str, workspace: str, tenants: Tenants, *, as_: str = "deployer") -> Prod:
    """Prod's services. On Vertex every call is made as `as_`: "deployer" or "reader"
    (impersonated: the staging pipeline's way into prod), or "self" (the caller's own
    identity: prod's deploy trigger, which runs as the deployer)."""
    check_target(target)
    project, region, endpoint_id = tenants.prod_project, tenants.region, tenants.endpoint_id
    if target == "local":
        from adapters.local.endpoint import LocalEndpoint
        from adapters.local.monitoring import LocalMonitoring, LocalServingFigures
        from adapters.local.registry import LocalRegistry
        from adapters.local.storage import LocalStorage

        tenant = LocalTenant(workspace_root(workspace), project)
        local_registry = LocalRegistry(tenant, MODEL_NAME)
        return Prod(
            local_registry,
            LocalEndpoint(tenant, endpoint_id, local_registry),
            LocalStorage(),
            LocalMonitoring(tenant),
            LocalServingFigures(tenant),
            _prod_layout(target, workspace, tenants),
            lock_folder=tenant.path,
        )
    from adapters.vertex import session
    from adapters.vertex.credentials import impersonated, own_credentials
    from adapters.vertex.endpoint import VertexEndpoint
    from adapters.vertex.lease import GcsLease
    from adapters.vertex.monitoring import CloudMonitoringFigures, VertexMonitoring
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
    figures = CloudMonitoringFigures(project, region, endpoint.resource_name, credentials)
    layout_ = _prod_layout(target, workspace, tenants)
    acting_as = None if as_ == "self" else who[as_]
    caller = credentials if as_ == "self" else credentials._source_credentials
    # its own client: the lease is renewed from a thread while the deploy's calls run
    lease = GcsLease(
        GcsStorage(credentials=credentials, project=project).client, layout_.change_lease
    )
    return Prod(
        registry, endpoint, storage, monitoring, figures, layout_, acting_as, caller, lease=lease
    )


# The local endpoint's request log and the local monitor: this machine only. On Vertex the
# endpoint logs requests itself and the monitoring job reads them.


def _local_prod_tenant(workspace: str | None, tenants: Tenants) -> LocalTenant:
    return LocalTenant(workspace_root(workspace), tenants.prod_project)


def open_request_log(workspace: str | None, tenants: Tenants) -> RequestLog:
    """The local server's writer: every response, before it returns."""
    from adapters.local.request_log import RequestLog as LocalRequestLog

    return LocalRequestLog(_local_prod_tenant(workspace, tenants).request_log_path)


def logged_requests(workspace: str | None, tenants: Tenants) -> LoggedRequests:
    """The local request log as the monitor reads it."""
    from adapters.local.request_log import LocalLoggedRequests

    return LocalLoggedRequests(_local_prod_tenant(workspace, tenants).request_log_path)


def alert_log(workspace: str | None, tenants: Tenants) -> AlertLog:
    """The local monitor's alerts (Vertex: the job's anomalies and emails)."""
    from adapters.local.monitoring import LocalAlertLog

    return LocalAlertLog(_local_prod_tenant(workspace, tenants))


def preflight() -> Preflight:
    """What must hold in the cloud before a Vertex run (mlops doctor, mlops submit)."""
    from adapters.vertex.doctor import VertexPreflight

    gcp.point_libraries()
    return VertexPreflight()


def export_automl_model(model_name: str, destination: str, project: str, region: str) -> str:
    """A Vertex AutoML model exported into `destination` (gs://): its folder's URI. Vertex
    only: AutoML runs locally as the stand-in, whose model is already a folder."""
    from adapters.vertex.automl import export_model

    return export_model(model_name, destination, project, region)
