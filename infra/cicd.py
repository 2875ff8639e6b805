"""What the Cloud Build triggers are, as data: configs, branches, files, substitutions.

Pure: the stacks turn these into google_cloudbuild_trigger resources, and the tests check
them against the YAML configs in cloudbuild/ (every substitution a config uses is declared
there with the same default the trigger passes).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from infra.toolchain import terraform_version
from settings import REPO_ROOT, Settings

# A docs-only change must not retrain and redeploy a model.
IGNORED_FOR_PROMOTION = ("docs/**", "**/*.md", "bench/**")


def wheel_packages(root: Path = REPO_ROOT) -> tuple[str, ...]:
    """The packages the project's wheel ships (pyproject.toml): the retraining function's
    source, and what the images copy."""
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    return tuple(pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"])


def dockerfile_inputs(root: Path = REPO_ROOT) -> tuple[str, ...]:
    """What the Dockerfile copies from the repository (its COPY sources), as patterns."""
    sources = []
    for line in re.findall(r"^COPY\s+(?!--from)(.+)$", (root / "Dockerfile").read_text(), re.M):
        *copied, _ = line.split()
        sources += [
            s if "." in Path(s).name else f"{s}/**" for s in copied if not s.endswith(".md")
        ]  # docs changes are ignored (IGNORED_FOR_PROMOTION)
    return tuple(dict.fromkeys(sources))


def promotion_files(root: Path = REPO_ROOT) -> tuple[str, ...]:
    """A push that changes any of these rebuilds the images and runs the promotion: what
    the images copy, every package the compiled pipeline imports, the settings it reads."""
    return tuple(dict.fromkeys([
        *dockerfile_inputs(root), *(f"{p}/**" for p in wheel_packages(root)),
        "Dockerfile", "envs/staging/settings.toml", "envs/prod/settings.toml",
        "cloudbuild/staging.yaml",
    ]))  # fmt: skip


def infra_files(root: Path = REPO_ROOT) -> tuple[str, ...]:
    """A change to any of these is planned (and applied): the stacks' code and settings,
    and the wheel the retraining function's source is built from (settings/agents.py
    decides the key grants, kernel/ and pipelines/ are in the function)."""
    return tuple(dict.fromkeys([
        *(f"{p}/**" for p in wheel_packages(root)), "envs/**", "package.json",
        "package-lock.json", "pyproject.toml", "uv.lock", "cloudbuild/infra.yaml",
        ".terraform-version",
    ]))  # fmt: skip


@dataclass(frozen=True)
class Trigger:
    name: str
    config: str  # path of the build config in the repository
    event: str  # "push", "pull_request", "manual" (run on demand, from `branch`), or
    # "pubsub" (a message on `topic` starts it, from `branch`)
    branch: str  # a regex over branch names (for pull requests: the base branch); for a
    # manual trigger, the branch it checks out
    identity: str  # which of the env's service accounts the build runs as
    substitutions: dict[str, str] = field(default_factory=dict)
    included_files: tuple[str, ...] = ()
    ignored_files: tuple[str, ...] = ()
    approval: bool = False
    topic: str = ""  # projects/P/topics/T, for a "pubsub" trigger


def exact(branch: str) -> str:
    return f"^{branch}$"


def triggers(s: Settings, promotion: str = "canary") -> list[Trigger]:
    """`promotion`: the non-prod tenant's setting (infra.iam.promotion_of)."""
    out = []
    infra = {"_ENV": s.env, "_TERRAFORM_VERSION": terraform_version()}
    if s.cloudbuild.pr_checks:
        out.append(
            Trigger("pr-checks", "cloudbuild/pr-checks.yaml", "pull_request", ".*", "planner")
        )
    if s.role == "non-prod":
        out.append(
            Trigger(
                "promotion",
                "cloudbuild/staging.yaml",
                "push",
                exact(s.cloudbuild.promotion_branch),
                "build",
                substitutions=promotion_substitutions(s),
                included_files=promotion_files(),
                ignored_files=IGNORED_FOR_PROMOTION,
            )
        )
    if s.role == "prod":
        # Judges a canary on its figures, as the deployer: Cloud Scheduler runs it on
        # serving.canary.schedule (infra/constructs/cicd.py, CanarySchedule); a person can
        # too: `gcloud builds triggers run census-canary --branch=main`.
        out.append(
            Trigger(
                "canary",
                "cloudbuild/canary.yaml",
                "manual",
                s.cloudbuild.infra_branch,
                "deployer",
                substitutions={"_ENV": s.env},
            )
        )
    if s.role == "prod" and promotion == "approval":
        # Runs stop with an approved candidate and announce it on prod's topic; each message
        # starts a build that waits for an approver, then deploys it as the deployer.
        out.append(
            Trigger(
                "deploy",
                "cloudbuild/deploy.yaml",
                "pubsub",
                s.cloudbuild.infra_branch,
                "deployer",
                substitutions={
                    "_CANDIDATE": "$(body.message.attributes.candidate)",
                    "_DIGEST": "$(body.message.attributes.digest)",
                },
                approval=True,
                topic=f"projects/{s.project_id}/topics/{s.approved_candidates_topic}",
            )
        )
    # A pull request only plans, as the read-only planner; a push applies, as infra. In prod
    # the push saves its plan and starts infra-apply-approved, which an approver approves
    # having read that plan, and which applies it as saved (cloudbuild/infra.yaml).
    infra |= {"_STATE_BUCKET": s.state_bucket, "_PLANS": ""}
    prod = s.role == "prod"
    out.append(Trigger("infra-plan", "cloudbuild/infra.yaml", "pull_request",
                       exact(s.cloudbuild.infra_branch), "planner",
                       substitutions={**infra, "_APPLY": "false"},
                       included_files=infra_files()))  # fmt: skip
    out.append(Trigger("infra-apply", "cloudbuild/infra.yaml", "push",
                       exact(s.cloudbuild.infra_branch), "infra",
                       substitutions={**infra, "_APPLY": "save" if prod else "true"},
                       included_files=infra_files()))  # fmt: skip
    if prod:
        out.append(Trigger("infra-apply-approved", "cloudbuild/infra.yaml", "manual",
                           s.cloudbuild.infra_branch, "infra",
                           substitutions={**infra, "_APPLY": "saved"}, approval=True))  # fmt: skip
    return out


def promotion_substitutions(s: Settings) -> dict[str, str]:
    return {
        "_ENV": s.env,
        "_REGION": s.region,
        "_IMAGE_REPO": s.image_repository_url(),
        "_TEMPLATES_BUCKET": s.buckets.of("templates"),
    }
