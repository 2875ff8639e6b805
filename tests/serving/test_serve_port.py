"""`mlops serve` on a port it cannot have: one line, its own exit code, and nothing claimed
or opened first (it used to announce it served, print ~40 lines and exit 3)."""

import os
import socket
import subprocess
import sys

import pytest
from serving_fixtures import serving_workspace

from kernel import exit_codes

pytestmark = pytest.mark.slow  # runs `mlops serve` as a user runs it


def serve(workspace, *flags: str, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "mlops.cli", "serve", "--workspace", str(workspace), *flags]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )


def test_a_taken_port_is_one_line_and_exit_7(tmp_path):
    workspace = serving_workspace(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = serve(workspace, "--port", str(port))
    assert done.returncode == exit_codes.PORT_IN_USE
    assert done.stdout == ""  # never claimed to serve
    assert done.stderr == (
        f"mlops serve: error: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(another server, or `mlops serve` still running: stop it, or choose --port)\n"
    )


@pytest.mark.parametrize(
    ("flags", "env", "message"),
    [
        (["--port", "99999"], {}, "argument --port: 99999 is outside 1..65535"),
        (["--port", "http"], {}, "argument --port: 'http' is not a port number"),
        ([], {"AIP_HTTP_PORT": "70000"}, "port 70000 is outside 1..65535"),
    ],
)
def test_a_port_that_cannot_exist_is_refused_before_anything_starts(tmp_path, flags, env, message):
    done = serve(serving_workspace(tmp_path), *flags, env=env)
    assert done.returncode == exit_codes.BAD_INPUT
    assert done.stdout == "" and done.stderr.count("\n") == 1 and message in done.stderr
