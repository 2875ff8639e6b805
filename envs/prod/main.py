"""CDKTF app of the prod env: wiring only. Settings: settings.toml; stacks: infra/."""

from infra.synth import cli_app

cli_app("prod")
