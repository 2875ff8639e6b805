"""What staging's `promotion` setting changes in the stacks: with "approval" the staging
pipeline holds no power to change prod, and prod's deploy trigger, after a person approves,
deploys as the deployer."""

from __future__ import annotations

import pytest
from stack_json import resources_of

from infra.policy import rules
from simulation.terraform.scenes import first_apply

pytestmark = pytest.mark.slow  # synthesizes the stacks or starts the simulated cloud

DEPLOYER = "census-deployer@census-ml-prod.iam.gserviceaccount.com"
READER = "census-reader@census-ml-prod.iam.gserviceaccount.com"
TOPIC = "projects/census-ml-prod/topics/census-approved-candidates"
PIPELINE = "serviceAccount:census-pipeline@census-ml-staging.iam.gserviceaccount.com"


def token_targets(stacks) -> set[str]:
    return {
        g["service_account_id"].rsplit("/", 1)[-1]
        for g in resources_of(stacks["prod-cross-tenant"], "google_service_account_iam_member")
        if g["member"] == PIPELINE
    }


def deploy_trigger(stacks) -> list[dict]:
    return [
        t
        for t in resources_of(stacks["prod"], "google_cloudbuild_trigger")
        if t["name"] == "census-deploy"
    ]


def test_canary_lets_the_staging_pipeline_act_as_the_deployer(stacks):
    assert token_targets(stacks) == {DEPLOYER, READER}
    assert deploy_trigger(stacks) == []


def test_approval_leaves_the_staging_pipeline_only_the_reader(approval_stacks):
    assert token_targets(approval_stacks) == {READER}


def test_approval_adds_prods_deploy_trigger_started_by_a_message_with_approval(approval_stacks):
    (trigger,) = deploy_trigger(approval_stacks)
    assert trigger["approval_config"] == {"approval_required": True}
    assert trigger["service_account"].endswith(f"/serviceAccounts/{DEPLOYER}")
    assert trigger["git_file_source"]["path"] == "cloudbuild/deploy.yaml"
    assert trigger["source_to_build"]["ref"] == "refs/heads/main"
    assert "github" not in trigger  # no push or pull request starts it
    assert trigger["pubsub_config"]["topic"] == TOPIC
    assert trigger["substitutions"] == {
        "_CANDIDATE": "$(body.message.attributes.candidate)",
        "_DIGEST": "$(body.message.attributes.digest)",
    }
    (topic,) = resources_of(approval_stacks["prod"], "google_pubsub_topic")
    assert topic["name"] == "census-approved-candidates"
    assert (
        topic["kms_key_name"].endswith("/cryptoKeys/pubsub}") or "pubsub" in topic["kms_key_name"]
    )
    writers = {
        g["member"]
        for g in resources_of(approval_stacks["prod"], "google_project_iam_member")
        if g["role"] == "roles/logging.logWriter"
    }
    assert f"serviceAccount:{DEPLOYER}" in writers


def test_approval_grants_people_approval_and_the_pipeline_one_topic(approval_stacks):
    approvers = {
        g["member"]
        for g in resources_of(approval_stacks["prod"], "google_project_iam_member")
        if g["role"] == "roles/cloudbuild.builds.approver"
    }
    assert approvers == {"user:release-approver@example.com"}
    (publish,) = [
        g
        for g in resources_of(
            approval_stacks["prod-cross-tenant"], "google_pubsub_topic_iam_member"
        )
        if g["member"] == PIPELINE
    ]
    assert (publish["topic"], publish["role"]) == (
        "census-approved-candidates",
        "roles/pubsub.publisher",
    )


def test_canary_mode_has_no_topic_approvers_or_key_for_them(stacks):
    assert resources_of(stacks["prod"], "google_pubsub_topic") == []
    roles = {g["role"] for g in resources_of(stacks["prod"], "google_project_iam_member")}
    assert "roles/cloudbuild.builds.approver" not in roles
    keys = {k["name"] for k in resources_of(stacks["prod"], "google_kms_crypto_key")}
    assert "pubsub" not in keys


def test_approval_stacks_pass_the_gate_and_the_first_apply(approval_stacks, approval_platform):
    from infra.iam import promotion_of
    from infra.layout import env_of
    from infra.policy.gate import facts_for

    assert promotion_of(approval_platform, "prod") == "approval"
    _, played = first_apply(approval_stacks)
    assert [e.error for r in played.runs for e in r.errors] == []
    for part, stack in approval_stacks.items():
        assert rules.check(stack, facts_for(approval_platform, env_of(part))) == [], part


def test_the_gate_refuses_a_deployer_token_creator_when_runs_need_approval(
    stacks, approval_platform
):
    """The canary stacks' grant is exactly what the approval setting forbids."""
    from infra.policy.gate import facts_for

    found = rules.check(stacks["prod-cross-tenant"], facts_for(approval_platform, "prod"))
    assert [(v.rule, DEPLOYER in v.message) for v in found] == [
        ("cross-project-token-creators", True)
    ]
