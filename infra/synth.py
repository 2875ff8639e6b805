"""Synthesize env stacks to Terraform JSON, where `cdktf synth` would write them."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from infra.layout import cross_tenant_part, outdir, stack_json_path
from infra.providers import load_lazily
from infra.toolchain import place_lock
from kernel.errors import UserError
from settings import ENV_NAMES, ENVS_DIR, load_platform


def envs_from_option(option: str) -> tuple[str, ...]:
    if option == "all":
        return ENV_NAMES
    if option not in ENV_NAMES:
        raise UserError(f"unknown env {option!r}; expected one of {', '.join(ENV_NAMES)}, all")
    return (option,)


def synth(
    envs: tuple[str, ...], envs_dir: Path = ENVS_DIR, out_root: Path | None = None
) -> dict[str, Path]:
    """One process, one provider load, every env: ~3 s in all instead of ~7 s per env.

    Returns each stack's JSON path by part: `staging`, `staging-cross-tenant`, ...
    """
    load_lazily()
    from infra.stack import build_app

    platform = load_platform(envs_dir)
    out_root = out_root or envs_dir
    written = {}
    for env in envs:
        outdir(env, out_root).mkdir(parents=True, exist_ok=True)
        build_app(platform, env, outdir=str(outdir(env, out_root))).synth()
        lock_every_stack(outdir(env, out_root))
        written[env] = stack_json_path(env, out_root)
        if platform.peer_of(env) is not None:
            written[cross_tenant_part(env)] = stack_json_path(cross_tenant_part(env), out_root)
    return written


def lock_every_stack(out: Path) -> None:
    """The providers' lock file beside every stack synthesized into `out` (infra/toolchain)."""
    for path in sorted(out.glob("stacks/*/cdk.tf.json")):
        place_lock(json.loads(path.read_text()), path.parent)


# Set to 1 for the very first apply of an env, before its state bucket exists (docs/infra.md).
BOOTSTRAP_ENV_VAR = "MLOPS_BOOTSTRAP_STATE"


def cli_app(env: str) -> None:
    """Entry point of envs/<env>/main.py, the app the cdktf CLI runs: the one place that
    reads the bootstrap choice from the environment and hands it to the stack."""
    load_lazily()
    from infra.stack import build_app

    try:
        bootstrap = os.environ.get(BOOTSTRAP_ENV_VAR) == "1"
        app = build_app(load_platform(), env, bootstrap_state=bootstrap)
        app.synth()
        lock_every_stack(Path(app.outdir))
        warn_placeholders()
    except UserError as exc:
        print(f"envs/{env}/main.py: error: {exc}", file=sys.stderr)
        sys.exit(2)


def warn_placeholders() -> None:
    """Name, on stderr, every settings value still at the example the repository ships."""
    from settings.placeholders import placeholders

    found = placeholders(load_platform())
    if found:
        print("settings still at their examples (replace before deploying):", file=sys.stderr)
        for line in found:
            print(f"  {line}", file=sys.stderr)
