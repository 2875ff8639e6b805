"""promotion = "approval" against the simulation, with the stacks that setting synthesizes:
the staging pipeline can no longer act as the prod deployer; prod's deploy trigger, running
as the deployer itself, deploys the approved candidate."""

import dataclasses
import json

import pytest
from prod_deploy import DEPLOYER, IMAGE, PIPELINE, deploy, endpoint, registered, stage_candidate
from simulated import STAGING_BUILD, mlops_as

pytestmark = pytest.mark.slow  # synthesizes the stacks or starts the simulated cloud


def approve(sim, run_id: str) -> str:
    """What the approve step leaves beside the candidate (its own code, over the simulated
    bucket's folder)."""
    from adapters.local.storage import LocalStorage
    from promotion.steps.approval import approve_candidate

    uri = stage_candidate(sim, run_id)
    folder = sim.root / "storage" / uri.removeprefix("gs://")
    approve_candidate(candidate_uri=str(folder), run_id=run_id, commit="abc123",
                      serving_image=IMAGE, reason="better", storage=LocalStorage())  # fmt: skip
    return uri


def approved_digest(sim, uri: str) -> str:
    folder = sim.root / "storage" / uri.removeprefix("gs://")
    return json.loads((folder / "approval" / "approval.json").read_text())["digest"]


def test_the_staging_pipeline_cannot_deploy_to_prod(cloud, approval_stacks):
    sim = cloud(approval_stacks)
    done = deploy(sim, "run-1")
    assert done.returncode != 0
    assert "iam.serviceAccounts.getAccessToken" in done.stderr, done.stderr[-1500:]
    assert registered(sim) is None


def test_the_deploy_trigger_deploys_the_approved_candidate_as_the_deployer(cloud, approval_stacks):
    sim = cloud(approval_stacks)
    uri = approve(sim, "run-1")
    digest = approved_digest(sim, uri)
    done = mlops_as(sim, DEPLOYER, "deploy", "--target", "vertex", "--candidate", uri,
                    "--digest", digest)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "deployed version 1 (smoke test passed); endpoint v1 100%; monitoring created" in (
        done.stdout
    )
    assert registered(sim)["aliases"]["champion"] == "1"
    (deployed,) = endpoint(sim)["deployedModels"]
    assert deployed["modelVersionId"] == "1"
    calls = [e for e in sim.wire if e.method.startswith(("aiplatform.", "storage."))]
    assert {e.principal for e in calls} == {DEPLOYER}  # itself: nobody impersonated
    assert not any(e.method.endswith(".generateAccessToken") for e in sim.wire)  # no impersonation


def test_the_deploy_trigger_judges_the_canary_as_the_deployer_itself(cloud, approval_stacks):
    """The census-canary build: `mlops canary --as-self`, Cloud Monitoring read as the deployer."""
    sim = cloud(approval_stacks)
    for run in ("run-1", "run-2"):
        uri = approve(sim, run)
        done = mlops_as(sim, DEPLOYER, "deploy", "--target", "vertex", "--candidate", uri)
        assert done.returncode == 0, done.stderr[-3000:]
    done = mlops_as(sim, DEPLOYER, "canary", "--target", "vertex", "--as-self")
    assert done.returncode == 5, done.stderr[-3000:]  # wait (kernel/exit_codes.py)
    assert "canary v2 vs champion v1: WAIT" in done.stdout  # no traffic yet: nothing changes
    reads = [e for e in sim.wire if e.method == "monitoring.projects.timeSeries.list"]
    assert reads and {e.principal for e in reads} == {DEPLOYER}
    assert not any(e.method.endswith(".generateAccessToken") for e in sim.wire)  # no impersonation


TOPIC = "projects/census-ml-prod/topics/census-approved-candidates"
APPROVER = "release-approver@example.com"
BUILDS = "/cloudbuild/v1/projects/census-ml-prod/locations/global/builds"


