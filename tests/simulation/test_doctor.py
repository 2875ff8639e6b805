"""`mlops doctor` as the staging build identity, against the simulation with the stacks' IAM."""

import json

import pytest
from simulated import STAGING_BUILD, mlops_as, without

pytestmark = pytest.mark.slow  # synthesizes the stacks or starts the simulated cloud


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_the_preflight_passes_on_a_healthy_world(cloud, env):
    sim = cloud()
    done = mlops_as(sim, STAGING_BUILD, "doctor", "--env", env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{env}: keys, grants, buckets and dataset OK" in done.stdout
    methods = {e.method for e in sim.wire if e.principal == STAGING_BUILD}
    assert "cloudkms.projects.locations.keyRings.cryptoKeys.getIamPolicy" in methods
    assert all(e.status == 200 for e in sim.wire), [e.line() for e in sim.wire if e.status != 200]
    as_json = mlops_as(sim, STAGING_BUILD, "doctor", "--env", env, "--json")
    assert as_json.returncode == 0, as_json.stderr
    found = json.loads(as_json.stdout[: as_json.stdout.rindex("}") + 1])
    assert found["env"] == env and found["problems"] == [] and found["placeholders"]


@pytest.mark.parametrize(
    ("env", "rtype", "removed", "named"),
    [
        (
            "prod",
            "google_kms_key_ring_iam_member",
            lambda b: b["member"].endswith(STAGING_BUILD),
            "cloudkms.cryptoKeys.get",
        ),
        (
            "prod",
            "google_storage_bucket_iam_member",
            lambda b: b["member"].endswith(STAGING_BUILD) and b["bucket"].endswith("models"),
            "storage.buckets.get",
        ),
        (
            "staging",
            "google_bigquery_dataset_iam_member",
            lambda b: b["member"].endswith(STAGING_BUILD),
            "bigquery.datasets.get",
        ),
    ],
)
def test_a_missing_grant_is_named_and_fails_without_a_traceback(
    cloud, stacks, env, rtype, removed, named
):
    sim = cloud(without(stacks, env, rtype, removed))
    done = mlops_as(sim, STAGING_BUILD, "doctor", "--env", env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"the caller lacks {named}, so the preflight cannot verify it" in done.stdout
    as_json = mlops_as(sim, STAGING_BUILD, "doctor", "--env", env, "--json")
    assert as_json.returncode == 1 and as_json.stdout.startswith("{")
    problems = json.loads(as_json.stdout)["problems"]
    assert any(f"the caller lacks {named}" in p for p in problems)
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("mlops doctor: error: ")


def test_an_agent_without_its_key_grant_is_named(cloud, stacks):
    vertex_agent = "service-100000000003@gcp-sa-aiplatform.iam.gserviceaccount.com"
    sim = cloud(
        without(
            stacks,
            "prod",
            "google_kms_crypto_key_iam_member",
            lambda b: b["member"].endswith(vertex_agent),
        )
    )
    done = mlops_as(sim, STAGING_BUILD, "doctor", "--env", "prod")
    assert done.returncode == 1
    assert f"prod Vertex AI agent (serviceAccount:{vertex_agent}) lacks" in done.stdout
