"""A run's facts, merged from what each step recorded; runs compared and traced.

Pure: the RunLog adapters store and return StepRecords, the commands print what these
functions build (docs/lineage.md has the facts each step records).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kernel.names import CUSTOM_TRAINER, STEP_NAMES
from promotion.ports import StepRecord

# The order a run's steps happen in; "run" is the runner's own record (durations, cost).
STEP_ORDER = (*STEP_NAMES, "run")

# Which step's output each step reads (pipelines/pipeline.py; tests/pipelines/test_compile.py
# holds the compiled pipeline to it): the DAG the dashboard draws.
STEP_EDGES = (
    ("ingest", "validate"),
    ("validate", "train"),
    ("validate", "automl"),
    ("train", "evaluate"),
    ("automl", "evaluate"),
    ("train", "export"),
    ("automl", "export"),
    ("evaluate", "decide"),
    ("export", "decide"),
    ("decide", "approve"),
    ("decide", "deploy"),
    ("deploy", "monitor"),
)

# What `compare` puts side by side, in reading order: (section, step, key in its facts).
SECTIONS = (
    ("parameters", "ingest", "commit"),
    ("parameters", "ingest", "parameters"),  # every group, as the run was asked
    ("data", "ingest", "splits"),
    ("data", "evaluate", "training_data"),  # what the model itself says it was trained on
    ("metrics", "evaluate", "trainer"),  # the first challenger's, as its model names it
    ("metrics", "evaluate", "metrics"),
    ("metrics", "evaluate", "slices"),
    ("outcome", "decide", "trainer"),  # which challenger the decision is about
    ("outcome", "decide", "deploy"),
    ("outcome", "decide", "reason"),
    ("outcome", "deploy", "version"),
    ("outcome", "deploy", "traffic"),
    ("outcome", "monitor", "action"),
    ("cost", "run", "cost_usd"),
    ("cost", "run", "wall_seconds"),
)


@dataclass(frozen=True)
class Run:
    run_id: str
    started: datetime  # when its first step recorded
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)  # step -> facts

    def get(self, step: str, key: str, default: Any = None) -> Any:
        return self.steps.get(step, {}).get(key, default)

    @property
    def failed_step(self) -> str | None:
        """The step a failed run failed at (the runner records it), else None."""
        if self.get("run", "status") != "failed":
            return None
        return str(self.get("run", "failed_step") or "?")

    @property
    def finished(self) -> bool:
        """The runner's own record is the last one a run makes, failed or not."""
        return "run" in self.steps

    @property
    def outcome(self) -> str:
        """DEPLOY, APPROVE (promotion = approval), KEEP, FAILED at a step, or where the run
        stopped (killed, or still running: the caller knows which)."""
        if self.failed_step is not None:
            return f"FAILED at {self.failed_step}"
        if "decide" not in self.steps:
            done = [s for s in STEP_ORDER if s in self.steps]
            return f"stopped after {done[-1]}" if done else "no steps"
        if not self.get("decide", "deploy"):
            return "KEEP"
        return "APPROVE" if "approve" in self.steps else "DEPLOY"


SHORT = 6  # the fewest characters of a short id


def short_ids(runs: list[Run]) -> dict[str, str]:
    """{run id: its short id}: the run ids' shortest common-length tail (at least SHORT
    characters) that tells every run apart; run ids share their pipeline's name and date,
    so their tails are what differs."""
    ids = [r.run_id for r in runs]
    length = SHORT
    while length < max(map(len, ids), default=0) and len({i[-length:] for i in ids}) < len(ids):
        length += 1
    return {i: i[-length:] for i in ids}


def running(runs: list[Run], in_progress: bool) -> str | None:
    """The run in progress: the newest one, when the workspace's run lock is held and it has
    not finished (a run records its last fact when it ends)."""
    if in_progress and runs and not runs[0].finished:
        return runs[0].run_id
    return None


def merge(records: Iterable[StepRecord]) -> list[Run]:
    """Runs from their step records, newest first; a step recorded twice (a retried task)
    keeps its last record."""
    grouped: dict[str, list[StepRecord]] = {}
    for record in records:
        grouped.setdefault(record.run_id, []).append(record)
    runs = []
    for run_id, own in grouped.items():
        own.sort(key=lambda r: r.recorded_at)
        runs.append(Run(run_id, own[0].recorded_at, {r.step: r.facts for r in own}))
    return sorted(runs, key=lambda r: (r.started, r.run_id), reverse=True)


