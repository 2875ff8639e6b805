"""A pull request's builds run in the simulated cloud as the planner: they plan, check and
compile, and can write nothing; a build edited to write is refused like Cloud Build refuses
it; an outside contributor's pull request starts nothing until an owner's /gcbrun."""

from __future__ import annotations

import subprocess
import sys

import pytest

from settings import REPO_ROOT
from simulation.ci.events import Event, evaluate
from simulation.ci.scenes import writes
from simulation.world import BuildTrigger
from tests.simulation.ci_cloud import calls, explain, started, step

pytestmark = pytest.mark.slow
PR = Event("pull_request", "main", ("infra/stack.py",))


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    yield from started(tmp_path_factory)


@pytest.fixture(scope="module")
def pull_request(cloud):
    return cloud.play(PR)


def test_a_pull_request_plans_prod_and_runs_the_checks_as_planners(pull_request):
    by_trigger = {(b.project, b.trigger): b for b in pull_request.builds}
    assert set(by_trigger) == {("census-ml-dev", "census-pr-checks"),
                               ("census-ml-prod", "census-infra-plan")}  # fmt: skip
    for build in pull_request.builds:
        assert build.status == "SUCCESS", explain(build)
        assert build.service_account.startswith("census-planner@"), build.service_account
    checks = by_trigger["census-ml-dev", "census-pr-checks"]
    assert step(checks, "lint-and-test")["status"] == "STOOD_IN"  # the suite this is part of
    assert [step(checks, s)["status"] for s in ("policy", "compile")] == ["SUCCESS"] * 2
    plan = step(by_trigger["census-ml-prod", "census-infra-plan"], "plan")
    assert "== census-ml-prod\n" in plan["log"] and "No changes." in plan["log"]
    assert plan["log"].index("== census-ml-prod\n") < plan["log"].index(
        "== census-ml-prod-cross-tenant"
    )  # the tenant stack first
    assert step(by_trigger["census-ml-prod", "census-infra-plan"], "apply")["log"].startswith(
        "no apply here (_APPLY=false)"
    )


def test_a_pull_request_writes_nothing_anywhere(cloud, pull_request):
    made = [e for b in pull_request.builds for e in calls(cloud, b)]
    assert {e.principal for e in made if e.checks} == {
        "census-planner@census-ml-prod.iam.gserviceaccount.com"
    }  # the plan reads prod as prod's planner; the checks make no call at all
    assert writes(made) == []
    assert all(c.allowed for e in made for c in e.checks)
    # -lock=false: not even the state lock is written
    assert not [e for e in made if e.path.endswith("default.tflock")]


def test_a_pull_request_whose_build_writes_is_refused_and_stops_there(cloud, tmp_path):
    """A pull request can rewrite its own build config: the identity is what stops it."""
    evil = tmp_path / "evil.yaml"
    evil.write_text(
        "steps:\n"
        "  - id: write\n    name: gcr.io/google.com/cloudsdktool/cloud-sdk:slim\n"
        "    entrypoint: bash\n"
        "    args: [-ceu, 'echo x > x && gcloud storage cp x gs://census-ml-prod-models/x']\n"
        "  - id: after\n    name: node:22-bookworm\n    entrypoint: bash\n"
        "    args: [-ceu, 'echo never']\n"
        "options:\n  logging: CLOUD_LOGGING_ONLY\n"
    )
    planner = "census-planner@census-ml-prod.iam.gserviceaccount.com"
    trigger = BuildTrigger("census-ml-prod", "census-infra-plan", "x", str(evil), planner)
    build = cloud.sim.cloudbuild.create(trigger, {})
    assert build.finished.wait(300)
    assert build.status == "FAILURE"
    assert [s["id"] for s in build.steps] == ["write"]  # the next step never ran
    assert "ERROR: (gcloud.storage.cp) HTTPError 403: Permission 'storage.objects.create' " \
           "denied on resource 'projects/_/buckets/census-ml-prod-models/objects/x'" in (
        build.steps[0]["log"])  # fmt: skip
    (denied,) = [c for e in calls(cloud, build) for c in e.checks if not c.allowed]
    assert denied.permission == "storage.objects.create"


def test_an_outside_contributors_pull_request_starts_nothing_until_allowed(cloud):
    outside = Event("pull_request", "main", PR.files, author="outside")
    nothing = cloud.play(outside)
    assert nothing.builds == [] and len(nothing.skipped) == 10
    waiting = "an outside contributor's pull request waits for a /gcbrun comment"
    for trigger in ("census-ml-prod/census-infra-plan", "census-ml-dev/census-pr-checks"):
        assert f"{trigger}: {waiting}" in nothing.skipped
    fired, _ = evaluate(cloud.stacks, Event("pull_request", "main", PR.files, "outside", "/gcbrun"))
    assert {f.trigger for f in fired} == {"census-infra-plan", "census-pr-checks"}  # as above


def test_mlops_simulate_ci_prints_the_builds_steps_and_calls():
    """The command line, on prod's canary trigger run: the build judges as the deployer."""
    done = subprocess.run(
        [sys.executable, "-m", "mlops.cli", "simulate", "ci", "run", "--trigger", "census-canary"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "1 build(s) started by run" in out
    assert ("census-ml-prod census-canary: as census-deployer@census-ml-prod.iam.gserviceaccount"
            ".com: SUCCESS") in out  # fmt: skip
    assert "    install: stood in for: this checkout's installed environment" in out
    assert "    judge: SUCCESS" in out
    # each call: how many, status, method, identity, permission and verdict
    assert "404 aiplatform.projects.locations.models.get as census-deployer " \
           "[aiplatform.models.get allowed]" in out  # fmt: skip
    assert "      > mlops canary: no canary to judge" in out  # its last line
