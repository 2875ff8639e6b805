"""Where synthesized stacks go and what they are called: what `cdktf synth` would write."""

from __future__ import annotations

from pathlib import Path

from settings import ENVS_DIR


def outdir(env: str, out_root: Path = ENVS_DIR) -> Path:
    """`envs/<env>/cdktf.out`, where the cdktf CLI writes; tests pass another root."""
    return out_root / env / "cdktf.out"


def stack_name(env: str) -> str:
    return f"census-ml-{env}"


def stack_json_path(env: str, out_root: Path = ENVS_DIR) -> Path:
    return outdir(env, out_root) / "stacks" / stack_name(env) / "cdk.tf.json"
