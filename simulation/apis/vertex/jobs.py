"""Vertex AI jobs: model monitoring jobs, pipeline jobs, and the custom jobs the pipeline's
launcher creates (called from the simulated pipeline, not over HTTP)."""

from __future__ import annotations

import re
import time
from typing import Any

from starlette.responses import JSONResponse

from simulation.apis.routing import route
from simulation.apis.vertex.state import V1, M, T, Vertex, now
from simulation.wire import ApiError

JOBS = V1 + r"/modelDeploymentMonitoringJobs"
JOB = JOBS + r"/(?P<job>[^/:]+)"
MONITORING = f"{M}.modelDeploymentMonitoringJobs"
PIPELINES = f"{M}.pipelineJobs"
UPDATE_JOB = (
    T + "UpdateModelDeploymentMonitoringJobOperationMetadata",
    T + "ModelDeploymentMonitoringJob",
)


def job_view(job: dict) -> dict:
    return {k: v for k, v in job.items() if not k.startswith("_")}


class Jobs:
    def __init__(self, vertex: Vertex) -> None:
        self.v = vertex
        self.state = vertex.state

    # Model monitoring -------------------------------------------------------------------

    def job_named(self, call: Any, project: str, location: str, job: str) -> str:
        """The job's full name, once the caller may act on it and it exists."""
        call.authorize(f"projects/{self.v.project_id(project)}")
        name = f"{self.v.parent(project, location)}/modelDeploymentMonitoringJobs/{job}"
        if name not in self.state.jobs:
            raise ApiError(404, f"Monitoring job {name} does not exist.")
        return name

    @route("POST", JOBS, f"{MONITORING}.create")
    def create_job(self, call: Any, project: str, location: str) -> JSONResponse:
        pid = self.v.project_id(project)
        call.authorize(f"projects/{pid}")
        body = call.json()
        endpoint_name = body.get("endpoint", "")
        if endpoint_name not in self.v.sim.world.endpoints:
            raise ApiError(404, f"Endpoint {endpoint_name} does not exist.")
        self.v.cmek(call.entry, pid, location, body.get("encryptionSpec"))
        name = f"{self.v.parent(project, location)}/modelDeploymentMonitoringJobs/"
        name += self.state.next_id()
        self.state.jobs[name] = {
            **body,
            "name": name,
            "state": "JOB_STATE_RUNNING",
            "createTime": now(),
            "updateTime": now(),
            "_since": time.time(),  # what its first analysis covers (apis/vertex/analysis.py)
        }
        return JSONResponse(job_view(self.state.jobs[name]))

    @route("GET", JOBS, f"{MONITORING}.list")
    def list_jobs(self, call: Any, project: str, location: str) -> JSONResponse:
        call.authorize(f"projects/{self.v.project_id(project)}")
        prefix = self.v.parent(project, location)
        wanted = re.search(r'display_name\s*=\s*"([^"]*)"', call.query.get("filter", ""))
        found = [
            job_view(j)
            for name, j in self.state.jobs.items()
            if name.startswith(prefix) and (not wanted or j.get("displayName") == wanted.group(1))
        ]
        return JSONResponse({"modelDeploymentMonitoringJobs": found})

    @route("GET", JOB, f"{MONITORING}.get")
    def get_job(self, call: Any, project: str, location: str, job: str) -> JSONResponse:
        return JSONResponse(job_view(self.state.jobs[self.job_named(call, project, location, job)]))

    @route("PATCH", JOB, f"{MONITORING}.patch")
    def patch_job(self, call: Any, project: str, location: str, job: str) -> JSONResponse:
        name = self.job_named(call, project, location, job)
        mask = call.query.get("updateMask", call.query.get("update_mask", ""))
        fields = [f.strip() for f in mask.split(",") if f.strip()]
        if not fields:
            raise ApiError(400, "update_mask is required and may not be empty.")
        body = call.json()
        for field in fields:
            key = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), field)
            self.state.jobs[name][key] = body.get(key)
        self.state.jobs[name]["updateTime"] = now()
        # new objectives (the deploy step's update: new baseline, new deployed models): the
        # next analysis covers what was served since, with no previous window to drift from
        self.state.jobs[name]["_since"] = time.time()
        self.state.jobs[name].pop("_previous", None)
        return self.v.operation(name, job_view(self.state.jobs[name]), UPDATE_JOB)

    # Pipeline jobs ----------------------------------------------------------------------

    @route("POST", V1 + "/pipelineJobs", f"{PIPELINES}.create")
    def create_pipeline(self, call: Any, project: str, location: str) -> JSONResponse:
        pid = self.v.project_id(project)
        call.authorize(f"projects/{pid}")
        body = call.json()
        identity = body.get("serviceAccount")
        if identity:
            self.v.act_as(call, identity, pid)
        self.v.cmek(call.entry, pid, location, body.get("encryptionSpec"))
        if "pipelineSpec" not in body:
            raise ApiError(400, "A pipeline job needs a pipelineSpec.")
        job_id = call.query.get("pipelineJobId") or self.state.next_id()
        name = f"{self.v.parent(project, location)}/pipelineJobs/{job_id}"
        pipelines = self.state.pipelines
        if name in pipelines:
            raise ApiError(409, f"Pipeline job {name} already exists.")
        pipelines[name] = {
            **body,
            "name": name,
            "state": "PIPELINE_STATE_PENDING",
            "createTime": now(),
            "updateTime": now(),
        }
        sim = self.v.sim
        sim.pipeline_run_context(pipelines[name])  # simulation/apis/experiments.py
        if sim.run_pipelines is not None:
            sim.run_pipelines(pipelines[name])
        return JSONResponse(pipelines[name])

    @route("GET", V1 + r"/pipelineJobs/(?P<job>[^/:]+)", f"{PIPELINES}.get")
    def get_pipeline(self, call: Any, project: str, location: str, job: str) -> JSONResponse:
        call.authorize(f"projects/{self.v.project_id(project)}")
        name = f"{self.v.parent(project, location)}/pipelineJobs/{job}"
        if name not in self.state.pipelines:
            raise ApiError(404, f"Pipeline job {name} does not exist.")
        return JSONResponse(self.state.pipelines[name])

    # Custom jobs (created for the launcher the simulation stands in for) ----------------

    def create_custom_job(
        self, caller: str, project: str, location: str, display_name: str, identity: str, key: Any
    ) -> dict:
        """What the GCPC launcher's customJobs.create would ask of Vertex, checked the same."""
        sim = self.v.sim
        entry = sim.log_call(caller, "POST", f"{M}.customJobs.create")
        pid = self.v.project_id(project)
        spec = {"kmsKeyName": key} if key else None
        try:
            sim.check(entry, caller, "aiplatform.customJobs.create", f"projects/{pid}")
            if identity:
                account = sim.world.account_resource(identity, pid)
                sim.check(entry, caller, "iam.serviceAccounts.actAs", account)
            self.v.cmek(entry, pid, location, spec)
        except ApiError as exc:
            entry.status = exc.status
            raise
        entry.status = 200
        name = f"{self.v.parent(project, location)}/customJobs/{self.state.next_id()}"
        self.state.custom_jobs[name] = {
            "name": name,
            "displayName": display_name,
            "serviceAccount": identity,
            "encryptionSpec": spec,
            "state": "JOB_STATE_RUNNING",
        }
        return self.state.custom_jobs[name]


