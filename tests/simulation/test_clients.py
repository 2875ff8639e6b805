"""The real client libraries against the simulation: storage, CMEK, impersonation."""

import pytest
from google.api_core import exceptions
from google.auth import impersonated_credentials
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request
from google.cloud import storage
from simulated import without

pytestmark = pytest.mark.slow  # synthesizes the stacks or starts the simulated cloud

STAGING_PIPELINE = "census-pipeline@census-ml-staging.iam.gserviceaccount.com"
STAGING_BUILD = "census-build@census-ml-staging.iam.gserviceaccount.com"
DEPLOYER = "census-deployer@census-ml-prod.iam.gserviceaccount.com"


def gcs(sim, principal):
    return storage.Client(
        project="census-ml-staging",
        credentials=sim.credentials(principal),
        client_options={"api_endpoint": f"{sim.url}/storage"},
    )


def test_objects_round_trip_as_the_pipeline(cloud, tmp_path):
    sim = cloud()
    client = gcs(sim, STAGING_PIPELINE)
    bucket = client.bucket("census-ml-staging-models")
    bucket.blob("runs/r1/model.txt").upload_from_string("trees")
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (9 * 1024 * 1024))  # above the client's resumable threshold
    bucket.blob("runs/r1/big.bin").upload_from_filename(str(big))
    assert bucket.blob("runs/r1/model.txt").download_as_text() == "trees"
    names = [b.name for b in client.list_blobs("census-ml-staging-models", prefix="runs/")]
    assert names == ["runs/r1/big.bin", "runs/r1/model.txt"]
    blob = bucket.get_blob("runs/r1/model.txt")
    assert blob.kms_key_name.startswith(
        "projects/census-ml-staging/locations/europe-west4/keyRings/census-ml/cryptoKeys/storage"
    )
    assert (sim.root / "storage/census-ml-staging-models/runs/r1/big.bin").stat().st_size == (
        9 * 1024 * 1024
    )


def test_an_identity_without_a_grant_gets_googles_403(cloud):
    sim = cloud()
    with pytest.raises(exceptions.Forbidden, match=r"storage\.objects\.create"):
        gcs(sim, STAGING_BUILD).bucket("census-ml-staging-models").blob("x").upload_from_string("")
    denied = [e for e in sim.wire if e.status == 403]
    assert denied and denied[-1].principal == STAGING_BUILD


def test_a_cmek_write_fails_when_the_storage_agent_lacks_the_key(cloud, stacks):
    agent = "service-100000000002@gs-project-accounts.iam.gserviceaccount.com"
    sim = cloud(
        without(
            stacks,
            "staging",
            "google_kms_crypto_key_iam_member",
            lambda b: b["member"].endswith(agent),
        )
    )
    blob = gcs(sim, STAGING_PIPELINE).bucket("census-ml-staging-models").blob("x")
    with pytest.raises(exceptions.Forbidden, match="Cloud Storage service account"):
        blob.upload_from_string("data")


def test_only_the_staging_pipeline_may_act_as_the_prod_deployer(cloud):
    sim = cloud()
    url = f"{sim.url}/iamcredentials/v1/projects/-/serviceAccounts/{DEPLOYER}:generateAccessToken"

    def impersonate(source):
        creds = impersonated_credentials.Credentials(
            source_credentials=sim.credentials(source),
            target_principal=DEPLOYER,
            target_scopes=["https://www.googleapis.com/auth/cloud-platform"],
            iam_endpoint_override=url,
        )
        creds.refresh(Request())
        return sim.tokens.principal(creds.token)

    assert impersonate(STAGING_PIPELINE) == DEPLOYER
    with pytest.raises(RefreshError, match=r"iam\.serviceAccounts\.getAccessToken"):
        impersonate(STAGING_BUILD)
