"""Vertex AI endpoints: deploy and undeploy models, the traffic split, predict through the
real prediction server each deployed model runs."""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.responses import JSONResponse

from simulation.apis.routing import route
from simulation.apis.vertex.models import version_of
from simulation.apis.vertex.state import V1, M, T, Vertex, now
from simulation.serving import Deployment, repository_of
from simulation.wire import ApiError

ENDPOINT = V1 + r"/endpoints/(?P<endpoint>[^/:]+)"
DEPLOY = (T + "DeployModelOperationMetadata", T + "DeployModelResponse")
UNDEPLOY = (T + "UndeployModelOperationMetadata", T + "UndeployModelResponse")
INVALID_ARGUMENT = 3  # google.rpc.Code of a model server that never became ready
OVERHEAD_MS = 2.0  # what Vertex's front end adds to a prediction, beside routing here


def public(endpoint: dict) -> dict:
    return {k: v for k, v in endpoint.items() if not k.startswith("_")}


def split_of(proposed: dict, deployed_ids: set[str]) -> dict[str, int]:
    """A traffic split as Vertex accepts it: over deployed models, summing to 100."""
    split = {k: int(v) for k, v in proposed.items() if int(v) > 0}
    if split and sum(split.values()) != 100:
        raise ApiError(400, f"Traffic split must sum to 100, got {split}.")
    stray = set(split) - deployed_ids
    if stray:
        raise ApiError(400, f"Traffic split names models not deployed: {sorted(stray)}.")
    return split


