"""The run log on Vertex: Experiments contexts in the staging metadata store, written and
read as the staging pipeline identity with the stacks' grants (docs/lineage.md)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # synthesizes the stacks or starts the simulated cloud

PIPELINE = "census-pipeline@census-ml-staging.iam.gserviceaccount.com"
SERVING = "census-serving@census-ml-prod.iam.gserviceaccount.com"
STEP = Path(__file__).with_name("vertex_step.py")
STORE = "projects/census-ml-staging/locations/europe-west4/metadataStores/default"


def runs_step(sim, principal: str, run_id: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **sim.environ(principal)}
    return subprocess.run(
        [sys.executable, str(STEP), "runs", run_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_steps_record_a_run_as_experiment_contexts_linked_to_the_pipeline_job(cloud):
    sim = cloud()
    job = "census-promotion-20261122093000"
    sim.pipeline_run_context(
        {"name": f"projects/census-ml-staging/locations/europe-west4/pipelineJobs/{job}"}
    )
    done = runs_step(sim, PIPELINE, job)
    assert done.returncode == 0, done.stderr[-3000:]
    records = json.loads(done.stdout.split("RESULT ", 1)[1])
    # what went in comes back exactly (ints stay ints: facts travel as JSON text)
    assert sorted((r["step"], json.dumps(r["facts"])) for r in records) == [
        ("evaluate", json.dumps({"metrics": {"roc_auc": 0.93}, "training": {"seed": 7}})),
        ("ingest", json.dumps({"commit": "abc123", "splits": {"train": {"rows": 32561}}})),
    ]
    assert {r["run_id"] for r in records} == {job}
    contexts = sim.vertex.contexts
    experiment = f"{STORE}/contexts/census-income"
    run = contexts[f"{STORE}/contexts/census-income-{job}"]
    assert contexts[experiment]["schemaTitle"] == "system.Experiment"
    assert run["schemaTitle"] == "system.ExperimentRun" and run["parentContexts"] == [experiment]
    # the console's comparison keys, rebuilt from every step's facts
    assert run["metadata"]["_metrics"] == {"metrics.roc_auc": 0.93}
    assert run["metadata"]["_params"]["commit"] == "abc123"
    # the pipeline job's own context is the run's child: its lineage hangs under the run
    assert contexts[f"{STORE}/contexts/{job}"]["parentContexts"] == [run["name"]]
    calls = [e for e in sim.wire if "metadataStores" in e.method]
    assert calls and {e.principal for e in calls} == {PIPELINE}
    assert {e.status for e in calls} <= {200, 404}  # 404: the first get of a new context
    granted = {c.permission for e in calls for c in e.checks if c.allowed}
    assert {"aiplatform.contexts.create", "aiplatform.contexts.update"} <= granted


def test_an_identity_without_vertex_rights_in_staging_cannot_write_runs(cloud):
    sim = cloud()
    done = runs_step(sim, SERVING, "census-promotion-1")
    assert done.returncode != 0
    assert "403" in done.stderr and "aiplatform.contexts.get" in done.stderr
    assert not sim.vertex.contexts
