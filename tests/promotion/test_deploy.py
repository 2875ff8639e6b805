"""The deploy step on the local prod tenant: real models, real registry and endpoint state."""

import json
from pathlib import Path

import pytest
from local_prod import evaluation_json, open_local_prod

from adapters.local.storage import LocalStorage
from kernel.names import trainer_label
from kernel.workspace import LocalTenant
from pipelines import challengers
from promotion.domain.layout import ProdLayout
from promotion.steps import deploy as steps
from promotion.steps.staging import smoke_instances
from settings import Rollout
from trainer import loader
from trainer.hyperparameters import Hyperparameters
from trainer.model import train

ROLLOUT = Rollout(
    canary_percent=10,
    versions_kept=2,
    versions_retained=3,
    machine_type="n1-standard-2",
    min_replicas=1,
    max_replicas=2,
)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, census_train) -> Path:
    model = train(
        census_train.frame.head(3000),
        Hyperparameters(num_boost_round=20),
        data_sha256=census_train.sha256,
    )
    return model.save(tmp_path_factory.mktemp("model") / "model")


@pytest.fixture
def world(tmp_path, model_dir, census_test):
    """A workspace, the prod services, and a way to stage candidates like decide does."""
    prod = open_local_prod(tmp_path)
    test_csv = loader.to_csv(census_test.frame.head(50), tmp_path / "test.csv")
    storage = LocalStorage()

    def candidate(run_id: str, model: Path = model_dir) -> str:
        champion = prod.registry.alias("champion")  # what decide compared with
        decision = {"champion": {"version": champion.version} if champion else None}
        return storage.stage(
            {"model": model, "baseline.json": test_csv, "train.csv": test_csv},
            {
                "smoke.json": json.dumps(smoke_instances(test_csv)),
                "decision.json": json.dumps(decision),
                "metrics.json": evaluation_json(model_dir, census_test.frame.head(50)),
            },
            str(tmp_path / "staging-models" / run_id),
        )

    def deploy(run_id: str, rollout=ROLLOUT, model: Path = model_dir, staged=None):
        return steps.deploy_candidate(
            candidate_uri=staged or candidate(run_id, model),
            run_id=run_id,
            commit="abc",
            registry=prod.registry,
            endpoint=prod.endpoint,
            storage=prod.storage,
            prod=ProdLayout(str(tmp_path / "prod-models"), str(tmp_path / "prod-data")),
            rollout=rollout,
            log=lambda _: None,
        )

    return prod, deploy, tmp_path


def aliases(prod) -> dict:
    return {a: v.version for v in prod.registry.versions() for a in v.aliases}


def test_first_version_takes_all_traffic_and_becomes_champion(world):
    prod, deploy, tmp = world
    result = deploy("run-1")
    assert result.version == "1" and result.smoke == "passed"
    assert prod.endpoint.state().traffic == {"1": 100}
    assert aliases(prod) == {"champion": "1"}
    assert (tmp / "prod-models" / "run-1" / "model" / "model.txt").exists()
    assert (tmp / "prod-data" / "run-1" / "baseline.json").exists()


def test_second_version_is_a_canary_and_rerun_is_idempotent(world):
    prod, deploy, _ = world
    deploy("run-1")
    deploy("run-2")
    assert prod.endpoint.state().traffic == {"1": 90, "2": 10}
    assert aliases(prod) == {"champion": "1", "challenger": "2"}
    again = deploy("run-2")  # same inputs: no second version, no second deployment
    assert again.smoke == "skipped: already serving"
    assert [v.version for v in prod.registry.versions()] == ["1", "2"]
    assert prod.endpoint.state().deployed == ("1", "2")


def test_promotion_and_undeploying_beyond_versions_kept(world):
    prod, deploy, _ = world
    deploy("run-1")
    deploy("run-2")
    full = ROLLOUT.model_copy(update={"canary_percent": 100})
    result = deploy("run-3", rollout=full)
    assert prod.endpoint.state().traffic == {"3": 100}
    assert aliases(prod) == {"champion": "3"}
    assert result.undeployed == ["1"]  # v2 stays warm: versions_kept=2
    assert prod.endpoint.state().deployed == ("2", "3")
    assert result.deleted == []  # three versions, three retained


