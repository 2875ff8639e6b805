"""`mlops`: one entry point for the platform's jobs.

Each subcommand registers itself with `add_parser` and names a handler; user mistakes
(UserError) print one line and exit non-zero, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from mlops.errors import UserError


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line naming the command, not a usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def run_handler(prog: str, handler: Callable[[argparse.Namespace], int], args) -> int:
    try:
        return handler(args) or 0
    except UserError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def _train(args: argparse.Namespace) -> int:
    from trainer import task
    from trainer.options import hyperparameters_from_args

    output = Path(args.output_dir)
    task.run_training(
        output_dir=output,
        model_dir=output / "model",
        hyperparameters=hyperparameters_from_args(args),
        train_source=args.train_data,
        test_source=args.test_data,
        max_bad_fraction=args.max_bad_fraction,
    )
    return 0


def _synth(args: argparse.Namespace) -> int:
    from infra.synth import envs_from_option, synth

    for env, path in synth(envs_from_option(args.env)).items():
        print(f"{env}: {_relative(path)}")
    return 0


def _policy(args: argparse.Namespace) -> int:
    from infra.policy.gate import facts_for, judge
    from infra.settings import load_platform
    from infra.synth import envs_from_option, synth

    envs = envs_from_option(args.env)
    platform = load_platform()
    verdicts = judge(synth(envs), {env: facts_for(platform[env]) for env in envs})
    for verdict in verdicts:
        print("\n".join(verdict.lines()))
    failed = [v.env for v in verdicts if not v.ok]
    if failed:
        raise PolicyFailed(f"policy failed for {', '.join(failed)}")
    print("policy: all envs pass")
    return 0


def _pipeline_params(args: argparse.Namespace, *, local: bool):
    from infra.settings import load_platform
    from pipelines import params

    overrides = params.parse_overrides(args.param or [])
    if getattr(args, "commit", None):
        overrides.setdefault("commit", args.commit)
    return params.build(load_platform(), args.env, overrides, local=local)


def _run(args: argparse.Namespace) -> int:
    if not args.local:
        raise UserError("only --local runs here; use `mlops submit` for Vertex AI")
    from pipelines.local.workspace import workspace_root
    from pipelines.runner import run_local, summary

    params = _pipeline_params(args, local=True)  # refused here, before anything runs
    workspace = workspace_root(args.workspace)
    print(f"census promotion pipeline, local backend, workspace {_relative(workspace)}")
    print(summary(run_local(params, workspace)))
    return 0


def _compile(args: argparse.Namespace) -> int:
    from kfp import compiler

    from infra.settings import load_platform
    from pipelines.pipeline import LOCAL_IMAGE, build

    platform = load_platform()
    params = _pipeline_params(args, local=args.target == "local")
    staging = platform[args.env]
    image = LOCAL_IMAGE
    if args.target == "vertex":
        image = args.image or f"{staging.image_repository_url()}/components:{args.image_tag}"
    pipeline = build(args.target, image, staging.pipeline.training_machine_type)
    output = Path(args.output or f"build/census-promotion-{args.target}.yaml")
    output.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(pipeline, str(output), pipeline_parameters=params.model_dump())
    print(f"{args.target} pipeline: {_relative(output.resolve())} (components image {image})")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from infra.settings import load_platform
    from pipelines.vertex import doctor

    platform = load_platform()
    problems = doctor.preflight(platform, platform[args.env].env)
    for problem in problems:
        print(problem)
    if problems:
        raise PolicyFailed(f"{len(problems)} problem(s) in {args.env}")
    print(f"{args.env}: keys, grants, buckets and dataset OK")
    return 0


def _submit(args: argparse.Namespace) -> int:
    from kfp import compiler

    from infra.settings import load_platform
    from pipelines.pipeline import build
    from pipelines.vertex import submit

    platform = load_platform()
    params = _pipeline_params(args, local=False)  # refused here, before anything runs
    staging = platform[args.env]
    template = Path(args.template or "build/census-promotion-vertex.yaml")
    if not args.template:
        image = f"{staging.image_repository_url()}/components:{args.image_tag}"
        template.parent.mkdir(parents=True, exist_ok=True)
        compiler.Compiler().compile(
            build("vertex", image, staging.pipeline.training_machine_type),
            str(template),
            pipeline_parameters=params.model_dump(),
        )
    request, service_account = submit.build_request(platform, args.env, params, template)
    if args.dry_run:
        print(submit.describe(request, service_account))
        print(
            "dry run: nothing submitted; the preflight (mlops doctor) needs credentials "
            "and runs before every real submission"
        )
        return 0
    submit.submit(platform, args.env, request, service_account, wait=args.wait)
    return 0


class PolicyFailed(UserError):
    exit_code = 1


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="mlops", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=OneLineParser
    )

    train = commands.add_parser("train", help="train and evaluate the census model")
    train.add_argument(
        "--output-dir",
        default="build/train",
        help="where the model, metrics.json and report.html go (default %(default)s)",
    )
    from trainer.options import add_arguments

    add_arguments(train)
    train.set_defaults(handler=_train)

    env_choice = {"default": "all", "metavar": "dev|staging|prod|all"}
    synth = commands.add_parser("synth", help="synthesize the env stacks to Terraform JSON")
    synth.add_argument("--env", **env_choice, help="which env (default all)")
    synth.set_defaults(handler=_synth)

    policy = commands.add_parser("policy", help="synthesize, then run the policy gate")
    policy.add_argument("--env", **env_choice, help="which env (default all)")
    policy.set_defaults(handler=_policy)

    def pipeline_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--env", default="staging", help="the non-prod env the pipeline runs in")
        sub.add_argument(
            "--param",
            action="append",
            metavar="NAME=VALUE",
            help="override a pipeline parameter (JSON values); repeatable",
        )
        sub.add_argument("--commit", help="commit recorded in labels (default: unknown)")

    run = commands.add_parser("run", help="run the promotion pipeline (--local)")
    run.add_argument("--local", action="store_true", help="on this machine, with kfp.local")
    run.add_argument(
        "--workspace", help="local tenants' folder (default $MLOPS_WORKSPACE or .mlops)"
    )
    pipeline_options(run)
    run.set_defaults(handler=_run)

    comp = commands.add_parser("compile", help="compile the promotion pipeline to YAML")
    comp.add_argument("--target", choices=("vertex", "local"), default="vertex")
    comp.add_argument("--output", help="YAML path (default build/census-promotion-TARGET.yaml)")
    comp.add_argument("--image", help="components image URI (default: the env's registry)")
    comp.add_argument("--image-tag", default="latest", help="tag of the default image")
    pipeline_options(comp)
    comp.set_defaults(handler=_compile)

    doc = commands.add_parser("doctor", help="preflight: keys, grants, buckets, dataset")
    doc.add_argument("--env", required=True, choices=("dev", "staging", "prod"))
    doc.set_defaults(handler=_doctor)

    sub = commands.add_parser("submit", help="preflight, then run the pipeline on Vertex AI")
    sub.add_argument("--wait", action="store_true", help="wait for the run; fail if it fails")
    sub.add_argument(
        "--dry-run", action="store_true", help="print the PipelineJob request; needs no credentials"
    )
    sub.add_argument("--template", help="a compiled pipeline YAML (default: compile now)")
    sub.add_argument("--image-tag", default="latest", help="components image tag to compile with")
    pipeline_options(sub)
    sub.set_defaults(handler=_submit)

    from mlops import serving_commands

    serving_commands.add(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return run_handler(f"mlops {args.command}", args.handler, args)


if __name__ == "__main__":
    sys.exit(main())
