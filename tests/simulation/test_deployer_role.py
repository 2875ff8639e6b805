"""The prod deployer's custom role is exactly what its work uses.

One simulated workflow covers everything the deployer does: the first deploy (register,
deploy, smoke test), the monitoring job created then updated, a second version as a canary,
`mlops canary` promoting it on Cloud Monitoring figures, and a broken version rolled back and
deleted. Enough: the workflow passes with the role. Tight: every permission in the role was
checked for the deployer and granted by that role alone, so removing it denies those calls;
two removals are then run for real to show the step fails naming the permission.
"""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prod_deploy import DEPLOYER, FLAKY, GARBAGE, IMAGE, PIPELINE, STEP, deploy, result_of
from prod_deploy import serve_traffic as clients_call
from simulated import mlops_as

from infra.iam import DEPLOYER_ROLE
from simulation.server import Simulation
from simulation.serving import faulty
from simulation.world import World
from trainer import loader

pytestmark = pytest.mark.slow  # synthesizes the stacks or starts the simulated cloud

ROLE = "projects/census-ml-prod/roles/censusDeployer"


def start(stacks: dict, root: Path) -> Simulation:
    sim = Simulation(World.from_stacks(stacks), root).start()
    sim.images[GARBAGE] = faulty("garbage")
    sim.images[FLAKY] = faulty("flaky")
    loader.to_csv(loader.load_census(split="test").frame.head(50), sim.root / "test.csv")
    return sim


def monitor(sim: Simulation, baseline: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(STEP), "monitor", baseline],
        env={**os.environ, **sim.environ(PIPELINE)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def canary(sim: Simulation) -> subprocess.CompletedProcess:
    until = (datetime.now(UTC) + timedelta(minutes=1)).replace(tzinfo=None).isoformat()
    return mlops_as(sim, PIPELINE, "canary", "--target", "vertex", "--until", until)


@pytest.fixture(scope="module")
def used(stacks, tmp_path_factory) -> dict[str, set[str]]:
    """permission → the roles that granted it, over every deployer call of the workflow."""
    sim = start(stacks, tmp_path_factory.mktemp("deployer"))
    clients: set[int] = set()
    try:
        first = result_of(deploy(sim, "run-1"))
        assert result_of(monitor(sim, first["baseline_uri"])) == {"action": "created"}
        assert result_of(monitor(sim, first["baseline_uri"])) == {"action": "updated"}
        result_of(deploy(sim, "run-2", IMAGE, "50"))
        before = len(sim.wire)
        clients_call(sim, 500)  # end users' predictions: not the deployer's work
        clients = set(range(before, len(sim.wire)))
        judged = canary(sim)
        assert "canary v2 vs champion v1: PROMOTE" in judged.stdout, judged.stderr[-2000:]
        broken = deploy(sim, "run-3", GARBAGE)
        assert broken.returncode != 0 and "rolled back" in broken.stderr
    finally:
        sim.stop()
    found: dict[str, set[str]] = {}
    for i, entry in enumerate(sim.wire):
        if i in clients or entry.principal != DEPLOYER:
            continue
        for check in entry.checks:
            if check.allowed and " (as " not in check.permission:
                found.setdefault(check.permission, set()).add(check.via.split(" on ")[0])
    return found


def test_the_role_is_exactly_the_permissions_the_workflow_used(used):
    from_role = {p for p, roles in used.items() if ROLE in roles}
    assert from_role == set(DEPLOYER_ROLE.permissions)
    # ...and nothing else the deployer holds grants any of them: each is the role's alone
    assert all(used[p] == {ROLE} for p in DEPLOYER_ROLE.permissions)
    # The rest comes from resource-level grants: its buckets and actAs on the serving identity.
    others = {p for p, roles in used.items() if ROLE not in roles}
    assert others == {
        "iam.serviceAccounts.actAs",
        "storage.objects.create",
        "storage.objects.delete",  # prod's change lease given back (a renewal overwrites it too)
        "storage.objects.get",
        "storage.objects.list",
    }


def without_permission(stacks: dict, permission: str) -> dict:
    """The stacks with `permission` taken out of the deployer's custom role."""
    changed = {part: stack for part, stack in stacks.items()}
    prod = dict(stacks["prod"])
    roles = dict(prod["resource"]["google_project_iam_custom_role"])
    for name, body in roles.items():
        if body["role_id"] == "censusDeployer":
            roles[name] = {
                **body,
                "permissions": [p for p in body["permissions"] if p != permission],
            }
    prod["resource"] = {**prod["resource"], "google_project_iam_custom_role": roles}
    changed["prod"] = prod
    return changed


@pytest.mark.parametrize(
    ("permission", "failing_step"),
    [("aiplatform.models.update", "deploy"), ("monitoring.timeSeries.list", "canary")],
)
def test_removing_a_permission_fails_the_step_that_uses_it(
    stacks, tmp_path, permission, failing_step
):
    sim = start(without_permission(stacks, permission), tmp_path / "cloud")
    try:
        if failing_step == "deploy":
            done = deploy(sim, "run-1")
        else:
            result_of(deploy(sim, "run-1"))
            result_of(deploy(sim, "run-2", IMAGE, "50"))
            clients_call(sim, 300)
            done = canary(sim)
    finally:
        sim.stop()
    assert done.returncode != 0
    assert f"Permission '{permission}' denied" in done.stdout + done.stderr, done.stderr[-2000:]


def test_decide_reads_the_champion_as_the_reader_and_nothing_more(cloud):
    """The decide step's view of prod: the champion's version and its files, as the reader
    the staging pipeline impersonates (no deployer power needed to decide)."""
    sim = cloud()
    result_of(deploy(sim, "run-1"))
    done = subprocess.run(
        [sys.executable, str(STEP), "champion"],
        env={**os.environ, **sim.environ(PIPELINE)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result_of(done) == {"version": "1", "files": ["model.json", "model.txt"]}
    reader = "census-reader@census-ml-prod.iam.gserviceaccount.com"
    used = {
        (c.permission, c.via.split(" on ")[0])
        for e in sim.wire
        if e.principal == reader
        for c in e.checks
        if " (as " not in c.permission  # the storage agent decrypting for it
    }
    assert used == {
        ("aiplatform.models.get", "projects/census-ml-prod/roles/censusReader"),
        ("storage.objects.list", "roles/storage.objectViewer"),
        ("storage.objects.get", "roles/storage.objectViewer"),
    }


def test_a_denied_smoke_call_fails_the_deploy_and_keeps_the_version(stacks, tmp_path):
    """A 403 on the smoke test's predict is the platform's answer, not the model's: the
    version is neither judged broken nor deleted."""
    from prod_deploy import registered

    sim = start(without_permission(stacks, "aiplatform.endpoints.predict"), tmp_path / "cloud")
    try:
        done = deploy(sim, "run-1")
        model = registered(sim)
    finally:
        sim.stop()
    assert done.returncode != 0
    out = done.stdout + done.stderr
    assert "the smoke test of version 1 could not run" in out, out[-2000:]
    assert "Permission 'aiplatform.endpoints.predict' denied" in out
    assert list(model["versions"]) == ["1"] and model["aliases"].get("deploying") == "1"
