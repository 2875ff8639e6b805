"""Vertex AI Model Registry: upload (a model or a version of it), get, list versions,
aliases, delete a version or the model."""

from __future__ import annotations

import re
import uuid
from typing import Any

from starlette.responses import JSONResponse

from simulation.apis.routing import route
from simulation.apis.vertex.state import V1, M, T, Vertex, now
from simulation.wire import ApiError

MODEL = V1 + r"/models/(?P<model>[^/:@%]+)(?:(?:@|%40)(?P<version>[^/:]+))?"
UPLOAD = (T + "UploadModelOperationMetadata", T + "UploadModelResponse")
DELETE = (T + "DeleteOperationMetadata", "type.googleapis.com/google.protobuf.Empty")


PAGE_SIZE = 100  # what listVersions returns per page at most, as Vertex pages its lists
_LABEL_TERM = re.compile(r'^labels\.(?:"([^"]+)"|([\w-]+))\s*=\s*"([^"]*)"$')


def label_filter(expression: str) -> dict[str, str]:
    """A listVersions filter of label equalities joined by AND, as {key: value}; anything
    else is refused as Vertex refuses a filter it cannot parse."""
    wanted = {}
    for term in filter(None, (t.strip() for t in re.split(r"\s+AND\s+", expression))):
        match = _LABEL_TERM.match(term)
        if match is None:
            raise ApiError(400, f"Unsupported filter term: {term!r}.")
        wanted[match.group(1) or match.group(2)] = match.group(3)
    return wanted


def version_of(registered: dict, version: str | None) -> dict:
    """A version by id or alias; none (or "default") is the default alias's version."""
    if version is None or version == "default":
        version = registered["aliases"].get("default")
    else:
        version = registered["aliases"].get(version, version)
    found = registered["versions"].get(version)
    if found is None:
        raise ApiError(404, f"Model version {version} does not exist.")
    return found


def view(registered: dict, version: dict) -> dict:
    aliases = [a for a, v in registered["aliases"].items() if v == version["versionId"]]
    return {**version, "versionAliases": sorted(aliases)}


