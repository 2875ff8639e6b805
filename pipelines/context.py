"""What every component does first, and the deploy and monitor steps as prod runs them.

A component validates the tenants once (`StepContext.of`), opens each tenant once as the
identity the step runs as, and records its facts in the run log. `deploy` and `monitor` are
the pipeline's deploy and monitor steps without KFP: the components call them, and so does
prod's deploy trigger (`mlops deploy`), so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from adapters import wiring
from promotion.ports import MonitoringConfig
from promotion.steps import deploy as deploy_step
from promotion.steps.monitor import monitoring_config
from settings import MonitoringSettings, Rollout, Tenants


@dataclass
class StepContext:
    target: str
    workspace: str
    tenants: Tenants
    run_id: str = ""
    _staging: wiring.Staging | None = None
    _prod: dict[str, wiring.Prod] = field(default_factory=dict)

    @staticmethod
    def of(target: str, workspace: str, tenants: dict, run_id: str = "") -> StepContext:
        return StepContext(target, workspace, Tenants.model_validate(tenants), run_id)

    @property
    def staging(self) -> wiring.Staging:
        """Staging's services, as the step's own identity (the pipeline SA)."""
        if self._staging is None:
            self._staging = wiring.open_staging(self.target, self.workspace, self.tenants)
        return self._staging

    def prod(self, as_: str = "deployer") -> wiring.Prod:
        """Prod's services as `as_` (adapters.wiring.open_prod)."""
        if as_ not in self._prod:
            self._prod[as_] = wiring.open_prod(self.target, self.workspace, self.tenants, as_=as_)
        return self._prod[as_]

    def record(self, step: str, facts: dict) -> None:
        """The step's facts in the run log (docs/lineage.md), after its work."""
        self.staging.runs.record(self.run_id, step, facts)


def deploy(
    prod: wiring.Prod,
    *,
    candidate_uri: str,
    run_id: str,
    commit: str,
    rollout: Rollout,
    log: Callable[[str], object] = print,
    approved: dict[str, str] | None = None,
) -> deploy_step.Deployment:
    """The deploy step: the candidate into prod, canaried and smoke-tested (and, approved,
    checked against the approved files' checksums); no canary judgement meanwhile."""
    with prod.changing(f"run {run_id}: deploy"):
        return deploy_step.deploy_candidate(
            candidate_uri=candidate_uri,
            run_id=run_id,
            commit=commit,
            registry=prod.registry,
            endpoint=prod.endpoint,
            storage=prod.storage,
            prod=prod.layout,
            rollout=rollout,
            log=log,
            approved=approved,
        )


def monitor(
    prod: wiring.Prod, tenants: Tenants, baseline_uri: str, settings: MonitoringSettings
) -> tuple[MonitoringConfig, str]:
    """The monitor step: model monitoring created or updated; returns it and the action."""
    config = monitoring_config(
        endpoint_id=tenants.endpoint_id,
        baseline_uri=baseline_uri,
        monitoring=settings,
        kms_key=tenants.prod_kms_key,
    )
    return config, prod.monitoring.apply(config)
