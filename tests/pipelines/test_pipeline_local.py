"""The whole promotion pipeline on kfp.local, as `mlops run --local` runs it."""

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from local_prod import PLATFORM, PROD_PROJECT, open_local_prod
from samples import GOOD_ROWS

from pipelines import params
from pipelines.runner import PipelineFailed, run_local, summary

PROD = PROD_PROJECT
pytestmark = pytest.mark.slow  # runs the pipeline


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
    assert first_run.decision["trainer"] == "custom" and list(first_run.evaluation) == ["custom"]
    assert first_run.evaluation["custom"]["roc_auc"] > 0.925
    assert first_run.traffic == {"1": 100} and first_run.aliases == {"champion": "1"}
    assert first_run.deployment["smoke"] == "passed"
    assert set(first_run.durations) == {
        "ingest",
        "validate",
        "train",
        "automl",  # left out by trainer=custom: it marks itself skipped
        "evaluate",
        "export",
        "decide",
        "deploy",
        "monitor",
    }
    # the on-device model sits beside the model in prod, and the version points at it
    (version,) = open_local_prod(workspace).registry.versions()
    assert version.labels["on-device"] == "model-onnx"
    assert version.labels["trainer"] == "custom-trainer"
    assert (Path(version.artifact_uri) / "model.onnx").stat().st_size > 1_000_000
    # the run's evaluation kept on the version, overall and per slice, in the registry's shape
    registry = json.loads((workspace / PROD / "state" / "registry.json").read_text())
    (held,) = registry["versions"]
    assert held["evaluation"]["metrics"]["auRoc"] > 0.9
    assert {s["slice_"]["dimension"] for s in held["evaluation"]["slices"]} == {"sex", "race"}
    monitoring = (workspace / PROD / "state" / "monitoring.json").read_text()
    assert '"sample_rate": 0.8' in monitoring and '"fnlwgt": 0.15' in monitoring
    assert first_run.report.read_text().count("data:image/png;base64,") == 4
    text = summary(first_run)
    assert "decision : DEPLOY" in text and "endpoint : v1 100%" in text


@pytest.fixture(scope="module")
def second_run(first_run, workspace):
    prod_before = fingerprint(workspace / PROD)
    out = io.StringIO()
    # both trainers this time, the stand-in bounded by trials (the same search on any
    # machine); the margin keeps it from deploying, so prod must not change
    both = {
        "trainer": "both",
        "automl.time_budget_seconds": 600,
        "automl.max_trials": 16,
        "bars.champion_margin": 0.005,
    }
    second = run_local(local_params(commit="c0ffee", **both), workspace, out=out)
    return second, prod_before, fingerprint(workspace / PROD), out


def test_second_run_compares_with_the_champion_and_changes_nothing(second_run):
    second, prod_before, prod_after, out = second_run
    assert second.decision["deploy"] is False
    custom, automl = (
        second.decision["challengers"]["custom"],
        second.decision["challengers"]["automl"],
    )
    assert custom["reason"].startswith(
        "does not beat the champion by the margin: challenger ROC AUC 0.9296 vs champion 0.9296"
    )
    assert custom["roc_auc"] == second.decision["champion"]["roc_auc"]  # same data, same model
    assert automl["reason"].startswith("does not beat the champion by the margin")
    assert "none deploys: custom: does not beat" in second.decision["reason"]
    # both evaluated on the official test split, the stand-in labelled as one
    assert set(second.evaluation) == {"custom", "automl"}
    stand_in = second.evaluation["automl"]
    assert stand_in["trainer"].startswith("automl-stand-in (FLAML ")
    assert stand_in["search"]["max_trials"] == 16 and stand_in["search"]["trials"] == 16
    assert stand_in["roc_auc"] > 0.9
    assert "deploy" not in second.durations
    assert prod_after == prod_before
    text = summary(second)
    assert "decide: KEEP" in out.getvalue() and "automl: trial 1: best so far" in out.getvalue()
    assert "automl-stand-in (FLAML " in text and "searched 16 configurations" in text
    assert "custom  accuracy 0.8748" in text  # side by side, each on its own line
    report = second.report.read_text()
    assert "custom: custom trainer (LightGBM)" in report and "automl: automl-stand-in" in report
    assert report.count("data:image/png;base64,") == 2 + 2 * 2  # shared ROC + calibration


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
    # ...and the failed run is listed, with the step it failed at and why
    import json

    newest = json.loads(mlops(workspace, "runs", "--json", "--limit", "1").stdout)[0]
    assert (newest["status"], newest["outcome"]) == ("failed", "FAILED at ingest")
    assert "2 of 5 rows are malformed" in newest["error"] and newest["commit"] == "unknown"
    text = mlops(workspace, "runs").stdout.splitlines()
    assert "FAILED at ingest" in text[2] and "are malformed" in text[3]


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


def mlops(workspace: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "mlops.cli", *args, "--workspace", str(workspace)]
    return subprocess.run(command, capture_output=True, text=True)


