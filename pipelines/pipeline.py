"""The census promotion pipeline, built for a target: `vertex` or `local`.

Its parameters are PipelineParams' run-level groups (data, training, bars, rollout,
monitoring) plus commit and workspace; the tenants are compiled in. GCP-only pieces are
chosen here, at build time: on Vertex the train component runs as a CMEK custom training
job as the trainer service account. No `from __future__ import annotations`: KFP reads the
pipeline function's annotations as real types.
"""

from kfp import dsl

from adapters.wiring import check_target
from kernel.names import PIPELINE_NAME, STEP_NAMES
from pipelines import components
from settings import Tenants

LOCAL_IMAGE = "python:3.11-slim"  # never pulled: the local runner uses this interpreter
# Every function of pipelines/components.py that becomes a component: the steps and helpers.
COMPONENT_NAMES = (*STEP_NAMES, "automl_budget", "vertex_automl", "skipped")
# Every task runs every time: a cached ingest would reuse last week's data at the same URI,
# a cached decide or deploy would act on a prod that has moved on.


def build(
    target: str,
    image: str,
    tenants: Tenants,
    training_machine_type: str = "n1-standard-4",
    training_timeout_hours: int = 2,
):
    """The pipeline for `target`, its components running in `image`."""
    check_target(target)
    ops = {
        name: dsl.component(getattr(components, name), base_image=image, install_kfp_package=False)
        for name in COMPONENT_NAMES
    }
    train_op = ops["train"]
    if target == "vertex":
        from google_cloud_pipeline_components.v1.custom_job import (
            create_custom_training_job_from_component,
        )

        train_op = create_custom_training_job_from_component(
            ops["train"],
            display_name="census-train",
            machine_type=training_machine_type,
            timeout=f"{training_timeout_hours * 3600}s",
        )
    where = tenants.model_dump()

    def census_promotion(
        data: dict,
        training: dict,
        bars: dict,
        rollout: dict,
        monitoring: dict,
        automl: dict,
        trainer: str,
        commit: str,
        workspace: str,
    ):
        shared = {"target": target, "workspace": workspace, "tenants": where}
        run_id = dsl.PIPELINE_JOB_NAME_PLACEHOLDER
        ingest = (
            ops["ingest"](
                **shared,
                data=data,
                training=training,
                bars=bars,
                rollout=rollout,
                monitoring=monitoring,
                automl=automl,
                trainer=trainer,
                commit=commit,
                run_id=run_id,
            )
            .set_caching_options(False)
            .set_display_name("ingest")
        )
        validate = (
            ops["validate"](**shared, train_data=ingest.outputs["train_data"])
            .set_caching_options(False)
            .set_display_name("validate")
        )
        model, automl_model = _challengers(
            target, ops, train_op, tenants, trainer, training, automl, ingest, validate
        )
        evaluate = (
            ops["evaluate"](
                **shared,
                run_id=run_id,
                model=model,
                automl_model=automl_model,
                test_data=ingest.outputs["test_data"],
            )
            .set_caching_options(False)
            .set_display_name("evaluate")
        )
        export = (
            ops["export"](
                model=model, automl_model=automl_model, test_data=ingest.outputs["test_data"]
            )
            .set_caching_options(False)
            .set_display_name("export")
        )
        decide = (
            ops["decide"](
                **shared,
                bars=bars,
                evaluation=evaluate.outputs["evaluation"],
                model=model,
                automl_model=automl_model,
                baseline=validate.outputs["baseline"],
                train_data=ingest.outputs["train_data"],
                test_data=ingest.outputs["test_data"],
                on_device=export.outputs["on_device"],
                run_id=run_id,
            )
            .set_caching_options(False)
            .set_display_name("decide")
        )
        _promote(ops, shared, tenants, decide, rollout, monitoring, commit, run_id)

    return dsl.pipeline(name=PIPELINE_NAME, description=__doc__.splitlines()[0])(census_promotion)


def _promote(ops, shared, tenants, decide, rollout, monitoring, commit, run_id) -> None:
    """After a decision to deploy: approve for prod's trigger (promotion = "approval", the run
    stops there), or deploy to prod and monitor it. kfp.local resolves a task's single return
    value ("Output") inside a condition, not a named output: decide returns the verdict, its
    reason goes in an artifact."""
    if tenants.promotion == "approval":  # the run stops; prod's deploy trigger deploys
        with dsl.If(decide.outputs["Output"] == True, name="approve-for-prod"):  # noqa: E712
            ops["approve"](
                **shared,
                decision=decide.outputs["decision"],
                commit=commit,
                run_id=run_id,
            ).set_caching_options(False).set_display_name("approve")
        return
    with dsl.If(decide.outputs["Output"] == True, name="deploy-to-prod"):  # noqa: E712
        deploy = (
            ops["deploy"](
                **shared,
                rollout=rollout,
                decision=decide.outputs["decision"],
                commit=commit,
                run_id=run_id,
            )
            .set_caching_options(False)
            .set_display_name("deploy")
        )
        ops["monitor"](
            **shared,
            monitoring_settings=monitoring,
            run_id=run_id,
            deployment=deploy.outputs["deployment"],
        ).set_caching_options(False).set_display_name("monitor")


