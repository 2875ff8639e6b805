"""The AutoML branch's calls, each as the identity that makes it, under the stacks' own IAM.

The branch cannot run here (docs/automl.md): no simulated AutoML service. What can be
checked is that the synthesized grants allow every call it would make, by the identity
that makes it, so the first Vertex run does not meet a 403 the stacks could have avoided.
"""

import pytest

from kernel.gcp_iam import role_permissions
from settings import service_agent_email
from simulation.server import Simulation
from simulation.world import World

pytestmark = pytest.mark.slow  # synthesizes the stacks or starts the simulated cloud

STAGING = "census-ml-staging"
WHERE = f"projects/{STAGING}/locations/europe-west4"
PIPELINE = f"census-pipeline@{STAGING}.iam.gserviceaccount.com"
TRAINER = f"census-trainer@{STAGING}.iam.gserviceaccount.com"
KEY = f"{WHERE}/keyRings/census-ml/cryptoKeys/vertex"
ENCRYPT = "cloudkms.cryptoKeyVersions.useToEncrypt"


@pytest.fixture(scope="module")
def sim(stacks, tmp_path_factory) -> Simulation:
    return Simulation(World.from_stacks(stacks), tmp_path_factory.mktemp("cloud"))


@pytest.mark.parametrize(
    "permission",
    [
        "aiplatform.datasets.create",  # TabularDatasetCreateOp
        "aiplatform.trainingPipelines.create",  # AutoMLTabularTrainingJobRunOp
        "aiplatform.batchPredictionJobs.create",  # ModelBatchPredictOp
    ],
)
def test_the_pipeline_identity_may_launch_each_op(sim, permission):
    assert sim.allowed(PIPELINE, permission, WHERE)
    assert not sim.allowed(TRAINER, permission, WHERE)  # the trainer launches nothing


def test_the_batch_prediction_may_run_as_the_trainer_and_nothing_else(sim):
    account = f"projects/{STAGING}/serviceAccounts/{TRAINER}"
    assert sim.allowed(PIPELINE, "iam.serviceAccounts.actAs", account)
    serving = "census-serving@census-ml-prod.iam.gserviceaccount.com"
    prod_serving = f"projects/census-ml-prod/serviceAccounts/{serving}"
    assert not sim.allowed(PIPELINE, "iam.serviceAccounts.actAs", prod_serving)


def test_vertex_ai_s_service_agent_trains_and_encrypts_with_the_staging_key(sim, platform):
    agent = service_agent_email("vertex", platform["staging"].project_number)
    assert sim.allowed(agent, ENCRYPT, KEY)  # CMEK on the dataset, the job and the model
    # AutoML reads census_train and batch prediction writes its table as this agent, through
    # the role Google grants it in every project (not one of the stacks' grants)
    held = role_permissions("roles/aiplatform.serviceAgent")
    assert {"bigquery.tables.getData", "bigquery.tables.create", "bigquery.jobs.create"} <= held
