"""A Vertex deploy killed just after each kind of change it makes (issue 31, part 5): the
deploy step runs as the pipeline identity impersonating the prod deployer against the
simulated cloud, and is SIGKILLed the moment the cloud has applied the chosen call (its
answer never arrives; an operation it started runs on). An hour or more later (the
operations done, the version older than the orphan grace), the scheduled canary judgement
or the next run's deploy, as the deployer, completes the interrupted deploy or rolls it
back, and no version is left orphaned (docs/reliability.md, "Recovery on Vertex")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from prod_deploy import (
    DEPLOYER,
    GARBAGE,
    IMAGE,
    PIPELINE,
    STEP,
    deploy,
    registered,
    result_of,
    stage_candidate,
)
from prod_deploy import endpoint as endpoint_of
from simulated import mlops_as

from kernel import exit_codes
from promotion.domain.traffic import ORPHAN_GRACE, orphaned
from promotion.ports import EndpointState, ModelVersion
from simulation.serving import faulty

pytestmark = pytest.mark.slow  # a simulated cloud, deploys with real prediction servers

AI = "aiplatform.projects.locations."
# (method, which of its calls in one deploy): every kind of change a deploy makes, in the
# order a deploy makes them. The chain of deploys below reaches each in turn: the third
# deploy on is the first to undeploy a version (a challenger replaced by a newer one).
KILL_POINTS = [
    ("storage.objects.copy", 1),  # the candidate's files into prod: the first of them
    (AI + "models.upload", 1),  # registered, not yet marked: the orphan case
    (AI + "models.evaluations.import", 1),
    (AI + "models.evaluations.slices.batchImport", 1),
    (AI + "models.mergeVersionAliases", 1),  # marked `deploying`
    (AI + "endpoints.deployModel", 1),  # serving its canary share; the operation runs on
    (AI + "models.mergeVersionAliases", 2),  # its alias moved, still marked
    (AI + "endpoints.undeployModel", 1),  # the replaced challenger taken off
]


def killed_deploy(sim, run_id: str, method: str, nth: int, image: str = IMAGE) -> str:
    """The deploy of `run_id` (serving `image`), SIGKILLed once the cloud has applied its
    `nth` `method` call; returns what it printed."""
    candidate = stage_candidate(sim, run_id)
    # its change lease lapses a second after the kill (not ten minutes): what finds the
    # interrupted deploy takes it over then (tests/simulation/test_prod_lease.py)
    env = {**os.environ, **sim.environ(PIPELINE), "MLOPS_PROD_LEASE_SECONDS": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(STEP), "deploy", candidate, run_id, image],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen = [0]

    def after(entry) -> None:
        if entry.principal == DEPLOYER and entry.method == method and entry.status < 400:
            seen[0] += 1
            if seen[0] == nth:
                os.kill(proc.pid, signal.SIGKILL)  # before the answer leaves the cloud

    sim.after_call = after
    try:
        output, _ = proc.communicate(timeout=600)
    finally:
        sim.after_call = None
    assert proc.returncode == -signal.SIGKILL, f"never killed at {method} #{nth}:\n{output}"
    return output


def versions_of(sim) -> tuple[list[ModelVersion], EndpointState]:
    """The registry and the endpoint as the deployer's adapters read them."""
    model = registered(sim) or {"versions": {}, "aliases": {}}
    aliases: dict[str, list[str]] = {}
    for alias, version in model["aliases"].items():
        aliases.setdefault(version, []).append(alias)
    versions = [
        ModelVersion(
            v,
            held["artifactUri"],
            held.get("labels", {}),
            aliases.get(v, []),
            datetime.strptime(held["versionCreateTime"][:19], "%Y-%m-%dT%H:%M:%S").replace(
                tzinfo=UTC
            ),
        )
        for v, held in model["versions"].items()
    ]
    found = endpoint_of(sim)
    ids = {d["id"]: d["modelVersionId"] for d in found["deployedModels"]}
    traffic = {ids[i]: p for i, p in found.get("trafficSplit", {}).items() if p}
    return versions, EndpointState(traffic, tuple(ids.values()))


