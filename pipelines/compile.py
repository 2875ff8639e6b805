"""Compile the pipeline for a target and env, every run-level default taken from settings."""

from __future__ import annotations

from pathlib import Path

from kfp import compiler

from pipelines.params import PipelineParams
from pipelines.pipeline import LOCAL_IMAGE, build
from settings import Platform


def compile_to(
    platform: Platform,
    target: str,
    env: str,
    params: PipelineParams,
    output: Path,
    image: str | None = None,
    image_tag: str = "latest",
) -> str:
    """Compile the pipeline for `target` with `params` as defaults; returns the image used."""
    settings = platform[env]
    if target == "vertex":
        image = image or f"{settings.image_repository_url()}/components:{image_tag}"
    else:
        image = LOCAL_IMAGE
    output.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(
        build(
            target,
            image,
            params.tenants,
            settings.pipeline_settings().training_machine_type,
            settings.pipeline_settings().training_timeout_hours,
        ),
        str(output),
        pipeline_parameters=params.run_values(),
    )
    return image
