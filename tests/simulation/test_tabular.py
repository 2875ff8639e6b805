"""The simulated AutoML Tabular's contract (pure), and GCPC's container arguments as Vertex
fills them in for the AutoML ops of the compiled pipeline."""

import json

import pytest

from simulation import gcpc
from simulation.apis.vertex import tabular
from simulation.wire import ApiError

COLUMNS = {"age": "numeric", "workclass": "categorical"}


def pipeline(**inputs) -> dict:
    task = {
        "targetColumn": "income_bracket",
        "predictionType": "classification",
        "transformations": [
            {"numeric": {"column_name": "age"}},
            {"categorical": {"columnName": "workclass"}},
        ],
        "trainBudgetMilliNodeHours": 1000,
        **inputs,
    }
    return {
        "trainingTaskDefinition": tabular.DEFINITION,
        "trainingTaskInputs": task,
        "inputDataConfig": {"datasetId": "42"},
    }


def test_a_training_pipeline_is_read_as_vertex_reads_it():
    training = tabular.training_of(pipeline())
    assert training.columns == COLUMNS  # the SDK's column_name and the docs' columnName
    assert (training.target, training.dataset_id, training.objective) == (
        "income_bracket", "42", "maximize-au-roc")  # fmt: skip
    assert training.search_trials == tabular.NODE_HOUR_TRIALS  # 1,000 = one node hour
    assert training.search_seconds == tabular.NODE_HOUR_SECONDS
    three = tabular.training_of(pipeline(trainBudgetMilliNodeHours=3000))
    assert (three.search_trials, three.search_seconds) == (36, 360)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"trainBudgetMilliNodeHours": 500}, r"trainBudgetMilliNodeHours 500"),
        ({"trainBudgetMilliNodeHours": 80000}, "trainBudgetMilliNodeHours 80000"),
        ({"predictionType": "regression"}, "predictionType 'regression'"),
        ({"targetColumn": ""}, "targetColumn is required"),
        ({"transformations": []}, "transformations must name"),
        ({"transformations": [{"weird": {"columnName": "a"}}]}, "unknown kind 'weird'"),
        ({"transformations": [{"numeric": {}}]}, r"transformations\[0\].numeric.columnName"),
        ({"transformations": [{"numeric": {"columnName": "income_bracket"}}]}, "cannot also"),
        ({"optimizationObjective": "maximize-fun"}, "optimizationObjective 'maximize-fun'"),
    ],
)
def test_a_bad_training_pipeline_is_refused_naming_the_field(change, named):
    with pytest.raises(ApiError, match=named) as refused:
        tabular.training_of(pipeline(**change))
    assert refused.value.status == 400


def test_only_automl_tabular_training_and_a_dataset_are_taken():
    with pytest.raises(ApiError, match="trainingTaskDefinition"):
        tabular.training_of({**pipeline(), "trainingTaskDefinition": "gs://custom_task.yaml"})
    with pytest.raises(ApiError, match=r"inputDataConfig\.datasetId"):
        tabular.training_of({**pipeline(), "inputDataConfig": {}})


def test_online_instances_are_strings_and_missing_is_null():
    row = tabular.online_row({"age": "39", "workclass": "Private"}, COLUMNS, 0)
    assert row == {"age": 39.0, "workclass": "Private"}
    assert tabular.online_row({"age": "", "workclass": None}, COLUMNS, 3) == {
        "age": None, "workclass": None}  # fmt: skip


@pytest.mark.parametrize(
    ("instance", "message"),
    [
        ({"age": 39, "workclass": "Private"}, r"instances\[2\].age: 39 must be a string"),
        ({"age": "old", "workclass": "Private"}, r"instances\[2\].age: 'old' is not a number"),
        ({"age": "inf"}, "not a finite number"),
        ({"age": "1", "height": "2"}, r"unknown columns \['height'\]"),
        (["39", "Private"], r"instances\[2\] must be a JSON object"),
    ],
)
def test_a_bad_online_instance_is_refused_naming_it(instance, message):
    with pytest.raises(ValueError, match=message):
        tabular.online_row(instance, COLUMNS, 2)


