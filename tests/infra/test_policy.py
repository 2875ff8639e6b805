"""The policy gate: the real envs pass; a deliberately bad stack fails, rule by rule."""

from __future__ import annotations

import copy
import json

import pytest
from cdktf import TerraformStack, Testing
from cdktf_cdktf_provider_google.kms_crypto_key import KmsCryptoKey
from cdktf_cdktf_provider_google.kms_key_ring import KmsKeyRing
from cdktf_cdktf_provider_google.project_iam_member import ProjectIamMember
from cdktf_cdktf_provider_google.provider import GoogleProvider
from cdktf_cdktf_provider_google.storage_bucket import StorageBucket
from cdktf_cdktf_provider_google.storage_bucket_iam_member import StorageBucketIamMember

from infra.layout import env_of, is_cross_tenant
from infra.policy import rules
from infra.policy.checkov import parse_report, waiver_for
from infra.policy.gate import facts_for, judge
from kernel.errors import UserError

pytestmark = pytest.mark.slow  # synthesizes the stacks or starts the simulated cloud

PROTECTED = rules.StackFacts(protect_keys=True)


def test_all_envs_pass_the_gate(synthesized_files, platform):
    facts = {part: facts_for(platform, env_of(part)) for part in synthesized_files}
    verdicts = judge(synthesized_files, facts)
    for verdict in verdicts:
        assert verdict.ok, "\n".join(verdict.lines())
        if not is_cross_tenant(verdict.env):  # grants only there: fewer checks apply
            assert sum(f.passed for f in verdict.findings) > 50  # checkov really looked
    prod = next(v for v in verdicts if v.env == "prod")
    assert {f.check_id for f in prod.waived} == {"CKV_GCP_62", "CKV2_GCP_33"}


def bad_stack() -> str:
    """A stack that breaks many rules: what a careless change would look like."""
    app = Testing.app()
    stack = TerraformStack(app, "bad")
    GoogleProvider(stack, "google", project="p")
    ring = KmsKeyRing(stack, "ring", name="r", location="europe-west4")
    KmsCryptoKey(stack, "slow-key", name="k", key_ring=ring.id, rotation_period="31536000s")
    StorageBucket(
        stack,
        "leaky",
        name="leaky-bucket",
        location="EU",
        lifecycle_rule=[{"action": {"type": "Delete"}, "condition": {"num_newer_versions": 3}}],
    )
    ProjectIamMember(
        stack,
        "too-much",
        project="p",
        role="roles/editor",
        member="serviceAccount:123-compute@developer.gserviceaccount.com",
    )
    ProjectIamMember(
        stack,
        "admin",
        project="p",
        role="roles/storage.admin",
        member="serviceAccount:x@p.iam.gserviceaccount.com",
    )
    StorageBucketIamMember(
        stack, "public", bucket="leaky-bucket", role="roles/storage.objectViewer", member="allUsers"
    )
    return Testing.synth(stack)


def test_a_bad_stack_fails_the_gate_naming_resource_and_rule(tmp_path):
    path = tmp_path / "bad" / "cdk.tf.json"
    path.parent.mkdir()
    path.write_text(bad_stack())
    (verdict,) = judge({"prod": path}, {"prod": PROTECTED})
    assert not verdict.ok
    broken = {(v.rule, v.resource.split(".")[0]) for v in verdict.violations}
    assert broken >= {
        ("cmek", "google_storage_bucket"),
        ("bucket-ubla", "google_storage_bucket"),
        ("bucket-pap", "google_storage_bucket"),
        ("lifecycle-matches", "google_storage_bucket"),
        ("key-rotation", "google_kms_crypto_key"),
        ("key-prevent-destroy", "google_kms_crypto_key"),
        ("no-primitive-roles", "google_project_iam_member"),
        ("no-admin-roles", "google_project_iam_member"),
        ("no-default-identities", "google_project_iam_member"),
        ("no-public-members", "google_storage_bucket_iam_member"),
        ("storage-access-logged", "google_storage_bucket"),
    }
    failed_checks = {f.check_id for f in verdict.failed}
    assert {"CKV_GCP_29", "CKV_GCP_43"} <= failed_checks  # UBLA; rotation, by checkov itself
    text = "\n".join(verdict.lines())
    assert "FAIL google_storage_bucket.leaky: [cmek] no CMEK key" in text


def test_mlops_policy_exits_non_zero_on_failure(monkeypatch, tmp_path, capsys):
    from mlops import cli

    path = tmp_path / "cdk.tf.json"
    path.write_text(bad_stack())
    monkeypatch.setattr("infra.synth.synth", lambda envs: {"dev": path})
    assert cli.main(["policy", "--env", "dev"]) == 1
    out, err = capsys.readouterr()
    assert "[no-public-members] public member allUsers" in out
    assert err.strip() == "mlops policy: error: policy failed for dev"
    # the same verdict as one JSON document, for a script; the exit code the same
    assert cli.main(["policy", "--env", "dev", "--json"]) == 1
    out, err = capsys.readouterr()
    found = json.loads(out)
    assert found["passed"] is False and found["failed"] == ["dev"]
    (dev,) = found["stacks"]
    assert dev["ok"] is False and any("allUsers" in line for line in dev["lines"])


