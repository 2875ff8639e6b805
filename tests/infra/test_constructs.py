"""Each construct alone, through cdktf's own Testing.synth and matchers."""

from __future__ import annotations

import json

import pytest
from cdktf import TerraformStack, Testing
from cdktf_cdktf_provider_google.artifact_registry_repository import ArtifactRegistryRepository
from cdktf_cdktf_provider_google.bigquery_dataset import BigqueryDataset
from cdktf_cdktf_provider_google.kms_crypto_key import KmsCryptoKey
from cdktf_cdktf_provider_google.project_iam_audit_config import ProjectIamAuditConfig
from cdktf_cdktf_provider_google.project_service import ProjectService
from cdktf_cdktf_provider_google.provider import GoogleProvider
from cdktf_cdktf_provider_google.service_account import ServiceAccount
from cdktf_cdktf_provider_google.storage_bucket import StorageBucket
from cdktf_cdktf_provider_google.vertex_ai_endpoint import VertexAiEndpoint
from stack_json import resources_of

from infra.constructs.apis import RequiredApis, apis_for
from infra.constructs.audit import DataAccessAuditLogs
from infra.constructs.beta import GoogleBetaProvider, ProjectServiceIdentity, VertexAiMetadataStore
from infra.constructs.grants import IamGrants
from infra.constructs.identities import ServiceAccounts
from infra.constructs.kms import CmekKeys
from infra.constructs.registry import Registries, Repository
from infra.constructs.storage import Buckets, lifecycle_rules
from infra.constructs.vertex import Endpoint, MetadataStore
from infra.constructs.warehouse import Warehouse
from infra.iam import Grant
from infra.stack import (
    alerts_props,
    buckets_props,
    keys_props,
    place_of,
    retraining_props,
    triggers_props,
)

pytestmark = pytest.mark.slow  # synthesizes through jsii (a node process)

KEY = "projects/p/locations/europe-west4/keyRings/r/cryptoKeys/k"


def synth(build) -> str:
    """Synthesize a stack holding just what `build(stack, beta)` adds."""
    app = Testing.app()
    stack = TerraformStack(app, "test")
    GoogleProvider(stack, "google", project="p")
    beta = GoogleBetaProvider(stack, "google-beta", project="p", region="europe-west4")
    build(stack, beta)
    return Testing.synth(stack)


def has(synthesized: str, resource_type: str, properties: dict) -> bool:
    return Testing.to_have_resource_with_properties(synthesized, resource_type, properties)


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_cmek_keys(platform, env):
    s = platform[env]
    out = synth(lambda stack, beta: CmekKeys(stack, "kms", keys_props(s), beta=beta))
    purposes = ("storage", "bigquery", "vertex", *(() if env == "prod" else ("artifacts",)))
    for purpose in (*purposes, "pubsub") if env == "staging" else purposes:
        assert has(
            out,
            KmsCryptoKey.TF_RESOURCE_TYPE,
            {"name": purpose, "rotation_period": "7776000s", "purpose": "ENCRYPT_DECRYPT"},
        )
    assert has(out, KmsCryptoKey.TF_RESOURCE_TYPE, {"name": "pubsub"}) is (env == "staging")
    assert has(out, KmsCryptoKey.TF_RESOURCE_TYPE, {"name": "artifacts"}) is (env != "prod")
    assert has(
        out,
        ProjectServiceIdentity.TF_RESOURCE_TYPE,
        {"service": "aiplatform.googleapis.com", "provider": "google-beta"},
    )
    keys = resources_of(json.loads(out), KmsCryptoKey.TF_RESOURCE_TYPE)
    assert {k["lifecycle"]["prevent_destroy"] for k in keys} == {env != "dev"}


