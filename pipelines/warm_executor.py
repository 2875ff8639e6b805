"""kfp.local's steps, each in a fresh process forked from one that imported the libraries once.

kfp.local's SubprocessRunner starts `sh -c 'python3 -m kfp.dsl.executor_main ...'` per task: a
new interpreter that imports kfp, pandas, LightGBM, scikit-learn, DuckDB and the repository
before the step does any work (seconds per step, even for a step that skips itself). Here a
multiprocessing fork server imports them once; each task is a new process forked from that
server, runs the same `kfp.dsl.executor_main` on the same command line, and exits. A step
still gets its own process (its own memory, globals, exit status and environment) and reads
and writes its KFP inputs and outputs exactly as before; only the import is shared.

A command this does not recognise (a pip install, a container component) runs the way
kfp.local runs it. The fork server is a child of the run and ends with it.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import inspect
import multiprocessing
import os
import sys
import tempfile
import traceback
import types
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from kfp.dsl import component_factory
from kfp.local import subprocess_task_handler

# Libraries the steps' code imports inside functions; the repository's own modules are found
# from the component bodies (component_imports).
THIRD_PARTY = (
    "kfp.dsl.executor_main",
    "google_cloud_pipeline_components.types.artifact_types",
    "numpy",
    "pandas",
    "pyarrow.parquet",
    "duckdb",
    "lightgbm",
    "sklearn.metrics",
    "matplotlib.pyplot",
    "pydantic",
)


@dataclass(frozen=True)
class Task:
    """A lightweight component's command line, as kfp.local builds it."""

    source: str  # the component module KFP ships (imports + the function)
    args: list[str]  # --executor_input ... --function_to_execute ...


def parse_command(full_command: Sequence[str]) -> Task | None:
    """The task in kfp.local's `sh -ec <script> <source> <args...>`, or None if it is not a
    plain lightweight component (pip installs, container components, other shapes)."""
    if len(full_command) < 4 or list(full_command[:2]) != ["sh", "-ec"]:
        return None
    script, source, *args = full_command[2:]
    if component_factory.EXECUTOR_MODULE not in script or "pip" in script:
        return None
    if "--function_to_execute" not in args or "--executor_input" not in args:
        return None
    return Task(source=source, args=list(args))


def component_imports(functions: Iterable[Callable]) -> list[str]:
    """The modules the functions import in their bodies, in first-seen order (for
    `from package import name`, the package and, when it is one, the submodule)."""
    seen: dict[str, None] = {}
    for function in functions:
        tree = ast.parse(inspect.getsource(function))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                seen.update((alias.name, None) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                seen[node.module] = None
                for alias in node.names:
                    if _is_module(f"{node.module}.{alias.name}"):
                        seen[f"{node.module}.{alias.name}"] = None
    return list(seen)


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def preload_modules() -> list[str]:
    """What the fork server imports: the libraries, then what the components import."""
    from pipelines import components
    from pipelines.pipeline import COMPONENT_NAMES

    modules = component_imports(getattr(components, n) for n in COMPONENT_NAMES)
    return list(dict.fromkeys([*THIRD_PARTY, "pipelines.components", *modules]))


# Modules that read the environment when imported: a task's environment is set after the
# fork, so they are read again (google-auth takes the metadata server's address at import;
# the simulated cloud gives each identity its own).
READ_ENVIRONMENT_AT_IMPORT = ("google.auth.compute_engine._metadata",)


def _execute(task: Task, env: dict[str, str], cwd: str, out, prepare) -> None:
    """In the forked child: the same executor_main kfp.local would have run, its output to
    `out` (a pipe's end, or a file's path), after `prepare()` if given."""
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC) if isinstance(out, str) else None
    sink = fd if fd is not None else out.fileno()
    os.dup2(sink, 1)
    os.dup2(sink, 2)
    os.close(fd) if fd is not None else out.close()
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 - the process's own
    sys.stderr = sys.stdout
    code = 0
    try:
        os.environ.clear()
        os.environ.update(env)
        os.environ["_KFP_RUNTIME"] = "true"
        for name in READ_ENVIRONMENT_AT_IMPORT:
            if name in sys.modules:
                importlib.reload(sys.modules[name])
        os.chdir(cwd)
        if prepare is not None:
            prepare()
        with tempfile.TemporaryDirectory() as program_path:
            module = os.path.join(program_path, "ephemeral_component.py")
            with open(module, "w") as f:
                f.write(task.source)
            sys.argv = ["executor_main", "--component_module_path", module, *task.args]
            from kfp.dsl import executor_main

            executor_main.executor_main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # as an interpreter reports an uncaught error: traceback, exit 1
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    os._exit(code)  # no multiprocessing epilogue: the task's exit is the step's status


