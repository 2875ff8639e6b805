"""The simulated AutoML Tabular service refuses what Vertex refuses: a caller without the
permission, an agent that cannot use the key, an unknown dataset, a model it did not train,
a bad export."""

import pytest

from settings import service_agent_email
from simulation.apis.vertex import tabular

pytestmark = pytest.mark.slow  # starts the simulated cloud

STAGING = "census-ml-staging"
WHERE = f"/aiplatform/v1/projects/{STAGING}/locations/europe-west4"
PIPELINE = f"census-pipeline@{STAGING}.iam.gserviceaccount.com"
TRAINER = f"census-trainer@{STAGING}.iam.gserviceaccount.com"
KEY = f"projects/{STAGING}/locations/europe-west4/keyRings/census-ml/cryptoKeys/vertex"
SOURCE = f"bq://{STAGING}.census.census_train"


def dataset(key: str | None = KEY) -> dict:
    body = {
        "displayName": "census-train",
        "metadataSchemaUri": tabular.DATASET_SCHEMA,
        "metadata": {"inputConfig": {"bigquerySource": {"uri": SOURCE}}},
    }
    return {**body, "encryptionSpec": {"kmsKeyName": key}} if key else body


def test_only_an_identity_granted_vertex_ai_creates_datasets_and_training(cloud):
    sim = cloud()
    with sim.client(TRAINER) as client:  # the trainer launches nothing
        refused = client.post(f"{WHERE}/datasets", json=dataset())
        assert refused.status_code == 403 and "aiplatform.datasets.create" in refused.text
        pipeline = {"trainingTaskDefinition": tabular.DEFINITION, "trainingTaskInputs": {}}
        refused = client.post(f"{WHERE}/trainingPipelines", json=pipeline)
        assert refused.status_code == 403 and "aiplatform.trainingPipelines.create" in refused.text
    with sim.client(PIPELINE) as client:
        created = client.post(f"{WHERE}/datasets", json=dataset())
        assert created.status_code == 200, created.text
        bad_source = {**dataset(), "metadata": {"inputConfig": {"bigquerySource": {"uri": "x"}}}}
        refused = client.post(f"{WHERE}/datasets", json=bad_source)
        assert refused.status_code == 400 and "bigquerySource.uri: 'x'" in refused.text
        unknown = {
            "trainingTaskDefinition": tabular.DEFINITION,
            "trainingTaskInputs": {
                "targetColumn": "income_bracket",
                "predictionType": "classification",
                "transformations": [{"numeric": {"columnName": "age"}}],
                "trainBudgetMilliNodeHours": 1000,
            },
            "inputDataConfig": {"datasetId": "404"},
        }
        refused = client.post(f"{WHERE}/trainingPipelines", json=unknown)
        assert refused.status_code == 404 and "datasetId: dataset" in refused.text


def test_cmek_needs_the_vertex_agent_on_the_key(cloud, platform):
    sim = cloud()
    agent = service_agent_email("vertex", platform["staging"].project_number)
    for binding in [b for b in sim.world.bindings if b.resource == KEY and agent in b.member]:
        sim.world.forget(binding)
    with sim.client(PIPELINE) as client:
        refused = client.post(f"{WHERE}/datasets", json=dataset())
        assert refused.status_code == 400
        assert f"Vertex AI Service Agent {agent} does not have permission" in refused.text
        assert client.post(f"{WHERE}/datasets", json=dataset(key=None)).status_code == 200


def test_batch_prediction_and_export_take_only_an_automl_model_and_their_contract(cloud):
    sim = cloud()
    with sim.client(PIPELINE) as client:
        job = {
            "model": f"projects/{STAGING}/locations/europe-west4/models/1",
            "inputConfig": {"instancesFormat": "bigquery"},
            "outputConfig": {"predictionsFormat": "bigquery"},
        }
        refused = client.post(f"{WHERE}/batchPredictionJobs", json=job)
        assert refused.status_code == 404 and "not an AutoML tabular model" in refused.text
        refused = client.post(f"{WHERE}/models/1:export", json={"outputConfig": {}})
        assert refused.status_code == 400 and "cannot be exported" in refused.text
