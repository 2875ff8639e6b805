"""The whole promotion pipeline on kfp.local, as `mlops run --local` runs it."""

import hashlib
import io
import subprocess
import sys
from pathlib import Path

import pytest
from local_prod import PLATFORM, PROD_PROJECT
from samples import GOOD_ROWS

from pipelines import params
from pipelines.runner import PipelineFailed, run_local, summary

PROD = PROD_PROJECT


def local_params(**overrides) -> params.PipelineParams:
    return params.build(PLATFORM, "staging", overrides, local=True)


def fingerprint(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("workspace")


@pytest.fixture(scope="module")
def first_run(workspace):
    return run_local(local_params(), workspace, out=io.StringIO())


def test_first_run_deploys_and_configures_monitoring(first_run, workspace):
    assert first_run.decision["deploy"] is True
    assert first_run.decision["reason"] == "passes every bar and prod has no champion yet"
    assert first_run.evaluation["roc_auc"] > 0.925
    assert first_run.traffic == {"1": 100} and first_run.aliases == {"champion": "1"}
    assert first_run.deployment["smoke"] == "passed"
    assert set(first_run.durations) == {
        "ingest",
        "validate",
        "train",
        "evaluate",
        "decide",
        "deploy",
        "monitor",
    }
    monitoring = (workspace / PROD / "state" / "monitoring.json").read_text()
    assert '"sample_rate": 0.8' in monitoring and '"fnlwgt": 0.15' in monitoring
    assert first_run.report.read_text().count("data:image/png;base64,") == 4
    text = summary(first_run)
    assert "decision : DEPLOY" in text and "endpoint : v1 100%" in text


def test_second_run_compares_with_the_champion_and_changes_nothing(first_run, workspace):
    prod_before = fingerprint(workspace / PROD)
    out = io.StringIO()
    second = run_local(local_params(), workspace, out=out)
    assert second.decision["deploy"] is False
    assert second.decision["reason"].startswith(
        "does not beat the champion by the margin: challenger ROC AUC 0.9296 vs champion 0.9296"
    )
    assert second.decision["champion"]["roc_auc"] == second.evaluation["roc_auc"]
    assert "deploy" not in second.durations
    assert fingerprint(workspace / PROD) == prod_before
    assert "decide: KEEP" in out.getvalue()


def test_a_failure_before_deploy_leaves_prod_exactly_as_it_was(
    first_run, workspace, tmp_path, monkeypatch
):
    monkeypatch.setenv("MLOPS_DATA_DIR", str(tmp_path))  # the local data folder
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([*GOOD_ROWS, "1, 2, 3", "x"]) + "\n")
    prod_before = fingerprint(workspace / PROD)
    with pytest.raises(
        PipelineFailed,
        match=r"step 'ingest' failed: .*DataError: .*2 of 5 rows "
        r"are malformed",
    ):
        run_local(local_params(**{"data.train_data_uri": str(bad)}), workspace, out=io.StringIO())
    assert fingerprint(workspace / PROD) == prod_before


def mlops_run(workspace: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "mlops.cli", "run", "--local", "--workspace", str(workspace)]
    return subprocess.run([*command, *args], capture_output=True, text=True)


def test_bad_parameters_are_refused_before_anything_runs(tmp_path):
    workspace = tmp_path / "never-created"
    for bad in ("rollout.canary_percent=0", "bars.min_accuracy=1.2", "rollout.canary_percent=101"):
        proc = mlops_run(workspace, "--param", bad)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("mlops run: error: bad pipeline parameter ")
        assert "Traceback" not in proc.stderr
    proc = mlops_run(workspace, "--env", "qa")
    assert proc.returncode == 2 and "unknown env 'qa'" in proc.stderr
    assert not workspace.exists()


@pytest.mark.parametrize(
    ("param", "says"),
    [
        ("data.train_data_uri=/etc/passwd", "/etc/passwd: outside the local data folder"),
        ("data.train_data_uri=file:///proc/self/environ", "outside the local data folder"),
        ("data.train_data_uri=data/../../etc/passwd", "outside the local data folder"),
        (
            "data.test_data_uri=http://169.254.169.254/computeMetadata/v1/token",
            "not a data location this platform reads",
        ),
        (
            "data.train_data_uri=https://alice:s3cret@example.com/census.csv",
            "https://***@example.com/census.csv: not a data location",
        ),
        (
            "data.train_data_uri=gs://someone-elses-bucket/census.csv",
            "data must be in the tenant's data bucket (gs://census-ml-staging-data/...)",
        ),
        ("tenants.prod_models_bucket=../../../x", "is not a valid Cloud Storage bucket name"),
        ("tenants.staging_project=Evil;rm", "tenants.staging_project: String should match"),
        ("rollout.machine_type=; rm -rf /", "rollout.machine_type: String should match"),
    ],
)
def test_data_locations_and_names_are_refused_before_anything_is_read(tmp_path, param, says):
    workspace = tmp_path / "never-created"
    proc = mlops_run(workspace, "--param", param)
    assert proc.returncode == 2, proc.stderr
    assert says in proc.stderr and "Traceback" not in proc.stderr
    assert "s3cret" not in proc.stderr + proc.stdout
    assert not workspace.exists()
