"""The prod Vertex AI endpoint: deployed models, a traffic split, predictions through it."""

from __future__ import annotations

import functools
import math
from typing import Any

from google.api_core import exceptions

from adapters.vertex import requests
from adapters.vertex.registry import VertexRegistry
from kernel.errors import PlatformRefused, ServingFailed
from promotion.ports import EndpointState
from settings import Rollout


def smoke_attempts(canary_percent: int, miss_probability: float = 0.001) -> int:
    """Single-instance requests needed so the canary answers at least once (p > 99.9%).

    Vertex routes each request by the traffic split; the response names the deployed model
    that answered, so the smoke test keeps only the new version's answers.
    """
    share = canary_percent / 100
    if share >= 1:
        return 1
    return min(500, math.ceil(math.log(miss_probability) / math.log(1 - share)))


# Answers about the call, not the model: 401, 403, 429 (over REST these are Unauthorized,
# Forbidden, TooManyRequests; their gRPC forms subclass them). A model that fails answers
# 5xx or wrong predictions, which the smoke test judges.
PLATFORM_REFUSALS = (exceptions.Unauthorized, exceptions.Forbidden, exceptions.TooManyRequests)
# How a deploy's operation ends when it failed after it started. Out of quota (8), an
# internal error (13), unavailable (14), deadline (4) or aborted (10) are the platform's:
# the version may be deployed again as it is. Invalid argument (3) and failed precondition
# (9) are what Vertex answers when the version's server never became ready: the model's.
PLATFORM_FAILURES = (
    *PLATFORM_REFUSALS,
    exceptions.InternalServerError,
    exceptions.ServiceUnavailable,
    exceptions.DeadlineExceeded,
    exceptions.Aborted,
)
MODEL_FAILURES = (exceptions.InvalidArgument, exceptions.FailedPrecondition)


class VertexEndpoint:
    def __init__(
        self,
        project: str,
        region: str,
        endpoint_id: str,
        credentials: Any,
        registry: VertexRegistry,
        serving_service_account: str,
    ) -> None:
        self.resource_name = f"projects/{project}/locations/{region}/endpoints/{endpoint_id}"
        self.credentials = credentials
        self.registry, self.serving_service_account = registry, serving_service_account

    @functools.cached_property
    def endpoint(self) -> Any:
        """Fetched on first use (one GET): opening prod to read its registry touches no
        endpoint, so the prod reader needs no endpoint permission."""
        from google.cloud import aiplatform

        return aiplatform.Endpoint(self.resource_name, credentials=self.credentials)

    def _deployed(self) -> dict[str, str]:
        """{version: deployed_model_id}, oldest deployment first (one GET of the endpoint)."""
        models = sorted(self.endpoint.list_models(), key=lambda m: m.create_time.timestamp())
        return {m.model_version_id: m.id for m in models}

    def state(self) -> EndpointState:
        ids = self._deployed()  # list_models() refreshed gca_resource: the split matches
        by_id = {i: v for v, i in ids.items()}
        split = dict(self.endpoint.gca_resource.traffic_split)
        return EndpointState({by_id[i]: p for i, p in split.items() if p}, tuple(ids))

    def deploy(self, version: str, traffic: dict[str, int], rollout: Rollout) -> None:
        ids = self._deployed()
        if version in ids:
            self.set_traffic(traffic)
            return
        request = requests.deploy_request(
            model_resource=f"{self.registry.parent}@{version}",
            traffic_split=requests.vertex_traffic(traffic, ids, version),
            machine_type=rollout.machine_type,
            min_replicas=rollout.min_replicas,
            max_replicas=rollout.max_replicas,
            service_account=self.serving_service_account,
        )
        request["model"] = self.registry.model(version)
        try:
            self.endpoint.deploy(**request)
        except PLATFORM_FAILURES as exc:  # the operation's own status: code and message once
            raise PlatformRefused(
                f"deploying version {version} failed: {exc.code} {exc.message}"
            ) from exc
        except MODEL_FAILURES as exc:
            raise ServingFailed(
                f"version {version} failed to deploy: {exc.code} {exc.message}"
            ) from exc

    def set_traffic(self, traffic: dict[str, int]) -> None:
        if not any(traffic.values()):  # the SDK would send an update with an empty mask
            raise ValueError("an endpoint's traffic cannot be set to nothing; undeploy instead")
        ids = self._deployed()
        self.endpoint.update(traffic_split={ids[v]: p for v, p in traffic.items() if p})

    def undeploy(self, version: str) -> None:
        self.endpoint.undeploy(self._deployed()[version])

    def predict(self, instances: list[dict], version: str) -> list[dict]:
        target = self._deployed()[version]
        share = self.state().traffic.get(version, 0)
        for _ in range(smoke_attempts(max(share, 1))):
            try:
                response = self.endpoint.predict(instances=instances)
            except PLATFORM_REFUSALS as exc:  # the caller's rights or quota, not the model
                raise PlatformRefused(
                    f"predict on {self.endpoint.resource_name} was refused: {exc}"
                ) from exc
            if response.deployed_model_id == target:
                return [dict(p) for p in response.predictions]
        raise RuntimeError(f"version {version} never answered; is it receiving traffic?")
