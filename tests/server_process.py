"""A real server process on loopback, for the tests that start one."""

from __future__ import annotations

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


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stdout.read()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"server at {url} never became ready")


def start(command: list[str], env: dict, health: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_ready(health, proc)
    return proc


def stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    return out
