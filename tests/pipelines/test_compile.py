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


def everywhere(spec: dict) -> dict:
    """Every task in the compiled graph by name, inside conditions too: (its DAG, task)."""
    found = {}
    dags = [("root", spec["root"]["dag"])]
    while dags:
        where, dag = dags.pop()
        for name, task in dag["tasks"].items():
            found[name] = (where, task)
            child = spec["components"][task["componentRef"]["name"]]
            if "dag" in child:
                dags.append((task["componentRef"]["name"], child["dag"]))
    return found


def deploy_branch(spec: dict) -> str:
    """The component of the condition that deploys (KFP numbers conditions in order)."""
    return everywhere(spec)["deploy"][0]


def test_tasks_and_edges(vertex):
    root = tasks(vertex)
    deploy = deploy_branch(vertex).removeprefix("comp-")
    deps = {name: sorted(t.get("dependentTasks", [])) for name, t in root.items()}
    assert deps == {
        "ingest": [],
        "validate": ["ingest"],
        "condition-branches-1": ["ingest", "validate"],  # custom trainer, or skipped
        "condition-branches-4": ["validate"],  # AutoML (on the validated table), or skipped
        "evaluate": ["condition-branches-1", "condition-branches-4", "ingest"],
        "export": ["condition-branches-1", "condition-branches-4", "ingest"],
        "decide": [
            "condition-branches-1",
            "condition-branches-4",
            "evaluate",
            "export",
            "ingest",
            "validate",
        ],
        deploy: ["decide"],
    }
    inner = tasks(vertex, f"comp-{deploy}")
    assert set(inner) == {"deploy", "monitor"}
    assert inner["monitor"]["dependentTasks"] == ["deploy"]


def test_a_trainer_left_out_does_not_run_and_its_skip_marker_takes_its_place(vertex):
    found = everywhere(vertex)
    conditions = {
        found[task][0]: found[found[task][0].removeprefix("comp-")][1]["triggerPolicy"]["condition"]
        for task in ("train", "skipped", "automl-budget", "skipped-2")
    }
    channel = "inputs.parameter_values['pipelinechannel--trainer']"
    assert sorted(conditions.values()) == sorted(
        [
            f"{channel} != 'automl'",
            f"!({channel} != 'automl')",
            f"{channel} != 'custom'",
            f"!({channel} != 'custom')",
        ]
    )
    assert conditions[found["train"][0]] == f"{channel} != 'automl'"
    assert conditions[found["automl-budget"][0]] == f"{channel} != 'custom'"
    # evaluate, export and decide take whichever of each pair ran (dsl.OneOf)
    for branches in ("comp-condition-branches-1", "comp-condition-branches-4"):
        (selectors,) = vertex["components"][branches]["dag"]["outputs"]["artifacts"].values()
        assert len(selectors["artifactSelectors"]) == 2
    evaluate = tasks(vertex)["evaluate"]["inputs"]["artifacts"]
    assert evaluate["model"]["taskOutputArtifact"]["producerTask"] == "condition-branches-1"
    assert evaluate["automl_model"]["taskOutputArtifact"]["producerTask"] == (
        "condition-branches-4"
    )


