"""promotion = "approval" against the simulation, with the stacks that setting synthesizes:
the staging pipeline can no longer act as the prod deployer; prod's deploy trigger, running
as the deployer itself, deploys the approved candidate."""

import json

import pytest
from prod_deploy import DEPLOYER, IMAGE, deploy, endpoint, registered, stage_candidate
from simulated import mlops_as

pytestmark = pytest.mark.slow  # synthesizes the stacks or starts the simulated cloud


def approve(sim, run_id: str) -> str:
    """What the approve step leaves beside the candidate."""
    uri = stage_candidate(sim, run_id)
    folder = sim.root / "storage" / uri.removeprefix("gs://") / "approval"
    folder.mkdir()
    record = {"run_id": run_id, "commit": "abc123", "serving_image": IMAGE, "reason": "better"}
    (folder / "approval.json").write_text(json.dumps(record))
    return uri


def test_the_staging_pipeline_cannot_deploy_to_prod(cloud, approval_stacks):
    sim = cloud(approval_stacks)
    done = deploy(sim, "run-1")
    assert done.returncode != 0
    assert "iam.serviceAccounts.getAccessToken" in done.stderr, done.stderr[-1500:]
    assert registered(sim) is None


def test_the_deploy_trigger_deploys_the_approved_candidate_as_the_deployer(cloud, approval_stacks):
    sim = cloud(approval_stacks)
    uri = approve(sim, "run-1")
    done = mlops_as(sim, DEPLOYER, "deploy", "--target", "vertex", "--candidate", uri)
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
