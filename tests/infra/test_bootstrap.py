"""The documented bootstrap, played with the real terraform binary as far as this machine
allows (no provider can be downloaded, no bucket reached): the first apply's local backend,
then the switch to the state bucket that docs/infra.md prescribes."""

import os
import re
import shutil
import subprocess

import pytest

from infra.layout import stack_name
from infra.stack import build_app
from settings import REPO_ROOT

pytestmark = pytest.mark.skipif(
    shutil.which("terraform") is None, reason="terraform is not installed on this machine"
)


def init(folder, cli_config, *flags: str) -> str:
    done = subprocess.run(
        ["terraform", "init", "-input=false", "-no-color", *flags],
        cwd=folder,
        env={**os.environ, "TF_CLI_CONFIG_FILE": str(cli_config), "GOOGLE_CREDENTIALS": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout + done.stderr


def documented_commands() -> str:
    text = (REPO_ROOT / "docs" / "infra.md").read_text()
    return text[text.index("### Bootstrapping the state bucket") :]


@pytest.mark.slow
def test_the_documented_switch_to_the_state_bucket_passes_terraforms_backend_check(
    tmp_path, platform
):
    mirror = tmp_path / "mirror"  # an empty provider mirror: init fails fast at providers
    mirror.mkdir()
    cli = tmp_path / "cli.tfrc"
    cli.write_text(f'provider_installation {{ filesystem_mirror {{ path = "{mirror}" }} }}\n')
    build_app(platform, "staging", outdir=str(tmp_path / "boot"), bootstrap_state=True).synth()
    build_app(platform, "staging", outdir=str(tmp_path / "gcs")).synth()
    stack = tmp_path / "boot" / "stacks" / stack_name("staging")
    first = init(stack, cli)
    assert '"type": "local"' in (stack / ".terraform" / "terraform.tfstate").read_text(), first
    # `cdktf synth` without the bootstrap switch writes the GCS backend into the same folder.
    shutil.copyfile(tmp_path / "gcs" / "stacks" / stack_name("staging") / "cdk.tf.json",
                    stack / "cdk.tf.json")  # fmt: skip
    assert "Backend configuration changed" in init(stack, cli)  # why a plain init is wrong
    flags = re.search(r"terraform init ([-a-z ]+?)[\s\\]*&&", documented_commands())
    assert flags, "docs/infra.md shows no terraform init command"
    reconfigured = init(stack, cli, *flags.group(1).split())
    assert "Backend configuration changed" not in reconfigured
    assert "storage.NewClient() failed" in reconfigured  # it went on to reach the bucket
    assert "terraform state push ../../../terraform.bootstrap.tfstate" in documented_commands()
