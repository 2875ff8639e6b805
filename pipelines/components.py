"""KFP lightweight components: thin wrappers that open the adapters and call promotion.steps.

KFP ships each function's source to the task, so each imports what it needs inside its
body; the repository itself is installed in the component image (Dockerfile, target
`components`) and, locally, in this virtual environment. Each validates the parameter groups
it reads (pipelines.params) before doing anything. Functions stay plain here;
`pipelines.pipeline.build` turns them into components with the image of the compile.
No `from __future__ import annotations` here: KFP reads the annotations as real types.
"""

from google_cloud_pipeline_components.types.artifact_types import (
    VertexBatchPredictionJob,
    VertexModel,
)
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
    automl: dict,
    trainer: str,
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
    from settings import AutoMLSettings, Bars, MonitoringSettings, Rollout, Tenants
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
        "automl": AutoMLSettings.model_validate(automl),
    }
    parameters = {name: group.model_dump(mode="json") for name, group in asked.items()}
    parameters["trainer"] = trainer
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


def train(train_data: Input[Dataset], training: dict, trainer: str, model: Output[Model]):
    """Gradient-boosted trees on the validated training data (the custom trainer)."""
    from pathlib import Path

    from promotion import steps
    from trainer.hyperparameters import Hyperparameters

    if trainer == "automl":  # local runs: the trainer parameter left this one out
        steps.mark_skipped(Path(model.path), "custom")
        print("train: skipped (trainer=automl)")
        return
    steps.train_model(
        Path(train_data.path), Hyperparameters.model_validate(training), Path(model.path)
    )
    model.metadata["framework"] = "lightgbm"
    print(f"train: model written to {model.path}")


def automl(
    train_data: Input[Dataset], training: dict, automl: dict, trainer: str, model: Output[Model]
):
    """The AutoML challenger on a local run: a stand-in (FLAML searching LightGBM in a time
    budget), not Vertex AutoML; its model says so (docs/automl.md)."""
    from pathlib import Path

    from promotion import steps
    from settings import AutoMLSettings

    if trainer == "custom":
        steps.mark_skipped(Path(model.path), "automl")
        print("automl: skipped (trainer=custom)")
        return
    budget = AutoMLSettings.model_validate(automl)
    limit = f" or {budget.max_trials} trials" if budget.max_trials else ""
    print(
        f"automl: stand-in search (FLAML, LightGBM only) for {budget.time_budget_seconds}s{limit}"
    )
    found = steps.train_automl_stand_in(
        Path(train_data.path),
        training,
        budget.time_budget_seconds,
        Path(model.path),
        budget.max_trials or None,
    )
    search = found.metadata["automl_search"]
    model.metadata.update(framework="lightgbm", trainer=found.metadata["trainer"])
    print(
        f"automl: {search['trials']} trials in {search['elapsed_seconds']}s, best holdout "
        f"ROC AUC {search['best_holdout_roc_auc']:.4f}"
    )


def automl_budget(automl: dict) -> int:
    """On Vertex: the AutoML node-hour budget of the run's `automl` group, validated (a
    pipeline parameter group cannot be indexed in the graph)."""
    from settings import AutoMLSettings

    return AutoMLSettings.model_validate(automl).budget_milli_node_hours


def vertex_automl(
    vertex_model: Input[VertexModel],
    predictions: Input[VertexBatchPredictionJob],
    model: Output[Model],
):
    """On Vertex: the AutoML challenger as a model folder that names the Vertex model and
    the BigQuery table of its test-split predictions (docs/automl.md: evaluating it from
    that table is not built yet, and a run refuses trainer=automl|both on Vertex)."""
    from pathlib import Path

    from kernel.atomic import write_json
    from trainer import automl, schema

    write_json(
        Path(model.path) / "model.json",
        {
            "format": automl.VERTEX_AUTOML_FORMAT,
            "trainer": automl.VERTEX_AUTOML,
            "schema": schema.as_dict(),
            "vertex_model": vertex_model.metadata.get("resourceName", vertex_model.uri),
            "predictions_table": predictions.metadata.get("bigqueryOutputTable", ""),
        },
    )


def skipped(trainer: str, model: Output[Model]):
    """On Vertex, the branch a trainer left out (dsl.Else): marks the challenger absent."""
    from pathlib import Path

    from promotion import steps

    steps.mark_skipped(Path(model.path), trainer)