def test_the_automl_branch_is_cmek_throughout_with_the_budget_of_the_run(vertex):
    found = everywhere(vertex)
    dataset = found["tabular-dataset-create"][1]
    assert constant(dataset, "encryption_spec_key_name") == STAGING_KEY
    assert constant(dataset, "bq_source") == "bq://census-ml-staging.census.census_train"
    assert constant(dataset, "project") == "census-ml-staging"
    training = found["automl-tabular-training-job"][1]
    assert constant(training, "training_encryption_spec_key_name") == STAGING_KEY
    assert constant(training, "model_encryption_spec_key_name") == STAGING_KEY
    assert constant(training, "optimization_prediction_type") == "classification"
    assert constant(training, "target_column") == "income_bracket"
    specs = constant(training, "column_specs")
    assert len(specs) == 14 and "line_number" not in specs and specs["sex"] == "categorical"
    budget = training["inputs"]["parameters"]["budget_milli_node_hours"]["taskOutputParameter"]
    assert budget["producerTask"] == "automl-budget"
    assert bound(found["automl-budget"][1], "automl") == "pipelinechannel--automl"
    predict = found["model-batch-predict"][1]
    assert constant(predict, "encryption_spec_key_name") == STAGING_KEY
    assert constant(predict, "service_account") == (
        "census-trainer@census-ml-staging.iam.gserviceaccount.com"
    )
    assert constant(predict, "bigquery_source_input_uri") == (
        "bq://census-ml-staging.census.census_test"
    )
    assert constant(predict, "excluded_fields") == ["line_number", "income_bracket"]
    # the op names no service account: AutoML training runs as Vertex AI's service agent
    inputs = vertex["components"]["comp-automl-tabular-training-job"]["inputDefinitions"]
    assert "service_account" not in inputs["parameters"]


def test_the_automl_budget_step_validates_the_group():
    from pydantic import ValidationError

    from pipelines.components import automl_budget

    assert automl_budget({"budget_milli_node_hours": 2000, "time_budget_seconds": 30}) == 2000
    with pytest.raises(ValidationError, match="budget_milli_node_hours"):
        automl_budget({"budget_milli_node_hours": 10})


def test_training_is_a_cmek_custom_job_as_the_trainer_in_staging(vertex):
    train = everywhere(vertex)["train"][1]
    assert constant(train, "encryption_spec_key_name") == STAGING_KEY
    assert constant(train, "service_account") == (
        "census-trainer@census-ml-staging.iam.gserviceaccount.com"
    )
    assert constant(train, "project") == "census-ml-staging"
    assert constant(train, "location") == "europe-west4"
    assert bound(train, "training") == "pipelinechannel--training"
    executor = vertex["deploymentSpec"]["executors"]["exec-train"]["container"]
    assert executor["image"].startswith("gcr.io/ml-pipeline/google-cloud-pipeline-components")
    specs = vertex["components"]["comp-train"]["inputDefinitions"]["parameters"][
        "worker_pool_specs"
    ]["defaultValue"]
    assert specs[0]["machine_spec"]["machine_type"] == "n1-standard-4"
    assert specs[0]["container_spec"]["image_uri"] == IMAGE
    # stopped after pipeline.training_timeout_hours, not Vertex's 7-day default
    timeout = vertex["components"]["comp-train"]["inputDefinitions"]["parameters"]["timeout"]
    assert timeout["defaultValue"] == "7200s"


def test_prod_steps_act_as_the_deployer_with_prod_cmek(vertex):
    inner = tasks(vertex, deploy_branch(vertex))
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
    gcpc = {  # Google Cloud Pipeline Components' own launchers
        "exec-train",
        "exec-tabular-dataset-create",
        "exec-automl-tabular-training-job",
        "exec-model-batch-predict",
    }
    for name, executor in vertex["deploymentSpec"]["executors"].items():
        expected = "gcr.io/ml-pipeline/google-cloud-pipeline-components" if name in gcpc else IMAGE
        assert executor["container"]["image"].startswith(expected), name


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
        "automl",
        "trainer",
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
    assert inputs["trainer"]["defaultValue"] == platform["staging"].pipeline.trainer
    assert inputs["automl"]["defaultValue"] == platform["staging"].pipeline.automl.model_dump()


def test_local_compile_uses_a_plain_train_component(tmp_path):
    out = tmp_path / "local.yaml"
    assert main(["compile", "--target", "local", "--output", str(out)]) == 0
    spec = yaml.safe_load(out.read_text())
    assert "encryption_spec_key_name" not in tasks(spec)["train"]["inputs"].get("parameters", {})
    data = spec["root"]["inputDefinitions"]["parameters"]["data"]["defaultValue"]
    assert data["train_data_uri"] == "bundled:train"