def test_service_accounts(platform):
    prod = platform["prod"]
    out = synth(
        lambda stack, beta: ServiceAccounts(
            stack, "ids", place_of(prod), accounts=dict(prod.service_accounts)
        )
    )
    accounts = (
        "census-deployer",
        "census-reader",
        "census-serving",
        "census-infra",
        "census-planner",
    )
    for account in accounts:
        assert has(
            out,
            ServiceAccount.TF_RESOURCE_TYPE,
            {"account_id": account, "project": "census-ml-prod"},
        )
    assert len(resources_of(json.loads(out), ServiceAccount.TF_RESOURCE_TYPE)) == len(accounts)


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_buckets_are_cmek_private_versioned(platform, env):
    s = platform[env]
    out = synth(lambda stack, beta: Buckets(stack, "b", buckets_props(s), kms_key_name=KEY))
    for name in (*s.buckets.by_purpose().values(), s.state_bucket):
        assert has(
            out,
            StorageBucket.TF_RESOURCE_TYPE,
            {
                "name": name,
                "encryption": {"default_kms_key_name": KEY},
                "uniform_bucket_level_access": True,
                "public_access_prevention": "enforced",
                "versioning": {"enabled": True},
                "force_destroy": False,
            },
        )
    protected = {
        b["name"]
        for b in resources_of(json.loads(out), "google_storage_bucket")
        if b["lifecycle"]["prevent_destroy"]
    }
    expected = {s.buckets.models, s.state_bucket} if env == "prod" else {s.state_bucket}
    assert protected == expected


def test_lifecycle_rules_are_synthesized_intact(platform):
    s = platform["staging"]
    out = synth(lambda stack, beta: Buckets(stack, "b", buckets_props(s), kms_key_name=KEY))
    root = next(
        b
        for b in resources_of(json.loads(out), "google_storage_bucket")
        if b["name"] == s.buckets.pipeline_root
    )
    assert root["lifecycle_rule"] == lifecycle_rules("pipeline_root", buckets_props(s))
    assert root["lifecycle_rule"][1]["condition"] == {"age": 30, "with_state": "LIVE"}


def test_warehouse_has_default_cmek(platform):
    s = platform["staging"]
    out = synth(
        lambda stack, beta: Warehouse(
            stack, "w", place_of(s), dataset_id=s.bigquery_dataset, kms_key_name=KEY
        )
    )
    assert has(
        out,
        BigqueryDataset.TF_RESOURCE_TYPE,
        {
            "dataset_id": "census",
            "location": "europe-west4",
            "default_encryption_configuration": {"kms_key_name": KEY},
        },
    )


def test_registries_keep_their_kind_as_id_and_tags_immutable_unless_told(platform):
    s = platform["staging"]
    out = synth(
        lambda stack, beta: Registries(
            stack,
            "r",
            place_of(s),
            [
                Repository("images", "census-images", "DOCKER", "images", KEY),
                Repository("templates", "census-pipelines", "KFP", "templates", KEY),
                Repository("functions", "fns", "DOCKER", "f", "k2", immutable_tags=False),
            ],
            depends_on={},
        )
    )
    repos = json.loads(out)["resource"][ArtifactRegistryRepository.TF_RESOURCE_TYPE]
    # logical ids come from the kind, so renaming a repository never re-creates another
    assert sorted(name.rsplit("_", 1)[0] for name in repos) == [
        "r_functions",
        "r_images",
        "r_templates",
    ]
    assert has(
        out,
        ArtifactRegistryRepository.TF_RESOURCE_TYPE,
        {
            "repository_id": "census-images",
            "format": "DOCKER",
            "kms_key_name": KEY,
            "docker_config": {"immutable_tags": True},
        },
    )
    assert has(
        out,
        ArtifactRegistryRepository.TF_RESOURCE_TYPE,
        {"repository_id": "census-pipelines", "format": "KFP", "kms_key_name": KEY},
    )
    assert has(
        out,
        ArtifactRegistryRepository.TF_RESOURCE_TYPE,
        {"repository_id": "fns", "kms_key_name": "k2", "docker_config": {"immutable_tags": False}},
    )


def test_metadata_store_is_default_with_cmek_on_beta(platform):
    s = platform["staging"]
    out = synth(
        lambda stack, beta: MetadataStore(stack, "m", place_of(s), kms_key_name=KEY, beta=beta)
    )
    assert has(
        out,
        VertexAiMetadataStore.TF_RESOURCE_TYPE,
        {
            "name": "default",
            "region": "europe-west4",
            "encryption_spec": {"kms_key_name": KEY},
            "provider": "google-beta",
        },
    )


