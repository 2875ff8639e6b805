"""The Vertex AI requests the shells send, field by field (no credentials needed)."""

import pytest

from adapters.vertex import requests
from adapters.vertex.endpoint import smoke_attempts
from kernel.errors import UserError
from kernel.names import label_value
from pipelines import params
from promotion.steps.monitor import monitoring_config
from settings import load_platform

KEY = "projects/census-ml-prod/locations/europe-west4/keyRings/census-ml/cryptoKeys/vertex"


PINNED = "europe-west4-docker.pkg.dev/p/census-images/serving@sha256:" + "0a" * 32
COMMON = dict(
    artifact_uri="gs://census-ml-prod-models/census-income/run-1/model",
    serving_image=PINNED,
    project="census-ml-prod",
    region="europe-west4",
    kms_key=KEY,
    run_id="census-promotion-2026-11-21-10-00-00",
    commit="0123ABCD",
    candidate="census-promotion-2026-11-21-10-00-00",
)


@pytest.mark.parametrize(
    "image",
    [
        "europe-west4-docker.pkg.dev/p/census-images/serving:abc",
        "europe-west4-docker.pkg.dev/p/census-images/serving",
        "europe-west4-docker.pkg.dev/p/census-images/serving:abc@sha256:" + "0a" * 32,
        "europe-west4-docker.pkg.dev/p/census-images/serving@sha256:" + "0a" * 31,
        "",
    ],
)
def test_upload_refuses_a_serving_image_not_pinned_by_digest(image):
    with pytest.raises(UserError, match=r"tenants.serving_image: .* is not pinned by digest"):
        requests.upload_request(**{**COMMON, "serving_image": image}, parent_model=None)


def test_upload_is_a_new_version_of_the_registered_model():
    common = COMMON
    parent = "projects/census-ml-prod/locations/europe-west4/models/census-income"
    r = requests.upload_request(**common, parent_model=parent)
    assert r["parent_model"] == parent and "model_id" not in r
    assert r["encryption_spec_key_name"] == KEY
    assert r["labels"] == {
        "run": "census-promotion-2026-11-21-10-00-00",
        "commit": "0123abcd",
        "candidate": "census-promotion-2026-11-21-10-00-00",
    }
    assert r["is_default_version"] is False
    assert (r["serving_container_predict_route"], r["serving_container_health_route"]) == (
        "/predict",
        "/health",
    )
    first = requests.upload_request(**common, parent_model=None)
    assert first["model_id"] == "census-income" and "parent_model" not in first


def test_an_automl_version_carries_its_trainer_and_automl_s_own_container():
    """AutoML's prediction container is Google's, named by the model's export (by its tag,
    as the export names it); the trainer label reaches the registry with the others."""
    image = "europe-docker.pkg.dev/vertex-ai/automl-tabular/prediction-server-v1"
    r = requests.upload_request(
        **{**COMMON, "serving_image": image},
        parent_model=None,
        prebuilt=True,
        trainer="vertex-automl-tabular",
    )
    assert r["serving_container_image_uri"] == image
    assert r["labels"]["trainer"] == "vertex-automl-tabular"


def test_deploy_request_and_traffic_mapping():
    traffic = requests.vertex_traffic({"1": 90, "2": 10}, {"1": "111"}, new="2")
    assert traffic == {"111": 90, "0": 10}
    r = requests.deploy_request(
        model_resource="m@2",
        traffic_split=traffic,
        machine_type="n1-standard-2",
        min_replicas=1,
        max_replicas=3,
        service_account="census-serving@census-ml-prod.iam.gserviceaccount.com",
    )
    assert r["traffic_split"] == {"111": 90, "0": 10}
    assert r["service_account"].startswith("census-serving@")
    assert (r["min_replica_count"], r["max_replica_count"]) == (1, 3)


def test_monitoring_job_covers_every_feature_with_settings_thresholds():
    p = params.build(load_platform(), "staging", {}, local=False)
    config = monitoring_config(
        endpoint_id=p.tenants.endpoint_id,
        baseline_uri="gs://census-ml-prod-data/census-income/r/baseline.json",
        monitoring=p.monitoring,
        kms_key=p.tenants.prod_kms_key,
    )
    o = requests.monitoring_objectives(config)
    assert o["skew"]["data_source"] == "gs://census-ml-prod-data/census-income/r/train.csv"
    assert len(o["skew"]["skew_thresholds"]) == 14 and len(o["drift"]["drift_thresholds"]) == 14
    assert o["skew"]["target_field"] == "income_bracket"
    assert o["skew"]["skew_thresholds"]["fnlwgt"] == 0.15
    assert o["alert"]["user_emails"] == ["ml-platform-oncall@example.com"]
    job = requests.monitoring_job_request(
        config,
        endpoint="projects/census-ml-prod/locations/europe-west4/endpoints/4242000001",
        project="census-ml-prod",
        region="europe-west4",
    )
    assert job["encryption_spec_key_name"] == p.tenants.prod_kms_key
    skew = job["objective_configs"].skew_detection_config
    assert skew.data_source.endswith("train.csv") and skew.skew_thresholds["age"] == 0.1
    assert job["logging_sampling_strategy"].sample_rate == 0.8
    assert job["schedule_config"].monitor_interval == 1
    assert job["alert_config"].user_emails == ["ml-platform-oncall@example.com"]