def _challengers(target, ops, train_op, tenants, trainer, training, automl, ingest, validate):
    """Each trainer's model, or its skipped marker (docs/automl.md). Locally each
    trainer's step skips itself (kfp.local 2.17 cannot pass an artifact out of a
    dsl.If); on Vertex a trainer left out does not run at all: dsl.If / dsl.Else and
    dsl.OneOf."""
    train_data = ingest.outputs["train_data"]
    if target == "local":
        custom = train_op(train_data=train_data, training=training, trainer=trainer)
        stand_in = ops["automl"](
            train_data=train_data, training=training, automl=automl, trainer=trainer
        )
        for task, name in ((custom, "train"), (stand_in, "automl")):
            task.set_caching_options(False).set_display_name(name).after(validate)
        return custom.outputs["model"], stand_in.outputs["model"]
    with dsl.If(trainer != "automl", name="custom-trainer"):
        custom = (
            train_op(
                train_data=train_data,
                training=training,
                trainer=trainer,
                project=tenants.staging_project,
                location=tenants.region,
                service_account=tenants.trainer_service_account,
                encryption_spec_key_name=tenants.staging_kms_key,
            )
            .set_caching_options(False)
            .set_display_name("train")
            .after(validate)
        )
    with dsl.Else():
        no_custom = ops["skipped"](trainer="custom").set_caching_options(False)
    with dsl.If(trainer != "custom", name="automl-trainer"):
        vertex_automl = vertex_automl_branch(ops, tenants, automl, validate)
    with dsl.Else():
        no_automl = ops["skipped"](trainer="automl").set_caching_options(False)
    return (
        dsl.OneOf(custom.outputs["model"], no_custom.outputs["model"]),
        dsl.OneOf(vertex_automl.outputs["model"], no_automl.outputs["model"]),
    )


def vertex_automl_branch(ops, tenants, automl, validate):
    """Vertex AutoML Tabular on the CMEK training table (docs/automl.md): a tabular dataset,
    the training job with the node-hour budget from the run's `automl` group, then a batch
    prediction of the official test table as the trainer identity. CMEK on each. The
    training itself runs as Vertex AI's service agent: AutoML training takes no service
    account (the op has no such parameter, nor has the TrainingPipeline API)."""
    from google_cloud_pipeline_components.v1.automl.training_job import (
        AutoMLTabularTrainingJobRunOp,
    )
    from google_cloud_pipeline_components.v1.batch_predict_job import ModelBatchPredictOp
    from google_cloud_pipeline_components.v1.dataset import TabularDatasetCreateOp

    from trainer import automl as automl_trainer

    where = {"project": tenants.staging_project, "location": tenants.region}
    tables = f"bq://{tenants.staging_project}.{tenants.staging_dataset}"
    budget = ops["automl_budget"](automl=automl).set_caching_options(False).after(validate)
    dataset = (  # the table ingest wrote and validate checked, not the one before it
        TabularDatasetCreateOp(
            **where,
            display_name="census-train",
            bq_source=f"{tables}.census_train",
            encryption_spec_key_name=tenants.staging_kms_key,
        )
        .set_caching_options(False)
        .after(validate)
    )
    training = AutoMLTabularTrainingJobRunOp(
        **where,
        display_name="census-automl",
        optimization_prediction_type="classification",
        optimization_objective="maximize-au-roc",
        dataset=dataset.outputs["dataset"],
        target_column=automl_trainer.TARGET_COLUMN,
        column_specs=automl_trainer.column_specs(),
        budget_milli_node_hours=budget.output,
        training_encryption_spec_key_name=tenants.staging_kms_key,
        model_encryption_spec_key_name=tenants.staging_kms_key,
        model_display_name="census-automl",
        model_labels={"trainer": "vertex-automl"},
    ).set_caching_options(False)
    predictions = ModelBatchPredictOp(
        **where,
        job_display_name="census-automl-test",
        model=training.outputs["model"],
        instances_format="bigquery",
        predictions_format="bigquery",
        bigquery_source_input_uri=f"{tables}.census_test",
        bigquery_destination_output_uri=tables,
        excluded_fields=list(automl_trainer.PASSED_THROUGH),
        service_account=tenants.trainer_service_account,
        encryption_spec_key_name=tenants.staging_kms_key,
    ).set_caching_options(False)
    return ops["vertex_automl"](
        tenants=tenants.model_dump(),
        vertex_model=training.outputs["model"],
        predictions=predictions.outputs["batchpredictionjob"],
    ).set_caching_options(False)
