"""KFP lightweight components: thin wrappers that open the adapters and call promotion.steps.

KFP ships each function's source to the task, so each imports what it needs inside its
body; the repository itself is installed in the component image (Dockerfile, target
`components`) and, locally, in this virtual environment. Each validates the parameter groups
it reads (pipelines.params) before doing anything. Functions stay plain here;
`pipelines.pipeline.build` turns them into components with the image of the compile.
No `from __future__ import annotations` here: KFP reads the annotations as real types.
"""

from kfp.dsl import (
    HTML,
    Artifact,
    ClassificationMetrics,
    Dataset,
    Input,
    Metrics,
    Model,
    Output,
)


def ingest(
    target: str,
    workspace: str,
    tenants: dict,
    data: dict,
    training: dict,
    bars: dict,
    rollout: dict,
    monitoring: dict,
    commit: str,
    run_id: str,
    train_data: Output[Dataset],
    test_data: Output[Dataset],
    quarantine: Output[Artifact],
    counts: Output[Metrics],
):
    """Raw CSV into the warehouse (BigQuery load job on Vertex, DuckDB locally); quarantine.
    The first step, so it also records the run's parameters, every group, as asked."""
    from pathlib import Path

    from adapters import wiring
    from kernel.locations import check_data_uri
    from pipelines.params import DataParams, data_locations
    from promotion import steps
    from promotion.domain import runs
    from settings import Bars, MonitoringSettings, Rollout, Tenants
    from trainer.hyperparameters import Hyperparameters

    source = DataParams.model_validate(data)
    where = Tenants.model_validate(tenants)
    for uri in (source.train_data_uri, source.test_data_uri):  # again: a job's own values
        check_data_uri(uri, **data_locations(where))
    staging = wiring.open_staging(target, workspace, where)
    Path(quarantine.path).mkdir(parents=True, exist_ok=True)
    summary = steps.ingest(
        staging.warehouse,
        {"train": source.train_data_uri, "test": source.test_data_uri},
        source.max_bad_fraction,
        {"train": train_data.uri, "test": test_data.uri},
        Path(quarantine.path),
    )
    for split, figures in summary.items():
        counts.log_metric(f"{split}_rows", figures["rows"])
        counts.log_metric(f"{split}_quarantined", figures["quarantined"])
    uris = {"train": source.train_data_uri, "test": source.test_data_uri}
    asked = {
        "data": source,
        "training": Hyperparameters.model_validate(training),
        "bars": Bars.model_validate(bars),
        "rollout": Rollout.model_validate(rollout),
        "monitoring": MonitoringSettings.model_validate(monitoring),
    }
    parameters = {name: group.model_dump(mode="json") for name, group in asked.items()}
    facts = runs.ingest_facts(commit, parameters, summary, uris)
    staging.runs.record(run_id, "ingest", facts)
    print(f"ingest: {summary}")


def validate(
    target: str,
    workspace: str,
    tenants: dict,
    train_data: Input[Dataset],
    baseline: Output[Artifact],
    summary: Output[Metrics],
):
    """Statistics of the training table, computed by the warehouse; checked, then written as
    the skew baseline. `train_data` (the export) is only the lineage: it is not read."""
    from pathlib import Path

    from adapters import wiring
    from promotion import steps
    from settings import Tenants

    staging = wiring.open_staging(target, workspace, Tenants.model_validate(tenants))
    stats = steps.validate(staging.warehouse, Path(baseline.path))
    summary.log_metric("rows", stats["rows"])
    summary.log_metric("label_positive_share", round(stats["label_positive_share"], 4))
    print(f"validate: {stats['rows']:,} rows, schema and statistics OK")


def train(train_data: Input[Dataset], training: dict, model: Output[Model]):
    """Gradient-boosted trees on the validated training data."""
    from pathlib import Path

    from promotion import steps
    from trainer.hyperparameters import Hyperparameters

    steps.train_model(
        Path(train_data.path), Hyperparameters.model_validate(training), Path(model.path)
    )
    model.metadata["framework"] = "lightgbm"
    print(f"train: model written to {model.path}")


