"""kfp.local tasks forked from a warm server: same command, own process, same outputs."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from kfp import dsl, local
from kfp.dsl import Dataset, Output
from kfp.local import subprocess_task_handler

from pipelines import components, warm_executor
from pipelines.warm_executor import parse_command, warm_steps


def probe(tag: str, data: Output[Dataset]) -> str:
    import json
    import os

    global MARK
    seen = globals().get("MARK")  # a task must not see what an earlier task set
    MARK = tag
    with open(data.path, "w") as f:
        json.dump({"pid": os.getpid(), "seen": seen, "env": os.environ.get("PROBE_ENV")}, f)
    print(f"probe: {tag} in {os.getpid()}")
    return f"{tag}:{os.environ.get('PROBE_ENV')}"


def fails():
    raise ValueError("the step's own error")


PROBE = dsl.component(probe, base_image="python:3.11", install_kfp_package=False)
FAILS = dsl.component(fails, base_image="python:3.11", install_kfp_package=False)


def command_of(component) -> list[str]:
    container = component.pipeline_spec.deployment_spec["executors"]["exec-" + component.name][
        "container"
    ]
    return [*container["command"], *container["args"]]


def test_the_command_kfp_builds_is_the_one_parsed():
    command = command_of(PROBE)
    task = parse_command(command)
    assert task is not None and "def probe(" in task.source
    assert task.args[task.args.index("--function_to_execute") + 1] == "probe"


@pytest.mark.parametrize(
    "command",
    [
        ["python3", "-m", "kfp.dsl.executor_main", "--executor_input", "{}"],  # containerized
        ["sh", "-c", "python3 -m pip install x && python3 -m kfp.dsl.executor_main", "src"],
        ["sh", "-ec", "echo hello", "src", "--function_to_execute", "f", "--executor_input", "{}"],
    ],
)
def test_other_commands_are_left_to_kfp_local(command):
    assert parse_command(command) is None


def test_the_preload_is_what_the_components_import():
    modules = warm_executor.preload_modules()
    assert {"promotion.steps.staging", "pipelines.context", "settings"} <= set(modules)
    assert "lightgbm" in modules and "pipelines.components" in modules
    assert warm_executor.component_imports([components.validate]) == [
        "pathlib",
        "pipelines.context",
        "promotion.steps",
        "promotion.steps.staging",
    ]


@pytest.fixture
def kfp_local(tmp_path):
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path))


def read(dataset) -> dict:
    import json

    with open(dataset.path) as f:
        return json.load(f)


@pytest.mark.slow
def test_each_task_is_its_own_process_with_the_runs_environment(kfp_local, monkeypatch, capsys):
    original = subprocess_task_handler.run_local_subprocess
    with warm_steps(preload=["json"]):
        monkeypatch.setenv("PROBE_ENV", "set after the server started")
        first, second = PROBE(tag="one"), PROBE(tag="two")
    assert subprocess_task_handler.run_local_subprocess is original  # restored
    from multiprocessing import forkserver

    assert forkserver._forkserver._forkserver_pid is None  # and its server ended with it
    assert first.outputs["Output"] == "one:set after the server started"
    a, b = read(first.outputs["data"]), read(second.outputs["data"])
    assert len({a["pid"], b["pid"], os.getpid()}) == 3
    assert a["seen"] is None and b["seen"] is None  # no state carried between tasks
    out = capsys.readouterr().out
    assert f"probe: one in {a['pid']}" in out and f"probe: two in {b['pid']}" in out


@pytest.mark.slow
def test_a_failing_task_fails_with_its_traceback_streamed(kfp_local, capsys):
    with warm_steps(preload=[]), pytest.raises(RuntimeError, match="finished with status"):
        FAILS()
    out = capsys.readouterr().out
    assert "ValueError: the step's own error" in out
    assert "multiprocessing" not in out  # the step's traceback, not the fork server's


def test_exit_codes_read_as_a_shell_reports_them():
    assert warm_executor._exit_code(0) == 0 and warm_executor._exit_code(1) == 1
    assert warm_executor._exit_code(-9) == 137 and warm_executor._exit_code(None) == 1


SCRIPT_WITHOUT_GUARD = """
import sys, tempfile
from kfp import local
from pipelines.warm_executor import warm_steps
sys.path.insert(0, {tests!r})
from test_warm_executor import PROBE
print("script body ran", flush=True)
local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=tempfile.mkdtemp())
with warm_steps(preload=["json"]):
    print("result", PROBE(tag="x").outputs["Output"], flush=True)
"""


@pytest.mark.slow
def test_a_script_without_a_main_guard_runs_once_not_once_per_task(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(SCRIPT_WITHOUT_GUARD.format(tests=str(Path(__file__).parent)))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("script body ran") == 1 and "result x:None" in done.stdout