class Endpoints:
    def __init__(self, vertex: Vertex) -> None:
        self.v = vertex
        self.endpoints = vertex.state.endpoints

    def endpoint_of(self, project: str, location: str, endpoint: str) -> dict:
        """An endpoint the stacks created (the world knows it), as Vertex keeps it."""
        name = f"{self.v.parent(project, location)}/endpoints/{endpoint}"
        world = self.v.sim.world.endpoints
        if name not in self.endpoints:
            if name not in world:
                raise ApiError(404, f"Endpoint {name} does not exist.")
            self.endpoints[name] = {
                "name": name,
                "displayName": "census-income",
                "deployedModels": [],
                "trafficSplit": {},
                "encryptionSpec": {"kmsKeyName": world[name]},
                "createTime": now(),
                "_servers": {},
            }
        return self.endpoints[name]

    @route("GET", ENDPOINT, f"{M}.endpoints.get")
    def get(self, call: Any, project: str, location: str, endpoint: str) -> JSONResponse:
        call.authorize(f"projects/{self.v.project_id(project)}")
        return JSONResponse(public(self.endpoint_of(project, location, endpoint)))

    @route("POST", ENDPOINT + ":deployModel", f"{M}.endpoints.deployModel")
    def deploy(self, call: Any, project: str, location: str, endpoint: str) -> JSONResponse:
        pid = self.v.project_id(project)
        call.authorize(f"projects/{pid}")
        target = self.endpoint_of(project, location, endpoint)
        self.v.busy(target["name"])
        body = call.json()
        spec = body["deployedModel"]
        model_name, _, version = spec["model"].partition("@")
        registered = self.v.state.models.get(model_name)
        if registered is None:
            raise ApiError(404, f"Model {spec['model']} does not exist.")
        call.authorize(f"projects/{pid}", "aiplatform.models.get")
        model = version_of(registered, version or None)
        identity = spec.get("serviceAccount")
        if identity:  # deploying as an identity needs permission to act as it
            self.v.act_as(call, identity, pid)
        self.v.cmek(call.entry, pid, location, target.get("encryptionSpec"))
        deployed_id = self.v.state.next_id()
        image = (model.get("containerSpec") or {}).get("imageUri", "")
        self._may_pull(call, pid, image)
        # From here the deploy has started: what goes wrong ends its operation in an error,
        # the endpoint as it was (Vertex answers the request before the server is up).
        failure, self.v.state.deploy_fails = self.v.state.deploy_fails, None
        if failure is None:
            try:
                server = Deployment.start(self.v.sim, deployed_id, model, image, identity or "")
            except ApiError as exc:
                failure = {"code": INVALID_ARGUMENT, "message": exc.message}
        if failure is not None:
            return self.v.operation(target["name"], {}, DEPLOY, error=failure)
        target["_servers"][deployed_id] = server
        ids_now = {d["id"] for d in target["deployedModels"]} | {deployed_id}
        proposed = {
            (deployed_id if k == "0" else k): v for k, v in body.get("trafficSplit", {}).items()
        }
        if not proposed:
            proposed = {deployed_id: 100} if not target["trafficSplit"] else target["trafficSplit"]
        target["trafficSplit"] = split_of(proposed, ids_now)
        target["deployedModels"].append(
            {
                "id": deployed_id,
                "model": model_name,
                "modelVersionId": model["versionId"],
                "displayName": spec.get("displayName", ""),
                "serviceAccount": identity or "",
                "dedicatedResources": spec.get("dedicatedResources", {}),
                "createTime": now(),
            }
        )
        return self.v.operation(target["name"], {"deployedModel": {"id": deployed_id}}, DEPLOY)

    def _may_pull(self, call: Any, project: str, image: str) -> None:
        """The project's Vertex AI agent pulls the image from its repository."""
        repository = repository_of(image)
        if not repository:
            return
        pull = "artifactregistry.repositories.downloadArtifacts"
        if not self.v.agent_may(call.entry, project, pull, repository, repository, "repo"):
            raise ApiError(
                400, f"Vertex AI Service Agent {self.v.agent(project)} cannot pull {image}."
            )

    @route("POST", ENDPOINT + ":undeployModel", f"{M}.endpoints.undeployModel")
    def undeploy(self, call: Any, project: str, location: str, endpoint: str) -> JSONResponse:
        call.authorize(f"projects/{self.v.project_id(project)}")
        target = self.endpoint_of(project, location, endpoint)
        self.v.busy(target["name"])
        body = call.json()
        deployed_id = body["deployedModelId"]
        if deployed_id not in {d["id"] for d in target["deployedModels"]}:
            raise ApiError(404, f"Deployed model {deployed_id} is not on {target['name']}.")
        remaining = {d["id"] for d in target["deployedModels"]} - {deployed_id}
        split = body.get("trafficSplit")
        new_split = dict(target["trafficSplit"]) if not split else split_of(split, remaining)
        if new_split.get(deployed_id) and remaining:  # the last model may go with its traffic
            raise ApiError(
                400,
                f"Deployed model {deployed_id} has traffic; the request must unassign it.",
            )
        target["trafficSplit"] = {k: v for k, v in new_split.items() if k != deployed_id}
        target["deployedModels"] = [d for d in target["deployedModels"] if d["id"] != deployed_id]
        target["_servers"].pop(deployed_id).stop()
        return self.v.operation(target["name"], {}, UNDEPLOY)

    @route("PATCH", ENDPOINT, f"{M}.endpoints.patch")
    def patch(self, call: Any, project: str, location: str, endpoint: str) -> JSONResponse:
        call.authorize(f"projects/{self.v.project_id(project)}", "aiplatform.endpoints.update")
        target = self.endpoint_of(project, location, endpoint)
        self.v.busy(target["name"])
        mask = call.query.get("updateMask", call.query.get("update_mask", ""))
        fields = {f.strip() for f in mask.split(",") if f.strip()}
        if not fields:
            raise ApiError(400, "update_mask is required and may not be empty.")
        body = call.json()
        for f in fields:
            if f in ("traffic_split", "trafficSplit"):
                deployed = {d["id"] for d in target["deployedModels"]}
                target["trafficSplit"] = split_of(body.get("trafficSplit", {}), deployed)
            elif f in ("display_name", "displayName", "labels", "description"):
                key = "displayName" if f.startswith("display") else f
                target[key] = body.get(key)
            else:
                raise ApiError(400, f"Field {f} cannot be updated.")
        return JSONResponse(public(target))

    @route("POST", ENDPOINT + ":predict", f"{M}.endpoints.predict")
    def predict(self, call: Any, project: str, location: str, endpoint: str) -> JSONResponse:
        call.authorize(f"projects/{self.v.project_id(project)}")
        target = self.endpoint_of(project, location, endpoint)
        split = target["trafficSplit"]
        if not split:
            raise ApiError(400, f"Endpoint {target['name']} has no model with traffic.")
        started = time.perf_counter()
        chosen = self.v.state.dice.choices(list(split), weights=list(split.values()))[0]
        deployed = next(d for d in target["deployedModels"] if d["id"] == chosen)
        status, answer = target["_servers"][chosen].predict(call.body)
        total = (time.perf_counter() - started) * 1000 + OVERHEAD_MS
        self.v.sim.record_prediction(target["name"], chosen, status, total, answer["_latency_ms"])
        if status != 200:
            raise ApiError(status if status < 500 else 500, json.dumps(answer)[:300])
        at = time.time()  # what Model Monitoring's request logging keeps for its analysis
        with self.v.sim.lock:
            self.v.sim.served_instances.extend(
                (at, target["name"], chosen, i) for i in call.json().get("instances", [])
            )
        return JSONResponse(
            {
                "predictions": answer.get("predictions", []),
                "deployedModelId": chosen,
                "model": deployed["model"],
                "modelDisplayName": "census-income",
                "modelVersionId": deployed["modelVersionId"],
            }
        )
