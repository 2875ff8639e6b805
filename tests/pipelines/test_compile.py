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


def constant(task: dict, name: str):
    return task["inputs"]["parameters"][name]["runtimeValue"]["constant"]


STAGING_KEY = (
    "projects/census-ml-staging/locations/europe-west4/keyRings/census-ml/cryptoKeys/vertex"
)
PROD_KEY = STAGING_KEY.replace("census-ml-staging", "census-ml-prod")


def test_tasks_and_edges(vertex):
    root = tasks(vertex)
    assert set(root) == {
        "ingest",
        "validate",
        "train",
        "evaluate",
        "export",
        "decide",
        "condition-1",
    }
    deps = {name: sorted(t.get("dependentTasks", [])) for name, t in root.items()}
    assert deps == {
        "ingest": [],
        "validate": ["ingest"],
        "train": ["ingest", "validate"],
        "evaluate": ["ingest", "train"],
        "export": ["ingest", "train"],  # the on-device model, checked against LightGBM
        "decide": ["evaluate", "export", "ingest", "train", "validate"],
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
    assert constant(train, "encryption_spec_key_name") == STAGING_KEY
    assert constant(train, "service_account") == (
        "census-trainer@census-ml-staging.iam.gserviceaccount.com"
    )
    assert constant(train, "project") == "census-ml-staging"
    assert constant(train, "location") == "europe-west4"
    assert bound(train, "training") == "training"
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
        where = constant(inner[name], "tenants")
        assert where["deployer_service_account"] == (
            "census-deployer@census-ml-prod.iam.gserviceaccount.com"
        )
        assert where["prod_kms_key"] == PROD_KEY
        assert where["prod_project"] == "census-ml-prod"
        assert constant(inner[name], "target") == "vertex"
    assert bound(inner["deploy"], "rollout") == "pipelinechannel--rollout"
    assert bound(inner["monitor"], "monitoring_settings") == "pipelinechannel--monitoring"


def test_every_component_runs_in_the_image_of_the_compile(vertex):
    for name, executor in vertex["deploymentSpec"]["executors"].items():
        if name != "exec-train":
            assert executor["container"]["image"] == IMAGE, name


def test_parameter_defaults_are_the_settings(vertex):
    from settings import load_platform

    platform = load_platform()
    inputs = vertex["root"]["inputDefinitions"]["parameters"]
    assert set(inputs) == {
        "data",
        "training",
        "bars",
        "rollout",
        "monitoring",
        "commit",
        "workspace",
    }
    assert inputs["rollout"]["defaultValue"] == platform["prod"].serving.rollout.model_dump()
    assert inputs["bars"]["defaultValue"] == platform["staging"].pipeline.bars.model_dump()
    assert inputs["monitoring"]["defaultValue"]["feature_thresholds"]["fnlwgt"] == 0.15
    assert inputs["data"]["defaultValue"]["train_data_uri"].startswith(
        "gs://census-ml-staging-data/"
    )
    assert inputs["training"]["defaultValue"]["num_boost_round"] == 1200


def test_local_compile_uses_a_plain_train_component(tmp_path):
    out = tmp_path / "local.yaml"
    assert main(["compile", "--target", "local", "--output", str(out)]) == 0
    spec = yaml.safe_load(out.read_text())
    assert "encryption_spec_key_name" not in tasks(spec)["train"]["inputs"].get("parameters", {})
    data = spec["root"]["inputDefinitions"]["parameters"]["data"]["defaultValue"]
    assert data["train_data_uri"] == "bundled:train"


SERVING = "europe-west4-docker.pkg.dev/census-ml-staging/census-images/serving@sha256:" + "e" * 64


def test_submit_refuses_a_template_that_serves_an_image_by_tag(capsys):
    code = main(["submit", "--env", "staging", "--dry-run", "--commit", "0123abcd"])
    assert code != 0
    err = capsys.readouterr().err
    assert "build/census-promotion-vertex.yaml" in err and "serving:latest" in err
    assert "is not pinned by digest" in err and "--param tenants.serving_image=" in err


def test_submit_dry_run_prints_the_exact_request(capsys):
    pinned = f"tenants.serving_image={SERVING}"
    args = ["submit", "--env", "staging", "--dry-run", "--commit", "0123abcd", "--param", pinned]
    assert main(args) == 0
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


def test_no_task_is_ever_served_from_the_cache(vertex):
    """A run from the console or a schedule must not reuse a cached decide or deploy."""
    for component in (None, "comp-condition-1"):
        for name, task in tasks(vertex, component).items():
            if "componentRef" in task and name.startswith("condition"):
                continue
            assert task.get("cachingOptions", {}).get("enableCache") is not True, name
