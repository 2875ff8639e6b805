"""Where synthesized stacks go and what they are called: what `cdktf synth` would write.

Each env's app has its tenant stack (`census-ml-<env>`) and, for staging and prod, a
cross-tenant stack (`census-ml-<env>-cross-tenant`): the grants in the env's project whose
members live in the peer's, applied after both tenant stacks exist (docs/infra.md, "First
apply"). A stack's *part* is its name without the `census-ml-` prefix.
"""

from __future__ import annotations

from pathlib import Path

from settings import ENVS_DIR

CROSS_TENANT = "cross-tenant"


def outdir(env: str, out_root: Path = ENVS_DIR) -> Path:
    """`envs/<env>/cdktf.out`, where the cdktf CLI writes; tests pass another root."""
    return out_root / env / "cdktf.out"


def stack_name(part: str) -> str:
    return f"census-ml-{part}"


def cross_tenant_part(env: str) -> str:
    return f"{env}-{CROSS_TENANT}"


def env_of(part: str) -> str:
    return part.removesuffix(f"-{CROSS_TENANT}")


def is_cross_tenant(part: str) -> bool:
    return part.endswith(f"-{CROSS_TENANT}")


def stack_json_path(part: str, out_root: Path = ENVS_DIR) -> Path:
    return outdir(env_of(part), out_root) / "stacks" / stack_name(part) / "cdk.tf.json"
