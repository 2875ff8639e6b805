"""The real env tenant_stacks, synthesized once per session."""

import pytest
from stack_json import resources_of

from settings import service_agent_email

pytestmark = pytest.mark.slow  # synthesizes the stacks or starts the simulated cloud


def test_backend_providers_and_outputs(tenant_stacks, platform):
    for env, stack in tenant_stacks.items():
        s = platform[env]
        assert stack["terraform"]["backend"] == {
            "gcs": {"bucket": s.state_bucket, "prefix": f"census-ml/{env}"}
        }
        assert set(stack["provider"]) == {"google", "google-beta"}
        outputs = stack["output"]
        builds = () if s.role == "prod" else (
            "bucket_pipeline_root", "image_repository", "service_account_build"
        )  # fmt: skip
        for name in ("project_id", "region", "kms_key_vertex", "bucket_models",
                     "bigquery_dataset", "metadata_store", *builds):  # fmt: skip
            assert name in outputs, (env, name)
        if s.role == "prod":  # it builds nothing: no registry, pipeline root or build identity
            assert not {"image_repository", "bucket_pipeline_root", "bucket_templates",
                        "service_account_build", "kms_key_artifacts"} & outputs.keys()  # fmt: skip
        assert outputs["project_id"]["value"] == s.project_id
    assert "endpoint" in tenant_stacks["prod"]["output"]
    assert "service_account_pipeline" in tenant_stacks["staging"]["output"]
    assert "service_account_deployer" in tenant_stacks["prod"]["output"]


def test_only_prod_has_the_endpoint(tenant_stacks):
    assert len(resources_of(tenant_stacks["prod"], "google_vertex_ai_endpoint")) == 1
    assert not resources_of(tenant_stacks["staging"], "google_vertex_ai_endpoint")


def test_every_service_agent_is_created_before_its_grant(tenant_stacks, platform):
    for env, stack in tenant_stacks.items():
        agents = {a["service"] for a in resources_of(stack, "google_project_service_identity")}
        retraining = (
            {
                "pubsub.googleapis.com",
                "cloudfunctions.googleapis.com",
                "run.googleapis.com",
                "eventarc.googleapis.com",
            }  # the function's trigger is made by Eventarc's agent
            if env == "staging"
            else set()
        )
        registry = set() if env == "prod" else {"artifactregistry.googleapis.com"}
        assert agents == {"aiplatform.googleapis.com", *registry, *retraining}
        # Cloud Storage: the data source the provider documents for its agent; BigQuery's
        # agent the bootstrap asked for (its data source needs bigquery.jobs.create).
        data = stack["data"]
        assert set(data) == {"google_storage_project_service_account"}
        key_grants = resources_of(stack, "google_kms_crypto_key_iam_member")
        for purpose, source in (
            ("vertex", "google_project_service_identity."),
            ("storage", "data.google_storage_project_service_account."),
        ):
            agent = service_agent_email(purpose, platform[env].project_number)
            grant = next(g for g in key_grants if g["member"] == f"serviceAccount:{agent}")
            assert any(d.startswith(source) for d in grant["depends_on"]), purpose
        bigquery = service_agent_email("bigquery", platform[env].project_number)
        assert any(g["member"] == f"serviceAccount:{bigquery}" for g in key_grants)


def test_no_default_identities_anywhere(tenant_stacks):
    for stack in tenant_stacks.values():
        text = str(stack)
        assert "developer.gserviceaccount.com" not in text
        assert "@cloudbuild.gserviceaccount.com" not in text


def test_prod_alerts_on_endpoint_error_rate_and_latency(tenant_stacks, platform):
    prod = platform["prod"]
    policies = {
        p["display_name"]: p
        for p in resources_of(tenant_stacks["prod"], "google_monitoring_alert_policy")
    }
    assert set(policies) == {
        "census-income endpoint: error rate",
        "census-income endpoint: p99 latency",
    }
    error = policies["census-income endpoint: error rate"]["conditions"][0]["condition_threshold"]
    assert error["threshold_value"] == prod.serving.alerts.error_rate
    assert 'endpoint_id = "4242000001"' in error["filter"] and "error_count" in error["filter"]
    assert "prediction_count" in error["denominator_filter"]
    latency = policies["census-income endpoint: p99 latency"]["conditions"][0][
        "condition_threshold"
    ]
    assert latency["threshold_value"] == prod.serving.alerts.latency_p99_ms
    assert latency["aggregations"][0]["per_series_aligner"] == "ALIGN_PERCENTILE_99"
    channels = resources_of(tenant_stacks["prod"], "google_monitoring_notification_channel")
    assert [c["labels"]["email_address"] for c in channels] == prod.monitoring.emails
    for policy in policies.values():
        assert len(policy["notification_channels"]) == len(channels)
    assert not resources_of(tenant_stacks["staging"], "google_monitoring_alert_policy")


def test_data_access_is_audited_for_storage_keys_and_vertex(tenant_stacks):
    for stack in tenant_stacks.values():
        configs = {c["service"]: c for c in resources_of(stack, "google_project_iam_audit_config")}
        assert set(configs) == {
            "storage.googleapis.com",
            "cloudkms.googleapis.com",
            "aiplatform.googleapis.com",
        }
        for config in configs.values():
            kinds = {c["log_type"] for c in config["audit_log_config"]}
            assert kinds == {"ADMIN_READ", "DATA_READ", "DATA_WRITE"}


def test_the_function_source_names_its_bucket_by_reference(tenant_stacks):
    (source,) = resources_of(tenant_stacks["staging"], "google_storage_bucket_object")
    assert source["bucket"].startswith("${google_storage_bucket.")
    (function,) = resources_of(tenant_stacks["staging"], "google_cloudfunctions2_function")
    assert function["build_config"]["source"]["storage_source"]["bucket"].startswith(
        "${google_storage_bucket."
    )


def test_the_function_source_is_addressed_by_content_and_never_replaced(tmp_path):
    """Two synths at once each read a whole folder: the second finds the first's, by its
    contents, and leaves it in place (a swap there broke a concurrent synth's asset copy)."""
    from infra import function_source

    first = function_source.assemble(tmp_path / "staging")
    marker = first / "main.py"
    inode = marker.stat().st_ino
    second = function_source.assemble(tmp_path / "staging")
    assert second == first and first.name.startswith("staging-")
    assert marker.stat().st_ino == inode  # the same file: nothing was swapped under a reader
    assert (first / "requirements.txt").read_text().strip()
