"""`mlops simulate ci EVENT`: an event's builds run in one simulated cloud (docs/cicd.md,
"Builds run in the simulated cloud").

The cloud is what the owner's first apply of every stack makes (simulation/terraform), with
the census data in staging; an event's triggers are evaluated from the synthesized stacks
(events.py) and each build it starts runs in the simulated Cloud Build as its trigger's
identity, one after the other (Cloud Build would run them at once: nothing orders them).
A build that waits for approval is approved, when it applies a saved plan, by prod's
approver after reading that plan.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.synth import synth
from kernel.gcp_iam import is_read_only
from settings import ENV_NAMES, REPO_ROOT
from simulation.apis.builds import Source
from simulation.ci.events import Event, Firing, evaluate
from simulation.platform import SimulatedPlatform
from simulation.terraform import scenes as infra_scenes
from simulation.terraform import service
from simulation.terraform.applier import OWNER, Cloud
from simulation.wire import WireEntry
from simulation.world import World

WAIT = 3600.0  # seconds a build may take here (the configs' own timeouts are longer)


@dataclass
class Approval:
    approver: str
    build: str
    read: dict[str, str] = field(default_factory=dict)  # saved plan text, by object


@dataclass
class Played:
    event: Event
    fired: list[Firing]
    skipped: list[str]
    builds: list[Any] = field(default_factory=list)  # simulation.apis.cloudbuild.Build
    approvals: list[Approval] = field(default_factory=list)


def writes(entries: list[WireEntry]) -> list[WireEntry]:
    """The calls that asked to change something (allowed or not)."""
    return [e for e in entries if any(not is_read_only(c.permission) for c in e.checks)]


class CiCloud:
    """The platform's projects as the first apply leaves them, serving builds."""

    def __init__(self, root: Path, log=print, full: bool = False) -> None:
        log("synthesizing every env's stacks")
        files = synth(ENV_NAMES, out_root=root / "stacks")
        self.stacks = {part: json.loads(path.read_text()) for part, path in files.items()}
        self.platform = SimulatedPlatform(
            root, stacks=self.stacks, world=World.empty(self.stacks, OWNER), log=log
        )
        self.sim = self.platform.sim
        self.cloud = Cloud(self.stacks, sim=self.sim)
        log("the first apply of every stack, as the projects' owner")
        _, applied = infra_scenes.first_apply(self.stacks, cloud=self.cloud)
        if not applied.ok:
            wrong = [c.error for r in applied.runs for c in r.errors]
            raise RuntimeError(f"the first apply failed: {wrong[:3]}")
        service.install(self.sim, self.cloud)
        self.sim.cloudbuild.full = full
        self.log = log

    def __enter__(self) -> CiCloud:
        self.platform.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.platform.__exit__(*exc)

    def play(
        self, event: Event, approve: bool = True, contents: dict[str, str] | None = None
    ) -> Played:
        """`event`'s builds, each run to its end (or left PENDING); then, if `approve`, each
        pending build that applies a saved plan approved by an approver, who reads it. The
        commit touches the event's files (`contents`: their new text, else a comment)."""
        fired, skipped = evaluate(self.stacks, event)
        played = Played(event, fired, skipped)
        changed = event.files if event.kind in ("push", "pull_request") else ()
        rewritten = tuple(sorted((contents or {}).items()))
        edits = tuple(f for f in changed if f not in dict(rewritten))
        source = Source.head(REPO_ROOT, event.branch, edits, rewritten)
        seen = set(self.sim.builds)
        for firing in fired:
            trigger = self.sim.world.trigger(firing.project, firing.trigger)
            self.log(f"build {firing.trigger} in {firing.project} as {firing.identity}")
            self.sim.cloudbuild.create(trigger, firing.substitutions, source)
            self._settle(seen, played)
        if approve:
            for build in [b for b in played.builds if b.status == "PENDING"]:
                if "_PLANS" in build.substitutions:
                    played.approvals.append(self.approve(build))
                    self._settle(seen, played)
        return played

    def _settle(self, seen: set[str], played: Played) -> None:
        """Wait for every build started since `seen` (builds may start builds)."""
        while True:
            new = [b for name, b in self.sim.builds.items() if name not in seen]
            if not new:
                return
            for build in new:
                seen.add(build.id)
                played.builds.append(build)
                if build.status != "PENDING" and not build.finished.wait(WAIT):
                    raise RuntimeError(f"build {build.id} of {build.trigger} did not finish")
            self.platform.runner.wait()

    def approver(self, project: str) -> str:
        """Who approves `project`'s builds here: a person granted Cloud Build's approver role
        there (the stacks grant prod's `cloudbuild.approvers` it), else the owner."""
        people = sorted(
            b.member.removeprefix("user:") for b in self.sim.world.bindings
            if b.role == "roles/cloudbuild.builds.approver" and b.resource == f"projects/{project}"
            and b.member.startswith("user:")
        )  # fmt: skip
        return people[0] if people else OWNER

    def approve(self, build: Any) -> Approval:
        """The approver reads the plans the build will apply, then approves it."""
        approval = Approval(self.approver(build.project), build.id)
        bucket, _, prefix = build.substitutions["_PLANS"].removeprefix("gs://").partition("/")
        base = f"/storage/storage/v1/b/{bucket}/o"
        with self.sim.client(approval.approver) as client:
            listed = client.get(base, params={"prefix": prefix + "/"})
            listed.raise_for_status()
            for item in listed.json().get("items", []):
                if item["name"].endswith("tfplan.txt"):
                    name = item["name"].replace("/", "%2F")
                    text = client.get(f"{base}/{name}", params={"alt": "media"})
                    text.raise_for_status()
                    approval.read[item["name"]] = text.text
            location = f"projects/{build.project}/locations/global"
            done = client.post(f"/cloudbuild/v1/{location}/builds/{build.id}:approve",
                               json={"approvalResult": {"decision": "APPROVED"}})  # fmt: skip
            done.raise_for_status()
        build.finished.wait(WAIT)
        return approval