@pytest.mark.parametrize(("canary", "attempts"), [(100, 1), (50, 10), (10, 66), (1, 500)])
def test_smoke_attempts_make_a_canary_answer(canary, attempts):
    assert smoke_attempts(canary) == attempts


def test_label_values_are_vertex_safe():
    assert label_value("Feature/ABC_1.2") == "feature-abc_1-2"
    assert len(label_value("x" * 100)) == 63
    assert label_value("") == "none"


# The run log on Vertex AI Experiments --------------------------------------------------------


def test_run_context_ids_follow_the_sdk_and_vertex_rules():
    assert requests.run_context_id("census-promotion-20261122") == (
        "census-income-census-promotion-20261122"
    )
    assert requests.run_context_id("Run_7 (retry)") == "census-income-run-7-retry"
    long = requests.run_context_id("x" * 300)
    assert len(long) == 121 and long.startswith("census-income-xxx")
    assert requests.metadata_store("p", "europe-west4") == (
        "projects/p/locations/europe-west4/metadataStores/default"
    )
    assert requests.experiment_context()["schema_title"] == "system.Experiment"
    run = requests.run_context("census-promotion-1")
    assert (run["display_name"], run["schema_title"]) == (
        "census-promotion-1",
        "system.ExperimentRun",
    )


def test_run_metadata_keeps_each_step_exactly_and_rebuilds_the_console_keys():
    facts = {
        "commit": "abc",
        "parameters": {"training": {"num_boost_round": 1200}, "monitoring": {"emails": ["a@b"]}},
        "splits": {"train": {"rows": 32561, "checksum": None}},
    }
    first = requests.run_metadata({}, "ingest", facts, "2026-11-22T09:00:00+00:00")
    assert first["_state"] == "RUNNING"
    assert first["_params"] == {
        "commit": "abc",
        "parameters.training.num_boost_round": 1200,
        "splits.train.rows": 32561,
    }  # lists and nulls are left to the step's own record
    second = requests.run_metadata(
        {**first, "unrelated": 1},
        "decide",
        {"deploy": False, "reason": "does not beat the champion"},
        "2026-11-22T09:05:00+00:00",
    )
    assert "unrelated" not in second and second["_state"] == "COMPLETE"  # KEEP ends the run
    evaluated = requests.run_metadata(second, "evaluate", {"metrics": {"roc_auc": 0.93}}, "t")
    assert evaluated["_metrics"] == {"metrics.roc_auc": 0.93}
    assert evaluated["_params"]["deploy"] is False
    context = {"displayName": "run-1", "metadata": second}
    records = {r.step: r for r in requests.step_records(context)}
    assert records["ingest"].facts == facts  # ints stay ints, nulls stay null
    assert records["ingest"].run_id == "run-1"
    assert records["decide"].recorded_at.isoformat() == "2026-11-22T09:05:00+00:00"
    assert requests.step_records({"displayName": "r", "metadata": {"_state": "RUNNING"}}) == []
    with pytest.raises(ValueError):  # NaN is not JSON: refused when recorded, not when read
        requests.run_metadata({}, "evaluate", {"metrics": {"roc_auc": float("nan")}}, "t")


def test_the_runs_filter_is_the_experiments_children():
    experiment = "projects/p/locations/r/metadataStores/default/contexts/census-income"
    assert requests.runs_filter(experiment) == (
        f'schema_title="system.ExperimentRun" AND parent_contexts:"{experiment}"'
    )


def test_a_version_with_an_on_device_model_is_labelled_with_it():
    common = {
        "artifact_uri": "gs://m/census-income/run-1/model",
        "serving_image": f"europe-west4-docker.pkg.dev/p/r/serving@sha256:{'a' * 64}",
        "parent_model": None,
        "project": "p",
        "region": "europe-west4",
        "kms_key": "k",
        "run_id": "run-1",
        "commit": "abc",
        "candidate": "run-1",
    }
    labelled = requests.upload_request(**common, on_device="model-onnx")
    assert labelled["labels"]["on-device"] == "model-onnx"
    assert "on-device" not in requests.upload_request(**common)["labels"]


def test_an_approved_candidate_is_announced_as_one_message():
    import base64
    import json

    from promotion.domain.checksums import digest
    from promotion.steps.approval import Approval, announce

    sent = []

    def publish(attributes, data):
        sent.append(requests.publish_request("projects/p/topics/t", attributes, data))
        return "17"

    files = {"model/model.json": "a" * 64}
    approval = Approval(
        "gs://b/census-income/candidates/run-1", "run-1", "abc", "img@sha256:0", "x", files,
        digest(files),
    )  # fmt: skip
    assert announce(approval, publish) == "17"
    ((request),) = sent
    assert request["path"] == "/v1/projects/p/topics/t:publish"
    (message,) = request["json"]["messages"]
    assert message["attributes"] == {
        "candidate": approval.candidate_uri, "run_id": "run-1", "digest": digest(files)
    }  # fmt: skip
    record = json.loads(base64.b64decode(message["data"]))
    assert record["candidate_uri"] == approval.candidate_uri and record["commit"] == "abc"
