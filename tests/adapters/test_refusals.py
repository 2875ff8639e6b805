"""Google's refusals, read as one line: who was refused which permission on what."""

import json

from google.api_core import exceptions
from google.auth.exceptions import RefreshError

from adapters.vertex.refusals import describe, operation_running, refusal

INFO = {
    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
    "reason": "IAM_PERMISSION_DENIED",
    "domain": "iam.googleapis.com",
    "metadata": {"permission": "aiplatform.models.get", "resource": "projects/p"},
}
DEPLOYER = "census-deployer@p.iam.gserviceaccount.com"


def test_a_403_names_the_permission_and_resource_from_its_error_info():
    denied = exceptions.Forbidden("Permission denied (or it may not exist).", details=[INFO])
    assert refusal(denied)[:3] == (403, "aiplatform.models.get", "projects/p")
    line = describe(denied, f"{DEPLOYER}, impersonated by ci@p.iam.gserviceaccount.com")
    assert line == (
        "Google Cloud refused aiplatform.models.get on projects/p to "
        f"{DEPLOYER}, impersonated by ci@p.iam.gserviceaccount.com (403)"
    )


def test_a_refused_impersonation_is_the_callers():
    body = {
        "error": {
            "code": 403,
            "message": "Permission 'iam.serviceAccounts.getAccessToken' denied on resource "
            f"'projects/-/serviceAccounts/{DEPLOYER}' (or it may not exist).",
            "status": "PERMISSION_DENIED",
        }
    }
    failed = RefreshError("Unable to acquire impersonated credentials", json.dumps(body))
    line = describe(failed, f"{DEPLOYER}, impersonated by ci@p", "ci@p.iam.gserviceaccount.com")
    assert line == (
        "Google Cloud refused iam.serviceAccounts.getAccessToken on "
        f"projects/-/serviceAccounts/{DEPLOYER} to ci@p.iam.gserviceaccount.com (403): it may "
        f"not act as {DEPLOYER}"
    )


def test_anything_else_is_not_a_refusal():
    assert describe(exceptions.NotFound("no model"), DEPLOYER) is None
    assert describe(ValueError("x"), DEPLOYER) is None
    assert describe(RefreshError("no metadata server"), DEPLOYER) is None
    assert "over quota (429)" in describe(exceptions.TooManyRequests("slow down"), DEPLOYER)


def test_a_change_refused_while_an_operation_runs_is_no_refusal_but_a_wait():
    running = exceptions.BadRequest(
        "projects/p/locations/r/endpoints/1 has an operation in progress "
        "(projects/p/locations/r/endpoints/1/operations/9); retry once it is done."
    )
    assert operation_running(running).startswith("projects/p/locations/r/endpoints/1 has an")
    assert refusal(running) is None and describe(running, DEPLOYER) is None
    ongoing = exceptions.FailedPrecondition("The Endpoint has an ongoing operation.")
    assert operation_running(ongoing) == "The Endpoint has an ongoing operation."
    for other in (
        exceptions.BadRequest("traffic split must sum to 100"),
        exceptions.Forbidden("operation in progress"),  # a refusal, read as one
        ValueError("operation in progress"),
    ):
        assert operation_running(other) is None
