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

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulation.platform import SimulatedPlatform


@dataclass
class SimulatedRun:
    state: str
    wall_seconds: float
    wire: list
    root: Path
    submit_output: str
    recorded: dict[str, list[str]] = field(default_factory=dict)  # run context → its steps
    outcome: list[str] = field(default_factory=list)  # what the run decided and did
    report: Path | None = None
    run_id: str = ""
    steps: dict[str, dict] = field(default_factory=dict)  # what each step recorded

    @property
    def checked(self) -> int:
        return sum(1 for e in self.wire if e.checks)

    def as_json(self) -> dict[str, Any]:
        """`mlops run --target vertex --simulated --json`: the run as one document."""
        denied = [e for e in self.wire if any(not c.allowed for c in e.checks)]
        return {
            "state": self.state,
            "run_id": self.run_id,
            "wall_seconds": round(self.wall_seconds, 3),
            "steps": self.steps,  # what each step recorded in Vertex AI Experiments
            "report": str(self.report) if self.report else None,
            "requests": len(self.wire),
            "iam_checked": self.checked,
            "denied": len(denied),
            "wire_log": str(self.root / "wire.log"),
            "task_logs": str(self.root / "pipelines"),
        }

    def summary(self) -> str:
        methods = {e.method for e in self.wire if not e.method.startswith("metadata.")}
        denied = [e for e in self.wire if any(not c.allowed for c in e.checks)]
        return "\n".join(
            [
                f"simulated Vertex run: {self.state} in {self.wall_seconds:.1f}s",
                *self.outcome,
                f"  report   : {self.report or 'none (the run stopped before evaluate)'}",
                *(
                    f"  console  : {line.removeprefix('console: ')} (on Vertex AI)"
                    for line in self.submit_output.splitlines()
                    if line.startswith("console: ")
                ),
                f"  requests : {len(self.wire):,} ({self.checked:,} IAM-checked, "
                f"{len(denied)} denied), {len(methods)} distinct API methods",
                f"  wire log : {self.root / 'wire.log'} (--wire prints it)",
                *(
                    f"  run log  : {name} (Vertex AI Experiments): {', '.join(steps)} recorded"
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


def run(
    root: Path | None = None,
    env: str = "staging",
    log=print,
    overrides: dict[str, Any] | None = None,
) -> SimulatedRun:
    started = time.perf_counter()
    root = Path(root or tempfile.mkdtemp(prefix="mlops-simulated-"))
    with SimulatedPlatform(root, env, log) as platform:
        outcome = platform.submit(platform.template(), overrides)
    sim = platform.sim
    return SimulatedRun(
        outcome.state,
        time.perf_counter() - started,
        sim.wire,
        sim.root,
        outcome.submit_output,
        {outcome.run_id: outcome.recorded} if outcome.recorded else {},
        outcome.outcome,
        outcome.report,
        outcome.run_id,
        outcome.steps,
    )
