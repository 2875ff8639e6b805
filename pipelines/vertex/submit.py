"""`mlops submit`: preflight, compile, then a PipelineJob in staging as the pipeline SA."""

from __future__ import annotations

import json
import time
from pathlib import Path

from infra.settings import Platform
from mlops.errors import UserError
from pipelines.params import PipelineParams
from pipelines.vertex import doctor
from pipelines.vertex.requests import label_value, pipeline_job_request


class RunFailed(UserError):
    exit_code = 1


def run_id(commit: str, now: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now if now is not None else time.time()))
    return f"census-promotion-{stamp}-{label_value(commit)[:12]}"


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
        if job.state.name != "PIPELINE_STATE_SUCCEEDED":
            raise RunFailed(f"pipeline run {job.resource_name} ended {job.state.name}")
        log(f"pipeline run {job.resource_name} succeeded")
    return job.resource_name
