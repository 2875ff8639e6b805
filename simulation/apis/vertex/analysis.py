"""Vertex AI Model Monitoring's scheduled analysis of a ModelDeploymentMonitoringJob.

When the simulation's clock says a job's interval has passed (`Simulation.run_monitoring`),
the job compares the instances its endpoint served since its previous analysis (or since it
was created or its objectives updated) with its training dataset (skew) and with the
previous analysis's instances (drift), with the thresholds the job was given, using TFDV's
distances as this repository computes them (monitoring/, checked against TFDV's
own results in reference/tfdv/). With `enableLogging` its anomalies are written to Cloud
Logging under the job's monitored resource, where the stacks' sinks route them.
Not modelled: request sampling (every served instance counts), the statistics written to
the job's GCS directory, e-mail alerts, attribution.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from monitoring.monitor import FeatureResult, analyse
from promotion.domain import statistics
from trainer import schema

RESOURCE_TYPE = "aiplatform.googleapis.com/ModelDeploymentMonitoringJob"
LOG = "aiplatform.googleapis.com%2Fmodel_monitoring_anomaly"
OBJECTIVES = {"skew": "RAW_FEATURE_SKEW", "drift": "RAW_FEATURE_DRIFT"}


def count_rows(rows: Iterable[dict]) -> list[tuple[str, str | None, float | None, int]]:
    """The value counts statistics.profile reads, from instances (or training rows)."""
    counts: Counter = Counter()
    for row in rows:
        for feature in schema.FEATURES:
            value = row.get(feature.name)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                counts[(feature.name, None, None)] += 1
            elif feature.is_categorical:
                counts[(feature.name, str(value), None)] += 1
            else:
                counts[(feature.name, None, float(value))] += 1
    return [(f, t, n, c) for (f, t, n), c in counts.items()]


def thresholds(config: dict, key: str) -> dict[str, float]:
    given = config.get(key) or {}
    return {name: float(given.get(name, {}).get("value", 0.3)) for name in schema.FEATURE_NAMES}


def analyse_job(
    job: dict,
    served: list[tuple[float, dict]],
    training: pd.DataFrame,
    window: tuple[float, float],
    previous: tuple[float, float] | None,
) -> list[FeatureResult]:
    """The job's anomalies in `window` (skew against `training`, drift against the
    `previous` analysis's window): pure, from what it was given."""
    (objective,) = job["modelDeploymentMonitoringObjectiveConfigs"][:1]
    config = objective["objectiveConfig"]
    current = [i for at, i in served if window[0] <= at < window[1]]
    before = [i for at, i in served if previous and previous[0] <= at < previous[1]]
    baseline = statistics.profile(count_rows(training.to_dict("records")))
    results = analyse(
        baseline,
        statistics.profile(count_rows(current)),
        statistics.profile(count_rows(before)) if before else None,
        thresholds(config.get("trainingPredictionSkewDetectionConfig") or {}, "skewThresholds"),
        thresholds(config.get("predictionDriftDetectionConfig") or {}, "driftThresholds"),
    )
    return [r for r in results if r.alert]


def log_entries(job: dict, deployed_id: str, alerts: list[FeatureResult], at: float) -> list[dict]:
    """One Cloud Logging entry per objective with anomalies (jsonPayload in the shape of
    ModelMonitoringStatsAnomalies), stamped with the analysis's time."""
    project, _, location, _, job_id = job["name"].split("/")[1:6]
    stamp = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    entries = []
    for measure, objective in OBJECTIVES.items():
        found = [a for a in alerts if a.measure == measure]
        if not found:
            continue
        entries.append(
            {
                "logName": f"projects/{project}/logs/{LOG}",
                "resource": {
                    "type": RESOURCE_TYPE,
                    "labels": {
                        "resource_container": project,
                        "location": location,
                        "model_deployment_monitoring_job": job_id,
                    },
                },
                "severity": "WARNING",
                "timestamp": stamp,
                "jsonPayload": {
                    "objective": objective,
                    "deployedModelId": deployed_id,
                    "anomalyCount": len(found),
                    "featureStats": [
                        {
                            "featureDisplayName": a.feature,
                            "threshold": {"value": a.threshold},
                            "predictionStats": [{"anomalies": [{"value": a.distance}]}],
                        }
                        for a in found
                    ],
                },
            }
        )
    return entries


def run_job(sim: Any, name: str, now: float) -> list[FeatureResult]:
    """One scheduled analysis of job `name`; its anomalies (logged if the job says so)."""
    job = sim.vertex.jobs[name]
    (objective,) = job["modelDeploymentMonitoringObjectiveConfigs"][:1]
    dataset = objective["objectiveConfig"].get("trainingDataset") or {}
    uri = ((dataset.get("gcsSource") or {}).get("uris") or [""])[0]
    training = pd.read_csv(sim.root / "storage" / uri.removeprefix("gs://"))
    with sim.lock:
        served = [(at, i) for at, e, _, i in sim.served_instances if e == job["endpoint"]]
    window = (job["_since"], now)  # each analysis covers the time since the one before
    alerts = analyse_job(job, served, training, window, job.get("_previous"))
    job["_since"], job["_previous"] = now, window
    deployed = objective.get("deployedModelId", "")
    if alerts and (job.get("modelMonitoringAlertConfig") or {}).get("enableLogging"):
        for entry in log_entries(job, deployed, alerts, now):
            sim.logging.write(job["name"].split("/")[1], entry)
    return alerts
