"""`mlops simulate life`: the model's life in a simulated cloud (docs/simulation.md)."""

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