def evaluate(
    target: str,
    workspace: str,
    tenants: dict,
    run_id: str,
    model: Input[Model],
    automl_model: Input[Model],
    test_data: Input[Dataset],
    metrics: Output[Metrics],
    classification: Output[ClassificationMetrics],
    report: Output[HTML],
    evaluation: Output[Artifact],
):
    """Official-test-split metrics, per-slice metrics, and the pictures the Vertex UI draws,
    for every challenger that ran (the AutoML one's metrics prefixed `automl_`)."""
    import json
    from pathlib import Path

    from adapters import wiring
    from promotion import steps
    from promotion.domain import runs
    from settings import Tenants
    from trainer import report as html_report

    models = steps.present(model.path, automl_model.path)
    results, metadata = steps.evaluate_challengers(models, Path(test_data.path))
    for name, result in results.items():
        prefix = steps.metric_prefix(name)
        for key in ("accuracy", "roc_auc", "log_loss", "f1", "precision", "recall"):
            metrics.log_metric(prefix + key, round(result[key], 6))
        for slice_name, gap in result["slice_accuracy_gap"].items():
            metrics.log_metric(f"{prefix}slice_accuracy_gap_{slice_name}", round(gap, 6))
        print(
            f"evaluate: {name}: accuracy {result['accuracy']:.4f} ROC AUC {result['roc_auc']:.4f}"
        )
    first = next(iter(results.values()))  # the UI draws one ROC curve; the report all
    roc = first["roc_curve"]
    classification.log_roc_curve(roc["fpr"], roc["tpr"], roc["thresholds"])
    classification.log_confusion_matrix(["<=50K", ">50K"], first["confusion_matrix"])
    for name in results:
        results[name].update(runs.trainer_facts(metadata[name]))
    html_report.write_report(
        report.path, {f"{name}: {r['trainer']}": r for name, r in results.items()}
    )
    Path(evaluation.path).write_text(json.dumps(results))
    staging = wiring.open_staging(target, workspace, Tenants.model_validate(tenants))
    staging.runs.record(run_id, "evaluate", runs.evaluation_facts(metadata, results))


def export(
    model: Input[Model],
    automl_model: Input[Model],
    test_data: Input[Dataset],
    on_device: Output[Model],
    parity: Output[Metrics],
):
    """The on-device model of every challenger: ONNX converted from its trees, checked
    against LightGBM on the official test split (a failed check keeps it out of prod)."""
    from pathlib import Path

    from promotion import steps

    models = steps.present(model.path, automl_model.path)
    for name, path in models.items():
        folder = Path(on_device.path) / name
        folder.mkdir(parents=True, exist_ok=True)
        result = steps.export_on_device(path, Path(test_data.path), folder)
        prefix = steps.metric_prefix(name)
        on_device.metadata[f"{prefix}passed"] = result["passed"]
        if result["largest_difference"] is not None:
            parity.log_metric(f"{prefix}largest_difference", result["largest_difference"])
        parity.log_metric(f"{prefix}rows", result["rows"])
        parity.log_metric(f"{prefix}onnx_bytes", result["bytes"])
        print(f"export: {name}: {result['reason']}")
    on_device.metadata["framework"] = "onnx"


def decide(
    target: str,
    workspace: str,
    tenants: dict,
    bars: dict,
    evaluation: Input[Artifact],
    model: Input[Model],
    automl_model: Input[Model],
    baseline: Input[Artifact],
    train_data: Input[Dataset],
    test_data: Input[Dataset],
    on_device: Input[Model],
    run_id: str,
    decision: Output[Artifact],
) -> bool:
    """Deploy only if a challenger passes every bar and beats prod's champion; with both
    trainers, the better of those that do."""
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
        evaluations=json.loads(Path(evaluation.path).read_text()),
        models=steps.present(model.path, automl_model.path),
        baseline_path=Path(baseline.path),
        train_path=Path(train_data.path),
        test_path=Path(test_data.path),
        registry=prod.registry,
        storage=staging.storage,
        bars=Bars.model_validate(bars),
        candidates_root=f"{staging.bucket_uri(where.staging_models_bucket)}/{MODEL_NAME}/candidates",
        run_id=run_id,
        on_device_root=Path(on_device.path),
    )
    record = {**candidate.decision.as_dict(), "candidate_uri": candidate.uri}
    Path(decision.path).write_text(json.dumps(record))
    staging.runs.record(
        run_id, "decide", {"bars": Bars.model_validate(bars).model_dump(mode="json"), **record}
    )
    decision.metadata["deploy"] = candidate.decision.deploy
    decision.metadata["reason"] = candidate.decision.reason
    decision.metadata["trainer"] = candidate.decision.trainer
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
