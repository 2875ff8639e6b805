"""The compiled pipeline YAML: tasks, edges, the condition, who carries CMEK, SA, project."""

import json

import pytest
import yaml

from mlops.cli import main

IMAGE = "europe-west4-docker.pkg.dev/census-ml-staging/census-images/components:abc123"


@pytest.fixture(scope="module")
def vertex(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("compile") / "vertex.yaml"
    assert (
        main(["compile", "--target", "vertex", "--output", str(out), "--image-tag", "abc123"]) == 0
    )
    return yaml.safe_load(out.read_text())


def tasks(spec: dict, component: str | None = None) -> dict:
    return (spec["components"][component]["dag"] if component else spec["root"]["dag"])["tasks"]


def bound(task: dict, name: str) -> str | None:
    return task["inputs"]["parameters"][name].get("componentInputParameter")


def test_tasks_and_edges(vertex):
    root = tasks(vertex)
    assert set(root) == {"ingest", "validate", "train", "evaluate", "decide", "condition-1"}
    deps = {name: sorted(t.get("dependentTasks", [])) for name, t in root.items()}
    assert deps == {
        "ingest": [],
        "validate": ["ingest"],
        "train": ["ingest", "validate"],
        "evaluate": ["ingest", "train"],
        "decide": ["evaluate", "ingest", "train", "validate"],
        "condition-1": ["decide"],
    }
    inner = tasks(vertex, "comp-condition-1")
    assert set(inner) == {"deploy", "monitor"}
    assert inner["monitor"]["dependentTasks"] == ["deploy"]


def test_deploy_and_monitor_run_only_when_decide_says_so(vertex):
    condition = tasks(vertex)["condition-1"]["triggerPolicy"]["condition"]
    assert condition == "inputs.parameter_values['pipelinechannel--decide-Output'] == true"


def test_training_is_a_cmek_custom_job_as_the_trainer_in_staging(vertex):
    train = tasks(vertex)["train"]
    assert bound(train, "encryption_spec_key_name") == "staging_kms_key"
    assert bound(train, "service_account") == "trainer_service_account"
    assert bound(train, "project") == "staging_project"
    assert bound(train, "location") == "region"
    executor = vertex["deploymentSpec"]["executors"]["exec-train"]["container"]
    assert executor["image"].startswith("gcr.io/ml-pipeline/google-cloud-pipeline-components")
    specs = vertex["components"]["comp-train"]["inputDefinitions"]["parameters"][
        "worker_pool_specs"
    ]["defaultValue"]
    assert specs[0]["machine_spec"]["machine_type"] == "n1-standard-4"
    assert specs[0]["container_spec"]["image_uri"] == IMAGE


def test_prod_steps_act_as_the_deployer_with_prod_cmek(vertex):
    inner = tasks(vertex, "comp-condition-1")
    for name in ("deploy", "monitor"):
        params = inner[name]["inputs"]["parameters"]
        assert params["deployer_service_account"]["componentInputParameter"] == (
            "pipelinechannel--deployer_service_account"
        )
        assert params["prod_kms_key"]["componentInputParameter"].endswith("prod_kms_key")
        assert params["prod_project"]["componentInputParameter"].endswith("prod_project")
        assert params["target"]["runtimeValue"]["constant"] == "vertex"


def test_every_component_runs_in_the_image_of_the_compile(vertex):
    for name, executor in vertex["deploymentSpec"]["executors"].items():
        if name != "exec-train":
            assert executor["container"]["image"] == IMAGE, name


def test_parameter_defaults_are_the_settings(vertex):
    inputs = vertex["root"]["inputDefinitions"]["parameters"]
    assert inputs["canary_percent"]["defaultValue"] == 10
    assert inputs["staging_kms_key"]["defaultValue"].endswith(
        "census-ml-staging/locations/europe-west4/keyRings/census-ml/cryptoKeys/vertex"
    )
    assert inputs["prod_project"]["defaultValue"] == "census-ml-prod"
    assert inputs["train_data_uri"]["defaultValue"].startswith("gs://census-ml-staging-data/")


def test_local_compile_uses_a_plain_train_component(tmp_path):
    out = tmp_path / "local.yaml"
    assert main(["compile", "--target", "local", "--output", str(out)]) == 0
    spec = yaml.safe_load(out.read_text())
    assert "encryption_spec_key_name" not in tasks(spec)["train"]["inputs"].get("parameters", {})
    assert (
        spec["root"]["inputDefinitions"]["parameters"]["train_data_uri"]["defaultValue"]
        == "bundled:train"
    )


def test_submit_dry_run_prints_the_exact_request(capsys):
    assert main(["submit", "--env", "staging", "--dry-run", "--commit", "0123abcd"]) == 0
    out = capsys.readouterr().out
    request = json.loads(out[: out.index("\ndry run:")])
    job = request["pipeline_job"]
    assert request["service_account"] == "census-pipeline@census-ml-staging.iam.gserviceaccount.com"
    assert job["encryption_spec_key_name"] == (
        "projects/census-ml-staging/locations/europe-west4/keyRings/census-ml/cryptoKeys/vertex"
    )
    assert job["pipeline_root"] == "gs://census-ml-staging-pipeline-root/runs"
    assert job["labels"] == {"env": "staging", "pipeline": "census-promotion", "commit": "0123abcd"}
    assert job["project"] == "census-ml-staging" and job["location"] == "europe-west4"
    assert job["job_id"].startswith("census-promotion-") and job["job_id"].endswith("-0123abcd")
    assert job["parameter_values"]["commit"] == "0123abcd"
    assert job["enable_caching"] is False
