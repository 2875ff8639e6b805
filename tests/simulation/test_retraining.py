"""The retraining function as deployed: its generated source, installed in a clean virtual
environment from exactly its requirements, called with a Pub/Sub CloudEvent as its runtime
identity, against the simulation."""

import base64
import json
import os
import subprocess
import sys

import pytest

from infra import function_source
from pipelines import params
from pipelines.compile import compile_to
from settings import load_platform

pytestmark = pytest.mark.slow  # builds a virtual environment and starts the simulated cloud

RETRAIN = "census-retrain@census-ml-staging.iam.gserviceaccount.com"  # its runtime identity
PIPELINE = "census-pipeline@census-ml-staging.iam.gserviceaccount.com"
CALL = """
import json, sys
from cloudevents.http import CloudEvent
import main
attributes = {
    "type": "google.cloud.pubsub.topic.v1.messagePublished",
    "source": "//pubsub.googleapis.com/projects/census-ml-staging/topics/census-retraining",
}
main.on_message(CloudEvent(attributes, json.loads(sys.argv[1])))
"""


@pytest.fixture(scope="module")
def function(tmp_path_factory):
    """(source folder, python of a fresh venv with exactly the generated requirements)."""
    root = tmp_path_factory.mktemp("function")
    source = function_source.assemble(root / "source")
    venv = root / "venv"
    uv = function_source.uv()
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(python), "-r", "requirements.txt"],
        cwd=source,
        check=True,
        env={**os.environ, "VIRTUAL_ENV": str(venv)},
    )
    return source, python


def publish(sim, function, body) -> subprocess.CompletedProcess:
    source, python = function
    data = base64.b64encode(json.dumps(body).encode()).decode()
    event = {"message": {"data": data, "messageId": "1"}, "subscription": "s"}
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")},
        **sim.environ(RETRAIN),
        "MLOPS_ENV": "staging",
    }
    return subprocess.run(
        [str(python), "-c", CALL, json.dumps(event)],
        cwd=source,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def published_template(cloud, tmp_path):
    """A simulation whose templates bucket holds the build's latest template."""
    sim = cloud()
    platform = load_platform()
    target = sim.root / "storage/census-ml-staging-templates/census-promotion/latest.yaml"
    target.parent.mkdir(parents=True)
    serving = f"{platform['staging'].image_repository_url()}/serving@sha256:{'d' * 64}"
    built = params.build(
        platform,
        "staging",
        {"bars.min_accuracy": 0.8, "tenants.serving_image": serving, "commit": "0123abc"},
        local=False,
    )
    compile_to(platform, "vertex", "staging", built, target, image_tag="0123abc")
    return sim


def test_a_valid_message_becomes_a_pipeline_job(published_template, function):
    sim = published_template
    done = publish(sim, function, {"parameters": {"bars.min_roc_auc": 0.93}})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    (job,) = sim.vertex.pipelines.values()
    assert job["serviceAccount"] == PIPELINE
    assert job["encryptionSpec"]["kmsKeyName"].startswith("projects/census-ml-staging/")
    values = job["runtimeConfig"]["parameterValues"]
    assert values["bars"]["min_roc_auc"] == 0.93
    assert values["bars"]["min_accuracy"] == 0.8  # the template's, not today's settings'
    assert values["commit"] == "0123abc"  # the commit the template was built from
    assert job["labels"]["trigger"] == "pubsub"
    spec = json.dumps(job["pipelineSpec"])
    assert "census-images/components:0123abc" in spec  # the commit-pinned images stand
    creator = next(e for e in sim.wire if e.method.endswith("pipelineJobs.create"))
    assert creator.principal == RETRAIN


def test_a_bad_message_starts_nothing(published_template, function):
    sim = published_template
    done = publish(sim, function, {"parameters": {"tenants.endpoint_id": "1"}})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "retraining message rejected" in done.stdout
    assert "set by settings, not by messages: tenants.endpoint_id" in done.stdout
    assert sim.vertex.pipelines == {}
    # any publisher may use the topic: it cannot loosen a bar or take all of prod's traffic
    loose = {"parameters": {"bars": {"min_roc_auc": 0}, "rollout.canary_percent": 100}}
    done = publish(sim, function, loose)
    assert "set by settings, not by messages: rollout.canary_percent" in done.stdout
    done = publish(sim, function, {"parameters": {"bars": {"min_roc_auc": 0}}})
    assert "bars.min_roc_auc 0 is lower than the template's 0.92" in done.stdout
    assert sim.vertex.pipelines == {}
