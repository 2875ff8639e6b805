"""`mlops run`, `compile`, `doctor`, `submit`: the promotion pipeline, local and on Vertex."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kernel.commandline import add_json_flag, print_json
from kernel.errors import Failed, UserError
from mlops.commands import relative


def pipeline_params(args: argparse.Namespace, *, local: bool):
    """Defaults from settings plus --param/--commit, refused before anything runs."""
    from pipelines import params
    from settings import load_platform

    overrides = params.parse_overrides(args.param or [])
    if getattr(args, "commit", None):
        overrides.setdefault("commit", args.commit)
    return params.build(load_platform(), args.env, overrides, local=local)


def checkout_commit() -> str | None:
    """This checkout's commit for a local run's lineage, "-dirty" with uncommitted changes;
    None outside a git checkout (the run then records "unknown")."""
    import subprocess

    from settings import REPO_ROOT

    def git(*argv: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *argv], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    head = git("rev-parse", "--short=12", "HEAD")
    if head is None:
        return None
    return f"{head}-dirty" if git("status", "--porcelain", "--untracked-files=no") else head


def run(args: argparse.Namespace) -> int:
    if args.wire and args.json:
        raise UserError("--wire prints the calls as lines; with --json they are in wire.log")
    if args.wire and not args.simulated:
        raise UserError("--wire prints the simulated cloud's calls: use it with --simulated")
    if args.target == "vertex":
        if not args.simulated:
            raise UserError("the Vertex target runs here only --simulated; `mlops submit` runs it")
        return run_simulated(args)
    if not args.local:
        raise UserError("say where: --local, or --target vertex --simulated")
    from kernel.workspace import workspace_root
    from pipelines.runner import as_json, run_local, summary

    args.commit = args.commit or checkout_commit()
    params = pipeline_params(args, local=True)
    workspace = workspace_root(args.workspace)
    progress = sys.stderr if args.json else sys.stdout  # --json: stdout is the document
    print(
        f"census promotion pipeline, local backend, workspace {relative(workspace)}", file=progress
    )
    result = run_local(params, workspace, out=progress)
    if args.json:
        print_json(as_json(result))
    else:
        print(summary(result))
    return 0


def run_simulated(args: argparse.Namespace) -> int:
    from pipelines import params
    from simulation import run as simulated

    pipeline_params(args, local=False)  # refused here, as `mlops submit` would refuse them
    overrides = params.parse_overrides(args.param or [])
    log = (lambda line: print(line, file=sys.stderr, flush=True)) if args.json else print
    result = simulated.run(args.workspace, env=args.env, overrides=overrides, log=log)
    if args.json:
        print_json(result.as_json())
        if result.state != "PIPELINE_STATE_SUCCEEDED":
            raise Failed(f"the simulated Vertex run ended {result.state}")
        return 0
    if args.wire:
        print("\nwire log (each call: status, method, identity, the permission checked):")
        for entry in result.wire:
            if not entry.method.startswith("metadata."):
                print(entry.line())
    print(result.summary())
    if result.state != "PIPELINE_STATE_SUCCEEDED":
        print(result.submit_output[-3000:])
        raise Failed(f"the simulated Vertex run ended {result.state}")
    return 0


def compile_(args: argparse.Namespace) -> int:
    from pipelines.compile import compile_to
    from settings import load_platform

    params = pipeline_params(args, local=args.target == "local")
    output = Path(args.output or f"build/census-promotion-{args.target}.yaml")
    image = compile_to(
        load_platform(), args.target, args.env, params, output, args.image, args.image_tag
    )
    print(f"{args.target} pipeline: {relative(output.resolve())} (components image {image})")
    return 0


def doctor(args: argparse.Namespace) -> int:
    from adapters import wiring
    from settings import load_platform
    from settings.placeholders import placeholders

    platform = load_platform()
    examples = placeholders(platform)
    if not args.json:
        for line in examples:
            print(f"placeholder: {line}")
    problems = wiring.preflight().problems(platform, args.env)
    if args.json:
        print_json({"env": args.env, "placeholders": examples, "problems": problems})
    else:
        for problem in problems:
            print(problem)
    if problems:
        raise Failed(f"{len(problems)} problem(s) in {args.env}")
    print(f"{args.env}: keys, grants, buckets and dataset OK")
    return 0


def submit(args: argparse.Namespace) -> int:
    import sys

    from pipelines import submit as vertex
    from pipelines.compile import compile_to
    from pipelines.params import require_pinned_serving_image
    from settings import load_platform
    from settings.placeholders import placeholders

    platform = load_platform()
    params = pipeline_params(args, local=False)
    template = Path(args.template or "build/census-promotion-vertex.yaml")
    if not args.template:
        compile_to(platform, "vertex", args.env, params, template, image_tag=args.image_tag)
    refusals = []  # what a real submit refuses; a dry run shows the request anyway
    try:
        require_pinned_serving_image(vertex.read_template(str(template)), str(template))
    except UserError as refused:
        if not args.dry_run:
            raise
        refusals.append(str(refused))
    request, service_account = vertex.build_request(platform, args.env, params, str(template))
    if args.dry_run:
        print(vertex.describe(request, service_account))
        for line in refusals:
            print(f"warning: a real submit would refuse this: {line}", file=sys.stderr)
        for line in placeholders(platform):
            print(f"warning: still an example value: {line}", file=sys.stderr)
        print(
            "dry run: nothing submitted, no credentials used; the preflight (mlops doctor) "
            "needs credentials and runs before every real submission",
            file=sys.stderr if args.json else sys.stdout,
        )
        return 0
    log = (lambda line: print(line, file=sys.stderr, flush=True)) if args.json else print
    job = vertex.submit(platform, args.env, request, service_account, wait=args.wait, log=log)
    if args.json:  # the progress and the summary went to stderr
        print_json({"job": job, "console": vertex.console_url(job), "waited": args.wait})
    return 0


def _options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--env", default="staging", help="the non-prod env the pipeline runs in")
    sub.add_argument(
        "--param",
        action="append",
        metavar="GROUP.FIELD=VALUE",
        help="override a pipeline parameter, e.g. bars.min_roc_auc=0.93 (JSON values); repeatable",
    )
    sub.add_argument(
        "--commit", help="commit recorded in labels and lineage (local default: this checkout's)"
    )


def add(commands) -> None:
    sub = commands.add_parser(
        "run", help="run the promotion pipeline (--local, or --target vertex --simulated)"
    )
    sub.add_argument("--local", action="store_true", help="on this machine, with kfp.local")
    sub.add_argument("--target", choices=("local", "vertex"), default="local", help="default local")
    sub.add_argument(
        "--simulated",
        action="store_true",
        help="with --target vertex: against a fresh simulated Google Cloud (docs/simulation.md)",
    )
    sub.add_argument(
        "--wire",
        action="store_true",
        help="with --simulated: also print every call the run made (the wire log's lines)",
    )
    add_json_flag(sub)
    sub.add_argument(
        "--workspace",
        help="local tenants' folder (default $MLOPS_WORKSPACE or .mlops); with --simulated, "
        "where the simulation keeps its state (default a new temporary folder)",
    )
    _options(sub)
    sub.set_defaults(handler=run)

    sub = commands.add_parser("compile", help="compile the promotion pipeline to YAML")
    sub.add_argument("--target", choices=("vertex", "local"), default="vertex")
    sub.add_argument("--output", help="YAML path (default build/census-promotion-TARGET.yaml)")
    sub.add_argument("--image", help="components image URI (default: the env's registry)")
    sub.add_argument("--image-tag", default="latest", help="tag of the default image")
    _options(sub)
    sub.set_defaults(handler=compile_)

    sub = commands.add_parser("doctor", help="preflight: keys, grants, buckets, dataset")
    sub.add_argument("--env", required=True, choices=("dev", "staging", "prod"))
    add_json_flag(sub)
    sub.set_defaults(handler=doctor)

    sub = commands.add_parser("submit", help="preflight, then run the pipeline on Vertex AI")
    sub.add_argument("--wait", action="store_true", help="wait for the run; fail if it fails")
    sub.add_argument(
        "--dry-run",
        action="store_true",
        help="print the PipelineJob request and what a real submit would refuse; "
        "needs no credentials",
    )
    sub.add_argument("--template", help="a compiled pipeline YAML (default: compile now)")
    sub.add_argument("--image-tag", default="latest", help="components image tag to compile with")
    add_json_flag(sub)
    _options(sub)
    sub.set_defaults(handler=submit)