LATEST = re.compile(r"latest(?:~(\d+))?")


def find(runs: list[Run], wanted: str) -> Run:
    """A run by its id, `latest` (or `latest~N`, N runs before it), or a prefix or a tail
    (its short id) that names one run only; runs newest first, as merge returns them."""
    if latest := LATEST.fullmatch(wanted):
        back = int(latest.group(1) or 0)
        if back >= len(runs):
            raise LookupError(f"{wanted!r}: only {len(runs)} recorded run(s)")
        return runs[back]
    exact = [r for r in runs if r.run_id == wanted]
    matches = exact or [r for r in runs if r.run_id.startswith(wanted) or r.run_id.endswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise LookupError(
            f"no run {wanted!r} among {len(runs)} recorded run(s) (a run id, its short id "
            "from `mlops runs`, or latest)"
        )
    names = ", ".join(r.run_id for r in matches[:5])
    raise LookupError(f"{wanted!r} names {len(matches)} runs ({names}); give more of the id")


def flatten(value: Any, prefix: str = "") -> dict[str, object]:
    """Nested facts as dotted keys: {"bars": {"min_roc_auc": 0.9}} -> {"bars.min_roc_auc": 0.9}."""
    if isinstance(value, dict) and value:
        out: dict[str, object] = {}
        for key in sorted(value):
            out.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


@dataclass(frozen=True)
class Difference:
    section: str
    key: str
    a: object
    b: object

    @property
    def changed(self) -> bool:
        return self.a != self.b


def compare(a: Run, b: Run) -> list[Difference]:
    """Every parameter, data fact, metric and outcome of two runs, side by side: the changed
    ones first, each group in reading order (what a reviewer looks for is at the top)."""
    out = []
    for section, step, key in SECTIONS:
        left = flatten(a.get(step, key), key)
        right = flatten(b.get(step, key), key)
        for name in sorted(set(left) | set(right)):
            out.append(Difference(section, name, left.get(name), right.get(name)))
    return sorted(out, key=lambda d: not d.changed)  # stable: reading order kept within


def summary_row(run: Run, short_id: str | None = None, is_running: bool = False) -> dict[str, Any]:
    """The key figures `mlops runs` shows for one run."""
    evaluated = chosen_facts(run)
    metrics = evaluated.get("metrics", {})
    train = run.get("ingest", "splits", {}).get("train", {})
    done = [s for s in STEP_ORDER if s in run.steps]
    return {
        "run_id": run.run_id,
        "short_id": short_id or run.run_id,
        "status": "running" if is_running else _status(run),
        "failed_step": run.failed_step,
        "error": run.get("run", "error"),
        "last_step": done[-1] if done else None,
        "started": run.started.isoformat(timespec="seconds"),
        "commit": run.get("ingest", "commit") or run.get("run", "commit"),
        "train_rows": train.get("rows"),
        "quarantined": train.get("quarantined"),
        "accuracy": metrics.get("accuracy"),
        "roc_auc": metrics.get("roc_auc"),
        "trainer": evaluated.get("trainer"),  # as the model names it: a stand-in says so
        "outcome": f"RUNNING (after {done[-1]})" if is_running and done else run.outcome,
        "reason": run.get("decide", "reason"),
        "version": run.get("deploy", "version"),
        "cost_usd": run.get("run", "cost_usd"),
    }


def step_status(run: Run, is_running: bool = False) -> dict[str, str]:
    """Each step's status in `run`: succeeded, failed, skipped (another trainer, another
    promotion mode, or a decision not to deploy), running (the step after the last one done,
    while the run holds the lock) or not run."""
    done = set(run.get("run", "durations") or {}) | set(run.steps)
    trainer = (run.get("ingest", "parameters") or {}).get("trainer", "custom")
    skipped = {"custom": {"automl"}, "automl": {"train"}}.get(trainer, set())
    if "decide" in run.steps:
        if not run.get("decide", "deploy"):
            skipped |= {"approve", "deploy", "monitor"}
        else:
            skipped |= {"deploy", "monitor"} if "approve" in run.steps else {"approve"}
    status = {}
    for step in STEP_NAMES:
        if step == run.failed_step:
            status[step] = "failed"
        elif step in skipped:
            status[step] = "skipped"
        elif step in done:
            status[step] = "succeeded"
        else:
            status[step] = "not run"
    if is_running:
        waiting = [s for s in STEP_NAMES if status[s] == "not run"]
        if waiting:
            status[waiting[0]] = "running"
    return status


def run_of(version: str, labels: dict[str, str], recorded: list[Run]) -> Run | None:
    """The run that deployed `version` (its deploy record), else the run its labels name."""
    run = next((r for r in recorded if str(r.get("deploy", "version")) == version), None)
    return run or next((r for r in recorded if r.run_id == labels.get("run")), None)


def summary_rows(recorded: list[Run], in_progress: bool) -> list[dict[str, Any]]:
    """Every run's row as `mlops runs` and the dashboard list them: by short id, the one
    in progress marked (runs newest first, as merge returns them)."""
    short = short_ids(recorded)
    current = running(recorded, in_progress)
    return [summary_row(r, short[r.run_id], r.run_id == current) for r in recorded]


def _status(run: Run) -> str:
    if run.failed_step is not None:
        return "failed"
    return "succeeded" if run.finished else "stopped"


def lineage(
    version: str,
    labels: dict[str, str],
    run: Run | None,
    traffic: dict[str, int],
    alerts: list[dict[str, Any]],
) -> dict[str, Any]:
    """commit -> run -> data -> model -> endpoint for one registered version, and the
    monitoring alerts recorded since it was deployed."""
    ingest = run.steps.get("ingest", {}) if run else {}
    chosen = chosen_facts(run) if run else {}
    return {
        "version": version,
        "commit": ingest.get("commit") or labels.get("commit"),
        "run": run.run_id if run else labels.get("run"),
        "run_recorded": run is not None,
        "data": ingest.get("splits", {}),
        "trainer": chosen.get("trainer") if run else labels.get("trainer"),
        "training": chosen.get("training") if run else None,
        "metrics": chosen.get("metrics") if run else None,
        "decision": {"outcome": run.outcome, "reason": run.get("decide", "reason")}
        if run
        else None,
        "model": {"version": version, "labels": labels},
        "endpoint": {"traffic_percent": traffic.get(version, 0), "split": traffic},
        "alerts": alerts,
    }


METRICS = ("accuracy", "roc_auc", "log_loss", "f1", "precision", "recall")


def ingest_facts(
    commit: str,
    parameters: dict[str, Any],
    summary: dict[str, dict[str, Any]],
    uris: dict[str, str],
) -> dict[str, Any]:
    """The ingest's record: the commit, the run's parameters, each split's URI and counts."""
    splits = {split: {"uri": uris[split], **figures} for split, figures in summary.items()}
    return {"commit": commit, "parameters": parameters, "splits": splits}


def trainer_facts(metadata: dict[str, Any]) -> dict[str, Any]:
    """What trained a model, as its model.json says: the label the report, the summary and
    the run record show, and the AutoML stand-in's search (budget, trials, time)."""
    search = metadata.get("automl_search")
    facts = {"trainer": metadata.get("trainer", CUSTOM_TRAINER)}
    return {**facts, "search": search} if search else facts


def evaluation_facts(
    metadata: dict[str, dict[str, Any]], evaluations: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The evaluate step's record: for each challenger (by trainer), what its model was
    trained with (from its own model.json, not from the run's request), by which trainer,
    and its metrics, overall and per slice. With several, the first's facts at the top and
    every one's under `challengers`."""
    each = {
        name: {
            "training": metadata[name].get("hyperparameters", {}),
            "training_data": metadata[name].get("training_data", {}),
            "metrics": {k: evaluation[k] for k in METRICS if k in evaluation},
            "slices": dict(evaluation.get("slice_accuracy_gap", {})),
            **trainer_facts(metadata[name]),
        }
        for name, evaluation in evaluations.items()
    }
    first = next(iter(each.values()))
    return {**first, "challengers": each} if len(each) > 1 else first


def chosen_facts(run: Run) -> dict[str, Any]:
    """The evaluate facts of the challenger decide chose (on most runs, the only one)."""
    facts = run.steps.get("evaluate", {})
    chosen: dict[str, Any] = facts.get("challengers", {}).get(run.get("decide", "trainer"), facts)
    return chosen
