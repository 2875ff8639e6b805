"""Pipeline parameters: typed groups, defaults from settings, bad values refused by name."""

import inspect

import pytest

from kernel.errors import UserError
from pipelines import params
from pipelines.pipeline import build
from settings import load_platform, tenants_for
from trainer.schema import FEATURE_NAMES


@pytest.fixture(scope="module")
def platform():
    return load_platform()


def test_defaults_come_from_settings(platform):
    p = params.build(platform, "staging", {}, local=False)
    prod = platform["prod"]
    assert p.tenants.staging_kms_key == platform["staging"].key_id("vertex")
    assert p.tenants.prod_kms_key == prod.key_id("vertex")
    assert p.tenants.deployer_service_account == prod.service_account_email("deployer")
    assert p.rollout == prod.serving.rollout
    assert p.bars == platform["staging"].pipeline.bars
    assert p.monitoring == prod.monitoring
    assert p.data.train_data_uri == "gs://census-ml-staging-data/census/adult.data"
    skew = p.monitoring.thresholds("skew")
    assert skew["capital_gain"] == 0.45 and skew["age"] == 0.1
    assert set(p.monitoring.thresholds("drift")) == set(FEATURE_NAMES)
    assert params.build(platform, "staging", {}, local=True).data.train_data_uri == "bundled:train"


def test_overrides_by_dotted_name_or_by_group_merge_into_the_defaults(platform):
    p = params.build(
        platform,
        "staging",
        params.parse_overrides(
            ["training.num_leaves=8", "rollout.canary_percent=25", "commit=abc"]
        ),
        local=True,
    )
    assert p.training.num_leaves == 8 and p.training.learning_rate == 0.02
    assert p.rollout.canary_percent == 25 and p.rollout.versions_kept == 2 and p.commit == "abc"
    grouped = params.build(platform, "staging", {"bars": {"min_roc_auc": 0.95}}, local=True)
    assert grouped.bars.min_roc_auc == 0.95 and grouped.bars.min_accuracy == 0.86


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"bars.min_roc_auc": 1.5}, r"bars.min_roc_auc: Input should be less than or equal to 1"),
        ({"bars.champion_margin": -0.1}, r"bars.champion_margin: Input should be greater"),
        ({"rollout.canary_percent": 0}, r"rollout.canary_percent: Input should be greater"),
        ({"rollout.canary_percent": 101}, r"rollout.canary_percent: Input should be less"),
        ({"rollout.min_replicas": 5}, r"rollout: max_replicas 2 < min_replicas 5$"),
        ({"training.num_leaves": "many"}, r"training.num_leaves: Input should be a valid integer"),
        ({"monitoring.feature_thresholds": {"colour": 0.1}}, r"unknown feature\(s\) colour"),
        ({"bars.colour": "blue"}, r"bars.colour: Extra inputs are not permitted"),
        ({"colour": "blue"}, r"unknown pipeline parameter 'colour'"),
        ({"min_roc_auc": 0.9}, r"'min_roc_auc'; did you mean bars.min_roc_auc\?"),
        ({"commit.x": "y"}, r"unknown pipeline parameter 'commit.x'"),
        ({"trainer": "gpu"}, r"trainer: Input should be 'custom', 'automl' or 'both'"),
        ({"automl.time_budget_seconds": 1}, r"automl.time_budget_seconds: Input should be"),
        ({"automl.budget_milli_node_hours": 500}, r"automl.budget_milli_node_hours: Input"),
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
        params.parse_overrides(["rollout.canary_percent"])


def test_pipeline_parameters_are_exactly_the_run_groups(platform):
    pipeline = build("local", "python:3.11-slim", tenants_for(platform, "staging", local=True))
    assert list(pipeline.component_spec.inputs) == list(params.RUN_GROUPS)
    p = params.build(platform, "staging", {}, local=True)
    assert list(p.run_values()) == list(params.RUN_GROUPS)
    assert "tenants" not in p.run_values()
    signature = inspect.signature(pipeline.pipeline_func)
    assert list(signature.parameters) == list(params.RUN_GROUPS)


def test_automl_runs_locally_and_on_vertex(platform):
    both = params.build(
        platform, "staging", {"trainer": "both", "automl.time_budget_seconds": 30}, local=True
    )
    assert (both.trainer, both.automl.time_budget_seconds) == ("both", 30)
    assert both.run_values()["automl"]["budget_milli_node_hours"] == 1000
    for trainer in ("automl", "both"):  # the Vertex branch runs (tests/simulation/test_automl.py)
        built = params.build(platform, "staging", {"trainer": trainer}, local=False)
        assert built.trainer == trainer
    assert params.build(platform, "staging", {}, local=False).trainer == "custom"
