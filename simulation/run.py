"""`mlops run --target vertex --simulated`: the Vertex target end to end against a fresh
simulated cloud, as the identities that act in production.

1. synthesize the three stacks and seed a simulation from them (their IAM, keys, buckets);
2. put the census files where the platform keeps them (the staging data bucket);
3. compile the Vertex pipeline, as the staging build does;
4. as the staging build identity, `mlops submit --wait`: the preflight, then the PipelineJob;
5. the simulation runs the job as the pipeline identity (training as the trainer identity,
   prod as the impersonated deployer) and every call lands in the wire log, printed at the end.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from infra.synth import synth
from pipelines import params, warm_executor
from pipelines.compile import compile_to
from promotion.domain.runs import STEP_ORDER
from settings import ENV_NAMES, load_platform
from simulation.pipelines import PipelineRunner, warm
from simulation.server import Simulation
from simulation.world import World
from trainer import loader


@dataclass
class SimulatedRun:
    state: str
    wall_seconds: float
    wire: list
    root: Path
    submit_output: str
    recorded: dict[str, list[str]] = field(default_factory=dict)  # run context → its steps
    outcome: list[str] = field(default_factory=list)  # what the run decided and did

    @property
    def checked(self) -> int:
        return sum(1 for e in self.wire if e.checks)

    def summary(self) -> str:
        methods = {e.method for e in self.wire if not e.method.startswith("metadata.")}
        denied = [e for e in self.wire if any(not c.allowed for c in e.checks)]
        return "\n".join(
            [
                f"simulated Vertex run: {self.state} in {self.wall_seconds:.1f}s",
                *self.outcome,
                f"  requests : {len(self.wire):,} ({self.checked:,} IAM-checked, "
                f"{len(denied)} denied), {len(methods)} distinct API methods",
                f"  wire log : {self.root / 'wire.log'}",
                *(
                    f"  run log  : {name.split('/')[-1]} (Vertex AI Experiments): "
                    f"{', '.join(steps)} recorded"
                    for name, steps in self.recorded.items()
                ),
                f"  task logs: {self.root / 'pipelines'}",
                *(
                    f"  {line}"
                    for line in self.submit_output.splitlines()
                    if line.startswith("cost: ")
                ),
            ]
        )


def seed_census(sim: Simulation, bucket: str) -> None:
    folder = sim.root / "storage" / bucket / "census"
    folder.mkdir(parents=True, exist_ok=True)
    for split, name in (("train", "adult.data"), ("test", "adult.test")):
        (folder / name).write_bytes(gzip.decompress(loader.bundled_path(split).read_bytes()))


def run(root: Path | None = None, env: str = "staging", log=print) -> SimulatedRun:
    started = time.perf_counter()
    root = Path(root or tempfile.mkdtemp(prefix="mlops-simulated-"))
    platform = load_platform()
    warm().warm_up()  # the tasks' imports, while synth runs
    log("synthesizing the stacks the simulation is seeded from")
    files = synth(ENV_NAMES, out_root=root / "stacks")
    stacks = {e: json.loads(path.read_text()) for e, path in files.items()}
    sim = Simulation(World.from_stacks(stacks), root / "cloud")
    runner = PipelineRunner(sim, log=log)
    sim.run_pipelines = runner
    staging = platform[env]
    with sim:
        seed_census(sim, staging.buckets.data)
        template = root / "census-promotion-vertex.yaml"
        # What the build hands the compile: the serving image it pushed, by digest.
        digest = hashlib.sha256(b"simulated serving image").hexdigest()
        serving = f"{staging.image_repository_url()}/serving@sha256:{digest}"
        built = params.build(
            platform, env, {"commit": "simulated", "tenants.serving_image": serving}, local=False
        )
        compile_to(platform, "vertex", env, built, template, image_tag="simulated")
        build = staging.service_account_email("build")
        log(f"submitting as {build} (preflight first)")
        done = subprocess.run(
            [
                sys.executable, "-m", "mlops.cli", "submit", "--env", env,
                "--template", str(template), "--commit", "simulated", "--wait",
            ],
            env={**os.environ, **sim.environ(build)},
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        runner.wait()
        jobs = sim.vertex.pipelines
        state = next(iter(jobs.values()))["state"] if jobs else "NOT SUBMITTED"
    warm_executor.stop_fork_server()  # nothing of the run outlives it
    (sim.root / "wire.log").write_text("\n".join(e.line() for e in sim.wire) + "\n")
    recorded = {
        name: sorted(
            (k.split(".", 1)[1] for k in c["metadata"] if k.startswith("step.")),
            key=STEP_ORDER.index,
        )
        for name, c in sim.vertex.contexts.items()
        if c.get("schemaTitle") == "system.ExperimentRun"
    }
    result = SimulatedRun(
        state,
        time.perf_counter() - started,
        sim.wire,
        sim.root,
        done.stdout + done.stderr,
        recorded,
        outcome_lines(run_steps(sim.vertex.contexts), sim.vertex.endpoints, sim.vertex.models),
    )
    return result


def run_steps(contexts: dict[str, dict]) -> dict[str, dict]:
    """{step: facts} the run's steps recorded in its Vertex AI Experiments run context."""
    steps: dict[str, dict] = {}
    for context in contexts.values():
        if context.get("schemaTitle") != "system.ExperimentRun":
            continue
        for key, text in context.get("metadata", {}).items():
            if key.startswith("step."):
                steps[key.removeprefix("step.")] = json.loads(text)["facts"]
    return steps


def outcome_lines(steps: dict[str, dict], endpoints: dict, models: dict) -> list[str]:
    """What `make demo` says of a run: the decision, the metrics decided on, the deploy and
    its smoke test, the endpoint's traffic by version and the registry's aliases."""
    decide = steps.get("decide")
    if decide is None:
        return ["  decision : none recorded (the run stopped before decide)"]
    verdict = "DEPLOY" if decide.get("deploy") else "KEEP CHAMPION"
    m = decide.get("challenger") or {}
    lines = [
        f"  decision : {verdict} ({decide.get('trainer', 'custom')}): {decide.get('reason')}",
        f"  metrics  : ROC AUC {m.get('roc_auc', float('nan')):.4f}, accuracy "
        f"{m.get('accuracy', float('nan')):.4f}, log loss {m.get('log_loss', float('nan')):.4f}"
        " (official test split)",
    ]
    deploy = steps.get("deploy")
    if deploy:
        lines.append(f"  deployed : version {deploy['version']}; smoke test {deploy['smoke']}")
    for endpoint in endpoints.values():
        versions = {d["id"]: d["modelVersionId"] for d in endpoint["deployedModels"]}
        split = endpoint["trafficSplit"].items()
        traffic = ", ".join(f"v{versions[i]} {p}%" for i, p in split if p) or "no traffic"
        lines.append(f"  endpoint : {traffic}")
    for model in models.values():
        aliases = ", ".join(f"{a}=v{v}" for a, v in sorted(model["aliases"].items()))
        lines.append(f"  registry : {len(model['versions'])} version(s); aliases {aliases}")
    return lines