SERVING = "europe-west4-docker.pkg.dev/census-ml-staging/census-images/serving@sha256:" + "e" * 64


def test_submit_refuses_a_template_that_serves_an_image_by_tag(tmp_path, capsys):
    template = tmp_path / "by-tag.yaml"
    assert main(["compile", "--output", str(template)]) == 0
    capsys.readouterr()
    code = main(["submit", "--env", "staging", "--template", str(template), "--commit", "0123abcd"])
    assert code == 2
    err = capsys.readouterr().err
    assert str(template) in err and "serving:latest" in err
    assert "is not pinned by digest" in err and "--param tenants.serving_image=" in err


def test_a_dry_run_on_a_fresh_checkout_shows_the_request_and_warns_what_would_be_refused(capsys):
    """No credentials, nothing pinned yet: the request is printed (exit 0) and each thing a
    real submit would refuse is a warning on stderr, so stdout stays the request's JSON."""
    assert main(["submit", "--env", "staging", "--dry-run", "--commit", "0123abcd"]) == 0
    captured = capsys.readouterr()
    request = json.loads(captured.out[: captured.out.index("\ndry run:")])
    assert request["pipeline_job"]["labels"]["commit"] == "0123abcd"
    warnings = captured.err.splitlines()
    assert warnings[0].startswith("warning: a real submit would refuse this: build/census-")
    assert "serving:latest' is not pinned by digest" in warnings[0]
    assert any("still an example value: envs/" in w for w in warnings)  # project numbers
    assert "no credentials used" in captured.out
    # --json: stdout is the request alone, every word for a person on stderr
    assert main(["submit", "--env", "staging", "--dry-run", "--commit", "0123abcd", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["pipeline_job"]["labels"]["commit"] == "0123abcd"
    assert "no credentials used" in captured.err


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
    assert "enable_caching" not in job  # never sent: the compiled tasks say it themselves


def test_no_task_is_ever_served_from_the_cache(vertex):
    """A run from the console or a schedule must not reuse a cached decide or deploy."""
    for name, (_, task) in everywhere(vertex).items():
        if name.startswith("condition"):
            continue
        assert task.get("cachingOptions", {}).get("enableCache") is not True, name


@pytest.mark.parametrize("promotion", ["canary", "approval"])
def test_the_dashboards_dag_is_the_compiled_pipelines(tmp_path, promotion):
    """runs.STEP_EDGES (what the dashboard draws) is the transitive reduction of what each
    compiled task waits for or reads, in either promotion mode."""
    import re

    from promotion.domain.runs import STEP_EDGES

    out = tmp_path / "local.yaml"
    args = ["compile", "--target", "local", "--output", str(out)]
    assert main([*args, "--param", f"tenants.promotion={promotion}"]) == 0
    spec = yaml.safe_load(out.read_text())
    steps = {name: task for name, (_, task) in everywhere(spec).items() if "condition" not in name}
    needs = {
        name: (
            set(task.get("dependentTasks", []))
            | set(re.findall(r'"producerTask": "([\w-]+)"', json.dumps(task.get("inputs", {}))))
            | set(re.findall(r"pipelinechannel--([a-z]+)-", json.dumps(task.get("inputs", {}))))
        )
        & set(steps)
        for name, task in steps.items()
    }

    def reaches(a: str, b: str, skip: tuple[str, str]) -> bool:
        todo = [a]
        while todo:
            node = todo.pop()
            for later in (n for n, before in needs.items() if node in before):
                if (node, later) != skip and (later == b or reaches(later, b, skip)):
                    return True
        return False

    edges = {(a, b) for b, before in needs.items() for a in before}
    reduced = {(a, b) for a, b in edges if not reaches(a, b, skip=(a, b))}
    drawn = {(a, b) for a, b in STEP_EDGES if a in steps and b in steps}
    assert reduced == drawn
    assert ("decide", "approve" if promotion == "approval" else "deploy") in drawn