def evaluate(
    target: str,
    workspace: str,
    tenants: dict,
    run_id: str,
    model: Input[Model],
    test_data: Input[Dataset],
    metrics: Output[Metrics],
    classification: Output[ClassificationMetrics],
    report: Output[HTML],
    evaluation: Output[Artifact],
):
    """Official-test-split metrics, per-slice metrics, and the pictures the Vertex UI draws."""
    import json
    from pathlib import Path

    from adapters import wiring
    from promotion import steps
    from settings import Tenants
    from trainer import report as html_report

    result = steps.evaluate_model(Path(model.path), Path(test_data.path))
    for key in ("accuracy", "roc_auc", "log_loss", "f1", "precision", "recall"):
        metrics.log_metric(key, round(result[key], 6))
    for name, gap in result["slice_accuracy_gap"].items():
        metrics.log_metric(f"slice_accuracy_gap_{name}", round(gap, 6))
    roc = result["roc_curve"]
    classification.log_roc_curve(roc["fpr"], roc["tpr"], roc["thresholds"])
    classification.log_confusion_matrix(["<=50K", ">50K"], result["confusion_matrix"])
    html_report.write_report(report.path, result)
    Path(evaluation.path).write_text(json.dumps(result))
    staging = wiring.open_staging(target, workspace, Tenants.model_validate(tenants))
    staging.runs.record(run_id, "evaluate", steps.evaluation_facts(Path(model.path), result))
    print(f"evaluate: accuracy {result['accuracy']:.4f} ROC AUC {result['roc_auc']:.4f}")


def export(
    model: Input[Model],
    test_data: Input[Dataset],
    on_device: Output[Model],
    parity: Output[Metrics],
):
    """The on-device model: ONNX converted from the trained trees, checked against LightGBM
    on the official test split (a failed check keeps the version out of prod)."""
    from pathlib import Path

    from promotion import steps

    folder = Path(on_device.path)
    folder.mkdir(parents=True, exist_ok=True)
    result = steps.export_on_device(Path(model.path), Path(test_data.path), folder)
    on_device.metadata.update({"framework": "onnx", "passed": result["passed"]})
    if result["largest_difference"] is not None:
        parity.log_metric("largest_difference", result["largest_difference"])
    parity.log_metric("rows", result["rows"])
    parity.log_metric("onnx_bytes", result["bytes"])
    print(f"export: {result['reason']}")


def decide(
    target: str,
    workspace: str,
    tenants: dict,
    bars: dict,
    evaluation: Input[Artifact],
    model: Input[Model],
    baseline: Input[Artifact],
    train_data: Input[Dataset],
    test_data: Input[Dataset],
    on_device: Input[Model],
    run_id: str,
    decision: Output[Artifact],
) -> bool:
    """Deploy only if every bar passes and the challenger beats prod's champion."""
    import json
    from pathlib import Path

    from adapters import wiring
    from kernel.names import MODEL_NAME
    from promotion import steps
    from settings import Bars, Tenants

    where = Tenants.model_validate(tenants)
    prod = wiring.open_prod(target, workspace, where, as_="reader")  # reads the champion
    staging = wiring.open_staging(target, workspace, where)
    candidate = steps.decide_and_stage(
        challenger_metrics=json.loads(Path(evaluation.path).read_text()),
        model_dir=Path(model.path),
        baseline_path=Path(baseline.path),
        train_path=Path(train_data.path),
        test_path=Path(test_data.path),
        registry=prod.registry,
        storage=staging.storage,
        bars=Bars.model_validate(bars),
        candidates_root=f"{staging.bucket_uri(where.staging_models_bucket)}/{MODEL_NAME}/candidates",
        run_id=run_id,
        on_device_dir=Path(on_device.path),
    )
    record = {**candidate.decision.as_dict(), "candidate_uri": candidate.uri}
    Path(decision.path).write_text(json.dumps(record))
    staging.runs.record(
        run_id, "decide", {"bars": Bars.model_validate(bars).model_dump(mode="json"), **record}
    )
    decision.metadata["deploy"] = candidate.decision.deploy
    decision.metadata["reason"] = candidate.decision.reason
    print(
        f"decide: {'DEPLOY' if candidate.decision.deploy else 'KEEP'}: {candidate.decision.reason}"
    )
    return candidate.decision.deploy


