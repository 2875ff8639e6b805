"""The platform in one simulated cloud, kept across runs: what the staging build, clients and
Cloud Scheduler do to it, each as the identity that does it in production.

`mlops run --target vertex --simulated` plays one run on it (simulation/run.py); `mlops
simulate life` plays several, with canaries, scheduled judgements, a bad release and a
retraining (simulation/life.py).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.synth import synth
from kernel.errors import UserError
from kernel.workspace import evaluation_report
from pipelines import params, summary, warm_executor
from pipelines.compile import compile_to
from promotion.domain.runs import STEP_ORDER
from settings import ENV_NAMES, load_platform
from simulation.pipelines import PipelineRunner, warm
from simulation.server import Simulation
from simulation.world import World
from trainer import loader

CANARY_JOB = "census-canary"  # prod's Cloud Scheduler job that starts the canary's judgement


@dataclass
class RunOutcome:
    """One pipeline run as the platform saw it."""

    run_id: str
    state: str
    outcome: list[str]  # the summary `make demo` prints: decision, metrics, deploy, traffic
    submit_output: str
    recorded: list[str] = field(default_factory=list)  # the steps its run log holds
    report: Path | None = None  # the evaluation report, as a file a browser opens
    steps: dict[str, dict] = field(default_factory=dict)  # what each step recorded


def seed_census(sim: Simulation, bucket: str) -> None:
    folder = sim.root / "storage" / bucket / "census"
    folder.mkdir(parents=True, exist_ok=True)
    for split, name in (("train", "adult.data"), ("test", "adult.test")):
        (folder / name).write_bytes(gzip.decompress(loader.bundled_path(split).read_bytes()))


def image_digest(release: str) -> str:
    """The digest the staging build's push of `release` of the serving image gets here."""
    return hashlib.sha256(f"simulated serving image {release}".encode()).hexdigest()