def test_endpoint_has_fixed_id_and_cmek(platform):
    prod = platform["prod"]
    out = synth(
        lambda stack, beta: Endpoint(
            stack, "e", place_of(prod), endpoint_id="4242000001", kms_key_name=KEY
        )
    )
    assert has(
        out,
        VertexAiEndpoint.TF_RESOURCE_TYPE,
        {
            "name": "4242000001",
            "encryption_spec": {"kms_key_name": KEY},
        },
    )


def test_required_apis_and_audit_logs(platform):
    s = platform["dev"]

    def build(stack, beta):
        RequiredApis(stack, "apis", project=s.project_id, apis=apis_for(s.role))
        DataAccessAuditLogs(stack, "audit", project=s.project_id)

    out = synth(build)
    for api in apis_for(s.role):
        assert has(
            out, ProjectService.TF_RESOURCE_TYPE, {"service": api, "disable_on_destroy": False}
        )
    assert has(
        out,
        ProjectIamAuditConfig.TF_RESOURCE_TYPE,
        {
            "service": "storage.googleapis.com",
            "audit_log_config": [
                {"log_type": "ADMIN_READ"},
                {"log_type": "DATA_READ"},
                {"log_type": "DATA_WRITE"},
            ],
        },
    )


def test_iam_grants_make_one_member_resource_per_kind(platform):
    s = platform["staging"]
    sa = "serviceAccount:x@p.iam.gserviceaccount.com"
    grants = [
        Grant("p", "project", "p", "roles/logging.logWriter", sa),
        Grant("p", "bucket", "b1", "roles/storage.objectViewer", sa),
        Grant("p", "dataset", "census", "roles/bigquery.dataEditor", sa),
        Grant("p", "repository", "census-images", "roles/artifactregistry.reader", sa),
        Grant(
            "p",
            "service_account",
            "y@p.iam.gserviceaccount.com",
            "roles/iam.serviceAccountUser",
            sa,
        ),
        Grant("p", "key", KEY, "roles/cloudkms.cryptoKeyEncrypterDecrypter", sa),
    ]
    out = synth(lambda stack, beta: IamGrants(stack, "iam", grants, region=s.region, depends_on={}))
    common = {"member": sa}
    assert has(out, "google_project_iam_member", {**common, "project": "p"})
    assert has(out, "google_storage_bucket_iam_member", {**common, "bucket": "b1"})
    assert has(out, "google_bigquery_dataset_iam_member", {**common, "dataset_id": "census"})
    assert has(
        out,
        "google_artifact_registry_repository_iam_member",
        {**common, "repository": "census-images", "location": "europe-west4"},
    )
    assert has(
        out,
        "google_service_account_iam_member",
        {**common, "service_account_id": "projects/p/serviceAccounts/y@p.iam.gserviceaccount.com"},
    )
    assert has(out, "google_kms_crypto_key_iam_member", {**common, "crypto_key_id": KEY})
    with pytest.raises(ValueError, match="unknown grant kind 'folder'"):
        synth(
            lambda stack, beta: IamGrants(
                stack, "iam", [Grant("p", "folder", "f", "roles/x", sa)], region="r", depends_on={}
            )
        )


def test_beta_wrappers_synthesize_exactly_what_the_prebuilt_bindings_do():
    """infra/constructs/beta.py stands in for the prebuilt google-beta package; prove it."""
    from infra.providers import register_lazily

    register_lazily("cdktf_cdktf_provider_google_beta")
    from cdktf_cdktf_provider_google_beta import provider as prebuilt_provider
    from cdktf_cdktf_provider_google_beta.google_project_service_identity import (
        GoogleProjectServiceIdentity,
    )
    from cdktf_cdktf_provider_google_beta.google_vertex_ai_metadata_store import (
        GoogleVertexAiMetadataStore,
    )

    def ours(stack):
        beta = GoogleBetaProvider(stack, "gb", project="p", region="europe-west4")
        ProjectServiceIdentity(
            stack, "agent", project="p", service="aiplatform.googleapis.com", provider=beta
        )
        VertexAiMetadataStore(
            stack,
            "store",
            project="p",
            region="europe-west4",
            name="default",
            description="d",
            kms_key_name=KEY,
            provider=beta,
        )

    def prebuilt(stack):
        beta = prebuilt_provider.GoogleBetaProvider(stack, "gb", project="p", region="europe-west4")
        GoogleProjectServiceIdentity(
            stack, "agent", project="p", service="aiplatform.googleapis.com", provider=beta
        )
        GoogleVertexAiMetadataStore(
            stack,
            "store",
            project="p",
            region="europe-west4",
            name="default",
            description="d",
            encryption_spec={"kms_key_name": KEY},
            provider=beta,
        )

    def alone(build) -> dict:
        app = Testing.app()
        stack = TerraformStack(app, "beta")
        build(stack)
        return json.loads(Testing.synth(stack))

    assert alone(ours) == alone(prebuilt)


