"""`mlops run --target vertex --simulated`: the compiled Vertex pipeline, end to end, against a
fresh simulation seeded from the synthesized stacks, as the production identities, sealed:
no process of the run may reach a host but this machine (tests/sealed/sitecustomize.py)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

SEALED = Path(__file__).resolve().parents[1] / "sealed"


@pytest.mark.slow
def test_the_vertex_target_runs_end_to_end_as_the_real_identities(tmp_path):
    leaks = tmp_path / "leaks.log"
    path = os.pathsep.join(filter(None, [str(SEALED), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [
            sys.executable, "-m", "mlops.cli", "run", "--target", "vertex", "--simulated",
            "--wire", "--workspace", str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": path, "MLOPS_SEALED_LOG": str(leaks)},
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, out[-4000:] + done.stderr[-3000:]
    assert not leaks.exists(), leaks.read_text()  # nothing left the machine
    assert "simulated Vertex run: PIPELINE_STATE_SUCCEEDED" in out
    # what a user needs first, as `make demo` says it: the decision, metrics, deploy, traffic
    assert "  decision : DEPLOY (custom): passes every bar and prod has no champion yet" in out
    assert "  deployed : version 1; smoke test passed" in out
    assert "  endpoint : v1 100%" in out and "aliases champion=v1, default=v1" in out
    # ...and the rest a local run says: each challenger's metrics, the slices, the report
    assert "   *custom  accuracy 0.8" in out and "  slices   : custom's accuracy gap " in out
    report = Path(out.split("  report   : ")[1].split()[0])
    assert report.suffix == ".html" and "ROC" in report.read_text()
    assert "  console  : https://console.cloud.google.com/vertex-ai/locations/" in out
    wire = out[out.index("wire log (") :]

    def made_by(method: str) -> set[str]:
        return {
            line.split(" as ")[1].split()[0]
            for line in wire.splitlines()
            if f" {method} " in line and " as " in line
        }

    staging = "census-ml-staging.iam.gserviceaccount.com"
    assert made_by("aiplatform.projects.locations.pipelineJobs.create") == {
        f"census-build@{staging}"
    }
    assert made_by("aiplatform.projects.locations.customJobs.create") == {
        f"census-pipeline@{staging}"
    }
    assert made_by("bigquery.jobs.insert") == {f"census-pipeline@{staging}"}
    assert made_by("aiplatform.projects.locations.models.upload") == {
        "census-deployer@census-ml-prod.iam.gserviceaccount.com"
    }
    assert made_by("aiplatform.projects.locations.modelDeploymentMonitoringJobs.create")
    assert "custom job as census-trainer@" in out
    # In prod, Vertex AI is only ever called as the deployer, or as the reader for the decide
    # step's reads (staging's identities read prod's key and bucket metadata for the
    # preflight, nothing else).
    vertex_in_prod = [
        line for line in wire.splitlines() if " aiplatform." in line and "census-ml-prod" in line
    ]
    assert vertex_in_prod
    as_reader = [line for line in vertex_in_prod if " as census-reader@census-ml-prod." in line]
    assert {line.split()[2] for line in as_reader} <= {"aiplatform.projects.locations.models.get"}
    assert all(
        " as census-deployer@census-ml-prod." in line
        for line in vertex_in_prod
        if line not in as_reader
    )
    assert "train: custom job as" in out and "deploy: done" in out and "monitor: done" in out
    # every step that ran recorded the run in the staging metadata store, as the pipeline
    # ...and the submitter, once the job is over: the tasks' durations and the run's cost
    assert "(Vertex AI Experiments): ingest, evaluate, decide, deploy, monitor, run recorded" in out
    assert "cost: $0.03" in out  # the run fee and minutes of e2-standard-4 and n1-standard-4
    assert made_by("aiplatform.projects.locations.metadataStores.contexts.patch") == {
        f"census-pipeline@{staging}",  # the steps
        f"census-build@{staging}",  # the submitter's `run` record, once the job is over
    }