def announced(sim, monkeypatch, run_id: str, publisher: str = PIPELINE) -> str:
    """The approve step's announcement, sent as `publisher`, of an approved candidate."""
    from adapters.local.storage import LocalStorage
    from adapters.vertex.pubsub import PubSubPublisher
    from promotion.steps.approval import announce, read_approval

    monkeypatch.setenv("MLOPS_API_ENDPOINT", f"{sim.url}/{{service}}")
    uri = approve(sim, run_id)
    folder = sim.root / "storage" / uri.removeprefix("gs://")
    approval = read_approval(LocalStorage(), str(folder))
    approval = dataclasses.replace(approval, candidate_uri=uri)
    return announce(approval, PubSubPublisher(TOPIC, sim.credentials(publisher)))


def test_an_announced_candidate_waits_for_an_approver_then_deploys_as_the_deployer(
    cloud, approval_stacks, monkeypatch
):
    sim = cloud(approval_stacks)
    announced(sim, monkeypatch, "run-1")
    (build,) = sim.builds.values()
    assert (build.status, build.service_account) == ("PENDING", DEPLOYER)
    assert build.substitutions["_CANDIDATE"].endswith("/candidates/run-1")
    # neither the pipeline nor the deployer may approve; the approver may list and approve
    for robot in (PIPELINE, DEPLOYER):
        with sim.client(robot) as client:
            refused = client.post(f"{BUILDS}/{build.id}:approve", json={})
        assert refused.status_code == 403 and "cloudbuild.builds.approve" in refused.text
    with sim.client(APPROVER) as client:
        pending = client.get(BUILDS, params={"filter": 'status="PENDING"'}).json()["builds"]
        assert [b["id"] for b in pending] == [build.id]
        body = {"approvalResult": {"decision": "APPROVED", "comment": "metrics reviewed"}}
        assert client.post(f"{BUILDS}/{build.id}:approve", json=body).status_code == 200
    assert build.finished.wait(600), "the census-deploy build never finished"
    assert build.status == "SUCCESS", build.log()[-3000:]
    assert build.approval["result"]["approverAccount"] == APPROVER
    assert "deployed version 1 (smoke test passed)" in build.log()
    assert registered(sim)["aliases"]["champion"] == "1"
    vertex = [e for e in sim.wire if e.method.startswith("aiplatform.")]
    assert {e.principal for e in vertex} == {DEPLOYER}


def test_nobody_but_the_pipeline_announces_and_nobody_starts_a_deploy_unapproved(
    cloud, approval_stacks, monkeypatch
):
    from kernel.errors import PlatformRefused

    sim = cloud(approval_stacks)
    with pytest.raises(PlatformRefused, match=r"pubsub\.topics\.publish on .* to .*\(403\)"):
        announced(sim, monkeypatch, "run-1", publisher=STAGING_BUILD)
    run = "/cloudbuild/v1/projects/census-ml-prod/locations/global/triggers/census-deploy:run"
    for who in (PIPELINE, APPROVER):
        with sim.client(who) as client:
            refused = client.post(run, json={})
        assert refused.status_code == 403 and "cloudbuild.builds.create" in refused.text
    assert sim.builds == {}


def test_a_rejected_build_never_runs(cloud, approval_stacks, monkeypatch):
    sim = cloud(approval_stacks)
    announced(sim, monkeypatch, "run-1")
    (build,) = sim.builds.values()
    with sim.client(APPROVER) as client:
        body = {"approvalResult": {"decision": "REJECTED"}}
        assert client.post(f"{BUILDS}/{build.id}:approve", json=body).json()["done"] is True
        again = client.post(f"{BUILDS}/{build.id}:approve", json=body)
    assert again.status_code == 400 and "not pending approval" in again.text
    assert build.status == "CANCELLED" and build.steps == [] and registered(sim) is None


def test_a_candidate_rewritten_after_approval_is_refused_before_prod_registers_it(
    cloud, approval_stacks
):
    """The pipeline and trainer identities may write staging's candidates: one rewritten
    between approval and deploy is caught on prod's copy, as the deployer."""
    sim = cloud(approval_stacks)
    uri = approve(sim, "run-1")
    folder = sim.root / "storage" / uri.removeprefix("gs://")
    (folder / "smoke.json").write_text("[]")
    done = mlops_as(sim, DEPLOYER, "deploy", "--target", "vertex", "--candidate", uri,
                    "--digest", approved_digest(sim, uri))  # fmt: skip
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert "not the candidate that was approved; nothing registered: smoke.json: changed" in (
        done.stderr
    )
    assert registered(sim) is None
