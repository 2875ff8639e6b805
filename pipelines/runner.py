"""`mlops run --local`: the promotion pipeline on kfp.local, with progress and a summary.

kfp.local prints every task's executor input and output; the full text goes to the run's
log file, and the terminal gets one line per step plus the steps' own progress lines.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from kfp import local

from adapters import wiring
from kernel.errors import Failed, UserError
from kernel.names import PIPELINE_NAME, STEP_NAMES
from kernel.workspace import LocalTenant, evaluation_report, one_run_at_a_time
from pipelines import summary as summary_lines
from pipelines.params import PipelineParams
from pipelines.pipeline import LOCAL_IMAGE, build
from pipelines.warm_executor import warm_steps

ANSI = re.compile(r"\x1b\[[0-9;]*m")
TASK_START = re.compile(r"Executing task '([\w-]+)'")
TASK_END = re.compile(r"Task '([\w-]+)' finished with status (\w+)")
STEP_LINE = re.compile(rf"^\s*(?:(?:{'|'.join(STEP_NAMES)}): |training: )")


@dataclass
class Progress(io.TextIOBase):
    """Tees kfp.local's output: everything to the log, the essentials to the terminal."""

    log: io.TextIOBase
    out: io.TextIOBase
    started: dict = field(default_factory=dict)
    durations: dict = field(default_factory=dict)
    tail: list = field(default_factory=list)
    _buffer: str = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._buffer += text
        *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            self._line(ANSI.sub("", line))
        return len(text)

    def _line(self, line: str) -> None:
        self.log.write(line + "\n")
        self.tail = [*self.tail[-40:], line]
        if m := TASK_START.search(line):
            self.started[m.group(1)] = time.perf_counter()
            self._say(f"▶ {m.group(1)}")
        elif m := TASK_END.search(line):
            name, status = m.groups()
            took = time.perf_counter() - self.started.get(name, time.perf_counter())
            self.durations[name] = took
            mark = "✔" if status == "SUCCESS" else "✘"
            self._say(f"{mark} {name} {status.lower()} in {took:.1f}s")
        elif STEP_LINE.match(line):
            self._say("    " + line.strip())

    def _say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def error_line(self) -> str:
        """The last exception line the failed task printed, for a one-line failure."""
        for line in reversed(self.tail):
            text = line.strip()
            if re.match(r"^[\w.]+(Error|Exception|Failed)\b.*?: ", text):
                return text
        return "see the run log"


@dataclass
class RunResult:
    run_dir: Path
    log_path: Path
    durations: dict
    decision: dict
    evaluation: dict
    report: Path | None
    deployment: dict | None
    traffic: dict
    aliases: dict
    wall_seconds: float
    approval: dict | None = None  # promotion = "approval": the candidate prod will deploy
    cost: dict | None = None  # the run's cost estimate (promotion.domain.cost)

    @property
    def run_id(self) -> str:
        return self.run_dir.name  # kfp.local names the run's folder after the job


def run_local(params: PipelineParams, workspace: Path, out=sys.stdout) -> RunResult:
    staging = LocalTenant(workspace, params.tenants.staging_project)
    pipeline_root = staging.bucket(params.tenants.staging_pipeline_root) / "runs"
    pipeline_root.mkdir(parents=True, exist_ok=True)
    log_dir = workspace / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    run = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    with one_run_at_a_time(workspace, run):  # one run per workspace: its log is its own
        preflight(params, workspace)
        try:
            result = _run(params, workspace, pipeline_root, log_dir / f"run-{run}.log", out)
        except PipelineFailed as failed:
            record_failure(failed, params, workspace, fallback_id=f"{PIPELINE_NAME}-{run}")
            raise
        record_run(result, params, workspace)
        return result


def preflight(params: PipelineParams, workspace: Path) -> None:
    """What the run will read or write can be read now: the staging warehouse (the steps
    write it, the run is recorded in it) and prod's endpoint, registry and monitoring state
    (decide and deploy read them). A damaged file is one line naming it and the fix, exit 8,
    before any step runs: not a failed step minutes later, nor a step writing into it."""
    wiring.open_staging("local", str(workspace), params.tenants).runs.records()
    prod = wiring.open_prod("local", str(workspace), params.tenants)
    prod.endpoint.state()
    prod.registry.versions()
    prod.monitoring.current()


def record_failure(
    failed: PipelineFailed, params: PipelineParams, workspace: Path, fallback_id: str
) -> None:
    """A failed run is listed too (`mlops runs`: FAILED and the step), under the id its
    steps recorded with, or the runner's own when it failed before kfp named it."""
    staging = wiring.open_staging("local", str(workspace), params.tenants)
    try:
        staging.runs.record(
            failed.run_id or fallback_id,
            "run",
            {
                "status": "failed",
                "commit": params.commit,
                "failed_step": failed.step,
                "error": failed.error,
                "log": str(failed.log_path),
                "wall_seconds": round(failed.wall_seconds, 3),
            },
        )
    except UserError as exc:  # the warehouse damaged or held: the step's failure still shows
        print(f"mlops run: warning: the failed run could not be recorded: {exc}", file=sys.stderr)


