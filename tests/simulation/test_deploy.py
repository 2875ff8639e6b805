"""The deploy step on the Vertex target, run as the staging pipeline identity (impersonating
the prod deployer) against the simulation, with the stacks' IAM and real prediction servers."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prod_deploy import (
    DEPLOYER,
    GARBAGE,
    IMAGE,
    PIPELINE,
    PROD_VERTEX_KEY,
    SERVING,
    STEP,
    deploy,
    endpoint,
    registered,
    result_of,
    stage_candidate,
)

from simulation.serving import faulty

CRASH = IMAGE.replace("a" * 64, "d" * 64)  # a server that exits before it is ready

pytestmark = pytest.mark.slow  # synthesizes the stacks or starts the simulated cloud


@pytest.fixture
def garbage_image(cloud):
    sim = cloud()
    sim.images[GARBAGE] = faulty("garbage")
    sim.images[CRASH] = faulty("crash")
    return sim


def test_first_run_deploys_version_1_at_100_with_cmek_and_the_serving_identity(cloud):
    sim = cloud()
    result = result_of(deploy(sim, "run-1"))
    assert result["version"] == "1" and result["traffic"] == {"1": 100}
    assert result["smoke"] == "passed"
    model = registered(sim)
    assert model["aliases"]["champion"] == "1"
    assert model["versions"]["1"]["encryptionSpec"]["kmsKeyName"] == PROD_VERTEX_KEY
    assert model["versions"]["1"]["labels"]["run"] == "run-1"
    # its evaluation in the registry, overall and per slice, as Vertex's console shows one
    staged = sim.root / "storage/census-ml-staging-models/census-income/candidates/run-1"
    figures = json.loads((staged / "metrics.json").read_text())
    (evaluation,) = model["evaluations"].values()
    assert evaluation["modelVersionId"] == "1"
    assert evaluation["metricsSchemaUri"].endswith("classification_metrics_1.0.0.yaml")
    assert evaluation["metrics"]["auRoc"] == pytest.approx(figures["roc_auc"])
    assert evaluation["sliceDimensions"] == ["sex", "race"]
    slices = {(s["slice"]["dimension"], s["slice"]["value"]) for s in model["slices"].values()}
    assert slices == {(f, v) for f, by in figures["slices"].items() for v in by}
    deployed = endpoint(sim)["deployedModels"]
    assert [d["serviceAccount"] for d in deployed] == [SERVING]
    # Every prod call was made as the deployer, never as the staging pipeline.
    vertex_calls = [e for e in sim.wire if e.method.startswith("aiplatform.")]
    assert vertex_calls and {e.principal for e in vertex_calls} == {
        "census-deployer@census-ml-prod.iam.gserviceaccount.com"
    }


def test_a_bad_first_version_is_rolled_back_and_removed(garbage_image):
    sim = garbage_image
    done = deploy(sim, "run-1", GARBAGE)
    assert done.returncode != 0
    assert "DeployFailed: smoke test of version 1 failed" in done.stderr
    assert "traffic rolled back to nothing" in done.stderr
    assert endpoint(sim)["deployedModels"] == [] and endpoint(sim)["trafficSplit"] == {}
    assert registered(sim) is None  # the only version: the model itself went


def test_a_bad_later_version_is_rolled_back_to_the_champion(garbage_image):
    sim = garbage_image
    result_of(deploy(sim, "run-1"))
    done = deploy(sim, "run-2", GARBAGE)
    assert done.returncode != 0 and "traffic rolled back to {'1': 100}" in done.stderr
    ids = {d["modelVersionId"] for d in endpoint(sim)["deployedModels"]}
    assert ids == {"1"} and list(endpoint(sim)["trafficSplit"].values()) == [100]
    assert set(registered(sim)["versions"]) == {"1"}


def test_the_monitoring_job_is_created_then_updated_never_duplicated(cloud):
    sim = cloud()
    result = result_of(deploy(sim, "run-1"))
    env = {**os.environ, **sim.environ(PIPELINE)}

    def monitor() -> dict:
        done = subprocess.run(
            [sys.executable, str(STEP), "monitor", result["baseline_uri"]],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        return result_of(done)

    assert monitor() == {"action": "created"}
    assert monitor() == {"action": "updated"}
    (job,) = sim.vertex.jobs.values()
    assert job["encryptionSpec"]["kmsKeyName"] == PROD_VERTEX_KEY
    assert job["endpoint"].endswith("/endpoints/4242000001")
    objectives = job["modelDeploymentMonitoringObjectiveConfigs"]
    skew = objectives[0]["objectiveConfig"]["trainingPredictionSkewDetectionConfig"]
    assert skew["skewThresholds"]["fnlwgt"]["value"] == 0.15
    assert job["loggingSamplingStrategy"]["randomSampleConfig"]["sampleRate"] == 0.8


@pytest.mark.parametrize(
    ("rtype", "removed", "named"),
    [
        (
            "google_service_account_iam_member",
            lambda b: b["role"].endswith("/roles/censusTokenMinter"),
            "iam.serviceAccounts.getAccessToken",
        ),
        (
            "google_project_iam_member",
            lambda b: b["member"].endswith(DEPLOYER) and b["role"].endswith("/censusDeployer"),
            "aiplatform.models.get",  # its first call: is a deploy marked as interrupted?
        ),
        (
            "google_storage_bucket_iam_member",
            lambda b: b["member"].endswith(DEPLOYER) and b["bucket"] == "census-ml-prod-models",
            "storage.objects.get",  # its first call there: reading prod's change lease
        ),
        (
            "google_service_account_iam_member",
            lambda b: b["role"] == "roles/iam.serviceAccountUser" and DEPLOYER in b["member"],
            "iam.serviceAccounts.actAs",
        ),
        (
            "google_kms_crypto_key_iam_member",
            lambda b: "gcp-sa-aiplatform" in b["member"],
            "cloudkms.cryptoKeyVersions.useToEncrypt",
        ),
        (
            "google_kms_crypto_key_iam_member",
            lambda b: "gs-project-accounts" in b["member"],
            "Cloud Storage service account",
        ),
    ],
)
def test_removing_one_grant_the_deploy_needs_fails_it_naming_the_permission(
    cloud, stacks, rtype, removed, named
):
    from simulated import without

    sim = cloud(without(stacks, "prod", rtype, removed))
    done = deploy(sim, "run-1")
    assert done.returncode != 0
    assert named in done.stderr, done.stderr[-1500:]
    assert any(e.status in (400, 403) for e in sim.wire)


def test_a_candidate_decided_against_another_champion_is_refused_on_vertex(cloud):
    """The deploy guard reads the champion alias from Vertex AI's registry as the deployer."""
    sim = cloud()
    result_of(deploy(sim, "run-1"))
    stale = stage_candidate(sim, "run-2")
    decision = Path(sim.root / "storage" / stale.removeprefix("gs://")) / "decision.json"
    decision.write_text('{"champion": null}')  # decided before run-1 made a champion
    env = {**os.environ, **sim.environ(PIPELINE)}
    done = subprocess.run(
        [sys.executable, str(STEP), "deploy", stale, "run-2", IMAGE],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0
    assert "compared with no champion, prod now has version 1; nothing deployed" in (
        done.stdout + done.stderr
    )
    assert sorted(registered(sim)["versions"]) == ["1"]


def test_a_deploy_that_fails_after_it_started_for_the_platform_is_resumed(cloud):
    """Vertex accepts the deploy, then its operation ends out of quota: nothing is undone
    (the version stays registered and marked) and re-running the deploy finishes it."""
    sim = cloud()
    result_of(deploy(sim, "run-1"))
    sim.vertex.operation_polls = 2  # the SDK polls the running operation before it ends
    sim.vertex.deploy_fails = {"code": 8, "message": "Quota exceeded for custom_model_serving_cpus"}
    failed = deploy(sim, "run-2")
    assert failed.returncode != 0
    assert (
        "deploying version 2 failed: 429 Quota exceeded for custom_model_serving_cpus. Nothing "
        "was rolled back: version 2 stays registered and marked 'deploying', the endpoint "
        "serves {'1': 100} as before; re-run this deploy to resume it"
    ) in failed.stderr
    assert set(registered(sim)["versions"]) == {"1", "2"}
    assert registered(sim)["aliases"]["deploying"] == "2"
    assert [d["modelVersionId"] for d in endpoint(sim)["deployedModels"]] == ["1"]
    polls = [e for e in sim.wire if e.method.endswith("operations.get")]
    assert polls  # the failure came from polling the operation, not from the request
    resumed = result_of(deploy(sim, "run-2"))
    assert resumed["version"] == "2" and resumed["traffic"] == {"1": 90, "2": 10}
    assert registered(sim)["aliases"] == {"default": "1", "champion": "1", "challenger": "2"}


def test_a_version_whose_server_never_becomes_ready_is_rolled_back(garbage_image):
    sim = garbage_image
    result_of(deploy(sim, "run-1"))
    failed = deploy(sim, "run-2", CRASH)
    assert failed.returncode != 0
    assert "version 2 failed to deploy: 400 Model server failed to start" in failed.stderr
    assert "rolled back: traffic {'1': 100}" in failed.stderr
    assert set(registered(sim)["versions"]) == {"1"}
    assert endpoint(sim)["trafficSplit"] == {endpoint(sim)["deployedModels"][0]["id"]: 100}
