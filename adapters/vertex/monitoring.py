"""Vertex AI model monitoring of the endpoint, and the serving figures Cloud Monitoring keeps
(the canary's evidence: a port of its own, promotion.ports.ServingFigures)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters.vertex import requests
from kernel import gcp
from kernel.errors import UserError
from promotion.ports import MonitoringConfig, VersionStats


class VertexMonitoring:
    def __init__(self, project: str, region: str, endpoint: str, credentials: Any) -> None:
        from google.cloud import aiplatform

        self.ai, self.project, self.region = aiplatform, project, region
        self.endpoint, self.credentials = endpoint, credentials

    def apply(self, config: MonitoringConfig) -> str:
        request = requests.monitoring_job_request(
            config, endpoint=self.endpoint, project=self.project, region=self.region
        )
        jobs: list[Any] = self.ai.ModelDeploymentMonitoringJob.list(
            filter=f'display_name="{request["display_name"]}"',
            project=self.project,
            location=self.region,
            credentials=self.credentials,
        )
        existing = [
            j for j in jobs if j.state.name not in ("JOB_STATE_CANCELLED", "JOB_STATE_FAILED")
        ]
        if existing:
            updatable = {
                k: request[k]
                for k in (
                    "schedule_config",
                    "alert_config",
                    "logging_sampling_strategy",
                    "objective_configs",
                    "labels",
                )
            }
            existing[0].update(**updatable)
            return "updated"
        self.ai.ModelDeploymentMonitoringJob.create(**request, credentials=self.credentials)
        return "created"

    def current(self) -> MonitoringConfig | None:
        return None  # the job itself is the configuration on Vertex; nothing reads it back


class CloudMonitoringFigures:
    """Each deployed version's prediction and error counts and latency, from Cloud
    Monitoring's Vertex AI metrics (the REST API: google-cloud-monitoring is gRPC only)."""

    def __init__(self, project: str, region: str, endpoint: str, credentials: Any) -> None:
        from google.cloud import aiplatform

        self.ai, self.project, self.region = aiplatform, project, region
        self.endpoint, self.credentials = endpoint, credentials

    def version_stats(self, start: datetime, end: datetime) -> dict[str, VersionStats]:
        from google.auth.transport.requests import AuthorizedSession

        session = AuthorizedSession(self.credentials)
        base = gcp.endpoint("monitoring") or "https://monitoring.googleapis.com"
        endpoint_id = self.endpoint.rsplit("/", 1)[-1]
        start_s, end_s = (int(_utc(t).timestamp()) for t in (start, end))
        queries = requests.monitoring_queries(self.project, endpoint_id, start_s, end_s)
        series = {}
        for measure, query in queries.items():
            response = session.get(base + query["path"], params=query["params"], timeout=60)
            if response.status_code != 200:
                raise UserError(
                    f"Cloud Monitoring refused the canary's figures "
                    f"({response.status_code}): {requests.error_message(response)}"
                )
            series[measure] = response.json().get("timeSeries", [])
        return requests.interpret_time_series(series, self.deployed_versions())

    def deployed_versions(self) -> dict[str, str]:
        """{deployed model id: model version} of the endpoint, to name the series."""
        endpoint = self.ai.Endpoint(self.endpoint, credentials=self.credentials)
        return {m.id: m.model_version_id for m in endpoint.list_models()}


def _utc(moment: datetime) -> datetime:
    """A naive time is UTC here, as in the request log (never the machine's zone)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
