"""Validate a retraining message and build the PipelineJob it asks for: pure, tested.

The message (Pub/Sub data, JSON): {"parameters": {...}, "reason": "..."}, the parameters
by group ({"bars": {"min_roc_auc": 0.93}}) or dotted ({"bars.min_roc_auc": 0.93}); or a
Cloud Logging entry prod's sink routes here: a Model Monitoring anomaly asks for a run with
the template's defaults (`from_anomaly_log`).
Only run-level knobs may be overridden (data, training, and the bars made stricter), each
onto the defaults of the template the run will use (the latest one the staging build published,
with its commit-pinned images and compiled-in tenants); projects, keys, identities and
buckets are never a message's to set, so a publisher cannot redirect a run, and neither is
`commit`: the run's labels and lineage name the commit its template was built from. A
message can never loosen a bar (a retraining that lowers min_roc_auc to 0 would deploy any
model) nor set the rollout (a canary share of 100 sends all of prod's traffic to it). The
template is read once: the job is created from the very template whose defaults it used,
even if a newer one is published meanwhile. An unknown, forbidden or ill-typed parameter is
an error and starts nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime

from kernel.errors import UserError
from pipelines import params as pipeline_params
from pipelines import submit
from settings import Platform, tenants_for

# Whole groups a message may set, and single fields of the others (none: the rollout, the
# canary share with it, is the settings').
OVERRIDABLE_GROUPS = frozenset({"data", "training", "bars"})
OVERRIDABLE: frozenset[str] = frozenset()
# Each bar, and which way is stricter: a message may move a bar only that way.
STRICTER = {"min_roc_auc": 1, "min_accuracy": 1, "champion_margin": 1, "max_slice_gap": -1}


class BadMessage(ValueError):
    """The message cannot start a run; the text says why."""


def decode(event_data: dict) -> dict:
    """The JSON object inside a CloudEvent's Pub/Sub message."""
    try:
        raw = base64.b64decode(event_data["message"]["data"], validate=True)
        body = json.loads(raw)
    except (KeyError, TypeError) as exc:
        raise BadMessage(f"not a Pub/Sub message: no message.data ({exc})") from None
    except (binascii.Error, ValueError) as exc:
        raise BadMessage(f"message data is not base64-encoded JSON: {exc}") from None
    except RecursionError:
        raise BadMessage("message data is JSON nested too deeply to be a message") from None
    if isinstance(body, dict) and "jsonPayload" in body and "logName" in body:
        return from_anomaly_log(body)
    if not isinstance(body, dict) or not isinstance(body.get("parameters", {}), dict):
        raise BadMessage('expected {"parameters": {name: value, ...}}')
    return {k: body[k] for k in ("parameters", "reason") if k in body}  # no label of its own


class NothingToDo(BadMessage):
    """A log entry the monitoring sink routed that reports no anomaly: no run, no error."""


def from_anomaly_log(entry: dict) -> dict:
    """The retraining message a Vertex AI Model Monitoring anomaly asks for.

    Prod's log sink publishes the LogEntry Model Monitoring writes with `enable_logging`
    (jsonPayload: ModelMonitoringStatsAnomalies, docs/monitoring.md): a run with the
    template's defaults, the anomalies as its reason; any other entry starts nothing.
    """
    payload = entry.get("jsonPayload") or {}
    count = int(payload.get("anomalyCount", 0) or 0)
    if count <= 0:
        raise NothingToDo(f"{entry.get('logName', 'a log entry')} reports no anomaly")
    features = sorted(
        f.get("featureDisplayName", "?")
        for f in payload.get("featureStats", [])
        if any(s.get("anomalies") for s in f.get("predictionStats", []))
    )
    objective = str(payload.get("objective", "anomaly")).lower().replace("_", " ")
    job = (entry.get("resource") or {}).get("labels", {}).get("model_deployment_monitoring_job")
    return {
        "parameters": {},
        "reason": f"model monitoring: {count} {objective} anomal{'y' if count == 1 else 'ies'}"
        f" ({', '.join(features) or 'features not named'})"
        + (f" in monitoring job {job}" if job else ""),
        "trigger": "monitoring-anomaly",
        # One analysis logs an entry per objective (skew, drift): they share its time, so
        # the run id made from it is the same and only the first creates a run.
        "analysed_at": entry.get("timestamp"),
    }