def assert_consistent(sim) -> None:
    versions, state = versions_of(sim)
    held = {a: v.version for v in versions for a in v.aliases}
    assert "deploying" not in held, held
    assert sum(state.traffic.values()) == 100 and set(state.traffic) <= set(state.deployed)
    registered_now = {v.version for v in versions}
    assert set(state.deployed) <= registered_now and set(held.values()) <= registered_now
    assert orphaned(versions, state, datetime.now(UTC)) == [], "a version was left orphaned"


def test_a_vertex_deploy_killed_after_each_change_is_finished_and_leaves_no_orphan(cloud):
    sim = cloud()
    result_of(deploy(sim, "run-1"))  # the champion, v1 at 100%
    result_of(deploy(sim, "run-2"))  # a challenger at the canary share
    outcomes = []
    run = 3
    for index, (method, nth) in enumerate(KILL_POINTS):
        killed_deploy(sim, f"run-{run}", method, nth)
        sim.vertex.pass_time(2 * ORPHAN_GRACE.total_seconds())  # the next hourly judgement
        if index % 2 == 0:  # the scheduled canary judgement finds it first
            judged = mlops_as(
                sim, DEPLOYER, "canary", "--target", "vertex", "--as-self"
            )  # as its build
            assert judged.returncode in (0, 5), judged.stdout + judged.stderr  # 5: wait
            said = judged.stdout
        else:  # the next run's deploy finds it first, then deploys its own version
            run += 1
            said = deploy(sim, f"run-{run}").stdout
            assert "RESULT " in said, said
        assert_consistent(sim)
        outcomes.append((method.rsplit(".", 1)[-1], nth, outcome_of(said)))
        run += 1
    assert [outcome for *_, outcome in outcomes] == [  # docs/reliability.md's table
        "nothing to finish",  # the first copy: nothing registered
        "orphan deleted",  # upload
        "orphan deleted",  # evaluation import
        "orphan deleted",  # its slices
        "rolled back",  # marked, never served
        "completed",  # serving its share: smoke test passed, aliases moved
        "completed",  # challenger alias moved, still marked
        "nothing to finish",  # undeploy of the replaced challenger: aliases had moved
    ], outcomes
    # and the platform goes on: the next deploy ends deployed
    final = result_of(deploy(sim, f"run-{run}"))
    assert final["smoke"] == "passed"
    assert_consistent(sim)


def test_a_judgement_while_the_killed_deploy_s_operation_runs_waits_then_finishes_it(cloud):
    """Killed just after `deployModel` with a version that fails its smoke test, and judged
    before its operation has ended (the lease lapsed, Vertex still deploying): the rollback's
    first change is refused by Vertex, which is a wait (exit 5, one line, the endpoint as it
    was), not a failure; once the operation ends the next judgement rolls it back."""
    sim = cloud()
    sim.images[GARBAGE] = faulty("garbage")
    result_of(deploy(sim, "run-1"))
    result_of(deploy(sim, "run-2"))
    killed_deploy(sim, "run-3", AI + "endpoints.deployModel", 1, GARBAGE)
    assert [op for op in sim.vertex.operations.values() if not op["done"]], "no operation runs"
    before = endpoint_of(sim)["trafficSplit"]
    judged = mlops_as(sim, DEPLOYER, "canary", "--target", "vertex", "--as-self")
    assert judged.returncode == exit_codes.WAIT, judged.stdout + judged.stderr
    (line,) = judged.stderr.strip().splitlines()
    assert line.startswith("mlops canary: error: Vertex AI is still running an operation on ")
    assert endpoint_of(sim)["trafficSplit"] == before  # nothing half done
    sim.vertex.pass_time(0)  # the operation ends as Vertex ends it
    judged = mlops_as(sim, DEPLOYER, "canary", "--target", "vertex", "--as-self")
    assert judged.returncode in (0, 5), judged.stdout + judged.stderr
    assert outcome_of(judged.stdout) == "rolled back"
    assert_consistent(sim)
    assert "3" not in {v.version for v in versions_of(sim)[0]}


def outcome_of(said: str) -> str:
    if "registered by a deploy killed before it marked them" in said:
        return "orphan deleted"
    if "interrupted deploy" in said and "completed" in said:
        return "completed"
    if "interrupted deploy" in said and "rolled back" in said:
        return "rolled back"
    return "nothing to finish"
