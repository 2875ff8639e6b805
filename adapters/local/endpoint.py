"""The local prod endpoint: deployed versions and a traffic split, in the tenant's state.

`mlops serve` routes each request by this split (serving.models.TrafficRouter).
"""

from __future__ import annotations

from kernel.workspace import ENDPOINT, LocalTenant
from promotion.ports import EndpointState, Registry
from settings import Rollout
from trainer import predict


class LocalEndpoint:
    def __init__(self, tenant: LocalTenant, endpoint_id: str, registry: Registry) -> None:
        self.tenant, self.endpoint_id, self.registry = tenant, endpoint_id, registry

    def _state(self) -> dict:
        return self.tenant.read_state(
            ENDPOINT,
            {"endpoint_id": self.endpoint_id, "deployed": [], "traffic": {}},
            check=self._check,
        )

    def _check(self, s: dict) -> None:
        """What the file must mean: whole percents summing to 100 over deployed versions,
        each deployed version registered."""
        traffic, deployed = s["traffic"], s["deployed"]
        if not isinstance(traffic, dict) or not isinstance(deployed, list):
            raise ValueError("traffic must be an object and deployed a list")
        for version, percent in traffic.items():
            if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
                raise ValueError(f"traffic to version {version} is {percent!r}, not 0..100")
        EndpointState(traffic=dict(traffic), deployed=tuple(deployed))  # sums to 100, deployed
        registered = {v.version for v in self.registry.versions()}
        unknown = sorted(set(deployed) - registered)
        if unknown:
            raise ValueError(f"deployed version(s) {', '.join(unknown)} not in the registry")

    def state(self) -> EndpointState:
        s = self._state()
        return EndpointState(traffic=dict(s["traffic"]), deployed=tuple(s["deployed"]))

    def _update(self, change) -> None:
        with self.tenant.locked():
            s = self._state()
            change(s)
            EndpointState(traffic=s["traffic"], deployed=tuple(s["deployed"]))  # validates
            self.tenant.write_state(ENDPOINT, s)

    def deploy(self, version: str, traffic: dict[str, int], rollout: Rollout) -> None:
        del rollout  # machines and replicas mean nothing on this machine

        def change(s: dict) -> None:
            if version not in s["deployed"]:
                s["deployed"].append(version)
            s["traffic"] = {v: p for v, p in traffic.items() if p > 0}

        self._update(change)

    def set_traffic(self, traffic: dict[str, int]) -> None:
        def change(s: dict) -> None:
            s["traffic"] = {v: p for v, p in traffic.items() if p > 0}

        self._update(change)

    def undeploy(self, version: str) -> None:
        def change(s: dict) -> None:
            others = [v for v in s["deployed"] if v != version]
            if s["traffic"].get(version) and others:  # as Vertex: the last one may go
                raise ValueError(f"version {version} still has traffic; move it first")
            s["deployed"] = others
            if not others:
                s["traffic"] = {}

        self._update(change)

    def predict(self, instances: list[dict], version: str) -> list[dict]:
        # the model (LightGBM and scikit-learn, ~0.9 s to import) only when it predicts:
        # `mlops lineage` and `mlops canary` read the split and never score
        from trainer.model import CensusModel

        found = next(v for v in self.registry.versions() if v.version == version)
        model = CensusModel.load(self.registry.fetch(found))
        # LightGBM answers: the server's compiled trees take over only once they equal
        # LightGBM's predictions within 1e-9 on the whole test split (trainer/compiled.py), so
        # the smoke test needs no compile (seconds per model) on the deploy's critical path
        matrix = predict.encode_instances(instances)
        return predict.format_predictions(model.predict_matrix(matrix), model.threshold)
