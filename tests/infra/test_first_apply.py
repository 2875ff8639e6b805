"""The first apply from empty projects, played over the synthesized stacks in the documented
order: nothing is named before it exists, no CMEK user races its key grants."""

from __future__ import annotations

import copy
import re

import pytest

from infra.first_apply import FIRST_APPLY, play
from settings import REPO_ROOT

pytestmark = pytest.mark.slow  # synthesizes the stacks or starts the simulated cloud


def test_the_documented_order_applies_from_empty_projects(stacks):
    result = play(stacks)
    assert result.findings == [], "\n".join(map(str, result.findings))
    assert [s.stack for s in result.steps] == list(FIRST_APPLY)
    assert all(s.resources > 0 and s.waves >= 1 for s in result.steps)


def test_docs_give_the_same_order():
    text = (REPO_ROOT / "docs" / "infra.md").read_text()
    section = text.split("### First apply", 1)[1].split("\n#", 1)[0]
    named = re.findall(r"^\d\. .*cdktf deploy (census-ml-[a-z-]+)", section, re.M)
    assert [n.removeprefix("census-ml-") for n in named] == list(FIRST_APPLY)


def test_a_cross_tenant_stack_before_its_peer_names_identities_not_there_yet(stacks):
    early = ("dev", "staging", "staging-cross-tenant", "prod", "prod-cross-tenant")
    problems = {(f.step, f.problem) for f in play(stacks, early).findings}
    assert problems == {
        (
            "staging-cross-tenant",
            "names identity census-deployer@census-ml-prod.iam.gserviceaccount.com, "
            "which does not exist yet",
        ),
        (
            "staging-cross-tenant",
            "names identity service-100000000003@gcp-sa-aiplatform.iam.gserviceaccount.com, "
            "which does not exist yet",
        ),
        (  # prod's anomaly sink makes it (its writer identity)
            "staging-cross-tenant",
            "names identity service-100000000003@gcp-sa-logging.iam.gserviceaccount.com, "
            "which does not exist yet",
        ),
    }


def _strip(stack: dict, rtype: str, dropped) -> str:
    """Remove the depends_on entries `dropped` selects from every `rtype`; its first address."""
    for body in stack["resource"][rtype].values():
        body["depends_on"] = [d for d in body.get("depends_on", []) if not dropped(d)]
    return f"{rtype}.{next(iter(stack['resource'][rtype]))}"


def test_a_bucket_that_does_not_wait_for_its_key_grant_is_found(stacks):
    changed = copy.deepcopy(stacks)
    _strip(changed["prod"], "google_storage_bucket", lambda d: "crypto_key_iam" in d)
    found = [f for f in play(changed).findings if f.step == "prod"]
    assert found and all(
        "google_storage_bucket." in f.address
        and f.problem
        == "is encrypted with storage before 1 of its key grants to the agents that use it"
        for f in found
    )


def test_the_function_waits_for_all_four_agents_grants_on_its_key(stacks):
    """Directly or through its image repository (encrypted with the same key)."""
    changed = copy.deepcopy(stacks)
    function = _strip(
        changed["staging"], "google_cloudfunctions2_function", lambda d: "crypto_key_iam" in d
    )
    assert play(changed).findings == []  # still waits, through the repository
    _strip(changed["staging"], "google_artifact_registry_repository", lambda d: "key_iam" in d)
    problems = {f.address: f.problem for f in play(changed).findings}
    assert problems[function] == (
        "is encrypted with functions before 4 of its key grants to the agents that use it"
    )


def test_a_key_grant_before_its_agent_is_asked_for_is_found(stacks):
    """Google makes the Vertex AI agent only when generateServiceIdentity is called."""
    changed = copy.deepcopy(stacks)
    _strip(changed["dev"], "google_kms_crypto_key_iam_member", lambda d: "service_identity" in d)
    problems = {f.problem for f in play(changed).findings}
    assert (
        "names identity service-100000000001@gcp-sa-aiplatform.iam.gserviceaccount.com, "
        "which does not exist yet" in problems
    )


def test_a_resource_before_its_api_is_found(stacks):
    changed = copy.deepcopy(stacks)
    address = _strip(changed["dev"], "google_kms_key_ring", lambda d: "project_service" in d)
    findings = play(changed).findings
    assert any(
        f.address == address and f.problem == "needs the cloudkms API, not enabled before it"
        for f in findings
    )


def test_a_grant_to_an_identity_no_stack_creates_is_found(stacks):
    changed = copy.deepcopy(stacks)
    grants = changed["prod-cross-tenant"]["resource"]["google_service_account_iam_member"]
    body = next(iter(grants.values()))
    body["member"] = "serviceAccount:census-ghost@census-ml-staging.iam.gserviceaccount.com"
    (finding,) = play(changed).findings
    assert finding.problem == (
        "names census-ghost@census-ml-staging.iam.gserviceaccount.com, which no stack creates"
    )
