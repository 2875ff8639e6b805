"""The Cloud Build configs and the triggers that run them, checked against each other."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from stack_json import resources_of

from mlops.cli import build_parser
from settings import REPO_ROOT

pytestmark = pytest.mark.slow  # synthesizes the stacks or starts the simulated cloud

CONFIGS = {p.name: p for p in (REPO_ROOT / "cloudbuild").glob("*.yaml")}
BUILTIN = {
    "PROJECT_ID",
    "BUILD_ID",
    "COMMIT_SHA",
    "SHORT_SHA",
    "BRANCH_NAME",
    "REPO_NAME",
    "TAG_NAME",
    "REVISION_ID",
    "LOCATION",
    "TRIGGER_NAME",
}
SUBSTITUTION = re.compile(r"(?<!\$)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def load(name: str) -> dict:
    return yaml.safe_load(CONFIGS[name].read_text())


def step_text(step: dict) -> str:
    return " ".join([step.get("name", ""), step.get("dir", ""), *map(str, step.get("args", []))])


def test_the_three_configs_parse_with_timeouts_and_cloud_logging():
    assert set(CONFIGS) == {
        "pr-checks.yaml",
        "staging.yaml",
        "infra.yaml",
        "deploy.yaml",
        "canary.yaml",
    }
    for name in CONFIGS:
        config = load(name)
        assert config["steps"], name
        assert config["timeout"].endswith("s") and int(config["timeout"][:-1]) >= 600, name
        assert config["options"]["logging"] == "CLOUD_LOGGING_ONLY", name


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_substitution_used_is_declared_or_built_in(name):
    config = load(name)
    declared = set(config.get("substitutions", {}))
    for step in config["steps"]:
        for user, builtin in SUBSTITUTION.findall(step_text(step)):
            used = user or builtin
            assert used in declared | BUILTIN, f"{name} step {step['id']}: ${used} undeclared"
    assert all(key.startswith("_") for key in declared)


def substituted(text: str, config: dict) -> str:
    values = {**{k: "0" * 40 for k in BUILTIN}, **config.get("substitutions", {})}
    text = text.replace("$$", "$")
    return re.sub(
        r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: values.get(m.group(1), m.group(0)), text
    )


def step_env(step: dict, config: dict) -> dict[str, str]:
    """The environment a step's `env` entries give its process, substituted."""
    pairs = (substituted(entry, config).split("=", 1) for entry in step.get("env", []))
    return {key: value for key, value in pairs}


def commands(name: str) -> list[list[str]]:
    """Every `make ...` and `mlops ...` command a step runs, tokenized, substituted."""
    config = load(name)
    found = []
    for step in config["steps"]:
        for part in re.split(
            r"&&|\|\||;", substituted(" ".join(map(str, step.get("args", []))), config)
        ):
            tokens = shlex.split(part.strip().removeprefix("-ceu").strip()) if part.strip() else []
            # after shell keywords (then, else, a case label): the command itself
            start = next(
                (i for i, tok in enumerate(tokens) if tok == "make" or tok.endswith("mlops")), None
            )
            if start is not None:
                found.append([SAMPLES.get(t, t) for t in tokens[start:]])
    return found


# A step's shell variables (its env, from substitutions bound at run time) stand for values
# the command validates when it runs; parsing the command line, they take a well-formed one.
SAMPLES = {"$DIGEST": "0" * 64}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_command_a_step_runs_exists_in_the_repo(name):
    targets = set(re.findall(r"^([a-z][\w-]*):", (REPO_ROOT / "Makefile").read_text(), re.M))
    found = commands(name)
    assert found, name
    for tokens in found:
        if tokens[0] == "make":
            assert set(tokens[1:]) <= targets, tokens
        else:
            build_parser().parse_args(tokens[1:])  # exits (fails the test) on an unknown flag


def test_pr_checks_run_what_ci_runs():
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
    runs = {" ".join(t[:2]) for t in commands("pr-checks.yaml")}
    assert {"make install", "make test", "make policy"} <= runs  # policy synthesizes
    assert any(t[0].endswith("mlops") and t[1] == "compile" for t in commands("pr-checks.yaml"))


