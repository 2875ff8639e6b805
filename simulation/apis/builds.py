"""A build run as Cloud Build runs it, against the simulated cloud: the commit's files in a
workspace of their own, then each step in order as the build's service account (its Google
clients and the stand-in tools take their tokens from the simulation's metadata server),
the first failing step ending the build. The simulated Cloud Build's builds all run here."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from settings import REPO_ROOT
from simulation.apis.build_steps import Step

TOOLS = Path(__file__).parents[1] / "ci" / "tools"  # the stand-in docker, gcloud, terraform
LINKED = (".venv", "node_modules", ".tools")  # installed, not copied (make install's output)
EDIT = "\n# changed by the simulated event\n"


@dataclass(frozen=True)
class Source:
    """What a build checks out: this checkout's files, at the commit an event names, with
    the event's changed files edited (a commit that touches them)."""

    root: Path
    commit: str  # 40 hex digits
    branch: str = ""
    edits: tuple[str, ...] = ()  # files the commit touches (a comment line appended)
    contents: tuple[tuple[str, str], ...] = ()  # files the commit rewrites: (path, text)

    @classmethod
    def head(
        cls, root: Path = REPO_ROOT, branch: str = "", edits: tuple[str, ...] = (),
        contents: tuple[tuple[str, str], ...] = (),
    ) -> Source:  # fmt: skip
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=False)  # fmt: skip
        head = done.stdout.strip() or "0" * 40
        # a commit's name is 40 hex digits: a changed tree gets one of its own
        named = hashlib.sha256(repr((head, edits, contents)).encode()).hexdigest()[:40]
        commit = named if edits or contents else head
        return cls(root, commit, branch, tuple(edits), tuple(contents))


def files_of(root: Path) -> list[str]:
    """A clone's files: tracked and new ones, as `git ls-files` lists them (ignored ones are
    not in a commit)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root, capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip
    return [name for name in listed.split("\0") if name and (root / name).is_file()]


def checkout(source: Source, folder: Path) -> Path:
    """The source's files in `folder` (mtimes kept, so `make` sees the install up to date),
    the installed environment linked, each edited file changed."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in files_of(source.root):
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source.root / name, target)
    for name in LINKED:
        if (source.root / name).exists():
            (folder / name).symlink_to(source.root / name)
    for name in source.edits:
        path = folder / name
        if path.suffix in (".py", ".toml", ".yaml", ".md", ".txt", ".sh") or not path.suffix:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a") as changed:
                changed.write(EDIT)
    for name, text in source.contents:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def builtins(source: Source, project: str, build_id: str, trigger: str) -> dict[str, str]:
    """Cloud Build's own substitutions for a build of `source`."""
    return {
        "PROJECT_ID": project, "BUILD_ID": build_id, "COMMIT_SHA": source.commit,
        "SHORT_SHA": source.commit[:7], "REVISION_ID": source.commit,
        "BRANCH_NAME": source.branch, "TRIGGER_NAME": trigger, "REPO_NAME": source.root.name,
    }  # fmt: skip


def environment(sim: Any, identity: str, workspace: Path) -> dict[str, str]:
    """A step's environment: the identity's metadata server and endpoints, the stand-in tools
    first on PATH, and the workspace's code before the installed one."""
    path = f"{TOOLS}:{os.environ.get('PATH', '')}"
    python_path = os.pathsep.join(filter(None, [str(workspace), os.environ.get("PYTHONPATH")]))
    return {
        **os.environ, **sim.environ(identity), "PATH": path, "PYTHONPATH": python_path,
        "MLOPS_SIM_PYTHON": sys.executable, "MLOPS_SIM_DOCKER": str(workspace / ".docker.json"),
        "HOME": str(workspace / ".home"),
    }  # fmt: skip


def run_step(step: Step, workspace: Path, env: dict[str, str], seconds: float) -> tuple[int, str]:
    """(exit code, output) of one step, in a process group of its own: a step that outlives
    the build's timeout is ended with everything it started (a shell's children too)."""
    process = subprocess.Popen(
        list(step.command), cwd=workspace / step.dir, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        out, _ = process.communicate(timeout=max(seconds, 0.0))
    except BaseException:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return process.returncode, out


def execute(build: Any, steps: list[Step], sim: Any, workspace: Path, limit: float) -> None:
    """Run `steps` in `workspace` as `build.service_account`, recording each on `build`
    (id, status, exit, log, seconds, and the wire entries the step caused: `calls`)."""
    env = environment(sim, build.service_account, workspace)
    (workspace / ".home").mkdir(exist_ok=True)
    deadline = time.monotonic() + limit
    build.status = "WORKING"
    for step in steps:
        if step.stood_in:
            build.steps.append({"id": step.id, "status": "STOOD_IN", "exit": 0,
                                "log": step.stood_in, "calls": (0, 0)})  # fmt: skip
            continue
        started, first = time.monotonic(), len(sim.wire)
        record: dict[str, Any] = {"id": step.id, "command": step.command}
        try:
            code, log = run_step(step, workspace, {**env, **step.env}, deadline - started)
            record.update(status="SUCCESS" if code == 0 else "FAILURE", exit=code, log=log)
        except subprocess.TimeoutExpired:
            record.update(status="TIMEOUT", exit=-1, log="")
        except OSError as exc:  # no such dir or command: the step fails, as in Cloud Build
            record.update(status="FAILURE", exit=-1, log=str(exc))
        record.update(seconds=round(time.monotonic() - started, 1), calls=(first, len(sim.wire)))
        build.steps.append(record)
        if record["status"] != "SUCCESS":
            build.status = record["status"]
            return
    build.status = "SUCCESS"
