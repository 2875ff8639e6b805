"""The one description of model monitoring: a file locally, the job on Vertex."""

from __future__ import annotations

from promotion.ports import MonitoringConfig
from settings import MonitoringSettings


def monitoring_config(
    *, endpoint_id: str, baseline_uri: str, monitoring: MonitoringSettings, kms_key: str
) -> MonitoringConfig:
    skew, drift = monitoring.thresholds("skew"), monitoring.thresholds("drift")
    return MonitoringConfig(
        endpoint_id=endpoint_id,
        baseline_uri=baseline_uri,
        features=sorted(skew),
        skew_thresholds=dict(sorted(skew.items())),
        drift_thresholds=dict(sorted(drift.items())),
        sample_rate=monitoring.sample_rate,
        interval_hours=monitoring.interval_hours,
        alert_emails=list(monitoring.emails),
        kms_key=kms_key,
    )
