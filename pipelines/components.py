"""KFP lightweight components: thin wrappers that open the adapters and call promotion.steps.

KFP ships each function's source to the task, so each imports what it needs inside its
body; the repository itself is installed in the component image (Dockerfile, target
`components`) and, locally, in this virtual environment. Each validates the parameter groups
it reads once, before doing anything, and opens its tenants through one StepContext
(pipelines/context.py). Functions stay plain here;
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

    from kernel.locations import check_data_uri
    from pipelines.context import StepContext
    from pipelines.params import DataParams, data_locations
    from promotion.domain import runs
    from promotion.steps import staging
    from settings import AutoMLSettings, Bars, MonitoringSettings, Rollout
    from trainer.hyperparameters import Hyperparameters

    source = DataParams.model_validate(data)
    step = StepContext.of(target, workspace, tenants, run_id)
    for uri in (source.train_data_uri, source.test_data_uri):  # again: a job's own values
        check_data_uri(uri, **data_locations(step.tenants))
    Path(quarantine.path).mkdir(parents=True, exist_ok=True)
    summary = staging.ingest(
        step.staging.warehouse,
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
    parameters: dict = {name: group.model_dump(mode="json") for name, group in asked.items()}
    parameters["trainer"] = trainer
    step.record("ingest", runs.ingest_facts(commit, parameters, summary, uris))
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

    from pipelines.context import StepContext
    from promotion.steps import staging

    step = StepContext.of(target, workspace, tenants)
    stats = staging.validate(step.staging.warehouse, Path(baseline.path))
    summary.log_metric("rows", stats["rows"])
    summary.log_metric("label_positive_share", round(stats["label_positive_share"], 4))
    print(f"validate: {stats['rows']:,} rows, schema and statistics OK")


def train(train_data: Input[Dataset], training: dict, trainer: str, model: Output[Model]):
    """Gradient-boosted trees on the validated training data (the custom trainer)."""
    from pathlib import Path

    from pipelines.challengers import mark_skipped
    from promotion.steps import staging
    from trainer.hyperparameters import Hyperparameters

    if trainer == "automl":  # local runs: the trainer parameter left this one out
        mark_skipped(Path(model.path), "custom")
        print("train: skipped (trainer=automl)")
        return
    staging.train_model(
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

    from pipelines.challengers import mark_skipped
    from promotion.steps import staging
    from settings import AutoMLSettings
    from trainer.hyperparameters import Hyperparameters

    if trainer == "custom":
        mark_skipped(Path(model.path), "automl")
        print("automl: skipped (trainer=custom)")
        return
    budget = AutoMLSettings.model_validate(automl)
    limit = f" or {budget.max_trials} trials" if budget.max_trials else ""
    print(
        f"automl: stand-in search (FLAML, LightGBM only) for {budget.time_budget_seconds}s{limit}"
    )
    found = staging.train_automl_stand_in(
        Path(train_data.path),
        Hyperparameters.model_validate(training),
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
    tenants: dict,
    vertex_model: Input[VertexModel],
    predictions: Input[VertexBatchPredictionJob],
    model: Output[Model],
):
    """On Vertex: the AutoML challenger as a model folder: model.json names the Vertex
    model and the BigQuery table of its test-split predictions (what evaluate scores), and
    the model as AutoML exports it (what prod uploads and serves with AutoML's container)."""
    from pathlib import Path

    from adapters.wiring import export_automl_model
    from kernel.atomic import write_json
    from promotion.domain import layout
    from settings import Tenants
    from trainer import automl, schema

    where = Tenants.model_validate(tenants)
    name = vertex_model.metadata.get("resourceName", vertex_model.uri)
    root = model.uri.rstrip("/")
    destination = f"{root}/{layout.AUTOML_EXPORT}"
    exported = export_automl_model(name, destination, where.staging_project, where.region)
    write_json(
        Path(model.path) / "model.json",
        {
            "format": automl.VERTEX_AUTOML_FORMAT,
            "trainer": automl.VERTEX_AUTOML,
            "schema": schema.as_dict(),
            "vertex_model": name,
            "predictions_table": predictions.metadata.get("bigqueryOutputTable", ""),
            "export": exported.removeprefix(f"{root}/"),  # relative: the folder travels
        },
    )
    print(f"vertex-automl: {name}, exported to {exported}")


def skipped(trainer: str, model: Output[Model]):
    """On Vertex, the branch a trainer left out (dsl.Else): marks the challenger absent."""
    from pathlib import Path

    from pipelines.challengers import mark_skipped

    mark_skipped(Path(model.path), trainer)


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

    from pipelines.challengers import metric_prefix, present
    from pipelines.context import StepContext
    from promotion.domain import runs
    from promotion.steps import staging
    from trainer import report as html_report
    from trainer import schema
    from trainer.evaluate import HEADLINE

    step = StepContext.of(target, workspace, tenants, run_id)
    results, metadata = staging.evaluate_challengers(
        present(model.path, automl_model.path), Path(test_data.path), step.staging.warehouse
    )
    for name, result in results.items():
        prefix = metric_prefix(name)
        figures: dict = dict(result)
        for key in HEADLINE:
            metrics.log_metric(prefix + key, round(figures[key], 6))
        for slice_name, gap in result["slice_accuracy_gap"].items():
            metrics.log_metric(f"{prefix}slice_accuracy_gap_{slice_name}", round(gap, 6))
        print(
            f"evaluate: {name}: accuracy {result['accuracy']:.4f} ROC AUC {result['roc_auc']:.4f}"
        )
    first = next(iter(results.values()))  # the UI draws one ROC curve; the report all
    roc = first["roc_curve"]
    classification.log_roc_curve(roc["fpr"], roc["tpr"], roc["thresholds"])
    classification.log_confusion_matrix(list(schema.CLASSES), first["confusion_matrix"])
    described = {n: {**r, **runs.trainer_facts(metadata[n])} for n, r in results.items()}
    html_report.write_report(
        report.path, {f"{name}: {r['trainer']}": r for name, r in described.items()}
    )
    Path(evaluation.path).write_text(json.dumps(described))
    step.record("evaluate", runs.evaluation_facts(metadata, described))


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

    from pipelines.challengers import metric_prefix, present
    from promotion.steps import staging

    for name, path in present(model.path, automl_model.path).items():
        folder = Path(on_device.path) / name
        folder.mkdir(parents=True, exist_ok=True)
        result = staging.export_on_device(path, Path(test_data.path), folder)
        prefix = metric_prefix(name)
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

    from pipelines.challengers import present
    from pipelines.context import StepContext
    from promotion.steps import staging
    from settings import Bars

    step = StepContext.of(target, workspace, tenants, run_id)
    bars_ = Bars.model_validate(bars)
    staged = staging.decide_and_stage(
        evaluations=json.loads(Path(evaluation.path).read_text()),
        models=present(model.path, automl_model.path),
        baseline_path=Path(baseline.path),
        train_path=Path(train_data.path),
        test_path=Path(test_data.path),
        registry=step.prod(as_="reader").registry,  # reads the champion
        storage=step.staging.storage,
        warehouse=step.staging.warehouse,  # an AutoML champion's predictions
        bars=bars_,
        candidates_root=step.staging.candidates_root,
        run_id=run_id,
        on_device_root=Path(on_device.path),
    )
    chosen = staged.decision
    record = {**chosen.as_dict(), "candidate_uri": staged.uri}
    Path(decision.path).write_text(json.dumps(record))
    step.record("decide", {"bars": bars_.model_dump(mode="json"), **record})
    decision.metadata.update(deploy=chosen.deploy, reason=chosen.reason, trainer=chosen.trainer)
    print(f"decide: {'DEPLOY' if chosen.deploy else 'KEEP'}: {chosen.reason}")
    return chosen.deploy


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

    from pipelines import context
    from settings import Rollout

    step = context.StepContext.of(target, workspace, tenants, run_id)
    rollout_ = Rollout.model_validate(rollout)
    done = context.deploy(
        step.prod(),
        candidate_uri=json.loads(Path(decision.path).read_text())["candidate_uri"],
        run_id=run_id,
        commit=commit,
        rollout=rollout_,
        log=lambda line: print(f"deploy: {line}"),
    )
    Path(deployment.path).write_text(json.dumps(done.as_dict()))
    step.record("deploy", {"rollout": rollout_.model_dump(mode="json"), **done.as_dict()})
    deployment.metadata.update(version=done.version, smoke=done.smoke)


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
    from pipelines.context import StepContext
    from promotion.steps.approval import announce, approve_candidate

    step = StepContext.of(target, workspace, tenants, run_id)
    decided = json.loads(Path(decision.path).read_text())
    approved = approve_candidate(
        candidate_uri=decided["candidate_uri"],
        run_id=run_id,
        commit=commit,
        serving_image=step.tenants.serving_image,
        reason=decided["reason"],
        storage=step.staging.storage,
    )
    record = {**approved.as_dict(), "candidate_uri": approved.candidate_uri}
    publish = wiring.announcer(target, step.tenants)
    if publish is not None:  # Vertex: prod's census-deploy builds it once a person approves
        topic = step.tenants.approved_candidates_topic
        record["announced"] = f"{topic} message {announce(approved, publish)}"
        next_step = f"announced on {topic}: prod's census-deploy build waits for an approver"
    else:
        next_step = (f"deploy it with: mlops deploy --candidate {approved.candidate_uri} "
                     f"--digest {approved.digest}")  # fmt: skip
    Path(approval.path).write_text(json.dumps(record))
    step.record("approve", record)
    approval.metadata["candidate_uri"] = approved.candidate_uri
    approval.metadata["digest"] = approved.digest
    print(f"approve: candidate {approved.candidate_uri} approved (files' digest "
          f"{approved.digest}); {next_step}")  # fmt: skip


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

    from pipelines import context
    from settings import MonitoringSettings

    step = context.StepContext.of(target, workspace, tenants, run_id)
    settings = MonitoringSettings.model_validate(monitoring_settings)
    deployed = json.loads(Path(deployment.path).read_text())
    config, action = context.monitor(
        step.prod(), step.tenants, deployed.get("baseline_uri", ""), settings
    )
    Path(monitoring.path).write_text(json.dumps({**config.as_dict(), "action": action}))
    step.record("monitor", {"monitoring": settings.model_dump(mode="json"), "action": action})
    print(f"monitor: monitoring {action} for {len(config.features)} features")