def deploy(
    target: str,
    workspace: str,
    tenants: dict,
    rollout: dict,
    decision: Input[Artifact],
    commit: str,
    run_id: str,
    deployment: Output[Artifact],
):
    """As the prod deployer: copy into prod, new version, canary, smoke test, tidy up."""
    import json
    from pathlib import Path

    from adapters import wiring
    from kernel.names import MODEL_NAME
    from promotion import steps
    from settings import Rollout, Tenants

    where = Tenants.model_validate(tenants)
    prod = wiring.open_prod(target, workspace, where)
    candidate_uri = json.loads(Path(decision.path).read_text())["candidate_uri"]
    result = steps.deploy_candidate(
        candidate_uri=candidate_uri,
        run_id=run_id,
        commit=commit,
        registry=prod.registry,
        endpoint=prod.endpoint,
        storage=prod.storage,
        prod_models_root=f"{prod.bucket_uri(where.prod_models_bucket)}/{MODEL_NAME}",
        prod_data_root=f"{prod.bucket_uri(where.prod_data_bucket)}/{MODEL_NAME}",
        rollout=Rollout.model_validate(rollout),
        log=lambda line: print(f"deploy: {line}"),
    )
    Path(deployment.path).write_text(json.dumps(result))
    wiring.open_staging(target, workspace, where).runs.record(
        run_id,
        "deploy",
        {"rollout": Rollout.model_validate(rollout).model_dump(mode="json"), **result},
    )
    deployment.metadata.update({k: v for k, v in result.items() if k in ("version", "smoke")})


def approve(
    target: str,
    workspace: str,
    tenants: dict,
    decision: Input[Artifact],
    commit: str,
    run_id: str,
    approval: Output[Artifact],
):
    """promotion = "approval": record the candidate for prod's deploy trigger; prod is untouched."""
    import json
    from pathlib import Path

    from adapters import wiring
    from promotion import steps
    from settings import Tenants

    where = Tenants.model_validate(tenants)
    staging = wiring.open_staging(target, workspace, where)
    decided = json.loads(Path(decision.path).read_text())
    approved = steps.approve_candidate(
        candidate_uri=decided["candidate_uri"],
        run_id=run_id,
        commit=commit,
        serving_image=where.serving_image,
        reason=decided["reason"],
        storage=staging.storage,
    )
    record = {**approved.as_dict(), "candidate_uri": approved.candidate_uri}
    Path(approval.path).write_text(json.dumps(record))
    staging.runs.record(run_id, "approve", record)
    approval.metadata["candidate_uri"] = approved.candidate_uri
    print(
        f"approve: candidate {approved.candidate_uri} awaits prod's deploy trigger "
        f"(mlops deploy --candidate {approved.candidate_uri})"
    )


def monitor(
    target: str,
    workspace: str,
    tenants: dict,
    monitoring_settings: dict,
    run_id: str,
    deployment: Input[Artifact],
    monitoring: Output[Artifact],
):
    """Create or update model monitoring: every feature, skew and drift, alerts, CMEK."""
    import json
    from pathlib import Path

    from adapters import wiring
    from promotion import steps
    from settings import MonitoringSettings, Tenants

    where = Tenants.model_validate(tenants)
    prod = wiring.open_prod(target, workspace, where)
    deployed = json.loads(Path(deployment.path).read_text())
    config = steps.monitoring_config(
        endpoint_id=where.endpoint_id,
        baseline_uri=deployed.get("baseline_uri", ""),
        monitoring=MonitoringSettings.model_validate(monitoring_settings),
        kms_key=where.prod_kms_key,
    )
    action = prod.monitoring.apply(config)
    Path(monitoring.path).write_text(json.dumps({**config, "action": action}))
    wiring.open_staging(target, workspace, where).runs.record(
        run_id,
        "monitor",
        {
            "monitoring": MonitoringSettings.model_validate(monitoring_settings).model_dump(
                mode="json"
            ),
            "action": action,
        },
    )
    print(f"monitor: monitoring {action} for {len(config['features'])} features")
