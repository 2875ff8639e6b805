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

    from infra.first_apply import FIRST_APPLY, play
    from infra.layout import env_of
    from infra.policy.gate import facts_for, judge
    from infra.synth import envs_from_option
    from infra.synth import synth as synthesize
    from settings import load_platform

    platform = load_platform()
    stacks = synthesize(envs_from_option(args.env))
    verdicts = judge(stacks, {part: facts_for(platform, env_of(part)) for part in stacks})
    for verdict in verdicts:
        print("\n".join(verdict.lines()))
    failed = [v.env for v in verdicts if not v.ok]
    if set(FIRST_APPLY) <= set(stacks):  # every stack synthesized: play the first apply
        played = play({part: json.loads(path.read_text()) for part, path in stacks.items()})
        steps = ", ".join(f"{s.stack} ({s.resources})" for s in played.steps)
        print(f"first apply from empty projects: {steps}; {len(played.findings)} problems")
        print("\n".join(f"  FAIL {f}" for f in played.findings))
        if played.findings:
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
