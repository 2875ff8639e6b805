"""Validate a retraining message and build the PipelineJob it asks for: pure, tested.

The message (Pub/Sub data, JSON): {"parameters": {name: value, ...}, "reason": "..."}.
Only run-level knobs may be overridden (data, hyperparameters, bars, canary, commit);
projects, keys, identities and buckets come from settings alone, so a publisher cannot
redirect a run. An unknown, forbidden or ill-typed parameter is an error and starts nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path

from infra.settings import Platform
from mlops.errors import UserError
from pipelines import params as pipeline_params
from pipelines.vertex import submit

OVERRIDABLE = frozenset(
    {
        "train_data_uri",
        "test_data_uri",
        "max_bad_fraction",
        "hyperparameters",
        "min_roc_auc",
        "min_accuracy",
        "max_slice_gap",
        "champion_margin",
        "canary_percent",
        "versions_kept",
        "commit",
    }
)


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
    given = body.get("parameters", {})
    known = set(pipeline_params.PipelineParams.model_fields)
    unknown = sorted(set(given) - known)
    if unknown:
        raise BadMessage(f"unknown parameter(s): {', '.join(unknown)}")
    forbidden = sorted(set(given) - OVERRIDABLE)
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
            "parameters": {k: request["parameter_values"][k] for k in sorted(OVERRIDABLE)},
        }
    )
    send(request, service_account)
    return request