# The SDK's REST operations client polls under /ui/ (its first URI binding); Vertex serves both.
OPS = r"/(?:v1|ui)/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"


class Operations:
    """operations.get of the long-running operations Vertex AI answers with: how a client
    learns one is done. Vertex checks no permission beyond the caller's project access for
    the per-resource operations (../shared/gcp-iam lists none)."""

    def __init__(self, vertex: Vertex) -> None:
        self.v = vertex

    def _get(self, call: Any, project: str, location: str, path: str) -> JSONResponse:
        call.authorize(f"projects/{self.v.project_id(project)}")
        return JSONResponse(self.v.poll(f"{self.v.parent(project, location)}/{path}"))

    @route("GET", OPS + r"/models/(?P<res>[^/:@]+)/operations/(?P<op>\d+)",
           f"{M}.models.operations.get")  # fmt: skip
    def model_operation(self, call: Any, project: str, location: str, res: str, op: str):
        return self._get(call, project, location, f"models/{res}/operations/{op}")

    @route("GET", OPS + r"/endpoints/(?P<res>[^/:]+)/operations/(?P<op>\d+)",
           f"{M}.endpoints.operations.get")  # fmt: skip
    def endpoint_operation(self, call: Any, project: str, location: str, res: str, op: str):
        return self._get(call, project, location, f"endpoints/{res}/operations/{op}")

    @route("GET", OPS + r"/modelDeploymentMonitoringJobs/(?P<job>[^/:]+)/operations/(?P<op>\d+)",
           f"{M}.modelDeploymentMonitoringJobs.operations.get")  # fmt: skip
    def job_operation(self, call: Any, project: str, location: str, job: str, op: str):
        return self._get(
            call, project, location, f"modelDeploymentMonitoringJobs/{job}/operations/{op}"
        )

    @route("GET", OPS + r"/datasets/(?P<res>[^/:]+)/operations/(?P<op>\d+)",
           f"{M}.datasets.operations.get")  # fmt: skip
    def dataset_operation(self, call: Any, project: str, location: str, res: str, op: str):
        return self._get(call, project, location, f"datasets/{res}/operations/{op}")