class SimulatedPlatform:
    """Stacks synthesized once, a simulation seeded from them, the census data in staging."""

    def __init__(
        self, root: Path, env: str = "staging", log=print, stacks: dict | None = None,
        world: World | None = None,
    ) -> None:  # fmt: skip
        """`world`: the cloud to start from (default: the stacks applied, World.from_stacks)."""
        cloud = root / "cloud"
        if cloud.exists() and any(cloud.iterdir()):
            raise UserError(
                f"{root}: holds a simulated cloud already ({cloud}): a simulation starts from "
                "the stacks alone; give a new or empty --workspace"
            )
        self.root, self.env, self.log = root, env, log
        self.platform = load_platform()
        warm().warm_up()  # the tasks' imports, while synth runs
        if stacks is None:
            log("synthesizing the stacks the simulation is seeded from")
            files = synth(ENV_NAMES, out_root=root / "stacks")
            stacks = {e: json.loads(path.read_text()) for e, path in files.items()}
        self.stacks = stacks
        self.sim = Simulation(world or World.from_stacks(stacks), root / "cloud")
        self.runner = PipelineRunner(self.sim, log=log)
        self.sim.run_pipelines = self.runner
        self.tenant = self.platform[env]
        self.prod = self.platform["prod"]
        self.client_calls: set[int] = set()  # wire entries of end users' predictions

    def __enter__(self) -> SimulatedPlatform:
        self.sim.start()
        seed_census(self.sim, self.tenant.buckets.data)
        return self

    def __exit__(self, *exc: object) -> None:
        self.sim.stop()
        warm_executor.stop_fork_server()  # nothing of the runs outlives them
        (self.sim.root / "wire.log").write_text("\n".join(e.line() for e in self.sim.wire) + "\n")

    def apply(self, envs_dir: Path, name: str) -> tuple[set, set]:
        """The stacks synthesized from `envs_dir` applied: the cloud's IAM, triggers, topics
        and the rest become theirs, its data and Vertex AI's state stay; templates compile
        from these settings from now on. (bindings added, bindings removed)."""
        self.log(f"synthesizing the stacks of {envs_dir}")
        files = synth(ENV_NAMES, envs_dir=envs_dir, out_root=self.root / f"stacks-{name}")
        self.stacks = {e: json.loads(path.read_text()) for e, path in files.items()}
        before = set(self.sim.world.bindings)
        self.sim.world = World.from_stacks(self.stacks)
        self.platform = load_platform(envs_dir)
        self.tenant, self.prod = self.platform[self.env], self.platform["prod"]
        after = set(self.sim.world.bindings)
        return after - before, before - after

    @property
    def build_identity(self) -> str:
        return self.tenant.service_account_email("build")

    def serving_image(self, release: str = "1") -> str:
        """The serving image the staging build pushed for `release`, by digest."""
        return f"{self.tenant.image_repository_url()}/serving@sha256:{image_digest(release)}"

    def template(self, release: str = "1") -> Path:
        """The pipeline compiled as the staging build compiles it, with `release`'s image."""
        path = self.root / f"census-promotion-vertex-{release}.yaml"
        built = params.build(
            self.platform,
            self.env,
            {"commit": f"release-{release}", "tenants.serving_image": self.serving_image(release)},
            local=False,
        )
        compile_to(self.platform, "vertex", self.env, built, path, image_tag=f"release-{release}")
        return path

    def publish(self, template: Path) -> str:
        """What the staging build does after a push: the template becomes `latest`, the
        one the retraining function runs."""
        uri = self.tenant.template_uri("latest")
        target = self.sim.root / "storage" / uri.removeprefix("gs://")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(template.read_bytes())
        return uri

    def submit(self, template: Path, overrides: dict[str, Any] | None = None) -> RunOutcome:
        """`mlops submit --wait` as the staging build identity, with `--param` overrides."""
        known = set(self.sim.vertex.pipelines)
        flags = [
            f"--param={k}={v if isinstance(v, str) else json.dumps(v)}"
            for k, v in (overrides or {}).items()
        ]
        self.log(f"submitting as {self.build_identity} (preflight first)")
        done = subprocess.run(
            [
                sys.executable, "-m", "mlops.cli", "submit", "--env", self.env,
                "--template", str(template), "--commit", "simulated", "--wait", *flags,
            ],
            env={**os.environ, **self.sim.environ(self.build_identity)},
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        self.runner.wait()
        return self.outcome_of(known, done.stdout + done.stderr)

    def outcome_of(self, known: set[str], output: str = "") -> RunOutcome:
        """The run created since `known` (the job names before it), as it ended."""
        new = [name for name in self.sim.vertex.pipelines if name not in known]
        if not new:
            return RunOutcome("", "NOT SUBMITTED", [], output)
        job = self.sim.vertex.pipelines[new[-1]]
        run_id = new[-1].rsplit("/", 1)[-1]
        steps = run_steps(self.sim.vertex.contexts, run_id)
        recorded = sorted(steps, key=STEP_ORDER.index)
        prod = f"projects/{self.prod.project_id}/"  # not staging's AutoML models
        models = {n: m for n, m in self.sim.vertex.models.items() if n.startswith(prod)}
        lines = outcome_lines(steps, self.sim.vertex.endpoints, models)
        report = self.report_of(run_id)
        return RunOutcome(run_id, job["state"], lines, output, recorded, report, steps)

    def report_of(self, run_id: str) -> Path | None:
        """The run's evaluation report, copied out of the simulated pipeline root (where
        KFP names it `report`) to a file named for a browser."""
        found = sorted((self.sim.root / "storage").glob(f"*/runs/{run_id}/evaluate/report"))
        if not found:
            return None
        friendly = self.root / evaluation_report(run_id)
        friendly.write_bytes(found[0].read_bytes())
        return friendly

    def serve(self, requests: int, age_shift: int = 0, seed: int = 0) -> dict[int, int]:
        """Clients calling prod's endpoint, each with a different census row of the test
        split (drawn by `seed`; ages moved by `age_shift` years): {status: count}. They
        call as the deployer, the one prod identity allowed to predict."""
        from trainer import predict

        rows = loader.load_census(split="test").frame.sample(n=requests, random_state=seed)
        instances = predict.frame_to_instances(rows)
        for instance in instances:
            instance["age"] = instance["age"] + age_shift
        name = next(iter(self.sim.vertex.endpoints))
        first = len(self.sim.wire) + 1
        statuses: dict[int, int] = {}
        with self.sim.client(self.prod.service_account_email("deployer")) as client:
            for i in range(requests):
                status = client.post(
                    f"/aiplatform/v1/{name}:predict",
                    json={"instances": [instances[i % len(instances)]]},
                ).status_code
                statuses[status] = statuses.get(status, 0) + 1
        self.client_calls.update(
            e.seq for e in self.sim.wire[first - 1 :] if e.method.endswith("endpoints.predict")
        )
        return statuses

    def scheduled_judgement(self) -> Any:
        """Cloud Scheduler's census-canary job falls due; returns the build it started."""
        job = f"projects/{self.prod.project_id}/locations/{self.prod.region}/jobs/{CANARY_JOB}"
        before = set(self.sim.builds)
        answer = self.sim.fire_job(job)
        if answer.status_code != 200:
            raise RuntimeError(f"{CANARY_JOB} was refused: {answer.text}")
        (started,) = [b for name, b in self.sim.builds.items() if name not in before]
        started.finished.wait(600)
        return started


def run_steps(contexts: dict[str, dict], run_id: str) -> dict[str, dict]:
    """{step: facts} the run's steps recorded in its Vertex AI Experiments run context
    (the display name is the run id)."""
    steps: dict[str, dict] = {}
    for context in contexts.values():
        if context.get("schemaTitle") != "system.ExperimentRun":
            continue
        if context.get("displayName") != run_id:
            continue
        for key, text in context.get("metadata", {}).items():
            if key.startswith("step."):
                steps[key.removeprefix("step.")] = json.loads(text)["facts"]
    return steps


def outcome_lines(steps: dict[str, dict], endpoints: dict, models: dict) -> list[str]:
    """What a local run says of itself, said of this one (pipelines.summary), with the
    endpoint's traffic by version and the registry's aliases as the cloud holds them."""
    lines = summary.run_lines(steps)
    if "decide" in steps:
        lines.extend(prod_lines(endpoints, models))
    return lines


def prod_lines(endpoints: dict, models: dict) -> list[str]:
    """The endpoint's traffic by version and the registry's versions and aliases."""
    lines = []
    for endpoint in endpoints.values():
        versions = {d["id"]: d["modelVersionId"] for d in endpoint["deployedModels"]}
        # in version order, whatever order the split was written in
        split = sorted(endpoint["trafficSplit"].items(), key=lambda kv: int(versions[kv[0]]))
        traffic = ", ".join(f"v{versions[i]} {p}%" for i, p in split if p) or "no traffic"
        lines.append(f"  endpoint : {traffic}")
    for model in models.values():
        aliases = ", ".join(f"{a}=v{v}" for a, v in sorted(model["aliases"].items()))
        lines.append(f"  registry : {len(model['versions'])} version(s); aliases {aliases}")
    return lines


def elapsed(started: float) -> float:
    return time.perf_counter() - started
