"""What each pipeline step does, as plain functions over backend objects.

The KFP components (pipelines/components.py) are thin wrappers that open the backends for
their target and call these; tests call them directly. Nothing here knows whether it runs
on Vertex AI or on this machine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from mlops.atomic import write_json
from mlops.errors import DataError, UserError
from pipelines.core import statistics
from pipelines.core.decision import Bars, Decision, decide
from pipelines.core.traffic import EndpointState, canary_split, rollback, to_undeploy
from trainer import evaluate as metrics_math
from trainer import features, loader, predict
from trainer.hyperparameters import Hyperparameters
from trainer.model import CensusModel, print_progress, train

SPLITS = ("train", "test")
SMOKE_ROWS = 8  # rows of the test split sent to a new version before it gets traffic
CANDIDATE_LABEL = "candidate"


class DeployFailed(UserError):
    """The new version failed its smoke test; traffic was rolled back."""


# 1. ingest ------------------------------------------------------------------------------


def ingest(
    warehouse,
    uris: dict[str, str],
    max_bad_fraction: float,
    out: dict[str, Path],
    quarantine_dir: Path,
) -> dict:
    """Raw CSV into the warehouse, parsed by the one loader; bad rows quarantined.

    Tables per split: raw_<split> (what arrived), census_<split> (typed rows) and
    quarantine_<split> (line, reason, raw). The typed rows also go to `out[split]` (a CSV
    artifact) for the steps downstream, which may not read the warehouse.
    """
    summary = {}
    for split in SPLITS:
        raw_table = f"raw_{split}"
        warehouse.load_raw_lines(raw_table, uris[split])
        lines = warehouse.read_lines(raw_table)
        digest = loader.sha256("\n".join(lines).encode())
        result = loader.from_lines(
            lines,
            name=f"{uris[split]} ({raw_table})",
            sha256_digest=digest,
            max_bad_fraction=max_bad_fraction,
            quarantine_path=quarantine_dir / f"{split}.jsonl",
        )
        warehouse.write_frame(f"census_{split}", result.frame)
        warehouse.write_frame(f"quarantine_{split}", _quarantine_frame(result.bad_rows))
        loader.to_csv(result.frame, out[split])
        summary[split] = {"rows": len(result.frame), "quarantined": len(result.bad_rows)}
    return summary


def _quarantine_frame(bad: list[loader.BadRow]):
    import pandas as pd

    return pd.DataFrame(
        {
            "line": [b.line for b in bad],
            "reason": [b.reason for b in bad],
            "raw": [b.raw for b in bad],
        },
        columns=["line", "reason", "raw"],
    )


def read_dataset(path: str | Path) -> loader.LoadResult:
    """A dataset artifact written by ingest; it was clean when written, so allow no bad row."""
    return loader.load_census(path, max_bad_fraction=0.0)


# 2. validate -----------------------------------------------------------------------------


def validate(train_path: Path, baseline_out: Path) -> dict:
    frame = read_dataset(train_path).frame
    stats = statistics.compute(frame)
    problems = statistics.anomalies(frame, stats)
    if problems:
        raise DataError("training data failed validation: " + "; ".join(problems))
    write_json(baseline_out, stats)
    return stats


# 3. train --------------------------------------------------------------------------------


def train_model(train_path: Path, hyperparameters: dict, model_dir: Path) -> CensusModel:
    data = read_dataset(train_path)
    model = train(
        data.frame,
        Hyperparameters.model_validate(hyperparameters),
        data_sha256=data.sha256,
        progress=print_progress(every_percent=25),
    )
    model.save(model_dir)
    return model


# 4. evaluate -----------------------------------------------------------------------------


def evaluate_model(model_dir: Path, test_path: Path) -> dict:
    model = CensusModel.load(model_dir)
    frame = read_dataset(test_path).frame
    return metrics_math.evaluate(
        frame, features.labels(frame), model.predict_proba(frame), model.threshold
    )


# 5. decide -------------------------------------------------------------------------------


@dataclass
class Candidate:
    uri: str
    decision: Decision


def decide_and_stage(
    *,
    challenger_metrics: dict,
    model_dir: Path,
    baseline_path: Path,
    train_path: Path,
    test_path: Path,
    registry,
    storage,
    bars: Bars,
    candidates_root: str,
    run_id: str,
) -> Candidate:
    """Compare with prod's champion on the same test split; stage the candidate if it wins.

    The candidate (model, baseline, training data, metrics, smoke instances) goes to the
    staging models bucket, the one place the prod deployer may read in staging.
    """
    champion = registry.alias("champion")
    champion_metrics = None
    if champion is not None:
        champion_dir = registry.fetch(champion)
        champion_metrics = evaluate_model(Path(champion_dir), test_path)
        champion_metrics["version"] = champion.version
    decision = decide(challenger_metrics, champion_metrics, bars)
    uri = ""
    if decision.deploy:
        uri = f"{candidates_root}/{run_id}"
        staged = storage.stage(
            {
                "model": model_dir,
                "baseline.json": baseline_path,
                "train.csv": train_path,  # Vertex monitoring's skew baseline
            },
            {
                "metrics.json": json.dumps(challenger_metrics),
                "smoke.json": json.dumps(smoke_instances(test_path)),
                "decision.json": json.dumps(decision.as_dict()),
            },
            uri,
        )
        uri = staged
    return Candidate(uri=uri, decision=decision)


def smoke_instances(test_path: Path) -> list[dict]:
    frame = read_dataset(test_path).frame.head(SMOKE_ROWS)
    return predict.frame_to_instances(frame)


# 6. deploy -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServingConfig:
    canary_percent: int
    versions_kept: int
    machine_type: str
    min_replicas: int
    max_replicas: int
    service_account: str
    kms_key: str


def deploy_candidate(
    *,
    candidate_uri: str,
    run_id: str,
    commit: str,
    registry,
    endpoint,
    storage,
    prod_models_root: str,
    prod_data_root: str,
    serving: ServingConfig,
    log=print,
) -> dict:
    """Copy into prod, register a version, canary it, smoke-test it, tidy the endpoint.

    Idempotent: the version is found by its candidate label, so a re-run neither registers
    a second version nor deploys twice. A failed smoke test restores the traffic as it was,
    takes the new version off the endpoint, leaves the aliases alone, and fails the step.
    """
    baseline_uri = f"{prod_data_root}/{run_id}/baseline.json"
    version = registry.find(CANDIDATE_LABEL, run_id)
    if version is None:
        model_uri = storage.copy_tree(
            f"{candidate_uri}/model", f"{prod_models_root}/{run_id}/model"
        )
        storage.copy_tree(f"{candidate_uri}/baseline.json", baseline_uri)
        storage.copy_tree(f"{candidate_uri}/train.csv", f"{prod_data_root}/{run_id}/train.csv")
        version = registry.register(
            model_uri, labels={CANDIDATE_LABEL: run_id, "commit": commit, "run": run_id}
        )
        log(f"registered version {version.version} from {model_uri}")
    before: EndpointState = endpoint.state()
    if before.traffic.get(version.version):
        log(f"version {version.version} already serves {before.traffic}; nothing to deploy")
        return {
            "version": version.version,
            "traffic": before.traffic,
            "undeployed": [],
            "smoke": "skipped: already serving",
            "baseline_uri": baseline_uri,
        }
    traffic = canary_split(before, version.version, serving.canary_percent)
    endpoint.deploy(version.version, traffic, serving=serving)
    log(f"deployed version {version.version}: traffic {traffic}")
    instances = json.loads(storage.read_text(f"{candidate_uri}/smoke.json"))
    try:
        problems = predict.check_predictions(
            instances, endpoint.predict(instances, version.version)
        )
    except Exception as exc:  # any failure to answer is a failed smoke test
        problems = [f"prediction failed: {exc}"]
    if problems:
        restored = rollback(before, version.version)
        endpoint.set_traffic(restored)
        endpoint.undeploy(version.version)
        registry.delete(version.version)  # no orphan version left behind
        raise DeployFailed(
            f"smoke test of version {version.version} failed ({'; '.join(problems)}); "
            f"traffic rolled back to {restored or 'nothing'}"
        )
    log(f"smoke test passed on {len(instances)} instances")
    if traffic.get(version.version) == 100:
        registry.set_alias("champion", version.version)
        registry.set_alias("challenger", None)
    else:
        registry.set_alias("challenger", version.version)
    after = endpoint.state()
    undeployed = to_undeploy(after.deployed, after.traffic, serving.versions_kept)
    for old in undeployed:
        endpoint.undeploy(old)
    if undeployed:
        log(f"undeployed versions without traffic: {', '.join(undeployed)}")
    return {
        "version": version.version,
        "traffic": traffic,
        "undeployed": undeployed,
        "smoke": "passed",
        "baseline_uri": baseline_uri,
    }


# 7. monitor ------------------------------------------------------------------------------


def monitoring_config(
    *,
    endpoint_id: str,
    baseline_uri: str,
    skew_thresholds: dict[str, float],
    drift_thresholds: dict[str, float],
    sample_rate: float,
    interval_hours: int,
    alert_emails: list[str],
    kms_key: str,
) -> dict:
    """One description of monitoring, applied locally as a file and on Vertex as the job."""
    return {
        "endpoint_id": endpoint_id,
        "baseline_uri": baseline_uri,
        "features": sorted(skew_thresholds),
        "skew_thresholds": dict(sorted(skew_thresholds.items())),
        "drift_thresholds": dict(sorted(drift_thresholds.items())),
        "sample_rate": sample_rate,
        "interval_hours": interval_hours,
        "alert_emails": list(alert_emails),
        "kms_key": kms_key,
    }
