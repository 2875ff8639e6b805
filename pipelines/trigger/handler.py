"""Validate a retraining message and build the PipelineJob it asks for: pure, tested.

The message (Pub/Sub data, JSON): {"parameters": {...}, "reason": "..."}, the parameters
by group ({"bars": {"min_roc_auc": 0.93}}) or dotted ({"bars.min_roc_auc": 0.93}).
Only run-level knobs may be overridden (data, training, bars, the canary share, commit);
projects, keys, identities and buckets come from settings alone, so a publisher cannot
redirect a run. An unknown, forbidden or ill-typed parameter is an error and starts nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path

from kernel.errors import UserError
from pipelines import params as pipeline_params
from pipelines import submit
from settings import Platform

# Whole groups a message may set, and single fields of the others.
OVERRIDABLE_GROUPS = frozenset({"data", "training", "bars"})
OVERRIDABLE = frozenset({"rollout.canary_percent", "rollout.versions_kept", "commit"})


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
    if not isinstance(body, dict) or not isinstance(body.get("parameters", {}), dict):
        raise BadMessage('expected {"parameters": {name: value, ...}}')
    return body


def overrides(body: dict) -> dict:
    """The message's parameters as dotted names, each one a message may set."""
    given = pipeline_params.flatten(body.get("parameters", {}))
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


def build_job(
    event_data: dict, platform: Platform, env: str, *, now: float | None = None
) -> tuple[dict, str]:
    """(PipelineJob kwargs, service account) for a valid message; BadMessage otherwise."""
    body = decode(event_data)
    try:
        p = pipeline_params.build(platform, env, overrides(body), local=False)
    except UserError as exc:
        raise BadMessage(str(exc)) from None
    template = Path(platform[env].template_uri("latest"))
    request, service_account = submit.build_request(platform, env, p, template, now=now)
    request["template_path"] = platform[env].template_uri("latest")
    request["labels"]["trigger"] = "pubsub"
    return request, service_account


def handle(event_data: dict, platform: Platform, env: str, *, send, log) -> dict | None:
    """Build and send the run, or log why not. `send(request, service_account)` submits."""
    try:
        request, service_account = build_job(event_data, platform, env)
    except BadMessage as exc:
        log({"severity": "ERROR", "message": f"retraining message rejected: {exc}"})
        return None
    log(
        {
            "severity": "INFO",
            "message": f"submitting {request['job_id']}",
            "parameters": request["parameter_values"],
        }
    )
    send(request, service_account)
    return request
