"""The layers hold at run time too: what a component, the trainer, the server, the monitor
and the retraining function import, in a fresh interpreter."""

import json
import subprocess
import sys

import pytest

CDKTF = {"infra", "cdktf", "constructs", "cdktf_cdktf_provider_google", "jsii"}


@pytest.mark.slow
@pytest.mark.parametrize(
    "modules",
    [
        ["trainer.task"],
        ["pipelines.components", "pipelines.pipeline", "pipelines.runner", "adapters.wiring"],
        ["serving.app", "serving.models", "serving.__main__"],
        ["monitoring.monitor", "monitoring.profiles"],
        ["pipelines.trigger.handler", "pipelines.submit"],
        ["settings"],
    ],
)
def test_no_cdktf_or_infra_outside_infra(modules):
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    loaded = set(json.loads(subprocess.check_output([sys.executable, "-c", code], text=True)))
    assert not loaded & CDKTF


@pytest.mark.slow
def test_importing_settings_and_infra_changes_nothing():
    code = (
        "import os, sys; before = dict(os.environ), set(sys.modules)\n"
        "import settings, infra, infra.iam, infra.policy.rules\n"
        "assert dict(os.environ) == before[0], 'environment changed'\n"
        "assert 'cdktf_cdktf_provider_google' not in sys.modules, 'provider loaded'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
