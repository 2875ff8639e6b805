"""Cloud Build triggers in code, each running as one of the env's dedicated identities."""

from __future__ import annotations

from cdktf_cdktf_provider_google.cloudbuild_trigger import (
    CloudbuildTrigger,
    CloudbuildTriggerApprovalConfig,
    CloudbuildTriggerGithub,
    CloudbuildTriggerGithubPullRequest,
    CloudbuildTriggerGithubPush,
)
from constructs import Construct

from infra.cicd import triggers
from infra.settings import Settings


class BuildTriggers(Construct):
    def __init__(self, scope: Construct, id_: str, settings: Settings, *, depends_on=()) -> None:
        super().__init__(scope, id_)
        s, repo = settings, settings.cloudbuild
        self.triggers = {}
        for t in triggers(s):
            event = (
                {"push": CloudbuildTriggerGithubPush(branch=t.branch)}
                if t.event == "push"
                else {"pull_request": CloudbuildTriggerGithubPullRequest(branch=t.branch)}
            )
            self.triggers[t.name] = CloudbuildTrigger(
                self,
                t.name,
                project=s.project_id,
                location="global",
                name=f"census-{t.name}",
                description=f"{t.config} on {t.event} to {t.branch} ({s.env})",
                filename=t.config,
                github=CloudbuildTriggerGithub(
                    owner=repo.github_owner, name=repo.github_repo, **event
                ),
                service_account=(
                    f"projects/{s.project_id}/serviceAccounts/{s.service_account_email(t.identity)}"
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
