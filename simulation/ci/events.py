"""Which Cloud Build triggers an event fires, decided from each synthesized trigger's own
fields the way Cloud Build decides (cloud.google.com/build/docs/automating-builds/create-
manage-triggers and .../github/build-repos-from-github): the event type, the branch regex
(RE2, unanchored unless the pattern anchors it; `invert_regex` flips it), included and
ignored files (globs with `**`; a build starts when at least one changed file is not ignored
and, if included files are set, matches one), comment control for pull requests, a Pub/Sub
trigger's topic, and a manual trigger only when run. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from simulation.apis.cloudbuild import bind_message

OWNERS = ("owner", "collaborator")  # GitHub roles Cloud Build trusts for comment control


@dataclass(frozen=True)
class Event:
    kind: str  # push, pull_request, pubsub, run (triggers.run: a person or a schedule)
    branch: str = ""  # push: the branch pushed; pull_request: the base branch
    files: tuple[str, ...] = ()  # the files the change touches
    author: str = "collaborator"  # pull_request: owner, collaborator or outside
    comment: str = ""  # pull_request: "/gcbrun" when an owner or collaborator commented it
    topic: str = ""  # pubsub: projects/P/topics/T
    attributes: tuple[tuple[str, str], ...] = ()  # pubsub: the message's attributes
    trigger: str = ""  # run: the trigger's name


@dataclass
class Firing:
    project: str
    trigger: str  # census-...
    identity: str  # the service account the build runs as
    config: str  # cloudbuild/*.yaml
    approval: bool  # the build waits for an approver (PENDING)
    substitutions: dict[str, str] = field(default_factory=dict)


def evaluate(stacks: dict[str, dict], event: Event) -> tuple[list[Firing], list[str]]:
    """(the builds `event` starts, why each other trigger did not fire)."""
    fired, skipped = [], []
    for stack in stacks.values():
        project = stack["provider"]["google"][0]["project"]
        for body in stack.get("resource", {}).get("google_cloudbuild_trigger", {}).values():
            why_not = refusal(body, event)
            if why_not:
                skipped.append(f"{body.get('project', project)}/{body['name']}: {why_not}")
            else:
                fired.append(firing(body, project, event))
    return fired, skipped


def refusal(trigger: dict, event: Event) -> str:
    """ "" if `trigger` fires on `event`, else why not."""
    github = trigger.get("github") or {}
    if event.kind == "run":
        return "" if trigger["name"] == event.trigger else "not the trigger run"
    if event.kind == "pubsub":
        topic = (trigger.get("pubsub_config") or {}).get("topic")
        return "" if topic and topic == event.topic else "listens to no such topic"
    spec = github.get("push" if event.kind == "push" else "pull_request")
    if not spec:
        return f"not a {event.kind} trigger"
    if bool(re.search(spec["branch"], event.branch)) == bool(spec.get("invert_regex")):
        return f"branch {event.branch!r} does not match {spec['branch']!r}"
    files = _files_refusal(trigger, event.files)
    if files:
        return files
    if event.kind == "pull_request":
        return _comment_refusal(spec.get("comment_control", "COMMENTS_DISABLED"), event)
    return ""


def _files_refusal(trigger: dict, files: tuple[str, ...]) -> str:
    ignored = trigger.get("ignored_files") or []
    included = trigger.get("included_files") or []
    kept = [f for f in files if not any(matches(g, f) for g in ignored)]
    if files and not kept:
        return "every changed file is ignored"
    if included and not any(matches(g, f) for g in included for f in kept):
        return "no changed file is included"
    return ""


def _comment_refusal(control: str, event: Event) -> str:
    commented = event.comment.strip() == "/gcbrun"
    if control == "COMMENTS_ENABLED" and not commented:
        return "waits for an owner's or collaborator's /gcbrun comment"
    if (
        control == "COMMENTS_ENABLED_FOR_EXTERNAL_CONTRIBUTORS_ONLY"
        and event.author not in OWNERS
        and not commented
    ):
        return "an outside contributor's pull request waits for a /gcbrun comment"
    return ""


def firing(trigger: dict, project: str, event: Event) -> Firing:
    subs = bind_message(trigger.get("substitutions") or {}, b"", dict(event.attributes), "")
    builtin = {"BRANCH_NAME": event.branch} if event.branch else {}
    return Firing(
        trigger.get("project", project),
        trigger["name"],
        trigger["service_account"].rsplit("/", 1)[-1],
        trigger.get("filename") or (trigger.get("git_file_source") or {}).get("path", ""),
        bool((trigger.get("approval_config") or {}).get("approval_required")),
        {**builtin, **subs},
    )


@cache
def _glob(pattern: str) -> re.Pattern:
    """Cloud Build's file globs: `**` any number of folders, `*` and `?` within one."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + "$")


def matches(pattern: str, path: str) -> bool:
    return bool(_glob(pattern).match(path))
