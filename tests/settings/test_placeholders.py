"""Every settings value still at its shipped example is named, with the file and the fix."""

import subprocess
import sys

import pytest

from settings.placeholders import placeholders


def test_the_shipped_examples_are_all_named(platform):
    found = placeholders(platform)
    for env in ("dev", "staging", "prod"):
        assert any(f"envs/{env}/settings.toml: project_number is the example" in f for f in found)
    assert any("envs/prod/settings.toml: monitoring.emails" in f for f in found)
    assert sum("github_owner" in f for f in found) == 3


def test_a_real_value_is_no_longer_named(platform):
    prod = platform["prod"].model_copy(update={"project_number": "482917365012"})
    real = platform.model_copy(update={"envs": {**platform.envs, "prod": prod}})
    assert not [f for f in placeholders(real) if "envs/prod/settings.toml: project_number" in f]


@pytest.mark.slow
def test_synth_names_them_on_stderr(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "mlops.cli", "synth", "--env", "dev"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "settings still at their examples" in done.stderr
    assert "envs/dev/settings.toml: project_number is the example 100000000001" in done.stderr
