"""One run per workspace: a second one fails at once, naming the run in progress; a killed
run leaves nothing locked."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from kernel.workspace import RunInProgress, one_run_at_a_time, run_in_progress
from pipelines import params
from pipelines.runner import run_local
from settings import load_platform

HOLD = """
import sys, time
from pathlib import Path
from kernel.workspace import one_run_at_a_time
with one_run_at_a_time(Path(sys.argv[1]), "20261122-070000-1"):
    print("holding", flush=True)
    time.sleep(3600)  # killed by the test
"""


@pytest.mark.slow
def test_a_second_run_fails_at_once_naming_the_first(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        run_params = params.build(load_platform(), "staging", {}, local=True)
        with pytest.raises(RunInProgress) as info:
            run_local(run_params, tmp_path, out=io.StringIO())
        message = str(info.value)
        assert message.startswith(f"another run is in progress in {tmp_path}: run 20261122-")
        assert f"(pid {holder.pid}, started " in message
        holding = run_in_progress(tmp_path)  # what `mlops runs` asks: never waits
        assert holding is not None and f"(pid {holder.pid}, " in holding
    finally:
        holder.kill()  # killed, not stopped: the lock must die with it
        holder.wait()
    assert run_in_progress(tmp_path) is None  # a killed run is not "running"
    assert run_in_progress(tmp_path / "never-used") is None
    with one_run_at_a_time(tmp_path, "next"):
        assert "run next (pid" in (tmp_path / "run.lock").read_text()
    assert (tmp_path / "run.lock").read_text() == ""


HOLD_PROD = """
import sys, time
from pathlib import Path
from kernel.workspace import changing_prod
with changing_prod(Path(sys.argv[1]), "run r1: deploy"):
    print("holding", flush=True)
    time.sleep(3600)  # killed by the test
"""


@pytest.mark.slow
def test_a_canary_waits_for_a_deploy_and_names_it_when_the_wait_ends(tmp_path):
    """A canary judged inside a deploy's copy window left traffic split over the wrong
    versions; now every change to prod holds one lock, and a command that cannot get it in
    time exits 5 (wait) naming the holder."""
    import os

    prod = tmp_path / "census-ml-prod"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_PROD, str(prod)], stdout=subprocess.PIPE, text=True
    )
    command = [sys.executable, "-m", "mlops.cli", "canary", "--workspace", str(tmp_path)]
    env = {**os.environ, "MLOPS_PROD_LOCK_TIMEOUT": "0.5"}
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        busy = subprocess.run(command, env=env, capture_output=True, text=True)
        assert busy.returncode == 5, busy.stderr
        assert "prod is being changed by run r1: deploy (pid " in busy.stderr
        assert "waited 0.5 s" in busy.stderr and "Traceback" not in busy.stderr
    finally:
        holder.kill()  # the lock dies with its holder
        holder.wait()
    free = subprocess.run(command, env=env, capture_output=True, text=True)
    assert free.returncode == 6, free.stderr  # judged at once: nothing deployed to judge
