"""`mlops submit`: preflight, then a PipelineJob in staging as the pipeline SA.

Pure: the request (`pipeline_job_request`, `build_request`); shell: `submit`, which runs the
preflight for both tenants first and only then sends it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

from adapters import wiring
from kernel import gcp
from kernel.errors import Failed, UserError
from kernel.names import PIPELINE_NAME, STEP_NAMES, label_value
from kernel.uris import split
from pipelines import summary
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
    """PipelineJob kwargs: CMEK, root and labels from settings; parameters validated. No
    caching flag: the REST body carries none, every compiled task has caching off itself."""
    return {
        "display_name": PIPELINE_NAME,
        "template_path": template_path,
        "job_id": run_id,
        "pipeline_root": pipeline_root,
        "parameter_values": params.run_values(),
        "encryption_spec_key_name": params.tenants.staging_kms_key,
        "labels": {
            "env": label_value(env),
            "pipeline": PIPELINE_NAME,
            "commit": label_value(params.commit),
        },
        "project": params.tenants.staging_project,
        "location": params.tenants.region,
    }


def pipeline_job_body(request: dict, template: dict, service_account: str) -> dict:
    """The REST PipelineJob the request describes, with the compiled template inline.

    The SDK's PipelineJob.submit would also check (and, if missing, create) the pipeline-root
    bucket and change its IAM policy, and resolve the project number through Resource
    Manager; the preflight has checked the bucket, so the job is created directly.
    """
    return {
        "displayName": request["display_name"],
        "pipelineSpec": template,
        "runtimeConfig": {
            "gcsOutputDirectory": request["pipeline_root"],
            "parameterValues": request["parameter_values"],
        },
        "encryptionSpec": {"kmsKeyName": request["encryption_spec_key_name"]},
        "serviceAccount": service_account,
        "labels": request["labels"],
    }


TERMINAL = ("PIPELINE_STATE_SUCCEEDED", "PIPELINE_STATE_FAILED", "PIPELINE_STATE_CANCELLED")


def read_template(path: str) -> dict:
    """A compiled pipeline from a file or a gs:// URI (as the caller)."""
    import yaml

    if path.startswith("gs://"):
        from google.cloud import storage

        bucket, name = split(path)
        client = storage.Client(client_options=gcp.client_options("storage"))
        text = client.bucket(bucket).blob(name).download_as_text()
    else:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise UserError(f"cannot read the pipeline template {path}: {exc}") from None
    return yaml.safe_load(text)


