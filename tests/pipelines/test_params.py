"""Pipeline parameters: defaults from settings, bad values refused before anything runs."""

import inspect

import pytest

from infra.settings import load_platform
from mlops.errors import UserError
from pipelines import params
from pipelines.pipeline import build, signature
from trainer.schema import FEATURE_NAMES


@pytest.fixture(scope="module")
def platform():
    return load_platform()


def test_defaults_come_from_settings(platform):
    p = params.build(platform, "staging", {}, local=False)
    prod = platform["prod"]
    assert p.staging_kms_key == platform["staging"].key_id("vertex")
    assert p.prod_kms_key == prod.key_id("vertex")
    assert p.deployer_service_account == prod.service_account_email("deployer")
    assert p.canary_percent == prod.serving.canary_percent
    assert p.train_data_uri == "gs://census-ml-staging-data/census/adult.data"
    assert p.skew_thresholds["capital_gain"] == 0.15 and p.skew_thresholds["age"] == 0.1
    assert set(p.drift_thresholds) == set(FEATURE_NAMES)
    assert params.build(platform, "staging", {}, local=True).train_data_uri == "bundled:train"


def test_overrides_merge_hyperparameters(platform):
    p = params.build(
        platform,
        "staging",
        params.parse_overrides(
            ['hyperparameters={"num_leaves": 8}', "canary_percent=25", "commit=abc"]
        ),
        local=True,
    )
    assert p.hyperparameters["num_leaves"] == 8 and p.hyperparameters["learning_rate"] == 0.02
    assert p.canary_percent == 25 and p.commit == "abc"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"min_roc_auc": 1.5}, r"min_roc_auc: Input should be less than or equal to 1 \(got 1.5\)"),
        ({"champion_margin": -0.1}, r"champion_margin: Input should be greater than or equal to 0"),
        ({"canary_percent": 0}, r"canary_percent: Input should be greater than or equal to 1"),
        ({"canary_percent": 101}, r"canary_percent: Input should be less than or equal to 100"),
        ({"hyperparameters": {"num_leaves": "many"}}, r"hyperparameters: num_leaves: Input should"),
        ({"skew_thresholds": {"age": 0.1}}, r"thresholds must name every feature once"),
        ({"colour": "blue"}, r"colour: Extra inputs are not permitted"),
    ],
)
def test_bad_parameters_are_refused(platform, override, message):
    with pytest.raises(UserError, match=message):
        params.build(platform, "staging", override, local=True)


def test_unknown_env_and_wrong_tenant_are_refused(platform):
    with pytest.raises(UserError, match="unknown env 'qa'"):
        params.build(platform, "qa", {}, local=True)
    with pytest.raises(UserError, match="runs in a non-prod env; prod is prod"):
        params.build(platform, "prod", {}, local=True)
    with pytest.raises(UserError, match="not name=value"):
        params.parse_overrides(["canary_percent"])


def test_pipeline_signature_is_exactly_the_parameters():
    pipeline = build("local", "python:3.11-slim")
    assert set(pipeline.component_spec.inputs) == set(params.PipelineParams.model_fields)
    assert list(signature().parameters) == list(params.PipelineParams.model_fields)
    kinds = {p.annotation for p in signature().parameters.values()}
    assert kinds <= {str, int, float, dict, list}
    assert all(
        p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in signature().parameters.values()
    )
