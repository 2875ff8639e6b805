"""`mlops simulate life|infra`: the model's life, and the infrastructure's plan and apply,
in a simulated cloud (docs/simulation.md)."""

from __future__ import annotations

import argparse
import sys

from kernel.errors import Failed


def life(args: argparse.Namespace) -> int:
    from simulation import life as simulated

    def progress(line: str) -> None:  # the tasks' progress: stderr, so stdout is the story
        print(line, file=sys.stderr, flush=True)

    result = simulated.live(args.workspace, log=progress, say=lambda text: print(text, flush=True))
    if args.wire:
        print("\nwire log (each call: status, method, identity, the permission checked):")
        print((result.root / "cloud" / "wire.log").read_text(), end="")
    print("\n" + result.summary())
    failed = [
        c.title for c in result.chapters if c.run and c.run.state != "PIPELINE_STATE_SUCCEEDED"
    ]
    if failed:
        raise Failed(f"{len(failed)} run(s) did not succeed: {'; '.join(failed)}")
    return 0


def infra(args: argparse.Namespace) -> int:
    import json
    import time

    from infra.synth import synth
    from settings import ENV_NAMES
    from simulation.terraform import scenes

    start = time.perf_counter()
    print("synthesizing every env's stacks", file=sys.stderr, flush=True)
    stacks = {part: json.loads(path.read_text()) for part, path in synth(ENV_NAMES).items()}
    played = scenes.play(stacks)
    print("\n".join(scenes.report(played, wire=args.wire)))
    print(f"\n{len(stacks)} stacks, 4 scenes in {time.perf_counter() - start:.1f} s")
    wrong = scenes.problems(played)
    if wrong:
        raise Failed("\n".join(["the infrastructure's life went wrong:", *wrong]))
    return 0


def add(commands) -> None:
    sim = commands.add_parser(
        "simulate", help="play the platform's life in a simulated Google Cloud (docs/simulation.md)"
    )
    what = sim.add_subparsers(dest="story", required=True, metavar="STORY", parser_class=type(sim))
    sub = what.add_parser(
        "life",
        help="runs 1-4 in one simulated cloud: canary, scheduled judgement, a bad release "
        "rolled back, approval turned on, a monitoring anomaly that starts a retraining, "
        "approved and deployed",
    )
    sub.add_argument("--wire", action="store_true", help="also print every call (the wire log)")
    sub.add_argument(
        "--workspace",
        help="a new or empty folder for the simulation's state (default a new temporary one)",
    )
    sub.set_defaults(handler=life)
    sub = what.add_parser(
        "infra",
        help="synthesize every stack, then in a simulated cloud: the bootstrap and first apply "
        "as the owner, a pull request's plan as the planner, CI's applies as census-infra, "
        "and four mistakes failing as Google's API or Terraform would",
    )
    sub.add_argument("--wire", action="store_true", help="also print every call of every run")
    sub.set_defaults(handler=infra)
