"""Pushes' builds run in the simulated cloud as their triggers' identities: a change only to
`kernel/` pushed to staging is planned and applied (the function's source) and ships (images
pushed, the pipeline compiled against their digests, the promotion run to prod); prod's
apply waits for an approver, who reads the saved plan, and applies it as saved, refusing a
plan whose state moved on."""

from __future__ import annotations

import json
import re

import pytest

from settings import REPO_ROOT
from simulation.ci.events import Event
from simulation.terraform.applier import OWNER
from tests.simulation.ci_cloud import calls, explain, started, step

pytestmark = pytest.mark.slow
APPROVER = "release-approver@example.com"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    yield from started(tmp_path_factory)


def test_a_kernel_change_pushed_to_staging_is_applied_and_ships(cloud):
    played = cloud.play(Event("push", "staging", ("kernel/errors.py",)))
    builds = {b.trigger: b for b in played.builds}
    assert set(builds) == {"census-infra-apply", "census-promotion"}
    for build in played.builds:
        assert build.status == "SUCCESS", explain(build)
    # the function's source is the wheel: a new object, the function pointed at it
    plan = step(builds["census-infra-apply"], "plan")["log"]
    assert re.search(r"-/\+ google_storage_bucket_object\.retraining_source\S+ will be replaced",
                     plan)  # fmt: skip
    assert re.search(r"~ google_cloudfunctions2_function\.retraining_function\S+ will be "
                     r"updated in-place", plan)  # fmt: skip
    applied = step(builds["census-infra-apply"], "apply")["log"]
    assert "Apply complete! Resources: 1 added, 1 changed, 1 destroyed." in applied
    # the images pushed by the build identity, then the pipeline compiled against them
    promotion = builds["census-promotion"]
    pushes = [e for e in calls(cloud, promotion) if e.method == "artifactregistry.docker.push"]
    assert len(pushes) == 3 and {e.principal for e in pushes} == {
        "census-build@census-ml-staging.iam.gserviceaccount.com"
    }
    assert all(c.allowed for e in pushes for c in e.checks)
    assert {c.permission for e in pushes for c in e.checks} == {
        "artifactregistry.repositories.uploadArtifacts", "artifactregistry.tags.create",
    }  # fmt: skip
    tags = {key[0].rsplit("/", 1)[-1]: digest for key, digest in cloud.sim.registry.tags.items()}
    assert set(tags) == {"components", "trainer", "serving"}
    templates = cloud.sim.root / "storage" / "census-ml-staging-templates" / "census-promotion"
    latest = (templates / "latest.yaml").read_text()
    assert f"components@{tags['components']}" in latest
    assert f"serving@{tags['serving']}" in latest
    assert (templates / f"{promotion.substitutions['COMMIT_SHA']}.yaml").read_text() == latest
    # the promotion ran to prod: the pipeline succeeded and version 1 serves
    (job,) = cloud.sim.vertex.pipelines.values()
    assert job["state"] == "PIPELINE_STATE_SUCCEEDED"
    assert "succeeded" in step(promotion, "run-promotion")["log"]
    served = json.dumps(list(cloud.sim.vertex.models.values()), default=str)
    assert f"census-images/serving@{tags['serving']}" in served  # prod serves what was pushed


def prod_settings_with_approver() -> str:
    text = (REPO_ROOT / "envs/prod/settings.toml").read_text()
    return text.replace("[cloudbuild]\n", f'[cloudbuild]\napprovers = ["user:{APPROVER}"]\n')


def test_a_prod_apply_waits_for_an_approver_who_reads_the_plan_it_applies(cloud):
    """The commit adds prod's first approver: the owner approves it, having read it."""
    change = {"envs/prod/settings.toml": prod_settings_with_approver()}
    played = cloud.play(Event("push", "main", tuple(change)), contents=change)
    saving, applying = played.builds
    assert (saving.trigger, applying.trigger) == ("census-infra-apply",
                                                  "census-infra-apply-approved")  # fmt: skip
    assert saving.status == "SUCCESS", explain(saving)
    commit = saving.substitutions["COMMIT_SHA"]
    plans = f"gs://census-ml-prod-tfstate/plans/{commit}"
    assert applying.substitutions["_PLANS"] == plans and applying.approval["state"] == "APPROVED"
    (approval,) = played.approvals
    assert approval.approver == OWNER  # nobody else may approve yet
    read = approval.read[f"plans/{commit}/census-ml-prod/tfplan.txt"]
    assert "Plan: 2 to add, 0 to change, 0 to destroy." in read
    assert read.count("will be created") == 2
    assert applying.status == "SUCCESS", explain(applying)
    assert (
        "Apply complete! Resources: 2 added, 0 changed, 0 destroyed."
        in step(applying, "apply")["log"]
    )
    assert "Plan:" not in step(applying, "plan")["log"]  # applied as saved, not planned again
    assert cloud.approver("census-ml-prod") == APPROVER  # the stacks now grant them


def test_a_saved_plan_whose_state_moved_on_is_refused(cloud):
    """The approved build started again for plans already applied (as the save step starts
    it, as census-infra): the state moved on since they were saved, so nothing applies."""
    (saved,) = [b for b in cloud.sim.builds.values() if b.trigger == "census-infra-apply-approved"]
    infra = "census-infra@census-ml-prod.iam.gserviceaccount.com"
    run = "/cloudbuild/v1/projects/census-ml-prod/locations/global/triggers/"
    source = {"commitSha": saved.substitutions["COMMIT_SHA"],
              "substitutions": {"_PLANS": saved.substitutions["_PLANS"]}}  # fmt: skip
    with cloud.sim.client(infra) as client:
        started = client.post(f"{run}census-infra-apply-approved:run", json={"source": source})
        assert started.status_code == 200, started.text
        builtin = {"source": {"substitutions": {"COMMIT_SHA": "0" * 40}}}
        refused = client.post(f"{run}census-infra-apply-approved:run", json=builtin)
        assert refused.status_code == 400 and "'COMMIT_SHA' is built in" in refused.text
        unknown = {"source": {"substitutions": {"_APPLY": "true", "_EXTRA": "x"}}}
        refused = client.post(f"{run}census-infra-apply-approved:run", json=unknown)
        assert refused.json()["error"]["message"] == (
            'key "_EXTRA" in the substitution data is not matched in the template '
            "cloudbuild/infra.yaml"
        )
        # nor can whoever runs it turn it into a fresh plan-and-apply nobody saw
        fresh = {"source": {"substitutions": {**source["substitutions"], "_APPLY": "true"}}}
        unsaved = client.post(f"{run}census-infra-apply-approved:run", json=fresh)
        assert unsaved.status_code == 200, unsaved.text
    pending = cloud.sim.builds[started.json()["metadata"]["build"]["id"]]
    assert pending.status == "PENDING"
    approval = cloud.approve(pending)
    assert approval.approver == APPROVER  # a person with the approver role, no owner
    assert pending.status == "FAILURE", explain(pending)
    failed = step(pending, "apply")
    assert failed["status"] == "FAILURE" and "Saved plan is stale" in failed["log"]
    refused = cloud.sim.builds[unsaved.json()["metadata"]["build"]["id"]]
    cloud.approve(refused)
    assert [(s["id"], s["status"]) for s in refused.steps] == [("check", "FAILURE")]
    assert "applies saved plans only, not _APPLY='true'" in refused.steps[0]["log"]
