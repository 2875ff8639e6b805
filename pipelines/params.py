"""The promotion pipeline's parameters: a few typed groups, each defined once.

`tenants` (projects, keys, identities, buckets, the endpoint, the serving image) is derived
from settings and compiled into the template, so a run cannot be pointed elsewhere. The
run-level groups are the pipeline's parameters, their defaults from settings: `data`,
`training` (trainer.hyperparameters), `bars`, `rollout`, `monitoring` and `automl`
(settings' own models), plus `trainer` (custom, automl or both), `commit` and
`workspace`. A bad value is refused, naming its dotted field, before anything runs; each
component validates its groups again where it reads them.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError, model_validator

from kernel.errors import UserError, explain
from kernel.images import require_pinned
from kernel.locations import check_data_uri, local_data_dir
from settings import (
    AutoMLSettings,
    Bars,
    MonitoringSettings,
    Platform,
    Rollout,
    Tenants,
    tenants_for,
)
from settings.model import Fraction, Strict, Trainer
from settings.tenants import LOCAL_SERVING_IMAGE
from trainer.hyperparameters import Hyperparameters
from trainer.options import DEFAULT_MAX_BAD_FRACTION


class DataParams(Strict):
    train_data_uri: str
    test_data_uri: str
    max_bad_fraction: Fraction = DEFAULT_MAX_BAD_FRACTION


class PipelineParams(Strict):
    tenants: Tenants
    data: DataParams
    training: Hyperparameters
    bars: Bars
    rollout: Rollout
    monitoring: MonitoringSettings
    automl: AutoMLSettings
    trainer: Trainer = "custom"
    commit: str = "unknown"
    workspace: str = ""

    @model_validator(mode="after")
    def _data_where_allowed(self) -> PipelineParams:
        """Data only from the bundled splits, the tenant's data bucket, or (local runs) the
        local data folder; anything else refused before anything is read."""
        for field in ("train_data_uri", "test_data_uri"):
            check_data_uri(getattr(self.data, field), **data_locations(self.tenants))
        return self

    def run_values(self) -> dict[str, Any]:
        """The pipeline's parameter values (tenants are compiled in, not passed)."""
        return self.model_dump(exclude={"tenants"})


def is_local(tenants: Tenants) -> bool:
    """Tenants of a local run (the local serving image) rather than Vertex AI's."""
    return tenants.serving_image == LOCAL_SERVING_IMAGE


def data_locations(tenants: Tenants) -> dict[str, Any]:
    """Where a run may read data (kernel.locations.check_data_uri's arguments): a local run
    also from the local data folder, a run on Vertex only from Cloud Storage."""
    local = is_local(tenants)
    return {
        "buckets": {tenants.staging_data_bucket},
        "local_dir": local_data_dir() if local else None,
    }


RUN_GROUPS = tuple(name for name in PipelineParams.model_fields if name != "tenants")


def defaults(platform: Platform, env: str = "staging", *, local: bool) -> dict[str, Any]:
    """Every group's defaults: pipeline knobs from `env`, rollout and monitoring from prod."""
    s = platform[env]
    prod = platform.prod_peer_of(env)
    data_root = f"gs://{s.buckets.data}/census"
    return {
        "tenants": tenants_for(platform, env, local=local).model_dump(),
        "data": {
            "train_data_uri": "bundled:train" if local else f"{data_root}/adult.data",
            "test_data_uri": "bundled:test" if local else f"{data_root}/adult.test",
            "max_bad_fraction": DEFAULT_MAX_BAD_FRACTION,
        },
        "training": Hyperparameters().model_dump(),
        "bars": s.pipeline_settings().bars.model_dump(),
        "rollout": prod.serving_settings().rollout.model_dump(),
        "monitoring": prod.monitoring_settings().model_dump(),
        "automl": s.pipeline_settings().automl.model_dump(),
        "trainer": s.pipeline_settings().trainer,
    }


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """`group.field=value` pairs from the command line; values are JSON when they parse."""
    out = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise UserError(f"parameter override {pair!r} is not name=value")
        try:
            out[name] = json.loads(raw)
        except json.JSONDecodeError:
            out[name] = raw
    return out


