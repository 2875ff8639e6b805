"""A deploy killed at each of its sub-steps: the next deploy, or `mlops canary`, finds prod in
a state it recognises and completes or rolls back the interrupted version (docs/reliability.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from local_prod import ROLLOUT, evaluation_json, open_local_prod
from serving_fixtures import save_small_model

from adapters.local.storage import LocalStorage
from kernel.names import CANDIDATE_LABEL, DEPLOYING
from promotion.domain.layout import ProdLayout
from promotion.domain.traffic import ORPHAN_GRACE, orphaned
from promotion.steps import deploy as steps
from promotion.steps.rollback import finish_interrupted_deploy
from promotion.steps.staging import smoke_instances
from trainer import loader

pytestmark = pytest.mark.slow  # kills deploys in child processes at each sub-step
LATER = datetime.now(UTC) + 2 * ORPHAN_GRACE

MUTATING = {"copy_tree", "register", "import_evaluation", "set_alias", "delete", "deploy",
            "set_traffic", "undeploy"}  # fmt: skip


class Killed(BaseException):
    """The process dying: nothing after it runs, no `except Exception` sees it."""


class Dies:
    """A port that dies at the `at`-th mutating call (counted across every port)."""

    def __init__(self, port, clock: list[int], at: int) -> None:
        self.port, self.clock, self.at = port, clock, at

    def __getattr__(self, name):
        attribute = getattr(self.port, name)
        if name not in MUTATING:
            return attribute

        def call(*args, **kwargs):
            self.clock[0] += 1
            if self.clock[0] == self.at:
                raise Killed(f"killed at {name}")
            return attribute(*args, **kwargs)

        return call


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return save_small_model(tmp_path_factory.mktemp("m") / "model")


def setup(tmp_path, model, champion: bool):
    prod = open_local_prod(tmp_path / "ws")
    test = loader.load_census(split="test").frame.head(20)
    csv = loader.to_csv(test, tmp_path / "test.csv")
    storage = LocalStorage()

    def candidate(run_id: str) -> str:
        now = prod.registry.alias("champion")
        return storage.stage(
            {"model": model, "baseline.json": csv, "train.csv": csv},
            {
                "smoke.json": json.dumps(smoke_instances(csv)),
                "decision.json": json.dumps(
                    {"champion": {"version": now.version} if now else None}
                ),
                "metrics.json": evaluation_json(model, test),
            },
            str(tmp_path / "staging" / run_id),
        )

    def deploy(run_id: str, registry=None, endpoint=None, store=None):
        return steps.deploy_candidate(
            candidate_uri=candidate(run_id),
            run_id=run_id,
            commit="abc",
            registry=registry or prod.registry,
            endpoint=endpoint or prod.endpoint,
            storage=store or storage,
            prod=ProdLayout(str(tmp_path / "prod-models"), data_root(prod)),
            rollout=ROLLOUT,
            log=lambda _: None,
        )

    if champion:
        deploy("run-1")
    return prod, deploy


def data_root(prod) -> str:
    """Where `mlops canary` looks for a version's files: the prod data bucket."""
    return prod.layout.data_root


def killed_deploy(prod, deploy, at: int) -> bool:
    clock = [0]
    try:
        deploy(
            "run-2",
            Dies(prod.registry, clock, at),
            Dies(prod.endpoint, clock, at),
            Dies(LocalStorage(), clock, at),
        )
    except Killed:
        return True
    return False


def aliases(prod) -> dict:
    return {a: v.version for v in prod.registry.versions() for a in v.aliases}


def consistent(prod) -> None:
    state = prod.endpoint.state()
    traffic = state.traffic
    assert DEPLOYING not in aliases(prod)
    assert not traffic or sum(traffic.values()) == 100
    registered = {v.version for v in prod.registry.versions()}
    assert set(traffic) <= registered and set(aliases(prod).values()) <= registered
    assert orphaned(prod.registry.versions(), state, LATER) == []  # none left behind


@pytest.mark.parametrize("champion", [True, False], ids=["canary", "first-deploy"])
def test_a_deploy_killed_at_each_sub_step_is_completed_or_rolled_back(tmp_path, model, champion):
    kills = orphans = 0
    for at in range(1, 30):
        prod, deploy = setup(tmp_path / str(at), model, champion)
        if not killed_deploy(prod, deploy, at):
            break  # the deploy now runs to the end: every sub-step has been killed once
        kills += 1
        before = aliases(prod)
        registered = prod.registry.find(CANDIDATE_LABEL, "run-2")
        outcome = finish_interrupted_deploy(
            registry=prod.registry,
            endpoint=prod.endpoint,
            storage=LocalStorage(),
            prod=prod.layout,
            log=lambda _: None,
            now=LATER,  # as the scheduled canary finds it, an hour or more on
        )
        consistent(prod)
        traffic = prod.endpoint.state().traffic
        if outcome == "completed":  # the new version passed its smoke test and is aliased
            assert aliases(prod) == (
                {"champion": "1", "challenger": "2"} if champion else {"champion": "1"}
            )
        elif champion:  # rolled back, or nothing was marked yet: prod as it was
            assert traffic == {"1": 100} and aliases(prod) == {"champion": "1"}
        else:  # rolled back, or nothing was marked yet: still no model at all
            assert traffic == {} and aliases(prod) == {}
        if outcome == "removed":  # killed between registering and marking: an orphan
            assert registered and DEPLOYING not in before and not registered.aliases
            assert prod.registry.find(CANDIDATE_LABEL, "run-2") is None
            orphans += 1
        elif outcome is None:  # nothing interrupted: not registered yet, or aliases moved
            assert registered is None or {"champion", "challenger"} & set(registered.aliases)
        # and the platform goes on: the same run deployed again ends deployed
        result = deploy("run-2")
        consistent(prod)
        assert prod.endpoint.state().traffic.get(result.version)
        assert prod.registry.has_evaluation(result.version)  # also if killed before its import
    assert kills >= 9  # copies, register, import, mark, deploy, aliases, unmark: each one killed
    assert orphans == 2  # killed at the evaluation's import, and at the mark


@pytest.mark.slow
def test_mlops_canary_finishes_an_interrupted_deploy_before_judging(tmp_path, model):
    for at in range(1, 30):  # the first kill that leaves the canary serving, still marked
        prod, deploy = setup(tmp_path / str(at), model, champion=True)
        killed_deploy(prod, deploy, at)
        if prod.endpoint.state().traffic.get("2") and DEPLOYING in aliases(prod):
            break
    assert aliases(prod) == {"champion": "1", DEPLOYING: "2"}
    workspace = tmp_path / str(at) / "ws"
    command = [sys.executable, "-m", "mlops.cli", "canary", "--workspace", str(workspace)]
    proc = subprocess.run(command, capture_output=True, text=True)
    assert "an interrupted deploy of version 2 completed" in proc.stdout, proc.stderr
    assert proc.returncode == 5  # then judged: no traffic logged yet, so wait
    assert aliases(prod) == {"champion": "1", "challenger": "2"}
