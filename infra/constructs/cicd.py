"""Cloud Build triggers in code, each running as one of the env's dedicated identities."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_google.cloudbuild_trigger import (
    CloudbuildTrigger,
    CloudbuildTriggerApprovalConfig,
    CloudbuildTriggerGitFileSource,
    CloudbuildTriggerGithub,
    CloudbuildTriggerGithubPullRequest,
    CloudbuildTriggerGithubPush,
    CloudbuildTriggerSourceToBuild,
)
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
            if t.event == "manual":  # run on demand: the config and source from one branch
                source: dict = {
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
