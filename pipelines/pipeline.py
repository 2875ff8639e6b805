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
# Every task runs every time: a cached ingest would reuse last week's data at the same URI,
# a cached decide or deploy would act on a prod that has moved on.


def build(target: str, image: str, tenants: Tenants, training_machine_type: str = "n1-standard-4"):
    """The pipeline for `target`, its components running in `image`."""
    check_target(target)
    ops = {
        name: dsl.component(getattr(components, name), base_image=image, install_kfp_package=False)
        for name in STEP_NAMES
    }
    train_op = ops["train"]
    if target == "vertex":
        from google_cloud_pipeline_components.v1.custom_job import (
            create_custom_training_job_from_component,
        )

        train_op = create_custom_training_job_from_component(
            ops["train"], display_name="census-train", machine_type=training_machine_type
        )
    where = tenants.model_dump()

    def census_promotion(
        data: dict,
        training: dict,
        bars: dict,
        rollout: dict,
        monitoring: dict,
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
        train_args = {"train_data": ingest.outputs["train_data"], "training": training}
        if target == "vertex":
            train_args.update(
                project=tenants.staging_project,
                location=tenants.region,
                service_account=tenants.trainer_service_account,
                encryption_spec_key_name=tenants.staging_kms_key,
            )
        train = (
            train_op(**train_args)
            .set_caching_options(False)
            .set_display_name("train")
            .after(validate)
        )
        evaluate = (
            ops["evaluate"](
                **shared,
                run_id=run_id,
                model=train.outputs["model"],
                test_data=ingest.outputs["test_data"],
            )
            .set_caching_options(False)
            .set_display_name("evaluate")
        )
        export = (
            ops["export"](model=train.outputs["model"], test_data=ingest.outputs["test_data"])
            .set_caching_options(False)
            .set_display_name("export")
        )
        decide = (
            ops["decide"](
                **shared,
                bars=bars,
                evaluation=evaluate.outputs["evaluation"],
                model=train.outputs["model"],
                baseline=validate.outputs["baseline"],
                train_data=ingest.outputs["train_data"],
                test_data=ingest.outputs["test_data"],
                on_device=export.outputs["on_device"],
                run_id=run_id,
            )
            .set_caching_options(False)
            .set_display_name("decide")
        )
        # kfp.local resolves a task's single return value ("Output") inside a condition,
        # not a named output: decide returns the verdict, its reason goes in an artifact.
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

    return dsl.pipeline(name=PIPELINE_NAME, description=__doc__.splitlines()[0])(census_promotion)
