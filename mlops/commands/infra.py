"""`mlops synth` and `mlops policy`: the env stacks and their gate."""

from __future__ import annotations

import argparse

from kernel.commandline import add_json_flag, print_json
from kernel.errors import Failed
from mlops.commands import relative


def synth(args: argparse.Namespace) -> int:
    from infra.synth import envs_from_option, warn_placeholders
    from infra.synth import synth as synthesize

    for env, path in synthesize(envs_from_option(args.env)).items():
        print(f"{env}: {relative(path)}")
    warn_placeholders()
    return 0


def policy(args: argparse.Namespace) -> int:
    import json

    from infra.layout import env_of
    from infra.policy.gate import facts_for, judge
    from infra.policy.images import AWAITING_DIGEST, by_tag, images
    from infra.synth import envs_from_option
    from infra.synth import synth as synthesize
    from settings import load_platform
    from simulation.terraform.scenes import FIRST_APPLY, first_apply

    platform = load_platform()
    say = (lambda *lines: None) if args.json else (lambda *lines: print("\n".join(lines)))
    stacks = synthesize(envs_from_option(args.env))
    verdicts = judge(stacks, {part: facts_for(platform, env_of(part)) for part in stacks})
    for verdict in verdicts:
        say(*verdict.lines())
    failed = [v.env for v in verdicts if not v.ok]
    found = images()
    unpinned = by_tag(found)
    waiting = sorted({image for _, image in found if image in AWAITING_DIGEST})
    say(f"images: {len(found)} in the builds and the Dockerfile, {len(unpinned)} by tag; "
        f"{len(waiting)} awaiting their digest (infra/policy/images.py)",
        *(f"  FAIL {line}" for line in unpinned))  # fmt: skip
    if unpinned:
        failed.append("the images")
    report = {
        "stacks": [
            {"env": v.env, "ok": v.ok, "lines": v.lines()[1:], "summary": v.lines()[0]}
            for v in verdicts
        ],
        "images": {"found": len(found), "by_tag": unpinned, "awaiting_digest": waiting},
    }
    if set(FIRST_APPLY) <= set(stacks):  # every stack synthesized: the first apply, simulated
        _, played = first_apply({p: json.loads(path.read_text()) for p, path in stacks.items()})
        runs = [r for r in played.runs if r.part in FIRST_APPLY]
        errors = [f"{r.part}: {e.address}: {e.error}" for r in runs for e in r.errors]
        steps = ", ".join(f"{r.part} ({r.count('create')})" for r in runs)
        say(f"first apply from empty projects, simulated: {steps} created; "
            f"{len(errors)} problems", *(f"  FAIL {e}" for e in errors))  # fmt: skip
        report["first_apply"] = {
            "created": {r.part: r.count("create") for r in runs},
            "problems": errors,
        }
        if errors:
            failed.append("the first apply")
    if args.json:
        print_json({**report, "passed": not failed, "failed": failed})
    if failed:
        raise Failed(f"policy failed for {', '.join(failed)}")
    say("policy: all envs pass")
    return 0


def add(commands) -> None:
    env_choice = {"default": "all", "metavar": "dev|staging|prod|all"}
    sub = commands.add_parser("synth", help="synthesize the env stacks to Terraform JSON")
    sub.add_argument("--env", **env_choice, help="which env (default all)")
    sub.set_defaults(handler=synth)

    sub = commands.add_parser("policy", help="synthesize, then run the policy gate")
    sub.add_argument("--env", **env_choice, help="which env (default all)")
    add_json_flag(sub)
    sub.set_defaults(handler=policy)