def test_staging_builds_publishes_and_waits_for_the_run():
    steps = {s["id"]: step_text(s) for s in load("staging.yaml")["steps"]}
    for image in ("components", "trainer", "serving"):
        assert (
            f"--target {image} -t ${{_IMAGE_REPO}}/{image}:$COMMIT_SHA" in steps[f"build-{image}"]
        )
    assert (
        '"gs://$$TEMPLATES_BUCKET/census-promotion/$COMMIT_SHA.yaml"' in steps["publish-template"]
    )
    assert "mlops submit" in steps["run-promotion"] and "--wait" in steps["run-promotion"]
    assert "$$(cat components.digest)" in steps["compile"]


def triggers(stacks) -> dict[tuple[str, str], dict]:
    return {
        (env, t["name"]): t
        for env, stack in stacks.items()
        for t in resources_of(stack, "google_cloudbuild_trigger")
    }


def test_triggers_match_their_configs(stacks, platform):
    for (env, name), trigger in triggers(stacks).items():
        manual = "git_file_source" in trigger  # run on demand: no event, its own branch
        path = trigger["git_file_source"]["path"] if manual else trigger["filename"]
        config_name = Path(path).name
        config = load(config_name)
        declared = config.get("substitutions", {})
        passed = trigger.get("substitutions", {})
        assert set(passed) == set(declared), (env, name)
        if config_name == "staging.yaml":  # one env: its defaults are that env's values
            assert passed == declared, (env, name)
        # A push applies as infra or promotes as build; a pull request runs as the planner;
        # prod's judgement (and deploy, in approval mode) runs as the deployer.
        if manual:
            identity = "infra" if name.startswith("census-infra") else "deployer"
            assert trigger["source_to_build"]["ref"] == "refs/heads/main", (env, name)
        elif trigger["github"].get("pull_request"):
            identity = "planner"
            assert trigger["github"]["pull_request"]["comment_control"] == (
                "COMMENTS_ENABLED_FOR_EXTERNAL_CONTRIBUTORS_ONLY"
            )
        else:
            identity = "infra" if name.startswith("census-infra") else "build"
        assert trigger["service_account"].endswith(platform[env].service_account_email(identity))


def test_only_the_prod_apply_needs_approval(stacks):
    approving = {key for key, t in triggers(stacks).items() if t.get("approval_config")}
    assert approving == {("prod", "census-infra-apply-approved")}
    assert triggers(stacks)[("prod", "census-infra-apply-approved")]["approval_config"] == {
        "approval_required": True
    }


def test_the_promotion_fires_on_the_staging_branch_only(stacks):
    promotions = {k: t for k, t in triggers(stacks).items() if t["name"] == "census-promotion"}
    assert set(promotions) == {("staging", "census-promotion")}
    trigger = promotions[("staging", "census-promotion")]
    branch = trigger["github"]["push"]["branch"]
    assert [
        b for b in ("staging", "main", "staging-fix", "dev", "my/staging") if re.search(branch, b)
    ] == ["staging"]
    assert "docs/**" in trigger["ignored_files"] and "**/*.md" in trigger["ignored_files"]
    assert "trainer/**" in trigger["included_files"]
    pr = triggers(stacks)[("dev", "census-pr-checks")]
    assert "pull_request" in pr["github"]


def test_retraining_is_scheduled_through_a_cmek_topic(stacks, platform, synthesized_files):
    s = platform["staging"]
    stack = stacks["staging"]
    (topic,) = resources_of(stack, "google_pubsub_topic")
    assert topic["name"] == "census-retraining"
    assert topic["kms_key_name"].startswith("${google_kms_crypto_key.kms_key-pubsub")
    (job,) = resources_of(stack, "google_cloud_scheduler_job")
    assert job["schedule"] == s.pipeline.retraining_schedule
    assert job["pubsub_target"]["topic_name"].startswith("${google_pubsub_topic.")
    (function,) = resources_of(stack, "google_cloudfunctions2_function")
    assert function["event_trigger"]["pubsub_topic"].startswith("${google_pubsub_topic.")
    # Its own identities: one runs it and receives its events, another builds it; never the
    # CI build account.
    runtime = s.service_account_email("retrain")
    assert function["service_config"]["service_account_email"] == runtime
    assert function["event_trigger"]["service_account_email"] == runtime
    assert function["build_config"]["service_account"].endswith(
        s.service_account_email("retrain_builder")
    )
    (source,) = resources_of(stack, "google_storage_bucket_object")
    archive = synthesized_files["staging"].parent / source["source"]
    import zipfile

    names = set(zipfile.ZipFile(archive).namelist())
    assert {
        "main.py",
        "requirements.txt",
        "pipelines/trigger/handler.py",
        "envs/staging/settings.toml",
    } <= names
    requirements = zipfile.ZipFile(archive).read("requirements.txt").decode()
    assert re.search(r"^google-cloud-aiplatform==1\.\d+\.\d+$", requirements, re.M)
    assert not resources_of(stacks["prod"], "google_pubsub_topic")


