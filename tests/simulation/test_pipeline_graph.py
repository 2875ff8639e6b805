"""How the simulated Vertex Pipelines reads a compiled graph: conditions and dsl.OneOf."""

import pytest

from simulation.pipelines import StepFailed, condition_holds, dag_outputs

TRAINER = "inputs.parameter_values['pipelinechannel--trainer']"
DECIDED = "inputs.parameter_values['pipelinechannel--decide-Output']"


@pytest.mark.parametrize(
    ("condition", "values", "holds"),
    [
        (f"{DECIDED} == true", {"pipelinechannel--decide-Output": True}, True),
        (f"{DECIDED} == true", {"pipelinechannel--decide-Output": False}, False),
        (f"{DECIDED} == false", {"pipelinechannel--decide-Output": False}, True),
        (f"{DECIDED} == true", {"pipelinechannel--decide-Output": "true"}, False),
        (f"{TRAINER} != 'automl'", {"pipelinechannel--trainer": "both"}, True),
        (f"{TRAINER} != 'automl'", {"pipelinechannel--trainer": "automl"}, False),
        (f"!({TRAINER} != 'automl')", {"pipelinechannel--trainer": "automl"}, True),
        (f"!({TRAINER} != 'custom')", {"pipelinechannel--trainer": "both"}, False),
        (f"{TRAINER} == 'custom'", {"pipelinechannel--trainer": "custom"}, True),
    ],
)
def test_the_conditions_kfp_compiles_for_if_and_else(condition, values, holds):
    assert condition_holds(condition, values) is holds


def test_a_condition_it_cannot_read_fails_the_step_rather_than_guess():
    with pytest.raises(StepFailed, match="cannot evaluate the condition"):
        condition_holds(f"{TRAINER} > 'a'", {})


BRANCHES = {
    "outputs": {
        "artifacts": {
            "oneof-1": {
                "artifactSelectors": [
                    {"producerSubtask": "condition-2", "outputArtifactKey": "train-model"},
                    {"producerSubtask": "condition-3", "outputArtifactKey": "skipped-model"},
                ]
            }
        }
    }
}


def test_one_of_takes_the_branch_that_ran():
    skipped = {"artifacts": [{"uri": "gs://root/skipped/model"}]}
    assert dag_outputs(BRANCHES, {"condition-3": {"skipped-model": skipped}}) == {
        "oneof-1": skipped
    }
    trained = {"artifacts": [{"uri": "gs://root/train/model"}]}
    assert dag_outputs(BRANCHES, {"condition-2": {"train-model": trained}}) == {"oneof-1": trained}
    with pytest.raises(StepFailed, match="no task of the branches produced 'oneof-1'"):
        dag_outputs(BRANCHES, {})


def test_a_gcpc_op_it_does_not_emulate_fails_the_job_by_name(tmp_path):
    from types import SimpleNamespace

    from simulation.pipelines import GCPC, PipelineRunner

    command = ["python3", "-u", "-m", "google_cloud_pipeline_components.container.v1.hypertune"]
    job = {
        "name": "projects/p/locations/europe-west4/pipelineJobs/j",
        "serviceAccount": "pipeline@p.iam.gserviceaccount.com",
        "runtimeConfig": {"gcsOutputDirectory": "gs://root/runs"},
        "pipelineSpec": {
            "root": {"dag": {"tasks": {"automl": {"componentRef": {"name": "comp-automl"}}}}},
            "components": {"comp-automl": {"executorLabel": "exec-automl"}},
            "deploymentSpec": {
                "executors": {
                    "exec-automl": {
                        "container": {"image": f"{GCPC}:2.22.0", "command": command, "args": []}
                    }
                }
            },
        },
    }
    PipelineRunner(SimpleNamespace(root=tmp_path), log=lambda _: None).run(job)
    assert job["state"] == "PIPELINE_STATE_FAILED"
    assert job["error"]["message"].startswith("automl: the simulation does not run GCPC's")
    assert job["jobDetail"]["taskDetails"][0]["state"] == "FAILED"