class WarmExecutor:
    """A fork server with the steps' imports done, and the task runner kfp.local calls."""

    def __init__(self, preload: Sequence[str]):
        self._context = multiprocessing.get_context("forkserver")
        self._preload = list(preload)
        self._fallback = subprocess_task_handler.run_local_subprocess

    def run(self, full_command: list[str], env_vars: dict[str, str] | None = None) -> int:
        """Drop-in for kfp.local's run_local_subprocess: stream the task's output, return
        its exit code."""
        task = parse_command(full_command)
        if task is None:
            return self._fallback(full_command=full_command, env_vars=env_vars)
        reader, writer = self._context.Pipe(duplex=False)
        try:
            process = self._start(task, {**os.environ, **(env_vars or {})}, writer, None)
            writer.close()
            _stream(reader.fileno())
        finally:
            reader.close()
        process.join()
        print("\n")  # kfp.local's visual separation after a task's logs
        return _exit_code(process.exitcode)

    def warm_up(self) -> None:
        """Start the fork server now, so its imports overlap the caller's other work."""
        from multiprocessing import forkserver

        self._context.set_forkserver_preload(self._preload)
        forkserver.ensure_running()

    def run_to_file(
        self, task: Task, env: dict[str, str], log: str, prepare: Callable[[], None] | None
    ) -> int:
        """The task with its output in `log`, after `prepare()` in its process; its exit code."""
        process = self._start(task, env, log, prepare)
        process.join()
        return _exit_code(process.exitcode)

    def _start(self, task: Task, env: dict[str, str], out, prepare):
        # the fork server is one per interpreter: this list is what it imports if this start
        # is the one that starts it (it may have been stopped by another user)
        self._context.set_forkserver_preload(self._preload)
        process = self._context.Process(
            target=_execute, args=(task, env, os.getcwd(), out, prepare), daemon=True
        )
        with _main_left_behind():
            process.start()
        return process


@contextlib.contextmanager
def _main_left_behind() -> Iterator[None]:
    """multiprocessing re-imports the caller's __main__ in the child (as __mp_main__): a
    script that calls the runner without an `if __name__ == "__main__"` guard would run
    again in every task, recursively. The task needs nothing from it: it is not sent."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _stream(fd: int) -> None:
    pending = b""
    while chunk := os.read(fd, 65536):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            print(line.decode(errors="replace"))
    if pending:
        print(pending.decode(errors="replace"))


def _exit_code(exitcode: int | None) -> int:
    """multiprocessing's exit code (negative for a signal) as a shell would report it."""
    if exitcode is None:
        return 1
    return 128 - exitcode if exitcode < 0 else exitcode


@contextlib.contextmanager
def warm_steps(preload: Sequence[str] | None = None) -> Iterator[WarmExecutor]:
    """Within the block, kfp.local runs lightweight components through a WarmExecutor.

    kfp.local has no hook for a task runner: SubprocessTaskHandler calls the module's
    run_local_subprocess, so that function is replaced for the block and restored after.
    """
    executor = WarmExecutor(preload_modules() if preload is None else preload)
    original = subprocess_task_handler.run_local_subprocess
    subprocess_task_handler.run_local_subprocess = executor.run
    try:
        yield executor
    finally:
        subprocess_task_handler.run_local_subprocess = original
        stop_fork_server()


def stop_fork_server() -> None:
    """End the fork server with the block: nothing outlives the run, and the next block
    starts one with its own preload (the server is one per interpreter)."""
    from multiprocessing import forkserver

    stop = getattr(forkserver._forkserver, "_stop", None)  # CPython 3.8+; else it ends at exit
    if stop is not None:
        stop()