def test_runs_are_recorded_compared_traced_and_priced(first_run, second_run, workspace):
    import json

    from adapters.local.monitoring import LocalAlertLog
    from kernel.workspace import LocalTenant

    second = second_run[0]
    listed = json.loads(mlops(workspace, "runs", "--json").stdout)
    by_id = {r["run_id"]: r for r in listed}
    first, again = by_id[first_run.run_id], by_id[second.run_id]
    assert (first["outcome"], first["version"], first["train_rows"]) == ("DEPLOY", "1", 32_561)
    assert (again["outcome"], again["version"], again["commit"]) == ("KEEP", None, "c0ffee")
    assert first["roc_auc"] == pytest.approx(first_run.evaluation["custom"]["roc_auc"])
    assert first["trainer"] == "custom trainer (LightGBM)"
    assert again["trainer"].startswith(("custom trainer", "automl-stand-in (FLAML "))
    assert first["cost_usd"] == pytest.approx(first_run.cost["total_usd"], abs=1e-6)
    assert first["cost_usd"] > 0.03  # the pipeline fee alone is $0.03
    table = mlops(workspace, "runs", "--html", str(workspace / "runs.html"))
    assert table.returncode == 0 and again["short_id"] in table.stdout
    assert second.run_id.endswith(again["short_id"]) and len(again["short_id"]) < 12
    page = (workspace / "runs.html").read_text()
    assert page.count("data:image/png;base64,") == 2
    assert f'href="{Path(first["report"]).as_uri()}"' in page  # each run links to its report
    latest = mlops(workspace, "runs", "compare", "latest~1", "latest")  # no ids to copy
    assert latest.returncode == 0, latest.stderr
    lines = latest.stdout.splitlines()
    assert lines[0].startswith("A census-promotion-") and " values differ:" in lines[3]
    assert lines[-1].endswith("the same (--all lists them)")
    assert "->" in lines[4]  # a changed value right after the count
    compared = json.loads(
        mlops(workspace, "runs", "compare", first_run.run_id, second.run_id, "--json").stdout
    )
    changed = {d["key"] for d in compared["differences"] if d["changed"]}
    assert {"commit", "deploy", "reason", "version", "action"} <= changed
    assert {k for k in changed if k.startswith("parameters.")} == {
        "parameters.trainer",
        "parameters.automl.time_budget_seconds",
        "parameters.automl.max_trials",
        "parameters.bars.champion_margin",
    }
    assert not any(k.startswith(("splits.", "metrics.")) for k in changed)
    # an alert judged while v1 served reaches v1's lineage
    tenant = LocalTenant(workspace, PROD)
    alert = {"feature": "age", "measure": "drift", "distance": 0.31, "threshold": 0.1}
    LocalAlertLog(tenant).record_alerts(_now(), [alert], {"1": 100})
    chain = json.loads(mlops(workspace, "lineage", "1", "--json").stdout)
    assert chain["run"] == first_run.run_id and chain["commit"] == first["commit"]
    assert chain["data"]["train"]["rows"] == 32_561
    assert chain["endpoint"]["traffic_percent"] == 100
    assert [(a["feature"], a["measure"]) for a in chain["alerts"]] == [("age", "drift")]
    text = mlops(workspace, "lineage", "1").stdout
    assert f"run      : {first_run.run_id}" in text and "alerts   : 1 since deployed" in text
    assert "(custom trainer (LightGBM))" in text and chain["trainer"] == first["trainer"]
    priced = json.loads(mlops(workspace, "cost", "--json").stdout)
    assert priced["monthly"]["total_usd"] > 100 and priced["last_run"]["title"] == "one run"
    # bad input: one line naming what is wrong, exit 2
    for args, says in (
        (("runs", "compare", "nope", second.run_id), "no run 'nope' among"),
        (("runs", "compare", "census-promotion", second.run_id), " runs (census-promotion-"),
        (("runs", "compare", "latest~9", "latest"), "'latest~9': only "),
        (("lineage", "99"), "no version '99' in the local prod registry (versions: 1)"),
        (("cost", "--env", "staging"), "staging is a non-prod env; the monthly cost is prod's"),
    ):
        proc = mlops(workspace, *args)
        assert proc.returncode == 2 and says in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


@pytest.mark.slow
def test_a_run_as_json_is_one_document_on_stdout_with_progress_on_stderr(tmp_path):
    import json

    proc = mlops_run(tmp_path / "ws", "--json", "--commit", "feedc0de")
    assert proc.returncode == 0, proc.stderr[-3000:]
    document = json.loads(proc.stdout)  # nothing else on stdout
    assert document["decision"]["deploy"] is True and document["traffic"] == {"1": 100}
    assert document["evaluation"]["custom"]["roc_auc"] > 0.9
    assert "roc_curve" not in document["evaluation"]["custom"]  # figures, not plot data
    assert Path(document["report"]).is_file() and document["cost"]["total_usd"] > 0
    assert "ingest" in proc.stderr  # the progress a person watches
    listed = json.loads(mlops(tmp_path / "ws", "runs", "--json").stdout)
    assert listed[0]["run_id"] == document["run_id"] and listed[0]["commit"] == "feedc0de"
    refused = mlops_run(tmp_path / "ws", "--json", "--wire")
    assert refused.returncode == 2 and "with --json they are in wire.log" in refused.stderr