def flatten(overrides: dict[str, Any]) -> dict[str, Any]:
    """{"bars": {"min_roc_auc": 1}} and {"bars.min_roc_auc": 1} alike → dotted names."""
    flat: dict[str, Any] = {}
    for name, value in overrides.items():
        group = PipelineParams.model_fields.get(name)
        if isinstance(value, dict) and group is not None and name not in ("commit", "workspace"):
            flat.update({f"{name}.{k}": v for k, v in value.items()})
        else:
            flat[name] = value
    return flat


def _group_fields(group: str) -> dict[str, Any] | None:
    """The fields of a parameter group, or None when `group` is a plain parameter."""
    info = PipelineParams.model_fields.get(group)
    return getattr(info.annotation, "model_fields", None) if info else None


def _where(field: str) -> str:
    """'did you mean bars.min_roc_auc?' for a bare field name of some group."""
    groups = [g for g in PipelineParams.model_fields if field in (_group_fields(g) or {})]
    return f"; did you mean {groups[0]}.{field}?" if groups else ""


def empty_groups() -> dict[str, Any]:
    """A value for every parameter, groups empty: what `merge` checks names against."""
    return {
        name: {} if _group_fields(name) is not None else "" for name in PipelineParams.model_fields
    }


def merge(values: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Dotted overrides onto the groups' values; an unknown name is refused by name."""
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in values.items()}
    for name, value in flatten(overrides).items():
        group, dot, field = name.partition(".")
        if group not in PipelineParams.model_fields or bool(dot) != (
            _group_fields(group) is not None
        ):
            raise UserError(f"unknown pipeline parameter {name!r}{_where(name)}")
        if dot:
            merged[group][field] = value
        else:
            merged[group] = value
    return merged


def template_defaults(template: dict) -> dict[str, Any]:
    """The run-level defaults a compiled template carries (its root input definitions)."""
    inputs = template.get("root", {}).get("inputDefinitions", {}).get("parameters", {})
    missing = sorted(set(RUN_GROUPS) - set(inputs))
    if missing:
        raise UserError(f"the template is not this pipeline's: no parameter(s) {missing}")
    return {name: inputs[name].get("defaultValue") for name in RUN_GROUPS}


def compiled_serving_images(template: dict) -> set[str]:
    """Every serving image a compiled template's steps were given (tenants are constants)."""
    found: set[str] = set()
    stack: list[Any] = [template]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            tenants = node.get("tenants")
            if isinstance(tenants, dict):
                constant = (tenants.get("runtimeValue") or {}).get("constant")
                if isinstance(constant, dict) and "serving_image" in constant:
                    found.add(constant["serving_image"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def require_pinned_serving_image(template: dict, path: str) -> None:
    """A run that may deploy to prod starts only from a template whose serving image is
    pinned by digest; a UserError names the template and the image otherwise."""
    images = compiled_serving_images(template)
    if not images:
        raise UserError(f"{path}: the template names no serving image; is it this pipeline's?")
    for image in sorted(images):
        require_pinned(
            image,
            f"{path} (compile it with --param tenants.serving_image=REPOSITORY/serving@sha256:…)",
        )


def build(
    platform: Platform, env: str, overrides: dict[str, Any], *, local: bool
) -> PipelineParams:
    """Defaults from settings, then overrides; refused with a clear message if invalid."""
    return validated(merge(defaults(platform, env, local=local), overrides))


def validated(values: dict[str, Any]) -> PipelineParams:
    """PipelineParams from merged values, or a UserError naming each bad field."""
    try:
        return PipelineParams.model_validate(values)
    except ValidationError as exc:
        raise UserError(f"bad pipeline parameter {explain(exc)}") from None