def test_each_rule_on_minimal_json():
    def stack(rtype: str, body: dict) -> dict:
        return {"resource": {rtype: {"x": body}}}

    ok_key = {"rotation_period": "7776000s", "lifecycle": {"prevent_destroy": True}}
    assert rules.check(stack("google_kms_crypto_key", ok_key), PROTECTED) == []
    assert (
        rules.check(stack("google_kms_crypto_key", {**ok_key, "rotation_period": None}), PROTECTED)[
            0
        ].message
        == "rotation unset > 90 days"
    )
    unprotected = {**ok_key, "lifecycle": {}}
    assert (
        rules.check(
            stack("google_kms_crypto_key", unprotected), rules.StackFacts(protect_keys=False)
        )
        == []
    )
    assert [v.rule for v in rules.check(stack("google_pubsub_topic", {}), PROTECTED)] == ["cmek"]
    store = stack(
        "google_vertex_ai_metadata_store",
        {"name": "census", "encryption_spec": {"kms_key_name": "k"}},
    )
    assert [v.rule for v in rules.check(store, PROTECTED)] == ["metadata-store-default"]
    binding = stack(
        "google_storage_bucket_iam_binding",
        {"role": "roles/iam.securityAdmin", "members": ["allAuthenticatedUsers"]},
    )
    assert sorted(v.rule for v in rules.check(binding, PROTECTED)) == [
        "no-admin-roles",
        "no-public-members",
    ]


def test_checkov_report_parsing_and_waivers():
    report = {
        "results": {
            "failed_checks": [
                {
                    "file_path": "/a/cdk.tf.json",
                    "file_abs_path": "/w/a/cdk.tf.json",
                    "check_id": "CKV_GCP_62",
                    "resource": "resource.b",
                    "check_name": "logs",
                }
            ],
            "passed_checks": [],
        }
    }
    (finding,) = parse_report(json.dumps([report]))
    assert finding.resource == "b" and not finding.passed and finding.file == "/w/a/cdk.tf.json"
    assert waiver_for("CKV_GCP_62", "prod") and not waiver_for("CKV_GCP_82", "prod")
    assert waiver_for("CKV_GCP_82", "dev")
    with pytest.raises(UserError, match="checkov printed no JSON"):
        parse_report("Traceback ...")
    unparsed = {"results": {"passed_checks": [], "parsing_errors": ["/w/a/cdk.tf.json"]}}
    with pytest.raises(UserError, match=r"checkov could not parse /w/a/cdk\.tf\.json"):
        parse_report(json.dumps(unparsed))


def test_a_pull_request_trigger_that_can_write_fails_the_gate(stacks):
    from infra.policy import rules

    bad = copy.deepcopy(stacks["dev"])
    for trigger in bad["resource"]["google_cloudbuild_trigger"].values():
        if trigger["github"].get("pull_request"):
            trigger["service_account"] = trigger["service_account"].replace("planner", "build")
    found = rules.check(bad, rules.StackFacts(protect_keys=False))
    assert {v.rule for v in found} == {"pull-requests-read-only"}
    assert "census-build@census-ml-dev.iam.gserviceaccount.com, which may write" in str(found[0])
    uncontrolled = copy.deepcopy(stacks["dev"])
    for trigger in uncontrolled["resource"]["google_cloudbuild_trigger"].values():
        trigger["github"].get("pull_request", {}).pop("comment_control", None)
    assert any(
        "comment_control" in str(v) for v in rules.check(uncontrolled, rules.StackFacts(False))
    )


def test_mutable_tags_and_undeclared_token_creators_fail_the_gate(stacks, platform):
    from infra.policy import rules

    staging = copy.deepcopy(stacks["staging"])
    cross = copy.deepcopy(stacks["prod-cross-tenant"])
    facts = facts_for(platform, "prod")
    assert rules.check(cross, facts) == []
    images = staging["resource"]["google_artifact_registry_repository"]
    for repo in images.values():
        if repo["repository_id"] == "census-images":
            repo.pop("docker_config", None)
    assert {v.rule for v in rules.check(staging, facts_for(platform, "staging"))} == {
        "immutable-image-tags"
    }
    stranger = "serviceAccount:census-build@census-ml-staging.iam.gserviceaccount.com"
    for grant in cross["resource"]["google_service_account_iam_member"].values():
        if grant["role"].endswith("/roles/censusTokenMinter"):  # a custom role that mints
            grant["member"] = stranger
    assert {v.rule for v in rules.check(cross, facts)} == {"cross-project-token-creators"}


def test_only_the_functions_repository_may_move_its_tags(stacks, platform):
    from infra.policy import rules

    staging = stacks["staging"]
    facts = facts_for(platform, "staging")
    assert rules.check(staging, facts) == []
    assert [v.rule for v in rules.check(staging, facts_for(platform, "dev"))] == [
        "immutable-image-tags"
    ]


@pytest.mark.parametrize(
    ("field", "image", "flagged"),
    [
        ("image", "europe-west4-docker.pkg.dev/p/r/serving:abc123", True),
        ("image", "europe-west4-docker.pkg.dev/p/r/serving", True),  # means :latest
        ("args", "gcr.io/cloud-builders/docker:latest", True),
        ("image", "europe-west4-docker.pkg.dev/p/r/serving@sha256:" + "f" * 64, False),
        ("_IMAGE_REPO", "europe-west4-docker.pkg.dev/p/r", False),  # a repository, no image
    ],
)
def test_an_image_referenced_by_tag_fails_the_gate(stacks, platform, field, image, flagged):
    from infra.policy import rules

    prod = copy.deepcopy(stacks["prod"])
    prod["resource"]["google_cloud_run_v2_service"] = {
        "svc": {"template": {"containers": [{field: image}]}}
    }
    found = [v for v in rules.check(prod, facts_for(platform, "prod"))]
    if flagged:
        (violation,) = found
        assert violation.rule == "mutable-image-reference" and image in violation.message
        assert violation.resource == "google_cloud_run_v2_service.svc"
    else:
        assert found == []
