"""The preflight's pure core: every failure is one line naming the resource and the fix."""

from adapters.vertex.doctor import (
    CALLER_PERMISSIONS,
    KeyFacts,
    expectations,
    judge_buckets,
    judge_dataset,
    judge_key,
)
from infra.iam import ENCRYPTER_DECRYPTER
from settings import load_platform

PLATFORM = load_platform()


def healthy(expected) -> KeyFacts:
    return KeyFacts(
        exists=True,
        primary_state="ENABLED",
        encrypters={m for m, _ in expected.members},
        caller_permissions=set(CALLER_PERMISSIONS),
    )


def test_expectations_name_each_key_and_its_agent():
    keys = {e.key_id.rsplit("/", 1)[1]: e for e in expectations(PLATFORM, "staging")}
    assert set(keys) == {"vertex", "storage", "bigquery"}
    assert keys["vertex"].members == (
        (
            "serviceAccount:service-100000000002@gcp-sa-aiplatform.iam.gserviceaccount.com",
            "staging Vertex AI agent",
        ),
    )
    assert keys["bigquery"].members[0][0] == (
        "serviceAccount:bq-100000000002@bigquery-encryption.iam.gserviceaccount.com"
    )


def test_a_healthy_key_passes():
    for e in expectations(PLATFORM, "prod"):
        assert judge_key(e, healthy(e)) == []


def test_each_key_failure_names_resource_and_fix():
    e = expectations(PLATFORM, "staging")[0]
    (missing,) = judge_key(e, KeyFacts(exists=False))
    assert str(missing) == f"{e.key_id}: key does not exist; fix: cd envs/staging && cdktf deploy"
    disabled = healthy(e)
    disabled.primary_state = "DISABLED"
    (p,) = judge_key(e, disabled)
    assert p.problem == "primary version is DISABLED" and "versions enable" in p.fix
    ungranted = healthy(e)
    ungranted.encrypters = set()
    (p,) = judge_key(e, ungranted)
    assert p.problem.endswith(f"lacks {ENCRYPTER_DECRYPTER}") and "Vertex AI agent" in p.problem
    blind = healthy(e)
    blind.caller_permissions = {"cloudkms.cryptoKeys.get"}
    (p,) = judge_key(e, blind)
    assert "cloudkms.cryptoKeys.getIamPolicy" in p.problem


def test_a_key_in_another_region_is_caught():
    e = expectations(PLATFORM, "staging")[0]
    moved = type(e)(
        e.key_id.replace("europe-west4", "us-central1"), e.region, e.members, e.deploy_fix
    )
    (p,) = judge_key(moved, healthy(moved))
    assert "key is in us-central1, the pipeline runs in europe-west4" in p.problem


def test_buckets_and_dataset():
    key = "projects/x/locations/r/keyRings/k/cryptoKeys/storage"
    problems = judge_buckets({"a": key, "b": key, "c": key}, {"a": key, "b": None}, "prod")
    assert [str(p) for p in problems] == [
        f"gs://b: default KMS key is None, expected {key}; fix: cd envs/prod && cdktf deploy",
        "gs://c: bucket does not exist; fix: cd envs/prod && cdktf deploy",
    ]
    assert judge_dataset("census", "k", True, "k", "staging") == []
    assert judge_dataset("census", None, False, "k", "staging")[0].problem == (
        "dataset does not exist"
    )
    assert (
        "default CMEK key is other"
        in judge_dataset("census", "other", True, "k", "staging")[0].problem
    )
