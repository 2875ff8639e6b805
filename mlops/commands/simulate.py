"""`mlops simulate life|infra|ci`: the model's life, the infrastructure's plan and apply,
and an event's Cloud Build builds, in a simulated cloud (docs/simulation.md, docs/cicd.md)."""

from __future__ import annotations

import argparse
import sys

from kernel.commandline import add_json_flag, print_json
from kernel.errors import Failed, UserError


def life(args: argparse.Namespace) -> int:
    from simulation import life as simulated

    def progress(line: str) -> None:  # the tasks' progress: stderr, so stdout is the story
        print(line, file=sys.stderr, flush=True)

    say = progress if args.json else (lambda text: print(text, flush=True))
    result = simulated.live(args.workspace, log=progress, say=say)
    if args.json:
        print_json(result.as_json())
    elif args.wire:
        print("\nwire log (each call: status, method, identity, the permission checked):")
        print((result.root / "cloud" / "wire.log").read_text(), end="")
    if not args.json:
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
    if args.json:
        print_json({**scenes.as_json(played), "wall_seconds": time.perf_counter() - start})
    else:
        print("\n".join(scenes.report(played, wire=args.wire)))
        print(f"\n{len(stacks)} stacks, 4 scenes in {time.perf_counter() - start:.1f} s")
    wrong = scenes.problems(played)
    if wrong:
        raise Failed("\n".join(["the infrastructure's life went wrong:", *wrong]))
    return 0


def event_of(args: argparse.Namespace):
    """The event the command line describes, or a one-line refusal naming the flag."""
    from simulation.ci.events import Event

    attributes = []
    for pair in args.attribute or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UserError(f"--attribute {pair!r}: expected KEY=VALUE")
        attributes.append((key, value))
    if args.event in ("push", "pull-request") and not (args.branch and args.files):
        raise UserError(f"{args.event}: say --branch and at least one --files")
    if args.event == "pubsub" and not args.topic:
        raise UserError("pubsub: say --topic projects/P/topics/T")
    if args.event == "run" and not args.trigger:
        raise UserError("run: say --trigger census-NAME")
    return Event(
        args.event.replace("-", "_"), args.branch or "", tuple(args.files or ()), args.author,
        args.comment or "", args.topic or "", tuple(attributes), args.trigger or "",
    )  # fmt: skip


def ci(args: argparse.Namespace) -> int:
    import json
    import tempfile
    from pathlib import Path

    import yaml

    from infra.synth import synth
    from settings import ENV_NAMES, REPO_ROOT
    from simulation.ci.events import evaluate
    from simulation.ci.scenes import CiCloud, as_json, report

    event = event_of(args)
    if args.no_run:
        print("synthesizing every env's stacks", file=sys.stderr, flush=True)
        stacks = {part: json.loads(path.read_text()) for part, path in synth(ENV_NAMES).items()}
        builds, skipped = evaluate(stacks, event)
        if args.json:
            fired = [
                {"project": b.project, "trigger": b.trigger, "identity": b.identity,
                 "config": b.config, "approval": b.approval, "substitutions": b.substitutions}
                for b in builds
            ]  # fmt: skip
            print_json({"event": args.event, "builds": fired, "not_fired": skipped})
            return 0
        print(f"{len(builds)} build(s) started by {args.event}")
        for b in builds:
            config = yaml.safe_load((REPO_ROOT / b.config).read_text())
            wait = "waits for an approver" if b.approval else "starts at once"
            steps = ", ".join(s.get("id", s["name"]) for s in config["steps"])
            subs = ", ".join(f"{k}={v}" for k, v in sorted(b.substitutions.items()))
            print(f"  {b.project} {b.trigger}: as {b.identity}; {wait}")
            print(f"    {b.config}: steps {steps}\n    substitutions: {subs or 'none'}")
        if args.why:
            print(f"{len(skipped)} trigger(s) did not fire:")
            print("\n".join(f"  {line}" for line in skipped))
        return 0
    with tempfile.TemporaryDirectory(prefix="mlops-ci-") as folder:
        root = Path(args.workspace or folder)
        log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
        with CiCloud(root, log=log, full=args.full) as cloud:
            played = cloud.play(event)
            if args.json:
                print_json(as_json(cloud.sim, played))
            else:
                print("\n".join(report(cloud.sim, played, why=args.why, wire=args.wire)))
    failed = [f"{b.trigger} ({b.status})" for b in played.builds
              if b.status not in ("SUCCESS", "PENDING")]  # fmt: skip
    if failed:
        raise Failed(f"{len(failed)} build(s) failed: {', '.join(failed)}")
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
    add_json_flag(sub)
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
    add_json_flag(sub)
    sub.set_defaults(handler=infra)
    sub = what.add_parser(
        "ci",
        help="an event's builds run in a simulated cloud: which triggers fire, as whom, each "
        "step run or stood in for, its calls and their verdicts (docs/cicd.md)",
        description="examples: `mlops simulate ci push --branch staging --files kernel/names.py`;"
        " `mlops simulate ci pull-request --branch main --files infra/stack.py --author "
        "outside`; `mlops simulate ci run --trigger census-canary`",
    )
    sub.add_argument("event", choices=("push", "pull-request", "pubsub", "run"))
    sub.add_argument("--branch", help="push: the branch pushed; pull-request: the base branch")
    sub.add_argument("--files", action="append", metavar="PATH", help="a changed file (repeat)")
    sub.add_argument("--author", default="collaborator",
                     choices=("owner", "collaborator", "outside"))  # fmt: skip
    sub.add_argument("--comment", help="pull-request: a collaborator's comment, e.g. /gcbrun")
    sub.add_argument("--topic", help="pubsub: projects/P/topics/T")
    sub.add_argument("--attribute", action="append", metavar="KEY=VALUE",
                     help="pubsub: a message attribute (repeat)")  # fmt: skip
    sub.add_argument("--trigger", help="run: the trigger's name, e.g. census-canary")
    sub.add_argument("--why", action="store_true", help="also say why each other did not fire")
    sub.add_argument(
        "--no-run",
        action="store_true",
        help="only say which builds start (no simulated cloud, a few seconds)",
    )
    sub.add_argument(
        "--full", action="store_true", help="also run `make test` where a build runs it (minutes)"
    )
    sub.add_argument("--wire", action="store_true", help="also print every call of each step")
    add_json_flag(sub)
    sub.add_argument("--workspace", help="a new or empty folder to keep the simulation in")
    sub.set_defaults(handler=ci)
