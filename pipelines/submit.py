"""`mlops submit`: preflight, then a PipelineJob in staging as the pipeline SA.

Pure: the request (`pipeline_job_request`, `build_request`); shell: `submit`, which runs the
preflight for both tenants first and only then sends it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from adapters.vertex import doctor
from adapters.vertex.requests import label_value
from kernel.errors import Failed, UserError
from kernel.names import PIPELINE_NAME
from pipelines.params import PipelineParams
from settings import Platform


class RunFailed(Failed):
    """The pipeline run ended in a state other than success."""


def run_id(commit: str, now: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now if now is not None else time.time()))
    return f"{PIPELINE_NAME}-{stamp}-{label_value(commit)[:12]}"


def pipeline_job_request(
    params: PipelineParams,
    *,
    template_path: str,
    pipeline_root: str,
    run_id: str,
    env: str,
) -> dict:
    """PipelineJob kwargs: CMEK, root and labels from settings; parameters validated."""
    return {
        "display_name": PIPELINE_NAME,
        "template_path": template_path,
        "job_id": run_id,
        "pipeline_root": pipeline_root,
        "parameter_values": params.run_values(),
        "enable_caching": False,
        "encryption_spec_key_name": params.tenants.staging_kms_key,
        "labels": {
            "env": label_value(env),
            "pipeline": PIPELINE_NAME,
            "commit": label_value(params.commit),
        },
        "project": params.tenants.staging_project,
        "location": params.tenants.region,
    }


def build_request(
    platform: Platform, env: str, params: PipelineParams, template: Path, now: float | None = None
) -> tuple[dict, str]:
    """(PipelineJob kwargs, the service account it runs as): everything from settings."""
    s = platform[env]
    request = pipeline_job_request(
        params,
        template_path=str(template),
        pipeline_root=f"gs://{s.buckets.pipeline_root}/runs",
        run_id=run_id(params.commit, now),
        env=env,
    )
    return request, s.service_account_email("pipeline")


def describe(request: dict, service_account: str) -> str:
    return json.dumps(
        {"pipeline_job": request, "service_account": service_account}, indent=2, sort_keys=True
    )


def submit(
    platform: Platform, env: str, request: dict, service_account: str, *, wait: bool, log=print
) -> str:
    """The shell: the preflight first (no flag skips it), then submit and maybe wait."""
    problems = doctor.preflight(platform, env)
    peer = platform.peer_of(env)
    if peer is not None:  # deploy and monitoring act on prod: check its keys too
        problems += doctor.preflight(platform, peer.env)
    if problems:
        for problem in problems:
            log(f"preflight: {problem}")
        raise UserError(f"preflight found {len(problems)} problem(s); nothing was submitted")
    log("preflight: keys, grants, buckets and dataset OK")
    from google.cloud import aiplatform

    job = aiplatform.PipelineJob(**request)
    job.submit(service_account=service_account)
    log(f"submitted {job.resource_name}")
    if wait:
        job.wait()
        state = job.state.name if job.state is not None else "in an unknown state"
        if state != "PIPELINE_STATE_SUCCEEDED":
            raise RunFailed(f"pipeline run {job.resource_name} ended {state}")
        log(f"pipeline run {job.resource_name} succeeded")
    return job.resource_name
