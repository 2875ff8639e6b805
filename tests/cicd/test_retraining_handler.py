"""The retraining function, called as Cloud Run would call it, with CloudEvent-shaped input."""

from __future__ import annotations

import base64
import copy
import json

import pytest
import yaml

from pipelines import params, submit
from pipelines.trigger import handler
from settings import load_platform

PLATFORM = load_platform()
NOW = 1_795_000_000.0
PATH = "/tmp/template/census-promotion.yaml"
SERVING = "europe-west4-docker.pkg.dev/census-ml-staging/census-images/serving@sha256:" + "d" * 64


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The compiled Vertex template as the staging build publishes it: some defaults differ
    from today's settings (an older commit), and the function must keep them."""
    from pipelines.compile import compile_to

    out = tmp_path_factory.mktemp("template") / "t.yaml"
    older = params.build(
        PLATFORM,
        "staging",
        {"bars.min_accuracy": 0.8, "tenants.serving_image": SERVING},
        local=False,
    )
    compile_to(PLATFORM, "vertex", "staging", older, out, image_tag="0123abc")
    return yaml.safe_load(out.read_text())


def handle(body, template, sent, logged):
    return handler.handle(
        event(body),
        PLATFORM,
        "staging",
        template=lambda: (template, PATH),
        send=lambda *a: sent.append(a),
        log=logged.append,
    )


def event(body) -> dict:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return {
        "message": {"data": base64.b64encode(data).decode(), "messageId": "1"},
        "subscription": "projects/census-ml-staging/subscriptions/x",
    }


def test_a_good_message_gives_the_exact_pipeline_job_request(template):
    body = {
        "parameters": {
            "data.train_data_uri": "gs://census-ml-staging-data/census/2026-11.csv",
            "training": {"num_leaves": 31},
            "bars": {"min_roc_auc": 0.93, "max_slice_gap": 0.15},  # stricter, or the same
        },
        "reason": "new data",
    }
    request, account = handler.build_job(event(body), PLATFORM, "staging", template, PATH, now=NOW)
    overrides = {"bars.min_accuracy": 0.8, **body["parameters"]}
    expected_params = params.build(PLATFORM, "staging", overrides, local=False)
    expected, expected_account = submit.build_request(
        PLATFORM, "staging", expected_params, PATH, now=NOW
    )
    expected["labels"]["trigger"] = "pubsub"
    expected["template"] = template  # the template read once, sent as read
    assert request == expected and account == expected_account
    assert request["template_path"] == PATH
    # The template's own defaults stand where the message says nothing.
    assert request["parameter_values"]["bars"]["min_accuracy"] == 0.8
    assert request["parameter_values"]["training"]["num_leaves"] == 31
    assert request["parameter_values"]["bars"]["min_roc_auc"] == 0.93
    assert request["parameter_values"]["training"]["learning_rate"] == 0.02
    assert request["parameter_values"]["data"]["test_data_uri"].endswith("/adult.test")
    assert request["encryption_spec_key_name"].endswith("/cryptoKeys/vertex")
    assert account == "census-pipeline@census-ml-staging.iam.gserviceaccount.com"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"parameters": {"learning_speed": 3}}, "unknown pipeline parameter 'learning_speed'"),
        ({"parameters": {"training.speed": 3}}, "training.speed: Extra inputs are not permitted"),
        (
            {"parameters": {"tenants": {"deployer_service_account": "evil@x"}}},
            "set by settings, not by messages: tenants.deployer_service_account",
        ),
        (
            {"parameters": {"rollout.machine_type": "a2-megagpu-16g"}},
            "set by settings, not by messages: rollout.machine_type",
        ),
        (
            {"parameters": {"rollout": {"canary_percent": 100}}},  # all of prod's traffic
            "set by settings, not by messages: rollout.canary_percent",
        ),
        (
            {"parameters": {"rollout.versions_kept": 1}},
            "set by settings, not by messages: rollout.versions_kept",
        ),
        (  # every bar at its loosest: any model would deploy
            {"parameters": {"bars": {"min_roc_auc": 0, "min_accuracy": 0, "max_slice_gap": 1}}},
            "a message may only make a bar stricter: bars.min_roc_auc 0 is lower than the "
            "template's 0.92; bars.min_accuracy 0 is lower than the template's 0.8; "
            "bars.max_slice_gap 1 is higher than the template's 0.15",
        ),
        (
            {"parameters": {"bars.min_roc_auc": 2}},
            "bars.min_roc_auc: Input should be less than or equal to 1",
        ),
        ({"parameters": [1, 2]}, 'expected {"parameters"'),
        (b'{"parameters": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nested too deeply"),
        ({"parameters": {"trainer": "both"}}, "set by settings, not by messages: trainer"),
        # the template's own commit: labels and lineage must not name another
        ({"parameters": {"commit": "c0ffee"}}, "set by settings, not by messages: commit"),
        (
            {"parameters": {"data.train_data_uri": "file:///etc/passwd"}},
            "file:///etc/passwd: local files are not read here",
        ),
        (
            {"parameters": {"data.train_data_uri": "/proc/self/environ"}},
            "/proc/self/environ: local files are not read here",
        ),
        (
            {
                "parameters": {
                    "data.test_data_uri": "http://metadata.google.internal/computeMetadata/v1/"
                    "instance/service-accounts/default/token"
                }
            },
            "not a data location this platform reads",
        ),
        (
            {"parameters": {"data.train_data_uri": "gs://census-ml-prod-data/census/adult.data"}},
            "data must be in the tenant's data bucket (gs://census-ml-staging-data/...)",
        ),
        (
            {"parameters": {"data.train_data_uri": "gs://u:pw@census-ml-staging-data/x"}},
            "gs://***@census-ml-staging-data/x: data must be in the tenant's data bucket",
        ),
        (b"not json", "not base64-encoded JSON"),
    ],
)
def test_a_bad_message_is_logged_and_starts_nothing(template, body, message):
    sent, logged = [], []
    result = handle(body, template, sent, logged)
    assert result is None and sent == []
    assert logged[0]["severity"] == "ERROR" and message in logged[0]["message"]