def test_endpoint_alerts(platform):
    from cdktf_cdktf_provider_google.monitoring_alert_policy import MonitoringAlertPolicy
    from cdktf_cdktf_provider_google.monitoring_notification_channel import (
        MonitoringNotificationChannel,
    )

    from infra.constructs.alerts import EndpointAlerts

    prod = platform["prod"]
    out = synth(lambda stack, beta: EndpointAlerts(stack, "alerts", alerts_props(prod)))
    assert has(
        out,
        MonitoringNotificationChannel.TF_RESOURCE_TYPE,
        {"type": "email", "labels": {"email_address": prod.monitoring.emails[0]}},
    )
    assert has(
        out,
        MonitoringAlertPolicy.TF_RESOURCE_TYPE,
        {"display_name": "census-income endpoint: p99 latency", "combiner": "OR"},
    )


def test_build_triggers(platform):
    from cdktf_cdktf_provider_google.cloudbuild_trigger import CloudbuildTrigger

    from infra.constructs.cicd import BuildTriggers

    prod = platform["prod"]
    out = synth(lambda stack, beta: BuildTriggers(stack, "t", triggers_props(prod)))
    assert has(
        out,
        CloudbuildTrigger.TF_RESOURCE_TYPE,
        {
            "name": "census-infra-apply",
            "filename": "cloudbuild/infra.yaml",
            "github": {"owner": "census-ml", "name": "census-mlops", "push": {"branch": "^main$"}},
            "substitutions": {"_ENV": "prod", "_APPLY": "save"},
        },
    )
    assert has(  # the apply of the saved plan: started by that build, approved by a person
        out,
        CloudbuildTrigger.TF_RESOURCE_TYPE,
        {
            "name": "census-infra-apply-approved",
            "approval_config": {"approval_required": True},
            "git_file_source": {"path": "cloudbuild/infra.yaml"},
            "substitutions": {"_ENV": "prod", "_APPLY": "saved", "_PLANS": ""},
        },
    )
    assert not has(out, CloudbuildTrigger.TF_RESOURCE_TYPE, {"name": "census-promotion"})


@pytest.mark.slow
def test_retraining(platform):
    from cdktf_cdktf_provider_google.cloud_scheduler_job import CloudSchedulerJob
    from cdktf_cdktf_provider_google.cloudfunctions2_function import Cloudfunctions2Function
    from cdktf_cdktf_provider_google.pubsub_topic import PubsubTopic

    from infra.constructs.retraining import Retraining

    s = platform["staging"]
    out = synth(
        lambda stack, beta: Retraining(
            stack,
            "r",
            retraining_props(s),
            topic_key=KEY,
            function_key="function-key",
            source_bucket="b",
            image_repository="repo",
            beta=beta,
        )
    )
    assert has(
        out, PubsubTopic.TF_RESOURCE_TYPE, {"name": "census-retraining", "kms_key_name": KEY}
    )
    assert has(
        out,
        CloudSchedulerJob.TF_RESOURCE_TYPE,
        {"schedule": "0 3 * * 1", "time_zone": "Etc/UTC", "region": "europe-west4"},
    )
    assert has(
        out,
        Cloudfunctions2Function.TF_RESOURCE_TYPE,
        {
            "name": "census-retrain",
            "kms_key_name": "function-key",
            "build_config": {
                "runtime": "python311",
                "entry_point": "on_message",
                "docker_repository": "repo",
            },
        },
    )
    resources = json.loads(out)["resource"]
    (function,) = resources[Cloudfunctions2Function.TF_RESOURCE_TYPE].values()
    (agent,) = resources["google_project_service_identity"].keys()
    assert f"google_project_service_identity.{agent}" in function["depends_on"]
    assert resources["google_project_service_identity"][agent]["service"] == (
        "eventarc.googleapis.com"
    )