def test_the_registry_keeps_the_retained_newest_and_everything_deployed(world):
    prod, deploy, _ = world
    full = ROLLOUT.model_copy(update={"canary_percent": 100})
    for run in range(1, 6):
        result = deploy(f"run-{run}", rollout=full)
    # retained 3: v3, v4, v5; v4 also stays deployed (warm) and v5 is the champion
    assert result.deleted == ["2"] and sorted(v.version for v in prod.registry.versions()) == [
        "3",
        "4",
        "5",
    ]
    challenger = deploy("run-6")  # a canary: v5 keeps 90%, v6 is the challenger
    assert challenger.deleted == ["3"]
    assert {v.version for v in prod.registry.versions()} == {"4", "5", "6"}


def test_failed_smoke_test_rolls_back_and_leaves_no_orphan(world, model_dir, tmp_path):
    prod, deploy, _ = world
    deploy("run-1")
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "model.json").write_text((model_dir / "model.json").read_text())
    (broken / "model.txt").write_text("this is not a model")
    with pytest.raises(
        steps.DeployFailed,
        match=r"smoke test of version 2 failed .*rolled "
        r"back to \{'1': 100\}",
    ):
        deploy("run-bad", model=broken)
    assert prod.endpoint.state().traffic == {"1": 100}
    assert prod.endpoint.state().deployed == ("1",)
    assert [v.version for v in prod.registry.versions()] == ["1"]
    assert aliases(prod) == {"champion": "1"}


def test_a_crash_mid_write_leaves_the_last_good_state(tmp_path, monkeypatch):
    tenant = LocalTenant(tmp_path, "p")
    tenant.write_state("endpoint", {"traffic": {"1": 100}})

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr("kernel.atomic.os.replace", crash)
    with pytest.raises(OSError, match="disk full"):
        tenant.write_state("endpoint", {"traffic": {"2": 100}})
    assert tenant.read_state("endpoint", None) == {"traffic": {"1": 100}}
    assert [
        p.name for p in tenant.state_path("endpoint").parent.iterdir() if p.suffix == ".tmp"
    ] == []


def test_two_runs_decided_at_once_the_second_deploy_is_refused(world):
    """Both decided against "no champion yet"; the first deploy makes a champion; the
    second must not deploy a candidate never compared with it."""
    prod, deploy, tmp = world
    storage = LocalStorage()
    test_csv = tmp / "test.csv"
    stale = storage.stage(  # decided while prod had no champion
        {},
        {
            "smoke.json": json.dumps(smoke_instances(test_csv)),
            "decision.json": json.dumps({"champion": None}),
        },
        str(tmp / "staging-models" / "run-b"),
    )
    deploy("run-a")
    with pytest.raises(steps.ChampionChanged) as info:
        deploy("run-b", staged=stale)
    assert str(info.value).startswith(
        "prod's champion changed since this candidate was decided: it was compared with no "
        "champion, prod now has version 1; nothing deployed"
    )
    assert prod.endpoint.state().traffic == {"1": 100}
    assert [v.version for v in prod.registry.versions()] == ["1"]  # nothing registered


def test_a_trainer_name_becomes_a_registry_label_value():
    assert trainer_label("automl-stand-in (FLAML 2.7.0)") == "automl-stand-in"
    assert trainer_label("custom trainer (LightGBM)") == "custom-trainer"
    assert trainer_label("Vertex AutoML Tabular") == "vertex-automl-tabular"


def test_a_trainer_left_out_is_absent_not_broken(tmp_path):
    from kernel.errors import UserError

    custom, automl = tmp_path / "custom", tmp_path / "automl"
    custom.mkdir()
    automl.mkdir()
    challengers.mark_skipped(automl, "automl")
    assert challengers.present(custom, automl) == {"custom": custom}
    challengers.mark_skipped(custom, "custom")
    with pytest.raises(UserError, match="left every trainer out"):
        challengers.present(custom, automl)


