"""Cloud Monitoring on the prod endpoint: error-rate and latency alert policies, e-mail channels.

Thresholds and addresses come from prod's settings (serving.alerts, monitoring.emails).
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_google.monitoring_alert_policy import (
    MonitoringAlertPolicy,
    MonitoringAlertPolicyConditions,
    MonitoringAlertPolicyConditionsConditionThreshold,
    MonitoringAlertPolicyConditionsConditionThresholdAggregations,
    MonitoringAlertPolicyConditionsConditionThresholdDenominatorAggregations,
    MonitoringAlertPolicyDocumentation,
)
from cdktf_cdktf_provider_google.monitoring_notification_channel import (
    MonitoringNotificationChannel,
)
from constructs import Construct

METRIC = "aiplatform.googleapis.com/prediction/online"
WINDOW = "300s"


@dataclass(frozen=True)
class AlertsProps:
    project: str
    endpoint_id: str
    emails: tuple[str, ...]
    error_rate: float  # fraction of predictions failing over the window
    latency_p99_ms: float


def endpoint_filter(endpoint_id: str, metric: str) -> str:
    return (
        f'resource.type = "aiplatform.googleapis.com/Endpoint" AND '
        f'resource.labels.endpoint_id = "{endpoint_id}" AND '
        f'metric.type = "{METRIC}/{metric}"'
    )


class EndpointAlerts(Construct):
    def __init__(self, scope: Construct, id_: str, props: AlertsProps, *, depends_on=()) -> None:
        super().__init__(scope, id_)
        self.channels = [
            MonitoringNotificationChannel(
                self,
                f"email-{i}",
                project=props.project,
                display_name=f"census ML on-call <{email}>",
                type="email",
                labels={"email_address": email},
                depends_on=list(depends_on),
            )
            for i, email in enumerate(props.emails)
        ]
        channel_ids = [c.id for c in self.channels]

        def sum_over(aligner: str):
            return MonitoringAlertPolicyConditionsConditionThresholdAggregations(
                alignment_period=WINDOW,
                per_series_aligner=aligner,
                cross_series_reducer="REDUCE_SUM" if aligner == "ALIGN_DELTA" else "REDUCE_MAX",
            )

        def policy(id_: str, title: str, doc: str, condition: str, threshold):
            return MonitoringAlertPolicy(
                self,
                id_,
                project=props.project,
                display_name=f"census-income endpoint: {title}",
                combiner="OR",
                notification_channels=channel_ids,
                documentation=MonitoringAlertPolicyDocumentation(
                    content=doc, mime_type="text/markdown"
                ),
                conditions=[
                    MonitoringAlertPolicyConditions(
                        display_name=condition, condition_threshold=threshold
                    )
                ],
                depends_on=list(depends_on),
            )

        self.error_rate = policy(
            "error-rate",
            "error rate",
            f"More than {props.error_rate:.1%} of predictions failed over 5 minutes. Check "
            "the serving logs; `mlops canary` rolls a challenger back.",
            "error_count / prediction_count",
            MonitoringAlertPolicyConditionsConditionThreshold(
                filter=endpoint_filter(props.endpoint_id, "error_count"),
                denominator_filter=endpoint_filter(props.endpoint_id, "prediction_count"),
                aggregations=[sum_over("ALIGN_DELTA")],
                denominator_aggregations=[
                    MonitoringAlertPolicyConditionsConditionThresholdDenominatorAggregations(
                        alignment_period=WINDOW,
                        per_series_aligner="ALIGN_DELTA",
                        cross_series_reducer="REDUCE_SUM",
                    )
                ],
                comparison="COMPARISON_GT",
                threshold_value=props.error_rate,
                duration=WINDOW,
            ),
        )
        self.latency = policy(
            "latency",
            "p99 latency",
            f"p99 prediction latency above {props.latency_p99_ms:.0f} ms for 5 minutes.",
            "prediction_latencies p99",
            MonitoringAlertPolicyConditionsConditionThreshold(
                filter=endpoint_filter(props.endpoint_id, "prediction_latencies"),
                aggregations=[sum_over("ALIGN_PERCENTILE_99")],
                comparison="COMPARISON_GT",
                threshold_value=props.latency_p99_ms,
                duration=WINDOW,
            ),
        )
