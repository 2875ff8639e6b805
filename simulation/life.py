"""`mlops simulate life`: the model's life on Vertex AI, run after run, in one simulated cloud.

Each chapter is what happens in production, done by whoever does it there: the staging build
submits a run; clients call the endpoint; Cloud Scheduler starts prod's census-canary build,
which judges the canary as the deployer; a bad serving release is canaried and rolled back on
its error rate; skewed traffic raises Vertex AI Model Monitoring's anomaly, whose log entry
prod's sink publishes to staging's retraining topic, and the retraining function submits the
next run. Before that run the platform team turns approval on (staging's promotion =
"approval", applied): the retraining run stops at an approved candidate and announces it on
prod's topic, prod's census-deploy build waits, a person approves it, and it deploys as the
deployer. After each chapter: the summary `make demo` prints (decision, metrics, deploy and
smoke test, the canary's outcome, traffic, registry).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from simulation.modes import APPROVER, approval_envs
from simulation.platform import RunOutcome, SimulatedPlatform, prod_lines
from simulation.serving import faulty

# The runs' training budgets: each a better model than the one before (ROC AUC on the
# official test split 0.921, 0.928, 0.9295; run 4, the retraining, uses the template's
# default of 1,200 rounds: 0.9296), so each challenger beats the champion it meets.
ROUNDS = {"run 1": "150", "run 2": "400", "run 3": "800"}
# Challengers are canaried at 50% (a run-level parameter, as a retraining message may set it)
# so that 500 client requests give the challenger the 200 the judgement needs (at the
# settings' 10% it would take 2,500, about 100 s of simulated clients here).
CANARY = {"rollout.canary_percent": "50"}
CLIENT_REQUESTS = 500
BAD_RELEASE = "2-bad"  # a serving image that answers well at first, then fails most requests
FIXED_RELEASE = "3"


@dataclass
class Chapter:
    title: str
    lines: list[str]
    run: RunOutcome | None = None


@dataclass
class Life:
    chapters: list[Chapter] = field(default_factory=list)
    wall_seconds: float = 0.0
    calls: Counter = field(default_factory=Counter)  # principal → API requests it made
    client_calls: int = 0  # end users' predictions (not the platform's work)
    root: Path = Path()

    def as_json(self) -> dict:
        """`mlops simulate life --json`: each chapter, its run's state and what it said."""
        return {
            "chapters": [
                {
                    "title": c.title,
                    "lines": c.lines,
                    "run": {"run_id": c.run.run_id, "state": c.run.state, "steps": c.run.steps}
                    if c.run
                    else None,
                }
                for c in self.chapters
            ],
            "wall_seconds": round(self.wall_seconds, 3),
            "calls": dict(self.calls),
            "client_calls": self.client_calls,
            "wire_log": str(self.root / "cloud" / "wire.log"),
        }

    def summary(self) -> str:
        lines = [f"simulated life: {len(self.chapters)} chapters in {self.wall_seconds:.1f}s"]
        lines += [
            "  API calls per identity (clients' predictions and metadata-server reads apart):"
        ]
        lines += [f"    {n:>6,}  {who}" for who, n in self.calls.most_common()]
        lines += [f"    {self.client_calls:>6,}  clients' predictions"]
        lines += [f"  wire log : {self.root / 'cloud' / 'wire.log'}"]
        return "\n".join(lines)


