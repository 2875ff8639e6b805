"""Requests one deploy makes with 1, 10 and 100 versions in the registry, on the simulated
Vertex AI, as the staging pipeline impersonating the prod deployer.

Each case: a fresh simulated cloud from the synthesized stacks, a first real deploy (the
champion), N-1 more versions registered beside it (as earlier promotions leave them), then
the measured deploy of a canary, with retention off (versions_retained 1000) so the count is
the lookups' alone. Every request the deploy sends is in the simulation's wire log.

    python bench/registry.py              # this checkout; records bench/results/registry.json
    python bench/registry.py --code DIR   # the deploy step of another checkout (same cloud)
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from figures import ROOT, record

sys.path.insert(0, str(ROOT / "tests"))
import prod_deploy

from infra.synth import synth
from simulation.server import Simulation
from simulation.world import World

CASES = (1, 10, 100)


def stacks() -> dict[str, dict]:
    with tempfile.TemporaryDirectory() as out:
        paths = synth(("staging", "prod"), out_root=Path(out))
        return {part: json.loads(path.read_text()) for part, path in paths.items()}


def deploy(sim: Simulation, code: Path, run_id: str) -> None:
    env = {**os.environ, **sim.environ(prod_deploy.PIPELINE), "PYTHONPATH": str(code)}
    step = code / "tests" / "simulation" / "vertex_step.py"
    candidate = prod_deploy.stage_candidate(sim, run_id)
    done = subprocess.run(
        [sys.executable, str(step), "deploy", candidate, run_id, prod_deploy.IMAGE, "10", "1000"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if done.returncode:
        sys.exit(f"deploy {run_id} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")


def older_versions(sim: Simulation, count: int) -> None:
    """`count` more registered versions, as earlier promotions left them (undeployed)."""
    model = prod_deploy.registered(sim)
    first = model["versions"]["1"]
    for _ in range(count):
        number = str(model["next"])
        model["next"] += 1
        labels = {**first["labels"], "candidate": f"old-{number}", "run": f"old-{number}"}
        model["versions"][number] = {**copy.deepcopy(first), "versionId": number, "labels": labels}


def measure(seeded: dict, code: Path, versions: int) -> tuple[int, Counter]:
    with tempfile.TemporaryDirectory() as root:
        sim = Simulation(World.from_stacks(seeded), Path(root)).start()
        try:
            deploy(sim, code, "run-1")
            older_versions(sim, versions - 1)
            before = len(sim.wire)
            deploy(sim, code, "run-2")
            entries = sim.wire[before:]
        finally:
            sim.stop()
    registry = Counter(e.method.rsplit(".", 1)[-1] for e in entries if ".models." in e.method)
    return len(entries), registry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose deploy runs")
    args = parser.parse_args()
    seeded = stacks()
    figures: dict[str, float | int | str] = {}
    for versions in CASES:
        total, registry = measure(seeded, args.code.resolve(), versions)
        calls = ", ".join(f"{m} {n}" for m, n in sorted(registry.items()))
        print(f"{versions:>4} versions: {total:>5} requests, {sum(registry.values()):>4} to the "
              f"registry ({calls})")  # fmt: skip
        figures[f"requests_{versions}"] = total
        figures[f"registry_{versions}"] = sum(registry.values())
    if args.code.resolve() == ROOT:
        record("registry", figures)
    else:
        record("registry_before", figures)


if __name__ == "__main__":
    main()
