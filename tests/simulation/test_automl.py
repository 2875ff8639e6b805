"""The AutoML challenger on the simulated Vertex AI, end to end, as the identities that run it
in production: GCPC's own dataset, training and batch-prediction code as the pipeline
identity, AutoML's training and batch prediction as Vertex AI's service agent, the model
exported into the run, uploaded in prod with AutoML's prediction container, smoke-tested and
served in AutoML's format (docs/automl.md)."""

import pytest

from settings import service_agent_email
from simulation.apis.vertex import tabular
from simulation.platform import SimulatedPlatform

pytestmark = pytest.mark.slow  # a simulated cloud, two pipeline runs

STAGING = "census-ml-staging.iam.gserviceaccount.com"
PIPELINE = f"census-pipeline@{STAGING}"
DEPLOYER = "census-deployer@census-ml-prod.iam.gserviceaccount.com"
KEY = "projects/census-ml-staging/locations/europe-west4/keyRings/census-ml/cryptoKeys/vertex"
M = "aiplatform.projects.locations"
# a census row in AutoML tabular's online format: every value a string
INSTANCE = {"age": "39", "workclass": "State-gov", "fnlwgt": "77516", "education": "Bachelors",
            "education_num": "13", "marital_status": "Never-married",
            "occupation": "Adm-clerical", "relationship": "Not-in-family", "race": "White",
            "sex": "Male", "capital_gain": "2174", "capital_loss": "0",
            "hours_per_week": "40", "native_country": "United-States"}  # fmt: skip


def made_by(platform, method: str) -> set[str]:
    return {e.principal for e in platform.sim.wire if e.method == method}


@pytest.fixture(scope="module")
def automl_won(stacks, tmp_path_factory):
    """trainer=automl on a new cloud: the AutoML model is the only challenger and deploys."""
    with SimulatedPlatform(
        tmp_path_factory.mktemp("automl"), stacks=stacks, log=lambda _: None
    ) as p:
        outcome = p.submit(p.template(), {"trainer": "automl"})
        yield p, outcome


def test_automl_trains_predicts_and_is_exported_as_the_identities_that_run_it(automl_won, platform):
    p, outcome = automl_won
    assert outcome.state == "PIPELINE_STATE_SUCCEEDED", outcome.submit_output[-3000:]
    assert outcome.outcome[0].startswith("  decision : DEPLOY (automl): passes every bar")
    # `mlops submit --wait` says the same of the run, read as the submitter from the run's
    # Experiments run (census-build@staging, under the stacks' IAM)
    said = outcome.submit_output
    assert "  decision : DEPLOY (automl): passes every bar" in said
    assert (
        "   *automl  accuracy 0.8" in said and "  deployed : version 1; smoke test passed" in said
    )
    assert "  endpoint : v1 100% (after its deploy)" in said
    for method in ("datasets.create", "trainingPipelines.create", "trainingPipelines.get",
                   "batchPredictionJobs.create", "models.export"):  # fmt: skip
        assert made_by(p, f"{M}.{method}") == {PIPELINE}, method
    agent = service_agent_email("vertex", platform["staging"].project_number)
    # AutoML reads census_train, batch prediction reads census_test and writes its table,
    # as the agent: a TrainingPipeline has no service-account field to run it otherwise
    assert made_by(p, "bigquery.tabledata.list") == {agent}
    assert made_by(p, "bigquery.tables.insert") == {agent}
    (pipeline,) = p.sim.vertex.training_pipelines.values()
    assert "serviceAccount" not in pipeline and pipeline["state"] == "PIPELINE_STATE_SUCCEEDED"
    assert pipeline["encryptionSpec"]["kmsKeyName"] == KEY
    assert pipeline["modelToUpload"]["encryptionSpec"]["kmsKeyName"] == KEY
    (job,) = p.sim.vertex.batch_jobs.values()
    assert job["serviceAccount"] == f"census-trainer@{STAGING}"  # actAs checked on it
    assert job["outputInfo"]["bigqueryOutputTable"].startswith("predictions_")
    (dataset,) = p.sim.vertex.datasets.values()
    assert dataset["encryptionSpec"]["kmsKeyName"] == KEY
    assert not [e for e in p.sim.wire for c in e.checks if not c.allowed]