def test_a_refused_smoke_call_stops_the_deploy_and_deletes_nothing(world, monkeypatch):
    """A 403 on predict says nothing about the model: the version stays, marked, and the
    next deploy finishes it once the call is allowed."""
    from kernel.errors import PlatformRefused

    prod, deploy, _ = world
    deploy("run-1")

    def refused(instances, version):
        raise PlatformRefused("predict on endpoints/1 was refused: 403 Permission denied")

    monkeypatch.setattr(prod.endpoint, "predict", refused)
    with pytest.raises(steps.DeployFailed) as failed:
        deploy("run-2")
    message = str(failed.value)
    assert "the smoke test of version 2 could not run: predict on endpoints/1 was refused" in (
        message
    )
    assert "Nothing was rolled back: version 2 stays registered at {'1': 90, '2': 10}" in message
    assert [v.version for v in prod.registry.versions()] == ["1", "2"]
    assert aliases(prod) == {"champion": "1", "deploying": "2"}
    assert prod.endpoint.state().traffic == {"1": 90, "2": 10}
    monkeypatch.undo()  # the grant is back: the next deploy completes the interrupted one
    again = deploy("run-2")
    assert again.smoke == "skipped: already serving"
    assert aliases(prod) == {"champion": "1", "challenger": "2"}


def test_a_model_that_fails_its_smoke_test_is_still_rolled_back_and_removed(world, monkeypatch):
    prod, deploy, _ = world
    deploy("run-1")

    def broken(instances, version):
        raise RuntimeError("the model server answered 500")

    monkeypatch.setattr(prod.endpoint, "predict", broken)
    with pytest.raises(steps.DeployFailed, match="prediction failed: the model server answered"):
        deploy("run-2")
    assert [v.version for v in prod.registry.versions()] == ["1"]
    assert prod.endpoint.state().traffic == {"1": 100}


def test_a_deploy_the_platform_could_not_finish_is_resumed_not_undone(world, monkeypatch):
    """Vertex out of quota part way through a deploy: nothing about the model is known, so
    the version stays registered and marked; re-running the deploy deploys that version."""
    from kernel.errors import PlatformRefused

    prod, deploy, _ = world
    deploy("run-1")
    real = prod.endpoint.deploy

    def out_of_quota(version, traffic, rollout):
        raise PlatformRefused(f"deploying version {version} failed: 429 quota exceeded")

    monkeypatch.setattr(prod.endpoint, "deploy", out_of_quota)
    with pytest.raises(steps.DeployFailed) as failed:
        deploy("run-2")
    assert str(failed.value) == (
        "deploying version 2 failed: 429 quota exceeded. Nothing was rolled back: version 2 "
        "stays registered and marked 'deploying', the endpoint serves {'1': 100} as before; "
        "re-run this deploy to resume it"
    )
    assert [v.version for v in prod.registry.versions()] == ["1", "2"]
    assert aliases(prod) == {"champion": "1", "deploying": "2"}
    monkeypatch.setattr(prod.endpoint, "deploy", real)
    resumed = deploy("run-2")
    assert resumed.version == "2" and resumed.traffic == {"1": 90, "2": 10}
    assert [v.version for v in prod.registry.versions()] == ["1", "2"]  # the same version
    assert aliases(prod) == {"champion": "1", "challenger": "2"}


def test_a_version_whose_server_fails_to_start_is_rolled_back(world, monkeypatch):
    from kernel.errors import ServingFailed

    prod, deploy, _ = world
    deploy("run-1")

    def never_ready(version, traffic, rollout):
        raise ServingFailed(f"version {version} failed to deploy: 400 Model server failed")

    monkeypatch.setattr(prod.endpoint, "deploy", never_ready)
    with pytest.raises(steps.DeployFailed, match=r"failed to deploy: .*; rolled back: traffic"):
        deploy("run-2")
    assert [v.version for v in prod.registry.versions()] == ["1"]
    assert aliases(prod) == {"champion": "1"}
    assert prod.endpoint.state().traffic == {"1": 100}
