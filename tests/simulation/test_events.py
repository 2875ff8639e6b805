"""Model Monitoring's analysis, Cloud Logging's sinks and Pub/Sub in the simulation: what the
anomaly path from prod to the retraining function checks on its way."""

import pytest
from simulated import without

from settings import load_platform
from simulation.apis.logging import matches
from simulation.apis.vertex.analysis import analyse_job, log_entries
from trainer import loader, predict

LOGGING_AGENT = "service-100000000003@gcp-sa-logging.iam.gserviceaccount.com"
MONITORING_JOB = "projects/census-ml-prod/locations/europe-west4/modelDeploymentMonitoringJobs/7"


def job() -> dict:
    """A monitoring job as the deploy step creates it, with prod's thresholds."""
    m = load_platform()["prod"].monitoring_settings()
    skew = {f: {"value": v} for f, v in m.thresholds("skew").items()}
    drift = {f: {"value": v} for f, v in m.thresholds("drift").items()}
    config = {
        "trainingPredictionSkewDetectionConfig": {"skewThresholds": skew},
        "predictionDriftDetectionConfig": {"driftThresholds": drift},
    }
    return {
        "name": MONITORING_JOB,
        "modelDeploymentMonitoringObjectiveConfigs": [{"objectiveConfig": config}],
    }


def served(seed: int, age_shift: int, at: float) -> list[tuple[float, dict]]:
    rows = loader.load_census(split="test").frame.sample(n=1000, random_state=seed)
    return [(at, {**i, "age": i["age"] + age_shift}) for i in predict.frame_to_instances(rows)]


def test_the_analysis_finds_skew_and_drift_only_where_the_traffic_moved():
    training = loader.load_census(split="train").frame
    before, after = served(1, 0, 10.0), served(2, 20, 20.0)
    assert analyse_job(job(), before, training, (0.0, 15.0), None) == []
    alerts = analyse_job(job(), before + after, training, (15.0, 25.0), (0.0, 15.0))
    assert {(a.feature, a.measure) for a in alerts} == {("age", "skew"), ("age", "drift")}
    (skew, drift) = log_entries(job(), "11", alerts, 1_796_317_200.0)
    assert skew["jsonPayload"]["objective"] == "RAW_FEATURE_SKEW"
    assert drift["jsonPayload"]["objective"] == "RAW_FEATURE_DRIFT"
    assert skew["timestamp"] == drift["timestamp"] == "2026-12-03T17:00:00.000000Z"
    assert skew["resource"]["labels"]["model_deployment_monitoring_job"] == "7"


def test_a_sink_filter_is_matched_term_by_term_and_unreadable_filters_are_refused():
    entry = {"resource": {"type": "t", "labels": {"job": "7"}}, "logName": "l"}
    assert matches('resource.type="t" AND resource.labels.job="7"', entry)
    assert not matches('resource.type="t" AND logName="other"', entry)
    assert matches("", entry)  # a sink without a filter takes every entry
    with pytest.raises(ValueError, match="cannot evaluate"):
        matches('severity>=WARNING AND resource.type="t"', entry)


def anomaly(sim) -> list[str]:
    """Prod's Model Monitoring logs an anomaly; the sinks it went through."""
    (entry, _) = log_entries(job(), "11", [*_alerts()], 1_796_317_200.0)
    return sim.logging.write("census-ml-prod", entry)


def _alerts():
    training = loader.load_census(split="train").frame
    return analyse_job(job(), served(1, 0, 10.0) + served(2, 20, 20.0), training, (15, 25), (0, 15))


@pytest.mark.slow
def test_without_the_publisher_grant_prods_sink_cannot_reach_staging(cloud, stacks):
    sim = cloud(
        without(
            stacks,
            "staging",
            "google_pubsub_topic_iam_member",
            lambda b: b["member"].endswith(LOGGING_AGENT),
        )
    )
    assert anomaly(sim) == []  # Cloud Logging records the sink's error; nothing is delivered
    (publish,) = [e for e in sim.wire if e.method == "pubsub.projects.topics.publish"]
    assert publish.principal == LOGGING_AGENT and publish.status == 403
    assert [(c.permission, c.allowed) for c in publish.checks] == [("pubsub.topics.publish", False)]
    assert sim.function_calls == []


@pytest.mark.slow
def test_a_cmek_topic_refuses_a_message_its_agent_cannot_encrypt(cloud, stacks):
    sim = cloud(
        without(
            stacks,
            "staging",
            "google_kms_crypto_key_iam_member",
            lambda b: "gcp-sa-pubsub" in b["member"],
        )
    )
    assert anomaly(sim) == []
    (publish,) = [e for e in sim.wire if e.method == "pubsub.projects.topics.publish"]
    assert publish.status == 403
    assert [c.allowed for c in publish.checks] == [True, False]  # the publisher may; the key no
