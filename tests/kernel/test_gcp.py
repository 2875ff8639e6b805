"""One endpoint setting for every Google client."""

import pytest

from kernel import gcp


def test_unset_means_google_defaults():
    assert gcp.endpoint("storage", {}) is None
    assert gcp.endpoint("storage", {gcp.ENV_VAR: "  "}) is None


def test_the_template_names_each_service():
    env = {gcp.ENV_VAR: "https://{service}-psc.p.googleapis.com/"}
    assert gcp.endpoint("aiplatform", env) == "https://aiplatform-psc.p.googleapis.com"
    assert gcp.endpoint("cloudkms", env) == "https://cloudkms-psc.p.googleapis.com"


def test_bad_templates_and_services_are_refused():
    with pytest.raises(ValueError, match=r"must contain \{service\}"):
        gcp.endpoint("storage", {gcp.ENV_VAR: "http://127.0.0.1:1"})
    with pytest.raises(ValueError, match="unknown Google API 'compute'"):
        gcp.endpoint("compute", {})


def test_client_options_transport_and_impersonation(monkeypatch):
    monkeypatch.delenv(gcp.ENV_VAR, raising=False)
    assert gcp.client_options("bigquery") is None and gcp.transport("cloudkms") is None
    assert gcp.impersonation_url("d@p.iam.gserviceaccount.com") is None
    monkeypatch.setenv(gcp.ENV_VAR, "http://127.0.0.1:9/{service}")
    assert gcp.client_options("bigquery") == {"api_endpoint": "http://127.0.0.1:9/bigquery"}
    assert gcp.transport("cloudkms") == "rest"
    assert gcp.impersonation_url("d@p.iam.gserviceaccount.com") == (
        "http://127.0.0.1:9/iamcredentials/v1/projects/-/serviceAccounts/"
        "d@p.iam.gserviceaccount.com:generateAccessToken"
    )


def test_libraries_storage_clients_follow(monkeypatch):
    monkeypatch.delenv(gcp.STORAGE_OVERRIDE, raising=False)
    monkeypatch.setenv(gcp.ENV_VAR, "http://127.0.0.1:9/{service}")
    gcp.point_libraries()
    assert gcp.os.environ[gcp.STORAGE_OVERRIDE] == "http://127.0.0.1:9/storage"
    monkeypatch.setenv(gcp.STORAGE_OVERRIDE, "https://storage-psc.p.googleapis.com")
    gcp.point_libraries()
    assert gcp.os.environ[gcp.STORAGE_OVERRIDE] == "https://storage-psc.p.googleapis.com"


def test_the_auth_librarys_access_boundary_lookup_follows_too(monkeypatch):
    """google-auth looks up a service account's allowed locations after each token, at
    iamcredentials.googleapis.com whatever the clients' endpoints: moved with them."""
    from google.auth import _regional_access_boundary_utils as boundary

    monkeypatch.setattr(
        boundary, "get_service_account_rab_endpoint", boundary.get_service_account_rab_endpoint
    )
    monkeypatch.setenv(gcp.ENV_VAR, "http://127.0.0.1:9/{service}")
    gcp.point_libraries()
    assert boundary.get_service_account_rab_endpoint("d@p.iam.gserviceaccount.com") == (
        "http://127.0.0.1:9/iamcredentials/v1/projects/-/serviceAccounts/"
        "d@p.iam.gserviceaccount.com/allowedLocations"
    )