COMMIT = "0" * 40  # what substituted() gives $COMMIT_SHA
PLANS = f"gs://census-ml-prod-tfstate/plans/{COMMIT}"


def _run_steps(config: dict, ids: tuple[str, ...], cwd: Path, tools: Path) -> None:
    """The steps' shell, run as written, with fake tools first on PATH."""
    import os
    import subprocess

    steps = {s["id"]: s for s in config["steps"]}
    for step in ids:
        script = substituted(steps[step]["args"][1], config)
        env = {**os.environ, **step_env(steps[step], config),
               "PATH": f"{tools}:{os.environ['PATH']}"}  # fmt: skip
        shell = "bash" if steps[step]["entrypoint"] == "bash" else "sh"
        subprocess.run([shell, "-ceu", script], cwd=cwd, env=env, check=True)


@pytest.mark.parametrize(
    ("apply", "plans", "trigger", "message"),
    [
        ("yes", "", "", "_APPLY must be one of false, true, save, saved, not 'yes'"),
        ("saved", "gs://elsewhere/plans/" + COMMIT, "",
         "_PLANS must be gs://census-ml-prod-tfstate"),
        ("saved", PLANS + "; rm -rf /", "", "_PLANS must be gs://census-ml-prod-tfstate"),
        ("true", "", "census-infra-apply-approved",
         "census-infra-apply-approved applies saved plans only, not _APPLY='true'"),
    ],
)  # fmt: skip
def test_the_infra_build_checks_its_substitutions_first(tmp_path, apply, plans, trigger, message):
    import subprocess

    config = load("infra.yaml")
    config["substitutions"] = {**config["substitutions"], "_APPLY": apply, "_PLANS": plans,
                               "_STATE_BUCKET": "census-ml-prod-tfstate",
                               "TRIGGER_NAME": trigger or "census-infra-apply"}  # fmt: skip
    with pytest.raises(subprocess.CalledProcessError):
        _run_steps(config, ("check",), tmp_path, tmp_path)
    done = subprocess.run(
        ["bash", "-ceu", substituted(load("infra.yaml")["steps"][0]["args"][1], config)],
        env={**step_env(load("infra.yaml")["steps"][0], config), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 1 and message in done.stdout


def test_terraform_runs_the_version_the_stacks_require(stacks):
    """Named once in .terraform-version: the stacks require it, the triggers pass it."""
    from infra.toolchain import terraform_version

    version = terraform_version()
    for part, stack in stacks.items():
        assert stack["terraform"]["required_version"] == version, part
    config = load("infra.yaml")
    assert config["substitutions"]["_TERRAFORM_VERSION"] == version
    steps = [s for s in config["steps"] if s["name"].startswith("hashicorp/terraform")]
    assert steps and all(s["name"].endswith(":${_TERRAFORM_VERSION}") for s in steps)
    triggers = [
        t
        for s in stacks.values()
        for t in s["resource"].get("google_cloudbuild_trigger", {}).values()
        if t.get("filename") == "cloudbuild/infra.yaml"
    ]  # fmt: skip
    assert triggers and all(t["substitutions"]["_TERRAFORM_VERSION"] == version for t in triggers)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_no_substitution_is_pasted_into_a_script(name):
    """Cloud Build pastes substitutions into the text before the shell reads it: a value with
    `$(...)` or `;` would run as the build's identity. Scripts get them as variables."""
    config = load(name)
    for step in config["steps"]:
        if step.get("entrypoint") not in ("bash", "sh"):
            continue
        script = " ".join(map(str, step.get("args", [])))
        assert not re.search(r"\$\{?_[A-Z0-9_]+", script), f"{name} step {step['id']}"
        for entry in step.get("env", []):
            key, value = entry.split("=", 1)
            assert re.fullmatch(r"\$\{_?[A-Z0-9_]+\}", value), (name, entry)
            assert f"$${key}" in script, f"{name} step {step['id']}: {key} unused"