class Models:
    def __init__(self, vertex: Vertex) -> None:
        self.v = vertex
        self.models = vertex.state.models

    def model_of(self, project: str, location: str, model: str, call: Any = None) -> dict:
        """The registered model, once `call` (if given) may act in the project."""
        if call is not None:
            call.authorize(f"projects/{self.v.project_id(project)}")
        found = self.models.get(f"{self.v.parent(project, location)}/models/{model}")
        if found is None:
            raise ApiError(404, f"Model {model} does not exist.")
        return found

    @route("POST", V1 + r"/models:upload", f"{M}.models.upload")
    def upload(self, call: Any, project: str, location: str) -> JSONResponse:
        pid = self.v.project_id(project)
        call.authorize(f"projects/{pid}")
        body = call.json()
        spec = body["model"]
        self.v.cmek(call.entry, pid, location, spec.get("encryptionSpec"))
        artifacts = spec.get("artifactUri", "")
        if artifacts.startswith("gs://"):  # Vertex copies the artifacts as its agent
            bucket = artifacts[5:].split("/", 1)[0]
            resource = f"projects/_/buckets/{bucket}"
            read = "storage.objects.get"
            if not self.v.agent_may(call.entry, pid, read, resource, f"gs://{bucket}", "bucket"):
                raise ApiError(
                    400,
                    f"Vertex AI Service Agent {self.v.agent(pid)} cannot read the model at "
                    f"{artifacts}.",
                )
        name, registered = self._registered(body, self.v.parent(project, location))
        version_id = str(registered["next"])
        registered["next"] += 1
        registered["versions"][version_id] = {
            **spec,
            "name": name,
            "versionId": version_id,
            "createTime": now(),
            "updateTime": now(),
            "versionCreateTime": now(),
            "versionUpdateTime": now(),
            "supportedDeploymentResourcesTypes": ["DEDICATED_RESOURCES"],
            "etag": uuid.uuid4().hex,
        }
        asked = spec.get("versionAliases", [])
        if "default" not in registered["aliases"] or asked.count("default"):
            registered["aliases"]["default"] = version_id
        for alias in asked:
            registered["aliases"][alias] = version_id
        return self.v.operation(name, {"model": name, "modelVersionId": version_id}, UPLOAD)

    def _registered(self, body: dict, where: str) -> tuple[str, dict]:
        """The model a new version goes to: the parent model, or a new one."""
        parent_model = body.get("parentModel")
        if parent_model:
            registered = self.models.get(parent_model)
            if registered is None:
                raise ApiError(404, f"Parent model {parent_model} does not exist.")
            return parent_model, registered
        name = f"{where}/models/{body.get('modelId') or self.v.state.next_id()}"
        if name in self.models:
            raise ApiError(409, f"Model {name} already exists; upload a version of it.")
        self.models[name] = {"versions": {}, "aliases": {}, "next": 1}
        return name, self.models[name]

    @route("GET", MODEL, f"{M}.models.get")
    def get(
        self, call: Any, project: str, location: str, model: str, version: str | None = None
    ) -> JSONResponse:
        registered = self.model_of(project, location, model, call)
        return JSONResponse(view(registered, version_of(registered, version)))

    @route("GET", MODEL + ":listVersions", f"{M}.models.listVersions")
    def list_versions(
        self, call: Any, project: str, location: str, model: str, version: str | None = None
    ) -> JSONResponse:
        registered = self.model_of(project, location, model, call)
        wanted = label_filter(call.query.get("filter", ""))
        matching = [
            view(registered, v)
            for v in registered["versions"].values()
            if all((v.get("labels") or {}).get(k) == value for k, value in wanted.items())
        ]
        start = int(call.query.get("pageToken") or 0)
        size = min(int(call.query.get("pageSize") or PAGE_SIZE), PAGE_SIZE)
        body: dict[str, Any] = {"models": matching[start : start + size]}
        if start + size < len(matching):
            body["nextPageToken"] = str(start + size)
        return JSONResponse(body)

    @route("POST", MODEL + ":mergeVersionAliases", f"{M}.models.mergeVersionAliases")
    def merge_aliases(
        self, call: Any, project: str, location: str, model: str, version: str | None = None
    ) -> JSONResponse:
        registered = self.model_of(project, location, model, call)
        target = version_of(registered, version)["versionId"]
        for alias in call.json().get("versionAliases", []):
            if alias.startswith("-"):
                if registered["aliases"].get(alias[1:]) == target:
                    if alias[1:] == "default":
                        raise ApiError(400, "The default alias cannot be removed.")
                    del registered["aliases"][alias[1:]]
            else:
                registered["aliases"][alias] = target
        return JSONResponse(view(registered, registered["versions"][target]))

    @route("POST", MODEL + "/evaluations:import", f"{M}.models.evaluations.import")
    def import_evaluation(
        self, call: Any, project: str, location: str, model: str, version: str | None = None
    ) -> JSONResponse:
        """A ModelEvaluation imported on a version (the registry shows it in the console)."""
        registered = self.model_of(project, location, model)
        pid = self.v.project_id(project)
        call.authorize(f"projects/{pid}", "aiplatform.modelEvaluations.import")
        held = version_of(registered, version)
        evaluations = registered.setdefault("evaluations", {})  # by name, across versions
        name = f"{held['name']}/evaluations/{len(evaluations) + 1}"
        evaluations[name] = {**call.json()["modelEvaluation"], "name": name, "createTime": now(),
                             "modelVersionId": held["versionId"]}  # fmt: skip
        return JSONResponse(evaluations[name])

    @route("GET", MODEL + "/evaluations", f"{M}.models.evaluations.list")
    def list_evaluations(
        self, call: Any, project: str, location: str, model: str, version: str | None = None
    ) -> JSONResponse:
        """A version's evaluations (`models/M@V/evaluations`), or the model's."""
        registered = self.model_of(project, location, model)
        call.authorize(f"projects/{self.v.project_id(project)}", "aiplatform.modelEvaluations.list")
        held = version_of(registered, version)["versionId"] if version else None
        found = [e for e in registered.get("evaluations", {}).values()
                 if held is None or e["modelVersionId"] == held]  # fmt: skip
        return JSONResponse({"modelEvaluations": found})

    @route("POST", MODEL + r"/evaluations/(?P<evaluation>[^/:]+)/slices:batchImport",
           f"{M}.models.evaluations.slices.batchImport")  # fmt: skip
    def import_slices(
        self, call: Any, project: str, location: str, model: str, evaluation: str,
        version: str | None = None,
    ) -> JSONResponse:  # fmt: skip
        registered = self.model_of(project, location, model)
        pid = self.v.project_id(project)
        call.authorize(f"projects/{pid}", "aiplatform.modelEvaluationSlices.import")
        name = f"{self.v.parent(project, location)}/models/{model}/evaluations/{evaluation}"
        if name not in registered.get("evaluations", {}):
            raise ApiError(404, f"Model evaluation {name} does not exist.")
        slices = registered.setdefault("slices", {})  # by name
        names = []
        for one in call.json().get("modelEvaluationSlices", []):
            names.append(f"{name}/slices/{len(slices) + 1}")
            slices[names[-1]] = {**one, "name": names[-1], "createTime": now()}
        return JSONResponse({"importedModelEvaluationSlices": names})

    @route("DELETE", MODEL + ":deleteVersion", f"{M}.models.deleteVersion")
    def delete_version(
        self, call: Any, project: str, location: str, model: str, version: str | None = None
    ) -> JSONResponse:
        if version is None:
            raise ApiError(400, "deleteVersion needs a version: models/NAME@VERSION.")
        return self.delete(call, project, location, model, version)

    @route("DELETE", MODEL, f"{M}.models.delete")
    def delete(
        self, call: Any, project: str, location: str, model: str, version: str | None = None
    ) -> JSONResponse:
        call.authorize(f"projects/{self.v.project_id(project)}", "aiplatform.models.delete")
        registered = self.model_of(project, location, model)
        name = f"{self.v.parent(project, location)}/models/{model}"
        deployed = [
            (endpoint["name"], d["modelVersionId"])
            for endpoint in self.v.state.endpoints.values()
            for d in endpoint["deployedModels"]
            if d["model"] == name
        ]
        if version is None:  # the whole model, once nothing of it is deployed
            if deployed:
                raise ApiError(400, f"Model {name} is deployed to {deployed[0][0]}.")
            del self.models[name]
            return self.v.operation(name, {}, DELETE)
        target = version_of(registered, version)["versionId"]
        if len(registered["versions"]) == 1:
            raise ApiError(
                400, f"Cannot delete the only version of model {name}; delete the model instead."
            )
        if registered["aliases"].get("default") == target:
            raise ApiError(400, f"Cannot delete version {target}: it has the default alias.")
        for endpoint_name, deployed_version in deployed:
            if deployed_version == target:
                raise ApiError(
                    400, f"Version {target} is deployed to {endpoint_name}; undeploy it."
                )
        del registered["versions"][target]
        registered["aliases"] = {a: v for a, v in registered["aliases"].items() if v != target}
        return self.v.operation(name, {}, DELETE)