# The report ------------------------------------------------------------------------------


def calls_of(sim: Any, step: dict) -> list[WireEntry]:
    """The calls a step made (its tools' token fetches from the metadata server aside)."""
    first, last = step.get("calls", (0, 0))
    return [e for e in sim.wire[first:last] if not e.method.startswith("metadata.")]


def step_lines(sim: Any, step: dict, wire: bool) -> list[str]:
    seconds = f", {step['seconds']} s" if "seconds" in step else ""
    if step["status"] == "STOOD_IN":
        return [f"    {step['id']}: {step['log']}"]
    lines = [f"    {step['id']}: {step['status']}{seconds}"]
    entries = calls_of(sim, step)
    grouped = Counter(
        (e.principal or "anonymous", e.method, e.status,
         ", ".join(f"{c.permission} {'allowed' if c.allowed else 'DENIED'}" for c in e.checks))
        for e in entries
    )  # fmt: skip
    for (who, method, status, checks), n in sorted(grouped.items(), key=lambda i: -i[1]):
        lines.append(f"      {n:>3}x {status} {method} as {who.split('@')[0]}"
                     + (f" [{checks}]" if checks else ""))  # fmt: skip
    if wire:
        lines += [f"      {e.line()}" for e in entries]
    said = [line for line in step.get("log", "").splitlines() if line.strip()]
    if step["status"] != "SUCCESS":
        lines += [f"      | {line}" for line in said[-8:]]
    elif said:
        lines.append(f"      > {said[-1][:160]}")  # what it ended with
    return lines


def as_json(sim: Any, played: Played) -> dict[str, Any]:
    """`mlops simulate ci --json`: each build, as whom, its status, steps and verdicts."""
    builds = []
    for build in played.builds:
        entries = [e for s in build.steps for e in calls_of(sim, s)]
        builds.append(
            {
                "project": build.project,
                "trigger": build.trigger,
                "identity": build.service_account,
                "status": build.status,
                "substitutions": {k: v for k, v in build.substitutions.items() if k[0] == "_"},
                "steps": [{k: s.get(k) for k in ("id", "status", "exit")} for s in build.steps],
                "calls": len(entries),
                "permissions": sorted({c.permission for e in entries for c in e.checks}),
                "denied": sum(1 for e in entries for c in e.checks if not c.allowed),
            }
        )
    return {
        "event": played.event.kind.replace("_", "-"),
        "builds": builds,
        "approvals": [{"approver": a.approver, "read": sorted(a.read)} for a in played.approvals],
        "not_fired": played.skipped,
    }


def report(sim: Any, played: Played, why: bool = False, wire: bool = False) -> list[str]:
    out = [f"{len(played.fired)} build(s) started by {played.event.kind.replace('_', '-')}"]
    for build in played.builds:
        entries = [e for s in build.steps for e in calls_of(sim, s)]
        permissions = {c.permission for e in entries for c in e.checks}
        denied = sum(1 for e in entries for c in e.checks if not c.allowed)
        subs = {k: v for k, v in build.substitutions.items() if k.startswith("_")}
        out.append(f"  {build.project} {build.trigger}: as {build.service_account}: "
                   f"{build.status}; {len(entries)} calls, {len(permissions)} permissions, "
                   f"{denied} denied")  # fmt: skip
        out.append(f"    substitutions: {', '.join(f'{k}={v}' for k, v in sorted(subs.items()))}")
        if build.status == "PENDING":
            out.append("    waits for an approver (gcloud builds approve BUILD_ID)")
        for step in build.steps:
            out += step_lines(sim, step, wire)
    for approval in played.approvals:
        out.append(f"  approved by {approval.approver} after reading "
                   f"{', '.join(approval.read) or 'nothing'}")  # fmt: skip
        for name, text in approval.read.items():
            out += [f"    {name}:", *(f"      {line}" for line in text.splitlines()[-6:])]
    if why:
        out.append(f"{len(played.skipped)} trigger(s) did not fire:")
        out += [f"  {line}" for line in played.skipped]
    return out
