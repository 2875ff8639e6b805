"""`cdktf synth` (the pinned npm CLI) and `mlops synth` write the same JSON for every env."""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

from infra.layout import stack_name
from settings import ENVS_DIR, REPO_ROOT

CDKTF = REPO_ROOT / "node_modules" / ".bin" / "cdktf"


def cli_synth(env: str, out) -> dict:
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
    return json.loads((out / "stacks" / stack_name(env) / "cdk.tf.json").read_text())


def test_cdktf_cli_synth_matches_mlops_synth(stacks, tmp_path):
    envs = list(stacks)
    with ThreadPoolExecutor(max_workers=len(envs)) as pool:
        results = pool.map(lambda env: cli_synth(env, tmp_path / env), envs)
        for env, from_cli in zip(envs, results, strict=True):
            assert from_cli == stacks[env], env
