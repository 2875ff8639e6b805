"""A real server process on loopback, for the tests that start one."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx


def image_python(folder: Path, *groups: str) -> str:
    """The interpreter of a virtual environment built from the lock as the Dockerfile builds
    an image's: no default groups, the project itself not editable, plus `groups`."""
    from settings import REPO_ROOT

    command = [
        str(REPO_ROOT / ".tools" / "bin" / "uv"),
        "sync",
        "--locked",
        "--no-default-groups",
        *(f"--group={group}" for group in groups),
        "--no-editable",
        "--no-compile-bytecode",
        "--quiet",
    ]
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(folder), "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run(command, cwd=REPO_ROOT, env=env, check=True)
    return str(folder / "bin" / "python")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# Far above what a start needs on any machine: a server that dies is noticed at once by its
# exit, so this only bounds a server that hangs.
READY_DEADLINE = 600
_started: list[subprocess.Popen] = []


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = READY_DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited ({proc.returncode}): {proc.stdout.read()}")
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"server at {url} not ready after {timeout}s and still running")


def start(command: list[str], env: dict, health: str, cwd: str | None = None) -> subprocess.Popen:
    """A server in its own process group, ready; ended by stop(), or at exit if a test fails
    before it could stop it."""
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    _started.append(proc)
    try:
        wait_ready(health, proc)
    except BaseException:
        kill(proc)
        raise
    return proc


def stop(proc: subprocess.Popen) -> str:
    """Interrupt (as Ctrl-C does) and return everything it printed."""
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        kill(proc)
        raise
    return out


def kill(proc: subprocess.Popen) -> None:
    """The process and anything it started, at once."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


@atexit.register
def kill_leftovers() -> None:
    """Servers a failed test never stopped end with the test process, not 48 minutes later."""
    for proc in _started:
        if proc.poll() is None:
            kill(proc)


def mlops_serve(workspace: Path, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """`mlops serve` on a free loopback port over `workspace`, ready: (process, base URL).
    Compiled trees off unless `env` says otherwise (their background compile is not what
    these tests are about)."""
    import sys

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "mlops.cli", "serve", "--workspace", str(workspace)]
    proc = start(
        [*command, "--port", str(port)],
        {"MLOPS_COMPILED_TREES": "off", **(env or {})},
        f"{url}/health",
    )
    return proc, url