def record_run(result: RunResult, params: PipelineParams, workspace: Path) -> None:
    """The runner's own record of the run: measured durations and the cost they imply on
    Vertex AI (the train step priced on the staging env's training machine)."""
    from promotion.domain import cost
    from settings import load_platform, load_prices

    platform = load_platform()
    machines = {
        s.pipeline.training_machine_type
        for s in platform.envs.values()
        if s.pipeline and s.project_id == params.tenants.staging_project
    }
    fallback = platform["staging"].pipeline
    if not machines and fallback is not None:
        machines = {fallback.training_machine_type}
    (machine,) = machines

    facts = cost.run_facts(
        load_prices(),
        training_machine=machine,
        durations=result.durations,
        wall_seconds=result.wall_seconds,
        table_bytes=_size(result.run_dir / "ingest" / "train_data"),
        stored_bytes=_size(result.run_dir),
    )
    result.cost = facts["cost"]
    staging = wiring.open_staging("local", str(workspace), params.tenants)
    staging.runs.record(result.run_id, "run", facts)


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _run(params: PipelineParams, workspace: Path, pipeline_root: Path, log_path, out):
    pipeline = build("local", LOCAL_IMAGE, params.tenants)
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(pipeline_root))
    before = set(pipeline_root.iterdir())
    started = time.perf_counter()
    values = {**params.run_values(), "workspace": str(workspace)}
    with open(log_path, "w") as log:
        progress = Progress(log=log, out=out)
        real_stdout = sys.stdout
        sys.stdout = progress
        try:
            with warm_steps():
                pipeline(**values)
        except RuntimeError as exc:
            failed = re.search(r"Inner task failed: '([\w-]+)'", ANSI.sub("", str(exc)))
            new = sorted(set(pipeline_root.iterdir()) - before, key=lambda p: p.stat().st_mtime)
            raise PipelineFailed(
                step=failed.group(1) if failed else "?",
                error=progress.error_line(),
                log_path=log_path,
                run_id=new[-1].name if new else None,
                wall_seconds=time.perf_counter() - started,
            ) from None
        finally:
            sys.stdout = real_stdout
    wall = time.perf_counter() - started
    run_dirs = sorted(set(pipeline_root.iterdir()) - before, key=lambda p: p.stat().st_mtime)
    if not run_dirs:
        raise Failed(f"kfp.local wrote no run under {pipeline_root}")
    return _result(run_dirs[-1], log_path, progress.durations, params, workspace, wall)


class PipelineFailed(Failed):
    """A step failed; the message names it, its last error line and the full log."""

    def __init__(
        self, *, step: str, error: str, log_path: Path, run_id: str | None, wall_seconds: float
    ):
        super().__init__(f"step '{step}' failed: {error} (full log: {log_path})")
        self.step, self.error, self.log_path = step, error, log_path
        self.run_id, self.wall_seconds = run_id, wall_seconds


def _read_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _result(run_dir, log_path, durations, params, workspace, wall) -> RunResult:
    prod = wiring.open_prod("local", str(workspace), params.tenants)
    aliases = {a: v.version for v in prod.registry.versions() for a in v.aliases}
    report = run_dir / "evaluate" / "report"
    if report.is_file():  # KFP names it "report"; a person wants a file a browser opens
        friendly = workspace / "reports" / evaluation_report(run_dir.name)
        friendly.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(report, friendly)
        report = friendly
    return RunResult(
        run_dir=run_dir,
        log_path=log_path,
        durations=durations,
        decision=_read_json(run_dir / "decide" / "decision") or {},
        evaluation=_read_json(run_dir / "evaluate" / "evaluation") or {},
        report=report if report.is_file() else None,
        deployment=_read_json(run_dir / "deploy" / "deployment"),
        approval=_read_json(run_dir / "approve" / "approval"),
        traffic=prod.endpoint.state().traffic,
        aliases=aliases,
        wall_seconds=wall,
    )


EVALUATED = ("accuracy", "roc_auc", "log_loss", "f1", "precision", "recall",
             "slice_accuracy_gap", "trainer", "search")  # fmt: skip


def as_json(result: RunResult) -> dict:
    """`mlops run --local --json`: what the summary says, as one document."""
    return {
        "run_id": result.run_id,
        "decision": result.decision,
        "evaluation": {
            name: {k: m[k] for k in EVALUATED if k in m} for name, m in result.evaluation.items()
        },
        "deployment": result.deployment,
        "approval": result.approval,
        "traffic": result.traffic,
        "aliases": result.aliases,
        "report": str(result.report) if result.report else None,
        "log": str(result.log_path),
        "durations": result.durations,
        "wall_seconds": round(result.wall_seconds, 3),
        "cost": result.cost,
    }


def summary(result: RunResult) -> str:
    d = result.decision
    chosen = d.get("trainer", "custom")
    lines = [
        "",
        f"census promotion ({PIPELINE_NAME}) finished in {result.wall_seconds:.1f}s",
        summary_lines.decision_line(d),
        *summary_lines.evaluation_lines(result.evaluation, chosen),
    ]
    if result.deployment:
        lines.append(
            f"  deployed : version {result.deployment['version']}; smoke test "
            f"{result.deployment['smoke']}"
        )
    if result.approval:
        lines.append(
            f"  approved : {result.approval['candidate_uri']} awaits prod's deploy "
            f"(mlops deploy --candidate {result.approval['candidate_uri']} "
            f"--digest {result.approval['digest']})"
        )
    traffic = ", ".join(f"v{v} {p}%" for v, p in result.traffic.items()) or "no traffic"
    aliases = ", ".join(f"{a}=v{v}" for a, v in sorted(result.aliases.items())) or "none"
    lines += [
        f"  endpoint : {traffic}   (aliases: {aliases})",
        f"  report   : {result.report}",
        f"  run log  : {result.log_path}",
        "  steps    : "
        + ", ".join(f"{n} {result.durations[n]:.1f}s" for n in STEP_NAMES if n in result.durations),
    ]
    if result.cost:
        parts = ", ".join(
            f"{line['item'].split(' (')[0]} ${line['usd']:.4f}" for line in result.cost["lines"]
        )
        lines.append(
            f"  cost     : ${result.cost['total_usd']:.4f} on Vertex AI at list prices ({parts}); "
            f"`mlops runs` lists run {result.run_id}"
        )
    return "\n".join(lines)