def test_predictions_outputs_and_the_container():
    assert tabular.classes_and_scores(["<=50K", ">50K"], 0.25) == {
        "classes": ["<=50K", ">50K"], "scores": [0.75, 0.25]}  # fmt: skip
    assert tabular.output_table(1764844800.5) == "predictions_2025_12_04T10_40_00_500Z"
    image = "europe-docker.pkg.dev/vertex-ai/automl-tabular/prediction-server-v1"
    assert tabular.prediction_image("europe-west4") == image
    assert json.loads(tabular.environment_json("europe-west4")) == {"container_uri": image}
    assert tabular.prediction_image("us-central1").startswith("us-docker.pkg.dev/")
    assert tabular.bigquery_uri("bq://p-1.census.t", "f") == ("p-1", "census", "t")
    assert tabular.bigquery_uri("bq://p-1.census", "f", table=False) == ("p-1", "census", None)
    with pytest.raises(ApiError, match=r"out: 'bq://p-1.census' is not .*dataset.table"):
        tabular.bigquery_uri("bq://p-1.census", "out")


# GCPC's container arguments --------------------------------------------------------------

EXECUTOR = {
    "inputs": {
        "parameterValues": {"project": "p", "labels": {}, "budget": 1000, "absent": None},
        "artifacts": {
            "dataset": {
                "artifacts": [
                    {
                        "uri": "gs://r/d",
                        "metadata": {"resourceName": "projects/1/locations/l/datasets/9"},
                    }
                ]
            }
        },
    },
    "outputs": {
        "parameters": {"gcp_resources": {"outputFile": "/tmp/x/gcp_resources"}},
        "artifacts": {"model": {"artifacts": [{"uri": "gs://r/model"}]}},
        "outputFile": "/tmp/x/executor_output.json",
    },
}


def test_container_arguments_are_filled_in_as_vertex_does():
    args = [
        "--init.project", "{{$.inputs.parameters['project']}}",
        "--init.labels", "{{$.inputs.parameters['labels']}}",
        "--method.dataset", "{{$.inputs.artifacts['dataset'].metadata['resourceName']}}",
        '{"IfPresent": {"InputName": "budget", "Then": ["--b", '
        "\"{{$.inputs.parameters['budget']}}\"]}}",
        '{"IfPresent": {"InputName": "absent", "Then": ["--never"]}}',
        "--gcp_resources", "{{$.outputs.parameters['gcp_resources'].output_file}}",
        "--out", "{{$.outputs.artifacts['model'].uri}}",
        "--executor_input", "{{$}}",
    ]  # fmt: skip
    resolved = gcpc.resolve(args, EXECUTOR)
    assert resolved[:8] == [
        "--init.project", "p", "--init.labels", "{}",
        "--method.dataset", "projects/1/locations/l/datasets/9", "--b", "1000",
    ]  # fmt: skip
    assert "--never" not in resolved
    assert resolved[8:12] == ["--gcp_resources", "/tmp/x/gcp_resources", "--out", "gs://r/model"]
    assert json.loads(resolved[-1]) == EXECUTOR


def test_a_concatenated_payload_becomes_one_json_argument():
    payload = json.dumps({"Concat": [
        '{"display_name": "', "{{$.inputs.parameters['project']}}", '"',
        {"IfPresent": {"InputName": "dataset", "Then": {"Concat": [
            ', "model": "', "{{$.inputs.artifacts['dataset'].metadata['resourceName']}}", '"']}}},
        {"IfPresent": {"InputName": "absent", "Then": ', "x": 1'}}, "}"]})  # fmt: skip
    (one,) = gcpc.resolve([payload], EXECUTOR)
    assert json.loads(one) == {"display_name": "p", "model": "projects/1/locations/l/datasets/9"}


def test_the_compiled_automl_ops_resolve_and_a_foreign_placeholder_is_refused(tmp_path):
    from mlops.cli import main

    out = tmp_path / "vertex.yaml"
    assert main(["compile", "--target", "vertex", "--output", str(out), "--image-tag", "t"]) == 0
    import yaml

    executors = yaml.safe_load(out.read_text())["deploymentSpec"]["executors"]
    launched = {
        gcpc.launcher_of(e["container"]["command"]) for e in executors.values()
    } - {None}  # fmt: skip
    assert launched == set(gcpc.LAUNCHERS)  # the dataset and training ops, batch prediction
    with pytest.raises(ValueError, match="not one the simulation resolves"):
        gcpc.resolve(["{{$.inputs.artifacts['dataset'].path}}"], EXECUTOR)
