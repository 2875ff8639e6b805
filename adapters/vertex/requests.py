"""Pure builders of every Vertex AI request the pipeline makes: tested field by field.

The shells (the adapters beside this module, pipelines/submit.py) pass these straight to
the Vertex AI SDK.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from typing import Any

from kernel.images import require_pinned
from kernel.names import (
    HEALTH_ROUTE,
    MODEL_NAME,
    ON_DEVICE_LABEL,
    PREDICT_ROUTE,
    SERVING_PORT,
    label_value,
)
from promotion.domain import layout, runs
from promotion.ports import ModelVersion, MonitoringConfig, StepRecord, VersionStats
from trainer import schema


def upload_request(
    *,
    artifact_uri: str,
    serving_image: str,
    parent_model: str | None,
    project: str,
    region: str,
    kms_key: str,
    run_id: str,
    commit: str,
    candidate: str,
    on_device: str = "",
    prebuilt: bool = False,
    trainer: str = "",
) -> dict:
    """Model.upload kwargs: a new version of the registered model, never a new model.

    Refuses a serving image of ours that is not pinned by digest: the version would serve
    whatever was pushed last under its tag. A `prebuilt` one (Vertex AutoML's, named by the
    model's export) is Google's to publish and is taken as the export names it."""
    if not prebuilt:
        require_pinned(serving_image, "tenants.serving_image")
    request = {
        "display_name": MODEL_NAME,
        "artifact_uri": artifact_uri,
        "serving_container_image_uri": serving_image,
        "serving_container_predict_route": PREDICT_ROUTE,
        "serving_container_health_route": HEALTH_ROUTE,
        "serving_container_ports": [SERVING_PORT],
        "is_default_version": False,  # the champion alias, not "default", marks what serves
        "version_aliases": [],
        "version_description": f"run {run_id}, commit {commit}",
        "labels": {
            "run": label_value(run_id),
            "commit": label_value(commit),
            "candidate": label_value(candidate),
            **({ON_DEVICE_LABEL: label_value(on_device)} if on_device else {}),
            **({"trainer": label_value(trainer)} if trainer else {}),
        },
        "encryption_spec_key_name": kms_key,
        "project": project,
        "location": region,
        "sync": True,
    }
    if parent_model:
        request["parent_model"] = parent_model
    else:
        request["model_id"] = MODEL_NAME  # the first upload names the registered model
    return request


# Registry lookups: each a bounded number of calls, whatever the number of versions ---------

VERSIONS_PAGE = 100  # listVersions' page size: a listing of N versions is ceil(N/100) calls


def versions_request(parent: str, label: str = "", value: str = "", page_size: int = 0) -> dict:
    """ListModelVersionsRequest fields: every version, or those whose `label` is `value`
    (Vertex's filter: `labels.KEY="VALUE"`, the value as the registry stores it)."""
    request: dict = {"name": parent, "page_size": page_size or VERSIONS_PAGE}
    if label:
        request["filter"] = f'labels.{label}="{label_value(value)}"'
    return request


def model_version(model: Any) -> ModelVersion:
    """A Model resource (one version, as get and listVersions return it) as the port's value,
    with every alias, Vertex's `default` too: retention never deletes a version holding one."""
    aliases = list(model.version_aliases)
    created = model.version_create_time or None  # an unset Timestamp is the epoch
    if created is not None and created.timestamp() <= 0:
        created = None
    return ModelVersion(model.version_id, model.artifact_uri, dict(model.labels), aliases, created)


def deploy_request(
    *,
    model_resource: str,
    traffic_split: dict[str, int],
    machine_type: str,
    min_replicas: int,
    max_replicas: int,
    service_account: str,
) -> dict:
    """Endpoint.deploy kwargs; in `traffic_split` the key "0" is the model being deployed."""
    return {
        "model": model_resource,
        "deployed_model_display_name": MODEL_NAME,
        "traffic_split": traffic_split,
        "machine_type": machine_type,
        "min_replica_count": min_replicas,
        "max_replica_count": max_replicas,
        "service_account": service_account,
        "enable_access_logging": True,
        "sync": True,
    }


def vertex_traffic(traffic: dict[str, int], deployed_ids: dict[str, str], new: str) -> dict:
    """Our {version: percent} as Vertex's {deployed_model_id: percent}, new model as "0"."""
    return {("0" if v == new else deployed_ids[v]): p for v, p in traffic.items() if p > 0}


def monitoring_objectives(config: MonitoringConfig) -> dict:
    """Arguments of the monitoring configuration objects (model_monitoring.*); the skew
    baseline is the training table copied beside the run's baseline (layout)."""
    return {
        "skew": {
            "data_source": layout.training_data_beside(config.baseline_uri),
            "data_format": "csv",
            "target_field": schema.LABEL,
            "skew_thresholds": config.skew_thresholds,
        },
        "drift": {"drift_thresholds": config.drift_thresholds},
        "alert": {"user_emails": config.alert_emails, "enable_logging": True},
        "sampling": {"sample_rate": config.sample_rate},
        "schedule": {"monitor_interval": config.interval_hours},
    }


def monitoring_job_request(
    config: MonitoringConfig, *, endpoint: str, project: str, region: str
) -> dict:
    """ModelDeploymentMonitoringJob.create kwargs, with the SDK's config objects."""
    from google.cloud.aiplatform import model_monitoring as mm

    o = monitoring_objectives(config)
    return {
        "display_name": f"{MODEL_NAME}-monitoring",
        "endpoint": endpoint,
        "objective_configs": mm.ObjectiveConfig(
            skew_detection_config=mm.SkewDetectionConfig(**o["skew"]),
            drift_detection_config=mm.DriftDetectionConfig(**o["drift"]),
        ),
        "logging_sampling_strategy": mm.RandomSampleConfig(**o["sampling"]),
        "schedule_config": mm.ScheduleConfig(**o["schedule"]),
        "alert_config": mm.EmailAlertConfig(**o["alert"]),
        "encryption_spec_key_name": config.kms_key,
        "labels": {"model": MODEL_NAME},
        "project": project,
        "location": region,
    }


# Cloud Monitoring: the canary's figures per deployed model -----------------------------
# google-cloud-monitoring speaks gRPC only, so these are the REST API's (projects.timeSeries.list)
# query parameters and JSON responses, sent by an authorized session.

METRICS = {
    "requests": "aiplatform.googleapis.com/prediction/online/prediction_count",
    "errors": "aiplatform.googleapis.com/prediction/online/error_count",
    "latency": "aiplatform.googleapis.com/prediction/online/prediction_latencies",
}
# prediction_latencies has one series per latency_type (overhead, model, total): the canary
# judges what a client waits for.
LATENCY_TYPE = "total"


def _rfc3339(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def monitoring_queries(project: str, endpoint_id: str, start_s: int, end_s: int) -> dict[str, dict]:
    """(URL path, query parameters) of one timeSeries.list per measure, per deployed model."""
    queries = {}
    for measure, metric in METRICS.items():
        latency = measure == "latency"
        metric_filter = (
            f'metric.type = "{metric}" AND resource.type = '
            f'"aiplatform.googleapis.com/Endpoint" AND '
            f'resource.labels.endpoint_id = "{endpoint_id}"'
        )
        if latency:
            metric_filter += f' AND metric.labels.latency_type = "{LATENCY_TYPE}"'
        queries[measure] = {
            "path": f"/v3/projects/{project}/timeSeries",
            "params": {
                "filter": metric_filter,
                "interval.startTime": _rfc3339(start_s),
                "interval.endTime": _rfc3339(end_s),
                "aggregation.alignmentPeriod": f"{end_s - start_s}s",
                "aggregation.perSeriesAligner": "ALIGN_PERCENTILE_95" if latency else "ALIGN_SUM",
                "aggregation.crossSeriesReducer": "REDUCE_MEAN" if latency else "REDUCE_SUM",
                "aggregation.groupByFields": "metric.labels.deployed_model_id",
                "view": "FULL",
            },
        }
    return queries


def interpret_time_series(
    series_by_measure: dict[str, list[dict]], versions: dict[str, str]
) -> dict[str, VersionStats]:
    """timeSeries.list JSON → per-version stats; `versions` maps deployed model id → version."""
    totals: dict[str, dict[str, float]] = {}
    for measure, series in series_by_measure.items():
        for s in series:
            model_id = s["metric"]["labels"]["deployed_model_id"]
            points = [
                float(p["value"].get("int64Value", p["value"].get("doubleValue", 0)))
                for p in s.get("points", [])
            ]
            value = max(points) if measure == "latency" else sum(points)
            totals.setdefault(model_id, {})[measure] = value if points else 0.0
    out = {}
    for model_id, t in totals.items():
        version = versions.get(model_id, model_id)
        out[version] = VersionStats(
            version, int(t.get("requests", 0)), int(t.get("errors", 0)), None, t.get("latency")
        )
    return out


# Vertex AI Experiments (ML Metadata contexts): the run log ---------------------------------

EXPERIMENT = MODEL_NAME  # one experiment, named after the model it trains
STEP_KEY = "step."  # run metadata: one key per step, holding its record as JSON text
_CONTEXT_ID = re.compile(r"[^a-z0-9-]+")


def metadata_store(project: str, region: str) -> str:
    """The store the stacks create (CMEK); it must be "default" for pipelines to use it."""
    return f"projects/{project}/locations/{region}/metadataStores/default"


def experiment_context() -> dict:
    """The experiment, as the Vertex AI SDK creates one (the console lists it)."""
    return {
        "display_name": EXPERIMENT,
        "schema_title": "system.Experiment",
        "schema_version": "0.0.1",
        "metadata": {"experiment_deleted": False},
    }


def run_context_id(run_id: str) -> str:
    """The run's context id, as the SDK forms it (`<experiment>-<run>`): lowercase letters,
    digits and -, at most 121 characters (the SDK keeps 7 for its TensorBoard suffix)."""
    cleaned = _CONTEXT_ID.sub("-", f"{EXPERIMENT}-{run_id}".lower()).strip("-")
    return cleaned[:121].rstrip("-")


def run_context(run_id: str) -> dict:
    return {
        "display_name": run_id,
        "schema_title": "system.ExperimentRun",
        "schema_version": "0.0.1",
        "metadata": {"_params": {}, "_metrics": {}, "_state": "RUNNING"},
    }


def run_metadata(existing: dict, step: str, facts: dict, recorded_at: str) -> dict:
    """The run's metadata after `step` recorded `facts`: its record under `step.<name>`
    (JSON text, so numbers and nulls come back as they went in), and `_params`/`_metrics`
    rebuilt from every step's facts so the Experiments console compares runs."""
    metadata = {k: v for k, v in existing.items() if k.startswith(STEP_KEY)}
    record = {"recorded_at": recorded_at, "facts": facts}
    metadata[STEP_KEY + step] = json.dumps(record, sort_keys=True, allow_nan=False)
    steps = {k[len(STEP_KEY) :]: json.loads(v)["facts"] for k, v in metadata.items()}
    params: dict = {}
    metrics: dict = {}
    for section, step_name, key in runs.SECTIONS:
        flat = runs.flatten(steps.get(step_name, {}).get(key), key)
        for name, value in flat.items():
            if value is None or isinstance(value, list | dict):
                continue
            if section == "metrics" and isinstance(value, int | float):
                metrics[name] = float(value)
            elif section in ("parameters", "data", "outcome"):
                params[name] = value if isinstance(value, int | float | str) else str(value)
    done = (
        "run" in steps
        or "monitor" in steps
        or ("decide" in steps and not steps["decide"].get("deploy"))
    )
    return {
        **metadata,
        "_params": params,
        "_metrics": metrics,
        "_state": "COMPLETE" if done else "RUNNING",
    }


def step_records(context: dict) -> list[StepRecord]:
    """The StepRecords a run context holds (its display name is the run id)."""
    out = []
    for key, text in (context.get("metadata") or {}).items():
        if not key.startswith(STEP_KEY):
            continue
        record = json.loads(text)
        out.append(
            StepRecord(
                context["displayName"],
                key[len(STEP_KEY) :],
                datetime.fromisoformat(record["recorded_at"]),
                record["facts"],
            )
        )
    return out


def runs_filter(experiment: str) -> str:
    """contexts.list filter: the experiment's runs (ML Metadata's filter syntax)."""
    return f'schema_title="system.ExperimentRun" AND parent_contexts:"{experiment}"'


def publish_request(topic: str, attributes: dict[str, str], data: bytes) -> dict:
    """Pub/Sub's topics.publish of one message: its path and JSON body."""
    import base64

    message = {"data": base64.b64encode(data).decode(), "attributes": attributes}
    return {"path": f"/v1/{topic}:publish", "json": {"messages": [message]}}


def error_message(response: Any) -> str:
    """Google's message in a REST error response (its text when it is not JSON)."""
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return str(response.text[:300])
