"""Drift and skew start a retraining: Model Monitoring's anomalies, routed to the retraining topic.

Vertex AI Model Monitoring (v1) writes each anomaly to Cloud Logging when its alert config
has `enable_logging` (adapters/vertex/requests.py sets it); this sink in prod publishes
those entries to the non-prod tenant's retraining topic, whose function starts a run with
the template's defaults (pipelines/trigger/handler.py, `from_anomaly_log`). The sink writes
as the prod project's Cloud Logging agent, which the non-prod tenant's cross-tenant stack
lets publish to that topic alone (infra/iam.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_google.logging_project_sink import LoggingProjectSink
from constructs import Construct

# The monitored resource Model Monitoring logs its anomalies under; the function ignores
# any entry of it that reports none, so a broader match than the anomalies costs nothing.
ANOMALY_FILTER = 'resource.type="aiplatform.googleapis.com/ModelDeploymentMonitoringJob"'


@dataclass(frozen=True)
class AnomalySinkProps:
    project: str
    topic: str  # projects/P/topics/T: the non-prod tenant's retraining topic


class AnomalySink(Construct):
    def __init__(self, scope: Construct, id_: str, props: AnomalySinkProps, *, depends_on=()):
        super().__init__(scope, id_)
        self.sink = LoggingProjectSink(
            self,
            "sink",
            project=props.project,
            name="census-monitoring-anomalies",
            description="Model Monitoring anomalies to the retraining topic (a run per anomaly)",
            destination=f"pubsub.googleapis.com/{props.topic}",
            filter=ANOMALY_FILTER,
            unique_writer_identity=True,
            depends_on=list(depends_on),
        )
