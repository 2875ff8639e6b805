"""Which builds an event starts, decided from the synthesized triggers' own fields as Cloud
Build decides (simulation/ci/events.py)."""

from __future__ import annotations

import pytest

from simulation.ci.events import Event, evaluate, matches, refusal

PR = {
    "name": "census-x",
    "service_account": "projects/p/serviceAccounts/x@p.iam.gserviceaccount.com",
    "filename": "cloudbuild/x.yaml",
    "github": {
        "pull_request": {
            "branch": "^main$",
            "comment_control": "COMMENTS_ENABLED_FOR_EXTERNAL_CONTRIBUTORS_ONLY",
        }
    },
    "included_files": ["infra/**", "pyproject.toml"],
    "ignored_files": ["**/*.md"],
}


@pytest.mark.parametrize(
    ("pattern", "path", "hit"),
    [
        ("infra/**", "infra/constructs/kms.py", True),
        ("infra/**", "infra.py", False),
        ("**/*.md", "README.md", True),
        ("**/*.md", "docs/infra.md", True),
        ("docs/*", "docs/a/b.md", False),
        ("Dockerfile", "Dockerfile", True),
        ("envs/staging/settings.toml", "envs/prod/settings.toml", False),
    ],
)
def test_cloud_build_globs(pattern, path, hit):
    assert matches(pattern, path) is hit


def test_a_pull_request_needs_its_base_branch_and_an_included_file():
    ok = Event("pull_request", "main", ("infra/stack.py",))
    assert refusal(PR, ok) == ""
    assert "does not match" in refusal(PR, Event("pull_request", "dev", ok.files))
    assert refusal(PR, Event("pull_request", "main", ("docs/a.md",))) == (
        "every changed file is ignored"
    )
    assert refusal(PR, Event("pull_request", "main", ("trainer/x.py",))) == (
        "no changed file is included"
    )
    assert refusal(PR, Event("push", "main", ok.files)) == "not a push trigger"


def test_an_outside_contributor_waits_for_a_gcbrun_comment():
    outside = Event("pull_request", "main", ("infra/stack.py",), author="outside")
    assert "waits for a /gcbrun comment" in refusal(PR, outside)
    allowed = Event("pull_request", "main", outside.files, author="outside", comment="/gcbrun")
    assert refusal(PR, allowed) == ""
    always = {**PR["github"]["pull_request"], "comment_control": "COMMENTS_ENABLED"}
    strict = {**PR, "github": {"pull_request": always}}
    assert "/gcbrun" in refusal(strict, Event("pull_request", "main", outside.files))


def test_an_inverted_branch_regex_fires_on_every_other_branch():
    push = {**PR, "github": {"push": {"branch": "^main$", "invert_regex": True}}}
    assert refusal(push, Event("push", "feature", ("infra/a.py",))) == ""
    assert "does not match" in refusal(push, Event("push", "main", ("infra/a.py",)))


@pytest.mark.slow
def test_the_platforms_triggers_fire_as_documented(stacks):
    def fired(event: Event) -> set[tuple[str, str, str, bool]]:
        builds, _ = evaluate(stacks, event)
        return {(b.project, b.trigger, b.identity.split("@")[0], b.approval) for b in builds}

    # a change only to kernel/, pushed to staging: planned and applied, and shipped
    assert fired(Event("push", "staging", ("kernel/names.py",))) == {
        ("census-ml-staging", "census-infra-apply", "census-infra", False),
        ("census-ml-staging", "census-promotion", "census-build", False),
    }
    # docs only: nothing
    assert fired(Event("push", "staging", ("docs/pipeline.md", "README.md"))) == set()
    # a pull request to main from a collaborator: planned as the planner, checked in dev
    assert fired(Event("pull_request", "main", ("infra/stack.py",))) == {
        ("census-ml-dev", "census-pr-checks", "census-planner", False),
        ("census-ml-prod", "census-infra-plan", "census-planner", False),
    }
    # from an outside contributor: nothing until a /gcbrun comment
    outside = Event("pull_request", "main", ("infra/stack.py",), author="outside")
    assert fired(outside) == set()
    assert fired(Event("pull_request", "main", outside.files, "outside", "/gcbrun"))
    # a push to main: prod's plan, saved; the apply it starts waits for an approver
    assert fired(Event("push", "main", ("settings/agents.py",))) == {
        ("census-ml-prod", "census-infra-apply", "census-infra", False)
    }
    assert fired(Event("run", trigger="census-infra-apply-approved")) == {
        ("census-ml-prod", "census-infra-apply-approved", "census-infra", True)
    }
    # the canary schedule runs its trigger, as the deployer
    assert fired(Event("run", trigger="census-canary")) == {
        ("census-ml-prod", "census-canary", "census-deployer", False)
    }


@pytest.mark.slow
def test_a_pubsub_trigger_binds_the_message_attributes(approval_stacks):
    topic = "projects/census-ml-prod/topics/census-approved-candidates"
    event = Event("pubsub", topic=topic, attributes=(("candidate", "gs://b/c/run-1"),))
    (build,) = evaluate(approval_stacks, event)[0]
    assert (build.trigger, build.approval) == ("census-deploy", True)
    assert build.substitutions["_CANDIDATE"] == "gs://b/c/run-1"


@pytest.mark.slow
def test_mlops_simulate_ci_says_which_builds_start_and_refuses_a_vague_event():
    import json
    import subprocess
    import sys

    from settings import REPO_ROOT

    def cli(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "mlops.cli", "simulate", "ci", *args]
        return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)

    done = cli("push", "--branch", "staging", "--files", "kernel/names.py", "--why", "--no-run")
    assert done.returncode == 0, done.stderr
    assert "2 build(s) started by push" in done.stdout
    assert "census-promotion: as census-build@census-ml-staging" in done.stdout
    assert "census-ml-prod/census-infra-apply: branch 'staging' does not match '^main$'" in (
        done.stdout
    )
    as_json = cli("push", "--branch", "staging", "--files", "kernel/names.py", "--no-run", "--json")
    found = json.loads(as_json.stdout)
    assert [(b["trigger"], b["identity"]) for b in found["builds"]] == [
        ("census-infra-apply", "census-infra@census-ml-staging.iam.gserviceaccount.com"),
        ("census-promotion", "census-build@census-ml-staging.iam.gserviceaccount.com"),
    ]
    assert any("does not match '^main$'" in line for line in found["not_fired"])
    vague = cli("push", "--branch", "staging")
    assert vague.returncode == 2
    assert vague.stderr.strip().endswith("push: say --branch and at least one --files")
