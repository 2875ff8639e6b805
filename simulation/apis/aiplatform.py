"""Vertex AI: the model registry (versions, aliases), endpoints (deployed models, traffic,
predictions through the real server), monitoring jobs, and long-running operations.

Long-running operations finish before they are returned (`done: true`). A deployed model is
served by this repository's real prediction server (`python -m serving`, Vertex's
custom-container contract), started from a copy of the model's artifacts, as the endpoint's
serving identity would see it; predict routes each request by the traffic split and answers
with the deployed model that served it. CMEK: the project's Vertex AI agent must hold
encrypt permission on the key, in the resource's region, or the call fails as Vertex fails it.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import time
import uuid

from starlette.responses import JSONResponse

from simulation.serving import Deployment, repository_of
from simulation.wire import ApiError, Check

V1 = r"/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
MODEL = V1 + r"/models/(?P<model>[^/:@%]+)(?:(?:@|%40)(?P<version>[^/:]+))?"
ENDPOINT = V1 + r"/endpoints/(?P<endpoint>[^/:]+)"
JOBS = V1 + r"/modelDeploymentMonitoringJobs"
M = "aiplatform.projects.locations"
ENCRYPT = "cloudkms.cryptoKeyVersions.useToEncrypt"
T = "type.googleapis.com/google.cloud.aiplatform.v1."
# Each long-running operation: (its metadata type, its response type).
UPLOAD = (T + "UploadModelOperationMetadata", T + "UploadModelResponse")
DEPLOY = (T + "DeployModelOperationMetadata", T + "DeployModelResponse")
UNDEPLOY = (T + "UndeployModelOperationMetadata", T + "UndeployModelResponse")
DELETE = (T + "DeleteOperationMetadata", "type.googleapis.com/google.protobuf.Empty")
OVERHEAD_MS = 2.0  # what Vertex's front end adds to a prediction, beside routing here


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


def install(sim) -> None:
    models: dict[str, dict] = {}  # model name → {"versions": {id: Model}, "next": int}
    endpoints: dict[str, dict] = {}  # endpoint name → Endpoint, plus "_servers"
    jobs: dict[str, dict] = {}
    ids = itertools.count(1_000_001)
    sim.vertex = {"models": models, "endpoints": endpoints, "jobs": jobs}
    dice = random.Random(7)

    def project_id(project: str) -> str:
        try:
            return sim.world.project_id(project)
        except KeyError:
            raise ApiError(403, f"Permission denied on project {project}.") from None

    def parent(project: str, location: str) -> str:
        return f"projects/{project_id(project)}/locations/{location}"

    def operation(where: str, response: dict, kind: tuple[str, str]) -> JSONResponse:
        generic = {"createTime": _now(), "updateTime": _now()}
        return JSONResponse(
            {
                "name": f"{where}/operations/{next(ids)}",
                "metadata": {"@type": kind[0], "genericMetadata": generic},
                "done": True,
                "response": {"@type": kind[1], **response},
            }
        )

    def cmek(entry, project: str, location: str, spec: dict | None) -> None:
        """Vertex encrypts with the key as its service agent; it must be allowed to."""
        key = (spec or {}).get("kmsKeyName")
        if not key:
            return
        agent = sim.world.agent("aiplatform.googleapis.com", project)
        found = sim.world.keys.get(key)
        if found is None or found.location != location:
            raise ApiError(
                400, f"The Cloud KMS key {key} does not exist or is not in region {location}."
            )
        allowed = sim.allowed(agent, ENCRYPT, key)
        entry.checks.append(Check(f"{ENCRYPT} (as {agent})", key, allowed, "key policy"))
        if not allowed:
            raise ApiError(
                400,
                f"Vertex AI Service Agent {agent} does not have permission {ENCRYPT} on "
                f"{key}: grant it roles/cloudkms.cryptoKeyEncrypterDecrypter.",
            )

    # Models -----------------------------------------------------------------------------

    def model_of(project: str, location: str, model: str) -> dict:
        found = models.get(f"{parent(project, location)}/models/{model}")
        if found is None:
            raise ApiError(404, f"Model {model} does not exist.")
        return found

    def version_of(registered: dict, version: str | None) -> dict:
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

    @sim.route("aiplatform", "POST", V1 + r"/models:upload", f"{M}.models.upload")
    def upload(call, project, location):
        where = parent(project, location)
        call.authorize(f"projects/{project_id(project)}")
        body = call.json()
        spec = body["model"]
        cmek(call.entry, project_id(project), location, spec.get("encryptionSpec"))
        artifacts = spec.get("artifactUri", "")
        agent = sim.world.agent("aiplatform.googleapis.com", project_id(project))
        if artifacts.startswith("gs://"):  # Vertex copies the artifacts as its agent
            bucket = artifacts[5:].split("/", 1)[0]
            allowed = sim.allowed(agent, "storage.objects.get", f"projects/_/buckets/{bucket}")
            call.entry.checks.append(
                Check(f"storage.objects.get (as {agent})", f"gs://{bucket}", allowed, "bucket")
            )
            if not allowed:
                raise ApiError(
                    400, f"Vertex AI Service Agent {agent} cannot read the model at {artifacts}."
                )
        parent_model = body.get("parentModel")
        if parent_model:
            name = parent_model
            registered = models.get(name)
            if registered is None:
                raise ApiError(404, f"Parent model {parent_model} does not exist.")
        else:
            name = f"{where}/models/{body.get('modelId') or next(ids)}"
            if name in models:
                raise ApiError(409, f"Model {name} already exists; upload a version of it.")
            registered = models[name] = {"versions": {}, "aliases": {}, "next": 1}
        version_id = str(registered["next"])
        registered["next"] += 1
        registered["versions"][version_id] = {
            **spec,
            "name": name,
            "versionId": version_id,
            "createTime": _now(),
            "updateTime": _now(),
            "versionCreateTime": _now(),
            "versionUpdateTime": _now(),
            "supportedDeploymentResourcesTypes": ["DEDICATED_RESOURCES"],
            "etag": uuid.uuid4().hex,
        }
        if "default" not in registered["aliases"] or spec.get("versionAliases", []).count(
            "default"
        ):
            registered["aliases"]["default"] = version_id
        for alias in spec.get("versionAliases", []):
            registered["aliases"][alias] = version_id
        return operation(name, {"model": name, "modelVersionId": version_id}, UPLOAD)

    @sim.route("aiplatform", "GET", MODEL, f"{M}.models.get")
    def get_model(call, project, location, model, version=None):
        call.authorize(f"projects/{project_id(project)}")
        registered = model_of(project, location, model)
        return JSONResponse(view(registered, version_of(registered, version)))

    @sim.route("aiplatform", "GET", MODEL + ":listVersions", f"{M}.models.listVersions")
    def list_versions(call, project, location, model, version=None):
        call.authorize(f"projects/{project_id(project)}")
        registered = model_of(project, location, model)
        return JSONResponse(
            {"models": [view(registered, v) for v in registered["versions"].values()]}
        )

    @sim.route(
        "aiplatform", "POST", MODEL + ":mergeVersionAliases", f"{M}.models.mergeVersionAliases"
    )
    def merge_aliases(call, project, location, model, version=None):
        call.authorize(f"projects/{project_id(project)}")
        registered = model_of(project, location, model)
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

    @sim.route("aiplatform", "DELETE", MODEL + ":deleteVersion", f"{M}.models.deleteVersion")
    def delete_version(call, project, location, model, version=None):
        if version is None:
            raise ApiError(400, "deleteVersion needs a version: models/NAME@VERSION.")
        return delete(call, project, location, model, version)

    @sim.route("aiplatform", "DELETE", MODEL, f"{M}.models.delete")
    def delete(call, project, location, model, version=None):
        call.authorize(f"projects/{project_id(project)}", "aiplatform.models.delete")
        registered = model_of(project, location, model)
        name = f"{parent(project, location)}/models/{model}"
        if version is None:  # the whole model, once nothing of it is deployed
            for endpoint in endpoints.values():
                if any(d["model"] == name for d in endpoint["deployedModels"]):
                    raise ApiError(400, f"Model {name} is deployed to {endpoint['name']}.")
            del models[name]
            return operation(name, {}, DELETE)
        target = version_of(registered, version)["versionId"]
        if len(registered["versions"]) == 1:
            raise ApiError(
                400,
                f"Cannot delete the only version of model {name}; delete the model instead.",
            )
        if registered["aliases"].get("default") == target:
            raise ApiError(400, f"Cannot delete version {target}: it has the default alias.")
        for endpoint in endpoints.values():
            for deployed in endpoint["deployedModels"]:
                if deployed["model"] == name and deployed["modelVersionId"] == target:
                    raise ApiError(
                        400, f"Version {target} is deployed to {endpoint['name']}; undeploy it."
                    )
        del registered["versions"][target]
        registered["aliases"] = {a: v for a, v in registered["aliases"].items() if v != target}
        return operation(name, {}, DELETE)

    # Endpoints --------------------------------------------------------------------------

    def endpoint_of(project: str, location: str, endpoint: str) -> dict:
        name = f"{parent(project, location)}/endpoints/{endpoint}"
        if name not in endpoints:
            if name not in sim.world.endpoints:
                raise ApiError(404, f"Endpoint {name} does not exist.")
            endpoints[name] = {
                "name": name,
                "displayName": "census-income",
                "deployedModels": [],
                "trafficSplit": {},
                "encryptionSpec": {"kmsKeyName": sim.world.endpoints[name]},
                "createTime": _now(),
                "_servers": {},
            }
        return endpoints[name]

    def public(endpoint: dict) -> dict:
        return {k: v for k, v in endpoint.items() if not k.startswith("_")}

    @sim.route("aiplatform", "GET", ENDPOINT, f"{M}.endpoints.get")
    def get_endpoint(call, project, location, endpoint):
        call.authorize(f"projects/{project_id(project)}")
        return JSONResponse(public(endpoint_of(project, location, endpoint)))

    def split_of(proposed: dict, deployed_ids: set[str]) -> dict:
        split = {k: int(v) for k, v in proposed.items() if int(v) > 0}
        if split and sum(split.values()) != 100:
            raise ApiError(400, f"Traffic split must sum to 100, got {split}.")
        stray = set(split) - deployed_ids
        if stray:
            raise ApiError(400, f"Traffic split names models not deployed: {sorted(stray)}.")
        return split

    @sim.route("aiplatform", "POST", ENDPOINT + ":deployModel", f"{M}.endpoints.deployModel")
    def deploy(call, project, location, endpoint):
        pid = project_id(project)
        call.authorize(f"projects/{pid}")
        target = endpoint_of(project, location, endpoint)
        body = call.json()
        spec = body["deployedModel"]
        model_name, _, version = spec["model"].partition("@")
        registered = models.get(model_name)
        if registered is None:
            raise ApiError(404, f"Model {spec['model']} does not exist.")
        call.authorize(f"projects/{pid}", "aiplatform.models.get")
        model = version_of(registered, version or None)
        identity = spec.get("serviceAccount")
        if identity:  # deploying as an identity needs permission to act as it
            call.authorize(
                f"projects/{sim.world.accounts.get(identity, pid)}/serviceAccounts/{identity}",
                "iam.serviceAccounts.actAs",
            )
        cmek(call.entry, pid, location, target.get("encryptionSpec"))
        deployed_id = str(next(ids))
        image = (model.get("containerSpec") or {}).get("imageUri", "")
        repository = repository_of(image)
        if repository:  # the project's Vertex AI agent pulls the image
            agent = sim.world.agent("aiplatform.googleapis.com", pid)
            pull = "artifactregistry.repositories.downloadArtifacts"
            allowed = sim.allowed(agent, pull, repository)
            call.entry.checks.append(Check(f"{pull} (as {agent})", repository, allowed, "repo"))
            if not allowed:
                raise ApiError(400, f"Vertex AI Service Agent {agent} cannot pull {image}.")
        server = Deployment.start(sim, deployed_id, model, image, identity or "")
        target["_servers"][deployed_id] = server
        deployed = {
            "id": deployed_id,
            "model": model_name,
            "modelVersionId": model["versionId"],
            "displayName": spec.get("displayName", ""),
            "serviceAccount": identity or "",
            "dedicatedResources": spec.get("dedicatedResources", {}),
            "createTime": _now(),
        }
        ids_now = {d["id"] for d in target["deployedModels"]} | {deployed_id}
        proposed = {
            (deployed_id if k == "0" else k): v for k, v in body.get("trafficSplit", {}).items()
        }
        if not proposed:
            proposed = {deployed_id: 100} if not target["trafficSplit"] else target["trafficSplit"]
        target["trafficSplit"] = split_of(proposed, ids_now)
        target["deployedModels"].append(deployed)
        return operation(target["name"], {"deployedModel": {"id": deployed_id}}, DEPLOY)

    @sim.route("aiplatform", "POST", ENDPOINT + ":undeployModel", f"{M}.endpoints.undeployModel")
    def undeploy(call, project, location, endpoint):
        call.authorize(f"projects/{project_id(project)}")
        target = endpoint_of(project, location, endpoint)
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
        return operation(target["name"], {}, UNDEPLOY)

    @sim.route("aiplatform", "PATCH", ENDPOINT, f"{M}.endpoints.patch")
    def patch(call, project, location, endpoint):
        call.authorize(f"projects/{project_id(project)}", "aiplatform.endpoints.update")
        target = endpoint_of(project, location, endpoint)
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

    @sim.route("aiplatform", "POST", ENDPOINT + ":predict", f"{M}.endpoints.predict")
    def predict(call, project, location, endpoint):
        call.authorize(f"projects/{project_id(project)}")
        target = endpoint_of(project, location, endpoint)
        split = target["trafficSplit"]
        if not split:
            raise ApiError(400, f"Endpoint {target['name']} has no model with traffic.")
        started = time.perf_counter()
        chosen = dice.choices(list(split), weights=list(split.values()))[0]
        deployed = next(d for d in target["deployedModels"] if d["id"] == chosen)
        status, answer = target["_servers"][chosen].predict(call.body)
        total = (time.perf_counter() - started) * 1000 + OVERHEAD_MS
        sim.record_prediction(target["name"], chosen, status, total, answer["_latency_ms"])
        if status != 200:
            raise ApiError(status if status < 500 else 500, json.dumps(answer)[:300])
        return JSONResponse(
            {
                "predictions": answer.get("predictions", []),
                "deployedModelId": chosen,
                "model": deployed["model"],
                "modelDisplayName": "census-income",
                "modelVersionId": deployed["modelVersionId"],
            }
        )

    # Model monitoring -------------------------------------------------------------------

    def job_view(job: dict) -> dict:
        return {k: v for k, v in job.items() if not k.startswith("_")}

    jobs_method = f"{M}.modelDeploymentMonitoringJobs"

    def job_named(call, project: str, location: str, job: str) -> str:
        """The job's full name, once the caller may act on it and it exists."""
        call.authorize(f"projects/{project_id(project)}")
        name = f"{parent(project, location)}/modelDeploymentMonitoringJobs/{job}"
        if name not in jobs:
            raise ApiError(404, f"Monitoring job {name} does not exist.")
        return name

    @sim.route("aiplatform", "POST", JOBS, f"{jobs_method}.create")
    def create_job(call, project, location):
        pid = project_id(project)
        call.authorize(f"projects/{pid}")
        body = call.json()
        endpoint_name = body.get("endpoint", "")
        if endpoint_name not in sim.world.endpoints:
            raise ApiError(404, f"Endpoint {endpoint_name} does not exist.")
        cmek(call.entry, pid, location, body.get("encryptionSpec"))
        name = f"{parent(project, location)}/modelDeploymentMonitoringJobs/{next(ids)}"
        jobs[name] = {
            **body,
            "name": name,
            "state": "JOB_STATE_RUNNING",
            "createTime": _now(),
            "updateTime": _now(),
        }
        return JSONResponse(job_view(jobs[name]))

    @sim.route("aiplatform", "GET", JOBS, f"{jobs_method}.list")
    def list_jobs(call, project, location):
        call.authorize(f"projects/{project_id(project)}")
        prefix = parent(project, location)
        wanted = re.search(r'display_name\s*=\s*"([^"]*)"', call.query.get("filter", ""))
        found = [
            job_view(j)
            for name, j in jobs.items()
            if name.startswith(prefix) and (not wanted or j.get("displayName") == wanted.group(1))
        ]
        return JSONResponse({"modelDeploymentMonitoringJobs": found})

    @sim.route("aiplatform", "GET", JOBS + r"/(?P<job>[^/:]+)", f"{jobs_method}.get")
    def get_job(call, project, location, job):
        return JSONResponse(job_view(jobs[job_named(call, project, location, job)]))

    @sim.route("aiplatform", "PATCH", JOBS + r"/(?P<job>[^/:]+)", f"{jobs_method}.patch")
    def patch_job(call, project, location, job):
        name = job_named(call, project, location, job)
        mask = call.query.get("updateMask", call.query.get("update_mask", ""))
        fields = [f.strip() for f in mask.split(",") if f.strip()]
        if not fields:
            raise ApiError(400, "update_mask is required and may not be empty.")
        body = call.json()
        for field in fields:
            key = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), field)
            jobs[name][key] = body.get(key)
        jobs[name]["updateTime"] = _now()
        kind = (T + "UpdateModelDeploymentMonitoringJobOperationMetadata",
                T + "ModelDeploymentMonitoringJob")  # fmt: skip
        return operation(name, job_view(jobs[name]), kind)

    # Pipeline jobs ----------------------------------------------------------------------

    pipelines = sim.vertex.setdefault("pipelines", {})
    pipeline_method = f"{M}.pipelineJobs"

    @sim.route("aiplatform", "POST", V1 + "/pipelineJobs", f"{pipeline_method}.create")
    def create_pipeline(call, project, location):
        pid = project_id(project)
        call.authorize(f"projects/{pid}")
        body = call.json()
        identity = body.get("serviceAccount")
        if identity:
            call.authorize(
                f"projects/{sim.world.accounts.get(identity, pid)}/serviceAccounts/{identity}",
                "iam.serviceAccounts.actAs",
            )
        cmek(call.entry, pid, location, body.get("encryptionSpec"))
        if "pipelineSpec" not in body:
            raise ApiError(400, "A pipeline job needs a pipelineSpec.")
        job_id = call.query.get("pipelineJobId") or str(next(ids))
        name = f"{parent(project, location)}/pipelineJobs/{job_id}"
        if name in pipelines:
            raise ApiError(409, f"Pipeline job {name} already exists.")
        pipelines[name] = {
            **body,
            "name": name,
            "state": "PIPELINE_STATE_PENDING",
            "createTime": _now(),
            "updateTime": _now(),
        }
        sim.pipeline_run_context(pipelines[name])  # simulation/apis/experiments.py
        if sim.run_pipelines is not None:
            sim.run_pipelines(pipelines[name])
        return JSONResponse(pipelines[name])

    @sim.route("aiplatform", "GET", V1 + r"/pipelineJobs/(?P<job>[^/:]+)", f"{pipeline_method}.get")
    def get_pipeline(call, project, location, job):
        call.authorize(f"projects/{project_id(project)}")
        name = f"{parent(project, location)}/pipelineJobs/{job}"
        if name not in pipelines:
            raise ApiError(404, f"Pipeline job {name} does not exist.")
        return JSONResponse(pipelines[name])

    # Custom jobs (created for the launcher the simulation stands in for) ------------------

    custom_jobs = sim.vertex.setdefault("custom_jobs", {})

    def create_custom_job(
        caller: str, project: str, location: str, display_name: str, identity: str, key
    ) -> dict:
        """What the GCPC launcher's customJobs.create would ask of Vertex, checked the same."""
        entry = sim.log_call(caller, "POST", f"{M}.customJobs.create")
        pid = project_id(project)
        try:
            sim.check(entry, caller, "aiplatform.customJobs.create", f"projects/{pid}")
            if identity:
                owner = sim.world.accounts.get(identity, pid)
                account = f"projects/{owner}/serviceAccounts/{identity}"
                sim.check(entry, caller, "iam.serviceAccounts.actAs", account)
            spec = {"kmsKeyName": key} if key else None
            cmek(entry, pid, location, spec)
        except ApiError as exc:
            entry.status = exc.status
            raise
        entry.status = 200
        name = f"{parent(project, location)}/customJobs/{next(ids)}"
        custom_jobs[name] = {
            "name": name,
            "displayName": display_name,
            "serviceAccount": identity,
            "encryptionSpec": spec,
            "state": "JOB_STATE_RUNNING",
        }
        return custom_jobs[name]

    sim.create_custom_job = create_custom_job