def analysis_time(body: dict) -> float | None:
    """The analysis's time (RFC 3339) as epoch seconds, for the run id; None if absent."""
    stamp = body.get("analysed_at")
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise BadMessage(f"log entry timestamp {stamp!r} is not an RFC 3339 time") from None


def overrides(body: dict) -> dict:
    """The message's parameters as dotted names, each one a message may set."""
    try:
        given = pipeline_params.flatten(body.get("parameters", {}))
    except RecursionError:
        raise BadMessage("parameters nested too deeply to be parameters") from None
    try:
        pipeline_params.merge(pipeline_params.empty_groups(), given)
    except UserError as exc:
        raise BadMessage(str(exc)) from None
    forbidden = sorted(
        name
        for name in given
        if name not in OVERRIDABLE and name.partition(".")[0] not in OVERRIDABLE_GROUPS
    )
    if forbidden:
        raise BadMessage(f"parameter(s) set by settings, not by messages: {', '.join(forbidden)}")
    return given


def loosened(template_bars: dict, given: dict) -> list[str]:
    """The bars a message would loosen from the template's own (pure): each named with both
    values; a bar may only be made stricter."""
    found = []
    for name, direction in STRICTER.items():
        key = f"bars.{name}"
        if key not in given or not isinstance(given[key], int | float):
            continue  # absent, or ill-typed (the parameters' validation names it)
        value, own = given[key], template_bars[name]
        if (value - own) * direction < 0:
            way = "lower" if direction > 0 else "higher"
            found.append(f"{key} {value} is {way} than the template's {own}")
    return found


def build_job(
    event_data: dict,
    platform: Platform,
    env: str,
    template: dict,
    template_path: str,
    *,
    now: float | None = None,
) -> tuple[dict, str]:
    """(PipelineJob kwargs, service account) for a valid message; BadMessage otherwise.

    `template` is the compiled pipeline (parsed YAML) found at `template_path`.
    """
    body = decode(event_data)
    tenants = tenants_for(platform, env, local=False).model_dump()  # validation only
    try:
        pipeline_params.require_pinned_serving_image(template, template_path)
        defaults = {"tenants": tenants, **pipeline_params.template_defaults(template)}
        given = overrides(body)
        p = pipeline_params.validated(pipeline_params.merge(defaults, given))
    except UserError as exc:
        raise BadMessage(str(exc)) from None
    looser = loosened(defaults["bars"], given)
    if looser:
        raise BadMessage(f"a message may only make a bar stricter: {'; '.join(looser)}")
    when = analysis_time(body) or now
    request, service_account = submit.build_request(platform, env, p, template_path, now=when)
    request["labels"]["trigger"] = body.get("trigger", "pubsub")
    request["template"] = template  # sent as read: never read again from `latest`
    return request, service_account


def handle(
    event_data: dict,
    platform: Platform,
    env: str,
    *,
    template: Callable[[], tuple[dict, str]],
    send: Callable[[dict, str], object],
    log: Callable[[dict], object],
) -> dict | None:
    """Build and send the run, or log why not.

    `template()` reads the latest compiled pipeline: (parsed YAML, a path to it);
    `send(request, service_account)` submits.
    """
    try:
        body, path = template()
        request, service_account = build_job(event_data, platform, env, body, path)
    except NothingToDo as exc:
        log({"severity": "INFO", "message": f"nothing to retrain on: {exc}"})
        return None
    except BadMessage as exc:
        log({"severity": "ERROR", "message": f"retraining message rejected: {exc}"})
        return None
    log(
        {
            "severity": "INFO",
            "message": f"submitting {request['job_id']} from {request['template_path']}",
            "reason": decode(event_data).get("reason", ""),
            "parameters": request["parameter_values"],
        }
    )
    send(request, service_account)
    return request