def live(root: Path | None = None, log=print, say=print) -> Life:
    """Play the life; `say` gets each chapter as it ends, `log` the progress within it."""
    started = time.perf_counter()
    root = Path(root or tempfile.mkdtemp(prefix="mlops-life-"))
    life = Life(root=root)

    def chapter(title: str, lines: list[str], run: RunOutcome | None = None) -> None:
        life.chapters.append(Chapter(title, lines, run))
        say("\n".join([f"\n== {title}", *lines]))

    with SimulatedPlatform(root, log=log) as platform:
        platform.sim.images[platform.serving_image(BAD_RELEASE)] = faulty("flaky")
        good = platform.template("1")

        def submit(title: str, template: Path, rounds: str) -> RunOutcome:
            run = platform.submit(template, {"training.num_boost_round": rounds, **CANARY})
            chapter(
                f"{title}: {run.state} ({run.run_id}, {rounds} boosting rounds)", run.outcome, run
            )
            return run

        def judged(title: str) -> None:
            build = platform.scheduled_judgement()
            verdicts = [line for line in build.log().splitlines() if line.startswith("canary ")]
            chapter(
                title,
                [
                    f"  build    : {build.id[:8]} {build.status} as {build.service_account}",
                    *(f"  canary   : {v}" for v in verdicts or ["no verdict in the build log"]),
                    *prod_lines(platform.sim.vertex.endpoints, platform.sim.vertex.models),
                ],
            )

        def clients(title: str, age_shift: int = 0, *, seed: int) -> None:
            statuses = platform.serve(CLIENT_REQUESTS, age_shift, seed)
            answered = ", ".join(f"{n:,} x {s}" for s, n in sorted(statuses.items()))
            chapter(title, [f"  clients  : {CLIENT_REQUESTS:,} predictions: {answered}"])

        def monitored(title: str) -> dict:
            found = platform.sim.run_monitoring()
            lines = [
                f"  anomaly  : {a.measure} of {a.feature} {a.distance:.3f} > {a.threshold}"
                for alerts in found.values()
                for a in alerts
            ] or ["  anomaly  : none: nothing is logged"]
            chapter(title, lines)
            return found

        submit("run 1: the first version", good, ROUNDS["run 1"])
        submit("run 2: a better challenger", good, ROUNDS["run 2"])
        clients("clients call the endpoint", seed=1)
        judged("Cloud Scheduler: the canary's judgement")
        bad = platform.template(BAD_RELEASE)
        submit("run 3: a challenger on a bad serving release", bad, ROUNDS["run 3"])
        clients("clients call the endpoint", seed=2)
        judged("Cloud Scheduler: the canary's judgement")
        chapter("the platform team turns approval on", approval_on(platform))
        uri = platform.publish(platform.template(FIXED_RELEASE))
        chapter("the staging build publishes a fixed release", [f"  template : {uri}"])
        clients("clients call the endpoint: thirty years older than the training data", 30, seed=3)
        known, since = set(platform.sim.vertex.pipelines), len(platform.sim.wire)
        monitored("Vertex AI Model Monitoring: the scheduled analysis")
        platform.sim.pubsub.wait()
        chapter("the anomaly reaches the retraining function", retraining_lines(platform, since))
        platform.runner.wait()
        run = platform.outcome_of(known)
        chapter(f"run 4: the retraining: {run.state} ({run.run_id})", run.outcome, run)
        chapter("a release approver approves prod's census-deploy build", approved(platform))
    life.wall_seconds = time.perf_counter() - started
    served = platform.client_calls
    life.calls = Counter(
        e.principal
        for e in platform.sim.wire
        if e.principal and not e.method.startswith("metadata.") and e.seq not in served
    )
    life.client_calls = len(served)
    return life


def retraining_lines(platform: SimulatedPlatform, since: int) -> list[str]:
    """Where the anomaly went after wire entry `since`: the sink's publishes, Eventarc's
    pushes, and what the function said each time."""
    routed = ("pubsub.projects.topics.publish", "run.routes.invoke")
    lines = [
        f"  {e.method:<31}: {e.status} as {e.principal}"
        for e in platform.sim.wire[since:]
        if e.method in routed
    ]
    for name, status, output in platform.sim.function_calls:
        said = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
        lines.append(f"  function : {name} exited {status}")
        lines += [f"    {entry.get('reason') or entry['message']}" for entry in said]
    return lines or ["  nothing was published"]


def approval_on(platform: SimulatedPlatform) -> list[str]:
    """Staging's promotion = "approval" (and prod's approvers and key), applied."""
    envs = approval_envs(platform.root / "envs-approval")
    added, removed = platform.apply(envs, "approval")
    lines = ['  settings : staging promotion = "approval"; prod approvers ' + APPROVER]
    for verb, bindings in (("granted", added), ("revoked", removed)):
        lines += [
            f"  {verb:<8} : {b.role} on {b.resource} to {b.member.split(':', 1)[1]}"
            for b in sorted(bindings)
            if not b.member.startswith("serviceAccount:service-")  # Google's agents
        ]
    deploy = platform.sim.world.trigger(platform.prod.project_id, "census-deploy")
    if deploy is not None:
        lines.append(f"  trigger  : census-deploy on {deploy.topic}, approval required")
    return lines


def approved(platform: SimulatedPlatform) -> list[str]:
    """The approver finds the pending census-deploy build and approves it; it deploys."""
    builds = f"/cloudbuild/v1/projects/{platform.prod.project_id}/locations/global/builds"
    person = APPROVER.split(":", 1)[1]
    with platform.sim.client(person) as gcloud:
        listed = gcloud.get(builds, params={"filter": 'status="PENDING"'})
        pending = listed.json().get("builds", []) if listed.status_code == 200 else []
        if not pending:
            return [f"  pending  : none ({listed.status_code})"]
        build = platform.sim.builds[pending[0]["id"]]
        decision = {"approvalResult": {"decision": "APPROVED", "comment": "metrics reviewed"}}
        answer = gcloud.post(f"{builds}/{build.id}:approve", json=decision)
    lines = [
        f"  pending  : {build.id[:8]} ({build.trigger}) _CANDIDATE="
        f"{build.substitutions.get('_CANDIDATE', '')} _DIGEST="
        f"{build.substitutions.get('_DIGEST', '')[:12]}...",
        f"  approve  : {answer.status_code} as {person}",
    ]
    build.finished.wait(1800)
    said = [line for line in build.log().splitlines() if line.startswith("deployed version")]
    lines.append(f"  build    : {build.status} as {build.service_account}")
    lines += [f"  deploy   : {line}" for line in said]
    return lines + prod_lines(platform.sim.vertex.endpoints, platform.sim.vertex.models)
