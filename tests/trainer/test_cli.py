"""The `mlops train` and `python -m trainer.task` entry points, run as a user runs them."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from samples import GOOD_ROWS

from mlops.cli import main

FAST = ["--num-boost-round", "20", "--num-leaves", "8", "--learning-rate", "0.3"]


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env={**os.environ, **(env or {})}
    )


@pytest.mark.slow
def test_missing_data_file_is_one_line_and_non_zero(tmp_path):
    proc = run(
        "-m",
        "mlops.cli",
        "train",
        "--output-dir",
        str(tmp_path),
        "--train-data",
        "/no/such/adult.data",
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "mlops train: error: census data file not found: /no/such/adult.data"
    )
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_bad_hyperparameter_is_one_line_naming_the_flag(tmp_path):
    proc = run("-m", "mlops.cli", "train", "--output-dir", str(tmp_path), "--learning-rate", "fast")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "mlops train: error: hyperparameter --learning-rate: Input should be a valid number, "
        "unable to parse string as a number (got 'fast')"
    ]


@pytest.mark.slow
def test_unknown_option_and_command_are_one_line():
    proc = run("-m", "mlops.cli", "train", "--learning-speed", "3")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert "unknown flag --learning-speed: did you mean '--learning-rate'?" in proc.stderr
    proc = run("-m", "mlops.cli", "fly")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1


def test_train_writes_model_metrics_and_report(tmp_path, capsys):
    assert main(["train", "--output-dir", str(tmp_path), *FAST]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    for key in ("accuracy", "roc_auc", "log_loss", "f1"):
        assert 0 < metrics[key] < 1
    assert set(metrics["slices"]) == {"sex", "race"}
    assert {"Female", "Male"} == set(metrics["slices"]["sex"])
    assert metrics["data"]["test"]["rows"] == 16_281
    assert (tmp_path / "model" / "model.txt").exists()
    report = (tmp_path / "report.html").read_text()
    assert report.count("data:image/png;base64,") == 4
    assert "ROC AUC" in report
    out = capsys.readouterr()
    assert "test split: accuracy" in out.out and "rounds (100%)" in out.err
    # --json: the figures as one document on stdout, the progress on stderr
    assert main(["train", "--output-dir", str(tmp_path / "j"), *FAST, "--json"]) == 0
    out = capsys.readouterr()
    shown = json.loads(out.out)
    assert shown["roc_auc"] == json.loads((tmp_path / "j" / "metrics.json").read_text())["roc_auc"]
    assert shown["output_dir"] == str(tmp_path / "j") and "test split: accuracy" in out.err


def test_bad_rows_above_threshold_fail_the_cli(tmp_path, write_csv):
    bad = write_csv([*GOOD_ROWS, "1, 2, 3"], name="bad.csv")
    code = main(["train", "--output-dir", str(tmp_path / "out"), "--train-data", str(bad)])
    assert code == 2
    assert (tmp_path / "out" / "quarantine" / "train.jsonl").exists()


@pytest.mark.slow
def test_vertex_entry_point_honours_aip_model_dir(tmp_path):
    model_dir = tmp_path / "aip" / "model"
    proc = run("-m", "trainer.task", *FAST, env={"AIP_MODEL_DIR": str(model_dir)})
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in model_dir.iterdir()} >= {
        "model.txt",
        "model.json",
        "metrics.json",
        "report.html",
    }
    proc = run("-m", "trainer.task", env={"AIP_MODEL_DIR": ""})
    assert proc.returncode == 2 and "no model directory" in proc.stderr


def test_vertex_path_maps_gcs_to_the_fuse_mount():
    from trainer.task import vertex_path

    assert vertex_path("gs://bucket/run/model") == Path("/gcs/bucket/run/model")
    assert vertex_path("/tmp/x") == Path("/tmp/x")