def build_request(
    platform: Platform, env: str, params: PipelineParams, template: str, now: float | None = None
) -> tuple[dict, str]:
    """(PipelineJob kwargs, the service account it runs as): everything from settings."""
    s = platform[env]
    request = pipeline_job_request(
        params,
        template_path=template,
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
    preflight = wiring.preflight()
    problems = preflight.problems(platform, env)
    peer = platform.peer_of(env)
    if peer is not None:  # deploy and monitoring act on prod: check its keys too
        problems += preflight.problems(platform, peer.env)
    if problems:
        for problem in problems:
            log(f"preflight: {problem}")
        raise UserError(f"preflight found {len(problems)} problem(s); nothing was submitted")
    log("preflight: keys, grants, buckets and dataset OK")
    from google.cloud import aiplatform_v1

    client = aiplatform_v1.PipelineServiceClient(
        transport=gcp.transport("aiplatform"), client_options=gcp.client_options("aiplatform")
    )
    # a caller that has read the template already (the retraining function, which took the
    # run's defaults from it) sends that one: reading `latest` again could give a newer one
    template = request.get("template") or read_template(request["template_path"])
    body = pipeline_job_body(request, template, service_account)
    job = client.create_pipeline_job(
        parent=f"projects/{request['project']}/locations/{request['location']}",
        pipeline_job=aiplatform_v1.PipelineJob.from_json(json.dumps(body)),
        pipeline_job_id=request["job_id"],
    )
    log(f"submitted {job.name}")
    log(f"console: {console_url(job.name)}")
    if wait:
        delays = poll_delays()
        seen: dict[str, str] = {}
        while job.state.name not in TERMINAL:
            time.sleep(next(delays))
            job = client.get_pipeline_job(name=job.name)
            for line in task_changes(
                seen, job_dict(job).get("jobDetail", {}).get("taskDetails", [])
            ):
                log(line)
        shown = job_dict(job)
        if job.state.name != "PIPELINE_STATE_SUCCEEDED":
            raise RunFailed(failure_of(job.name, job.state.name, shown))
        log(f"pipeline run {job.name} succeeded")
        record_cost(platform, env, shown, log)
        for line in outcome(platform, env, job.name.rsplit("/", 1)[-1]):
            log(line)
    return job.name


def outcome(platform: Platform, env: str, run_id: str) -> list[str]:
    """What the run's steps recorded in its Experiments run, as every run's summary says it
    (pipelines.summary), with the endpoint's split after its deploy; as the submitter."""
    from promotion.domain import runs
    from settings import tenants_for

    staging = wiring.open_staging("vertex", "", tenants_for(platform, env, local=False))
    found = [r for r in runs.merge(staging.runs.records()) if r.run_id == run_id]
    if not found:
        return ["  decision : the run recorded nothing in Vertex AI Experiments"]
    steps = found[0].steps
    lines = summary.run_lines(steps)
    if "traffic" in steps.get("deploy", {}):
        lines.append(summary.traffic_line(steps["deploy"]["traffic"]) + " (after its deploy)")
    return lines


def job_dict(job) -> dict:
    """A PipelineJob as Vertex's REST API shows it: camelCase fields, enums by name."""
    return type(job).to_dict(job, preserving_proto_field_name=False, use_integers_for_enums=False)


def console_url(job_name: str) -> str:
    """The run's page in the Google Cloud console (pure)."""
    parts = job_name.split("/")  # projects/P/locations/L/pipelineJobs/J
    project, location, job_id = parts[1], parts[3], parts[5]
    return (
        f"https://console.cloud.google.com/vertex-ai/locations/{location}/pipelines/runs/"
        f"{job_id}?project={project}"
    )


def task_changes(seen: dict[str, str], details: list[dict]) -> list[str]:
    """A line per task whose state changed since the last poll (`seen` is updated)."""
    lines = []
    for task in details:
        name, state = task.get("taskName", "?"), str(task.get("state", "?"))
        if name.startswith("root") or seen.get(name) == state:
            continue  # the run's root DAG is the run itself
        seen[name] = state
        lines.append(f"  {name}: {state.lower().replace('_', ' ')}")
    return lines


def failure_of(job_name: str, state: str, job: dict) -> str:
    """What a failed run says: its state, the failing task(s), and the run's error."""
    details = job.get("jobDetail", {}).get("taskDetails", [])
    failed = [t.get("taskName", "?") for t in details if t.get("state") == "FAILED"]
    error = (job.get("error") or {}).get("message", "")
    where = f"; failed task: {', '.join(failed)}" if failed else ""
    said = f"; {error.strip().splitlines()[-1][:300]}" if error.strip() else ""
    return f"pipeline run {job_name} ended {state}{where}{said} ({console_url(job_name)})"


def poll_delays(first: float = 1.0, factor: float = 2.0, cap: float = 10.0) -> Iterator[float]:
    """Seconds between status checks: soon at first (a run that fails at once), then one
    every `cap` seconds (six a minute: far inside Vertex AI's read quota)."""
    delay = first
    while True:
        yield delay
        delay = min(delay * factor, cap)


def record_cost(platform: Platform, env: str, job: dict, log=print) -> dict:
    """The run's own record once it is over (docs/lineage.md): its tasks' durations as
    Vertex reports them and the cost they imply, in the run's Experiments context, as the
    submitter. Storage is not measured on Vertex (0 here)."""
    from adapters import wiring
    from promotion.domain import cost
    from settings import load_prices, tenants_for

    durations = task_durations(job.get("jobDetail", {}).get("taskDetails", []))
    settings = platform[env]
    assert settings.pipeline is not None  # a non-prod env: build_request checked it
    facts = cost.run_facts(
        load_prices(),
        training_machine=settings.pipeline.training_machine_type,
        durations=durations,
        wall_seconds=_seconds(job.get("createTime"), job.get("endTime")),
        table_bytes=0,
        stored_bytes=0,
    )
    run_id = job["name"].rsplit("/", 1)[-1]
    staging = wiring.open_staging("vertex", "", tenants_for(platform, env, local=False))
    staging.runs.record(run_id, "run", facts)
    log(f"cost: ${facts['cost_usd']:.4f} at list prices (recorded in the run's experiment run)")
    return facts


def task_durations(details: list[dict]) -> dict[str, float]:
    """Seconds per step from a PipelineJob's task details (the pipeline's own root task and
    condition groups are not steps)."""
    out = {}
    for d in details:
        name = d.get("taskName", "")
        if name in STEP_NAMES and d.get("startTime") and d.get("endTime"):
            out[name] = _seconds(d["startTime"], d["endTime"])
    return out


def _seconds(start: str | None, end: str | None) -> float:
    from datetime import datetime

    if not start or not end:
        return 0.0
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