def test_a_template_serving_an_image_by_tag_starts_nothing(template):
    by_tag = copy.deepcopy(template)
    for images in (by_tag["root"]["dag"]["tasks"], by_tag["components"]):
        text = yaml.safe_dump(images).replace(SERVING, SERVING.split("@")[0] + ":latest")
        images.clear()
        images.update(yaml.safe_load(text))
    assert params.compiled_serving_images(by_tag) == {SERVING.split("@")[0] + ":latest"}
    sent, logged = [], []
    assert handle({"parameters": {}}, by_tag, sent, logged) is None and sent == []
    assert "is not pinned by digest" in logged[0]["message"] and PATH in logged[0]["message"]


def test_not_a_pubsub_event_is_refused():
    with pytest.raises(handler.BadMessage, match=r"no message\.data"):
        handler.decode({"hello": "world"})


def test_a_template_defaulting_to_both_trainers_starts_its_run(template):
    """A staging settings.toml with trainer = "both" compiles into the template's defaults;
    the function starts that run as it starts any other (the AutoML branch runs on Vertex)."""
    both = copy.deepcopy(template)
    both["root"]["inputDefinitions"]["parameters"]["trainer"]["defaultValue"] = "both"
    sent, logged = [], []
    handle({"parameters": {}}, both, sent, logged)
    assert len(sent) == 1, logged


def anomaly_entry(count: int) -> dict:
    """What prod's log sink publishes: Model Monitoring's anomaly entry (enable_logging)."""
    stats = [
        {"featureDisplayName": "age", "predictionStats": [{"anomalies": [{"value": 0.16}]}]},
        {"featureDisplayName": "sex", "predictionStats": [{"anomalies": []}]},
    ]
    return {
        "logName": "projects/census-ml-prod/logs/"
        "aiplatform.googleapis.com%2Fmodel_monitoring_anomaly",
        "resource": {
            "type": "aiplatform.googleapis.com/ModelDeploymentMonitoringJob",
            "labels": {"model_deployment_monitoring_job": "77"},
        },
        "jsonPayload": {
            "objective": "RAW_FEATURE_SKEW",
            "deployedModelId": "1000004",
            "anomalyCount": count,
            "featureStats": stats if count else [],
        },
    }


def test_a_monitoring_anomaly_starts_a_run_with_the_templates_defaults(template):
    sent, logged = [], []
    request = handle(anomaly_entry(1), template, sent, logged)
    assert request is not None and len(sent) == 1
    assert request["labels"]["trigger"] == "monitoring-anomaly"
    defaults = params.template_defaults(template)
    assert request["parameter_values"]["bars"] == defaults["bars"]  # nothing overridden
    assert logged[0]["reason"] == (
        "model monitoring: 1 raw feature skew anomaly (age) in monitoring job 77"
    )


def test_a_log_entry_without_anomalies_starts_nothing_and_is_no_error(template):
    sent, logged = [], []
    assert handle(anomaly_entry(0), template, sent, logged) is None and sent == []
    assert logged[0]["severity"] == "INFO" and "nothing to retrain on" in logged[0]["message"]


def test_a_message_cannot_choose_its_trigger_label(template):
    sent, logged = [], []
    request = handle({"parameters": {}, "trigger": "monitoring-anomaly"}, template, sent, logged)
    assert request["labels"]["trigger"] == "pubsub"


def test_the_entries_of_one_analysis_make_one_run_id(template):
    """Skew and drift of one analysis are two entries (two messages): the same run id, so
    only the first creates a run (the function takes the second's 409 as started)."""
    sent, logged = [], []
    skew = {**anomaly_entry(1), "timestamp": "2026-12-03T17:00:00.123456Z"}
    drift = {**skew, "jsonPayload": {**skew["jsonPayload"], "objective": "RAW_FEATURE_DRIFT"}}
    first, second = (handle(e, template, sent, logged) for e in (skew, drift))
    assert first["job_id"] == second["job_id"]
    assert "20261203-170000" in first["job_id"]
    bad = {**skew, "timestamp": "yesterday"}
    assert handle(bad, template, sent, logged) is None
    assert "not an RFC 3339 time" in logged[-1]["message"]
