"""Cloud Build triggers in code, each running as one of the env's dedicated identities, and
prod's schedule that starts the canary judgement."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cdktf_cdktf_provider_google.cloud_scheduler_job import (
    CloudSchedulerJob,
    CloudSchedulerJobHttpTarget,
    CloudSchedulerJobHttpTargetOauthToken,
)
from cdktf_cdktf_provider_google.cloudbuild_trigger import (
    CloudbuildTrigger,
    CloudbuildTriggerApprovalConfig,
    CloudbuildTriggerGitFileSource,
    CloudbuildTriggerGithub,
    CloudbuildTriggerGithubPullRequest,
    CloudbuildTriggerGithubPush,
    CloudbuildTriggerPubsubConfig,
    CloudbuildTriggerSourceToBuild,
)
from cdktf_cdktf_provider_google.pubsub_topic import PubsubTopic
from constructs import Construct

from infra.cicd import Trigger
from infra.constructs.props import Place


@dataclass(frozen=True)
class TriggersProps:
    place: Place
    github_owner: str
    github_repo: str
    triggers: tuple[Trigger, ...]
    identities: dict[str, str]  # identity → service account email


class BuildTriggers(Construct):
    def __init__(self, scope: Construct, id_: str, props: TriggersProps, *, depends_on=()) -> None:
        super().__init__(scope, id_)
        place = props.place
        self.triggers = {}
        repo_uri = f"https://github.com/{props.github_owner}/{props.github_repo}"
        for t in props.triggers:
            if t.event in ("manual", "pubsub"):  # the config and source from one branch
                source: dict = {
                    **(
                        {"pubsub_config": CloudbuildTriggerPubsubConfig(topic=t.topic)}
                        if t.event == "pubsub"
                        else {}
                    ),
                    "source_to_build": CloudbuildTriggerSourceToBuild(
                        uri=repo_uri, ref=f"refs/heads/{t.branch}", repo_type="GITHUB"
                    ),
                    "git_file_source": CloudbuildTriggerGitFileSource(
                        path=t.config,
                        uri=repo_uri,
                        revision=f"refs/heads/{t.branch}",
                        repo_type="GITHUB",
                    ),
                }
            else:
                event = (
                    {"push": CloudbuildTriggerGithubPush(branch=t.branch)}
                    if t.event == "push"
                    else {
                        # Untrusted contributors' PRs build only after an owner comments /gcbrun.
                        "pull_request": CloudbuildTriggerGithubPullRequest(
                            branch=t.branch,
                            comment_control="COMMENTS_ENABLED_FOR_EXTERNAL_CONTRIBUTORS_ONLY",
                        )
                    }
                )
                source = {
                    "filename": t.config,
                    "github": CloudbuildTriggerGithub(
                        owner=props.github_owner, name=props.github_repo, **event
                    ),
                }
            self.triggers[t.name] = CloudbuildTrigger(
                self,
                t.name,
                project=place.project,
                location="global",
                name=f"census-{t.name}",
                description=f"{t.config} on {t.event} to {t.branch} ({place.env})",
                **source,
                service_account=(
                    f"projects/{place.project}/serviceAccounts/{props.identities[t.identity]}"
                ),
                substitutions=t.substitutions or None,
                included_files=list(t.included_files) or None,
                ignored_files=list(t.ignored_files) or None,
                approval_config=(
                    CloudbuildTriggerApprovalConfig(approval_required=True) if t.approval else None
                ),
                include_build_logs="INCLUDE_BUILD_LOGS_WITH_STATUS",
                depends_on=list(depends_on),
            )


class ApprovedCandidates(Construct):
    """Prod's topic of approved candidates (promotion = "approval"): the staging pipeline
    publishes one message per approved run; census-deploy builds one per message."""

    def __init__(
        self, scope: Construct, id_: str, place: Place, name: str, *, kms_key_name: str,
        depends_on=(),
    ) -> None:  # fmt: skip
        super().__init__(scope, id_)
        self.topic = PubsubTopic(
            self,
            "topic",
            project=place.project,
            name=name,
            kms_key_name=kms_key_name,
            labels=place.labels,
            depends_on=list(depends_on),
        )


# What the scheduler sends: triggers.run of a manual trigger builds from the trigger's own
# source and branch, so the body names nothing (base64 of "{}").
RUN_TRIGGER_BODY = base64.b64encode(b"{}").decode()


@dataclass(frozen=True)
class CanaryScheduleProps:
    place: Place
    schedule: str  # cron, UTC (serving.canary.schedule)
    runner: str  # the service account whose token starts the build: the trigger's own


class CanarySchedule(Construct):
    """Cloud Scheduler's census-canary job: on the schedule, runs the census-canary trigger
    (a build that judges the canary as the deployer) with the deployer's own token."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        props: CanaryScheduleProps,
        trigger: CloudbuildTrigger,
        *,
        depends_on=(),
    ) -> None:
        super().__init__(scope, id_)
        place = props.place
        run = (
            f"https://cloudbuild.googleapis.com/v1/projects/{place.project}/locations/global/"
            f"triggers/{trigger.trigger_id}:run"
        )
        self.job = CloudSchedulerJob(
            self,
            "job",
            project=place.project,
            region=place.region,
            name="census-canary",
            description="starts the census-canary build: the canary judged as the deployer",
            schedule=props.schedule,
            time_zone="Etc/UTC",
            http_target=CloudSchedulerJobHttpTarget(
                uri=run,
                http_method="POST",
                body=RUN_TRIGGER_BODY,
                headers={"Content-Type": "application/json"},
                oauth_token=CloudSchedulerJobHttpTargetOauthToken(
                    service_account_email=props.runner,
                    scope="https://www.googleapis.com/auth/cloud-platform",
                ),
            ),
            depends_on=[trigger, *depends_on],
        )
