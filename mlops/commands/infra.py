"""`mlops synth` and `mlops policy`: the env stacks and their gate."""

from __future__ import annotations

import argparse

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
    stacks = synthesize(envs_from_option(args.env))
    verdicts = judge(stacks, {part: facts_for(platform, env_of(part)) for part in stacks})
    for verdict in verdicts:
        print("\n".join(verdict.lines()))
    failed = [v.env for v in verdicts if not v.ok]
    found = images()
    unpinned = by_tag(found)
    waiting = sorted({image for _, image in found if image in AWAITING_DIGEST})
    print(f"images: {len(found)} in the builds and the Dockerfile, {len(unpinned)} by tag; "
          f"{len(waiting)} awaiting their digest (infra/policy/images.py)")  # fmt: skip
    print("\n".join(f"  FAIL {line}" for line in unpinned))
    if unpinned:
        failed.append("the images")
    if set(FIRST_APPLY) <= set(stacks):  # every stack synthesized: the first apply, simulated
        _, played = first_apply({p: json.loads(path.read_text()) for p, path in stacks.items()})
        runs = [r for r in played.runs if r.part in FIRST_APPLY]
        errors = [f"{r.part}: {e.address}: {e.error}" for r in runs for e in r.errors]
        steps = ", ".join(f"{r.part} ({r.count('create')})" for r in runs)
        print(f"first apply from empty projects, simulated: {steps} created; "
              f"{len(errors)} problems")  # fmt: skip
        print("\n".join(f"  FAIL {e}" for e in errors))
        if errors:
            failed.append("the first apply")
    if failed:
        raise Failed(f"policy failed for {', '.join(failed)}")
    print("policy: all envs pass")
    return 0


def add(commands) -> None:
    env_choice = {"default": "all", "metavar": "dev|staging|prod|all"}
    sub = commands.add_parser("synth", help="synthesize the env stacks to Terraform JSON")
    sub.add_argument("--env", **env_choice, help="which env (default all)")
    sub.set_defaults(handler=synth)

    sub = commands.add_parser("policy", help="synthesize, then run the policy gate")
    sub.add_argument("--env", **env_choice, help="which env (default all)")
    sub.set_defaults(handler=policy)
