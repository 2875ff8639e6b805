"""`cdktf synth` (the pinned npm CLI) and `mlops synth` write the same JSON for every env."""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from infra.layout import env_of, stack_name
from settings import ENVS_DIR, REPO_ROOT

pytestmark = pytest.mark.slow  # synthesizes the stacks or starts the simulated cloud

CDKTF = REPO_ROOT / "node_modules" / ".bin" / "cdktf"


def cli_synth(env: str, out) -> dict[str, dict]:
    """Every stack `cdktf synth` writes for `env`'s app, by part."""
    assert CDKTF.exists(), "the cdktf CLI is missing: run `make install` (npm ci)"
    proc = subprocess.run(
        [str(CDKTF), "synth", "--output", str(out)],
        cwd=ENVS_DIR / env,
        capture_output=True,
        text=True,
        env={**os.environ, "CHECKPOINT_DISABLE": "1", "CI": "1"},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {
        path.parent.name.removeprefix(stack_name("")): json.loads(path.read_text())
        for path in (out / "stacks").glob("*/cdk.tf.json")
    }


def test_cdktf_cli_synth_matches_mlops_synth(stacks, tmp_path):
    envs = sorted({env_of(part) for part in stacks})
    with ThreadPoolExecutor(max_workers=len(envs)) as pool:
        results = pool.map(lambda env: cli_synth(env, tmp_path / env), envs)
        from_cli = {part: stack for by_part in results for part, stack in by_part.items()}
    assert from_cli == stacks
