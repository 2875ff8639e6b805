"""Cloud Run function entry point (deployed as main.py): a CloudEvent from Pub/Sub in.

MLOPS_ENV names the non-prod env; MLOPS_DRY_RUN=1 logs the request instead of submitting.
The shell: read the latest compiled template from the templates bucket (its defaults are the
run's), let the pure handler build the PipelineJob, submit it after the preflight.
"""

from __future__ import annotations

import json
import os

import functions_framework

from pipelines.trigger import handler
from settings import load_platform


def _log(entry: dict) -> None:
    print(json.dumps(entry), flush=True)  # structured logs: Cloud Logging parses JSON lines


def _env() -> str:
    return os.environ.get("MLOPS_ENV", "staging")


def _template() -> tuple[dict, str]:
    """The latest template the staging build published (read as this function's identity)."""
    from pipelines.submit import read_template

    uri = load_platform()[_env()].template_uri("latest")
    return read_template(uri), uri


def _send(request: dict, service_account: str) -> None:
    if os.environ.get("MLOPS_DRY_RUN") == "1":
        _log(
            {
                "severity": "INFO",
                "message": "dry run",
                "request": request,
                "service_account": service_account,
            }
        )
        return
    from google.api_core.exceptions import Conflict

    from pipelines import submit

    platform = load_platform()
    try:
        submit.submit(
            platform,
            _env(),
            request,
            service_account,
            wait=False,
            log=lambda line: _log({"severity": "INFO", "message": line}),
        )
    except Conflict:  # 409 over REST (AlreadyExists over gRPC): the same analysis's other
        # entry (skew and drift) started it
        _log({"severity": "INFO", "message": f"{request['job_id']} already exists: started"})


@functions_framework.cloud_event
def on_message(event) -> None:
    handler.handle(event.data, load_platform(), _env(), template=_template, send=_send, log=_log)