def test_prod_serves_the_automl_model_with_automl_s_container_and_format(automl_won):
    p, _ = automl_won
    (model,) = (m for n, m in p.sim.vertex.models.items() if "census-ml-prod" in n)
    version = model["versions"][model["aliases"]["champion"]]
    assert version["containerSpec"]["imageUri"] == tabular.prediction_image("europe-west4")
    assert (
        "/export/model-" in version["artifactUri"] and "/tf-saved-model/" in version["artifactUri"]
    )
    assert version["labels"]["trainer"] == "vertex-automl-tabular"
    assert made_by(p, f"{M}.models.upload") == {DEPLOYER}
    (evaluation,) = model["evaluations"].values()  # imported as for any version
    assert 0.9 < evaluation["metrics"]["auRoc"] < 1
    (endpoint,) = p.sim.vertex.endpoints
    with p.sim.client(DEPLOYER) as client:
        url = f"/aiplatform/v1/{endpoint}:predict"
        answered = client.post(url, json={"instances": [INSTANCE]})
        assert answered.status_code == 200, answered.text
        (prediction,) = answered.json()["predictions"]
        assert prediction["classes"] == ["<=50K", ">50K"] and sum(prediction["scores"]) == 1
        refused = client.post(url, json={"instances": [{**INSTANCE, "age": 39}]})
    assert refused.status_code == 400
    assert "instances[0].age: 39 must be a string" in refused.text


@pytest.fixture(scope="module")
def retrained(automl_won):
    """Then trainer=both against that AutoML champion (after the tests of it alone)."""
    p, first = automl_won
    return p, first, p.submit(p.template(), {"trainer": "both"})


def test_both_challengers_are_held_to_an_automl_champion_and_canary_beside_it(retrained):
    """The champion is scored by the predictions its own run made of the same test split
    (never by loading its export as if it were our model); the custom challenger beats it
    and canaries beside it, smoke-tested in the format both servers take (values as
    strings), and one such request is answered by either version, each in its own shape."""
    p, first, outcome = retrained
    assert outcome.state == "PIPELINE_STATE_SUCCEEDED", outcome.submit_output[-3000:]
    decision, deployed, endpoint_line = (
        next(line for line in outcome.outcome if line.startswith(f"  {name} :"))
        for name in ("decision", "deployed", "endpoint")
    )
    automl_line = next(line for line in first.outcome if line.startswith("   *automl "))
    automl_auc = automl_line.split("ROC AUC ")[1].split()[0]
    assert decision.startswith("  decision : DEPLOY (custom): custom chosen: custom: beats")
    assert f"vs champion {automl_auc}" in decision  # the AutoML run's own figure, again
    # the new AutoML challenger: the same search on the same data, so no gain on itself
    assert "automl: does not beat the champion by the margin" in decision
    assert deployed == "  deployed : version 2; smoke test passed"
    assert endpoint_line == "  endpoint : v1 90%, v2 10%"
    (endpoint,) = p.sim.vertex.endpoints
    shapes: dict[str, set] = {}
    with p.sim.client(DEPLOYER) as client:
        for _ in range(40):
            answer = client.post(
                f"/aiplatform/v1/{endpoint}:predict", json={"instances": [INSTANCE]}
            )
            assert answer.status_code == 200, answer.text
            body = answer.json()
            shapes.setdefault(body["deployedModelId"], set()).add(frozenset(body["predictions"][0]))
    assert sorted(sorted(one) for (one,) in shapes.values()) == [
        ["classes", "scores"],
        ["label", "probability"],
    ]
