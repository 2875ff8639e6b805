"""What each pipeline step does, as plain functions over the ports.

The KFP components (pipelines/components.py) are thin wrappers that open the adapters for
their target (adapters.wiring) and call these; `mlops canary` calls `conclude_canary`; tests
call them directly. Nothing here knows whether it runs on Vertex AI or on this machine.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from kernel import exit_codes
from kernel.atomic import write_json
from kernel.errors import DataError, Failed, PlatformRefused, UserError
from kernel.names import (
    CANDIDATE_LABEL,
    CHALLENGER,
    CHAMPION,
    CUSTOM_TRAINER,
    DEPLOYING,
    ON_DEVICE_LABEL,
    ON_DEVICE_LABEL_VALUE,
)
from promotion.domain import canary, statistics
from promotion.domain.decision import Decision, champion_moved, compared_with, decide_among
from promotion.domain.traffic import canary_split, rollback, to_undeploy
from promotion.ports import Endpoint, EndpointState, Monitoring, Registry, Storage, Warehouse
from settings import Bars, CanaryCriteria, MonitoringSettings, Rollout
from trainer import evaluate as metrics_math
from trainer import features, loader, predict
from trainer.hyperparameters import Hyperparameters
from trainer.model import METADATA_FILE, CensusModel, print_progress, train
from trainer.ondevice import ONNX_FILE

SPLITS = ("train", "test")
SMOKE_ROWS = 8  # rows of the test split sent to a new version before it gets traffic


class DeployFailed(UserError):
    """The new version failed its smoke test (traffic rolled back), or the test could not run
    because the platform refused the call (nothing undone: the deploy is resumable)."""


# 1. ingest ------------------------------------------------------------------------------


def ingest(
    warehouse: Warehouse,
    uris: dict[str, str],
    max_bad_fraction: float,
    out: dict[str, str],
    quarantine_dir: Path,
) -> dict:
    """Each raw CSV into the warehouse, which parses, validates and quarantines in SQL.

    Tables per split: census_<split> (typed rows) and quarantine_<split> (line, reason,
    raw), beside what each warehouse keeps on the way (docs/ingest.md). The bad fraction is
    judged from the counts the warehouse returns; the quarantine also goes to
    `quarantine_dir` (JSON lines, the run's evidence) and the typed rows to the folder
    `out[split]` (the warehouse's own export: a path, or a gs:// URI on BigQuery) for the
    steps downstream, which may not read it.
    """
    summary = {}
    for split in SPLITS:
        ingested = warehouse.ingest(split, uris[split])
        bad = warehouse.quarantined(split)
        quarantine = quarantine_dir / f"{split}.jsonl"
        if bad:
            loader.write_quarantine(quarantine, bad)
        loader.check_counts(
            uris[split],
            ingested.rows,
            ingested.quarantined,
            max_bad_fraction,
            quarantine if bad else None,
        )
        warehouse.export(split, out[split])
        summary[split] = {
            "rows": ingested.rows,
            "quarantined": ingested.quarantined,
            "checksum": ingested.checksum,
        }
    return summary


def one_csv(dataset: Path) -> Path:
    """A dataset artifact (a file, or a folder of export shards) as one CSV file."""
    if dataset.is_file():
        return dataset
    return loader.to_csv(read_dataset(dataset).frame, dataset.parent / f"{dataset.name}.csv")


def read_dataset(path: str | Path) -> loader.LoadResult:
    """A dataset artifact written by ingest; it was clean when written, so allow no bad row."""
    return loader.load_census(path, max_bad_fraction=0.0)


# 2. validate -----------------------------------------------------------------------------


def validate(warehouse: Warehouse, baseline_out: Path) -> dict:
    """The training table's statistics, computed from the counts the warehouse returns (no
    row leaves it): checked, then written as the skew baseline (TFDV's statistics)."""
    stats = statistics.compute(warehouse.value_counts("train"))
    problems = statistics.anomalies(stats)
    if problems:
        raise DataError("training data failed validation: " + "; ".join(problems))
    write_json(baseline_out, stats)
    return stats


# 3. train --------------------------------------------------------------------------------


def train_model(train_path: Path, hyperparameters: dict, model_dir: Path) -> CensusModel:
    data = read_dataset(train_path)
    model = train(
        data.frame,
        Hyperparameters.model_validate(hyperparameters),
        data_sha256=data.sha256,
        progress=print_progress(every_percent=25),
    )
    model.save(model_dir)
    return model


def train_automl_stand_in(
    train_path: Path,
    hyperparameters: dict,
    budget_seconds: float,
    model_dir: Path,
    max_trials: int | None = None,
) -> CensusModel:
    """The local AutoML stand-in (trainer/automl.py): a real search in a time budget, then
    an ordinary CensusModel whose model.json names it a stand-in."""
    from trainer import automl

    data = read_dataset(train_path)
    model = automl.train_stand_in(
        data.frame,
        Hyperparameters.model_validate(hyperparameters),
        budget_seconds,
        data_sha256=data.sha256,
        log=lambda line: print(f"  {line}", flush=True),
        max_trials=max_trials,
    )
    model.save(model_dir)
    return model


# A trainer the run's `trainer` parameter left out writes this instead of a model, so the
# steps after it know the challenger is absent rather than broken.
SKIPPED_FILE = "skipped.json"


def mark_skipped(folder: Path, trainer: str) -> None:
    write_json(folder / SKIPPED_FILE, {"skipped": trainer})


def metric_prefix(trainer: str) -> str:
    """How a challenger's KFP metrics are named: the custom trainer's as they always were,
    any other's prefixed with its name (automl_roc_auc)."""
    return "" if trainer == "custom" else f"{trainer}_"


def present(custom: str | Path, automl: str | Path) -> dict[str, Path]:
    """The challengers that ran, by trainer, custom first (its folder, or its skip marker)."""
    models = {"custom": Path(custom), "automl": Path(automl)}
    found = {name: path for name, path in models.items() if not (path / SKIPPED_FILE).exists()}
    if not found:
        raise UserError("no challenger: the run's trainer parameter left every trainer out")
    return found


# 4. evaluate -----------------------------------------------------------------------------


def export_on_device(model_dir: Path, test_path: Path, folder: Path) -> dict:
    """The on-device model (ONNX) and its parity with LightGBM (trainer/ondevice.py); the
    decide step refuses a version whose parity fails."""
    from trainer import compiled, ondevice

    model = CensusModel.load(model_dir)
    rows = compiled.verification_matrix(features.encode(read_dataset(test_path).frame))
    parity = ondevice.export(model.booster, model.predict_lightgbm, rows, folder)
    record = parity.as_dict()
    (folder / "parity.json").write_text(json.dumps(record))
    return record


def evaluate_challengers(models: dict[str, Path], test_path: Path) -> tuple[dict, dict]:
    """Each challenger's metrics on the official test split, and its own model.json as
    loaded (what the run records of it: docs/lineage.md); the split is read once."""
    frame = read_dataset(test_path).frame
    results, metadata = {}, {}
    for name, path in models.items():
        model = CensusModel.load(path)
        results[name], metadata[name] = _scored(model, frame), model.metadata
    return results, metadata


def evaluate_model(model_dir: Path, test_path: Path) -> dict:
    return _scored(CensusModel.load(model_dir), read_dataset(test_path).frame)


def _scored(model: CensusModel, frame) -> dict:
    return metrics_math.evaluate(
        frame, features.labels(frame), model.predict_proba(frame), model.threshold
    )


# 5. decide -------------------------------------------------------------------------------


@dataclass
class Candidate:
    uri: str
    decision: Decision


def decide_and_stage(
    *,
    evaluations: dict[str, dict],
    models: dict[str, Path],
    baseline_path: Path,
    train_path: Path,
    test_path: Path,
    registry: Registry,
    storage: Storage,
    bars: Bars,
    candidates_root: str,
    run_id: str,
    on_device_root: Path | None = None,
) -> Candidate:
    """Compare every challenger with prod's champion on the same test split; stage the one
    chosen (promotion.domain.decision.decide_among) if it deploys.

    The candidate (model, baseline, training data, metrics, smoke instances) goes to the
    staging models bucket, the one place the prod deployer may read in staging.
    """
    champion = registry.alias(CHAMPION)
    champion_metrics = None
    if champion is not None:
        champion_dir = registry.fetch(champion)
        champion_metrics = evaluate_model(Path(champion_dir), test_path)
        champion_metrics["version"] = champion.version
    folders = {name: on_device_root / name for name in evaluations} if on_device_root else {}
    parity = {name: json.loads((f / "parity.json").read_text()) for name, f in folders.items()}
    decision = decide_among(evaluations, champion_metrics, bars, on_device=parity)
    uri = ""
    if decision.deploy:
        uri = f"{candidates_root}/{run_id}"
        chosen = decision.trainer
        on_device = {f"model/{ONNX_FILE}": folders[chosen] / ONNX_FILE} if folders else {}
        staged = storage.stage(
            {
                "model": models[chosen],
                **on_device,  # beside the model: it travels with it into prod
                "baseline.json": baseline_path,
                "train.csv": one_csv(train_path),  # Vertex monitoring's skew baseline
            },
            {
                "metrics.json": json.dumps(evaluations[chosen]),
                "smoke.json": json.dumps(smoke_instances(test_path)),
                "decision.json": json.dumps(decision.as_dict()),
                **({"on_device.json": json.dumps(parity[chosen])} if folders else {}),
            },
            uri,
        )
        uri = staged
    return Candidate(uri=uri, decision=decision)


def label_value(trainer: str) -> str:
    """A trainer's name as a registry label value (lower case, digits, hyphens):
    "automl-stand-in (FLAML 2.7.0)" -> "automl-stand-in"."""
    return re.sub(r"[^a-z0-9]+", "-", trainer.split(" (")[0].lower()).strip("-")[:63]


def _has_on_device(storage: Storage, candidate_uri: str) -> bool:
    try:
        return bool(json.loads(storage.read_text(f"{candidate_uri}/on_device.json"))["passed"])
    except FileNotFoundError:
        return False  # staged before on-device models, or by a run without one


def smoke_instances(test_path: Path) -> list[dict]:
    frame = read_dataset(test_path).frame.head(SMOKE_ROWS)
    return predict.frame_to_instances(frame)


# 5b. approve (promotion = "approval": the run stops here) ------------------------------

# A folder of its own beside the candidate's files: staging a folder replaces it whole.
APPROVAL_FILE = "approval/approval.json"
_APPROVAL_FIELDS = ("run_id", "commit", "serving_image", "reason")


@dataclass(frozen=True)
class Approval:
    """What prod's deploy trigger needs to deploy a candidate a run approved."""

    candidate_uri: str
    run_id: str
    commit: str
    serving_image: str
    reason: str

    def as_dict(self) -> dict:
        return {field: getattr(self, field) for field in _APPROVAL_FIELDS}


def approve_candidate(
    *, candidate_uri: str, run_id: str, commit: str, serving_image: str, reason: str, storage
) -> Approval:
    """Record, beside the staged candidate, everything its deployment will need."""
    approval = Approval(candidate_uri, run_id, commit, serving_image, reason)
    folder, name = APPROVAL_FILE.split("/")
    storage.stage({}, {name: json.dumps(approval.as_dict(), indent=2)}, f"{candidate_uri}/{folder}")
    return approval


def read_approval(storage: Storage, candidate_uri: str) -> Approval:
    """The approval a run left with `candidate_uri`; a UserError names what is wrong."""
    where = f"{candidate_uri.rstrip('/')}/{APPROVAL_FILE}"
    try:
        text = storage.read_text(where)
    except FileNotFoundError:
        raise UserError(
            f"{where}: no approval here: is {candidate_uri} a candidate a run approved "
            '(promotion = "approval")?'
        ) from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{where}: not JSON ({exc})") from None
    missing = [f for f in _APPROVAL_FIELDS if not isinstance(record.get(f), str) or not record[f]]
    if not isinstance(record, dict) or missing:
        raise UserError(f"{where}: missing or empty: {', '.join(missing) or 'everything'}")
    return Approval(candidate_uri.rstrip("/"), *(record[f] for f in _APPROVAL_FIELDS))


# 6. deploy -------------------------------------------------------------------------------


class ChampionChanged(Failed):
    """Prod's champion is not the one the candidate was compared with."""


def _require_same_champion(storage: Storage, candidate_uri: str, registry: Registry) -> None:
    where = f"{candidate_uri}/decision.json"
    try:
        compared = compared_with(json.loads(storage.read_text(where)))
    except (FileNotFoundError, ValueError) as exc:
        raise DeployFailed(f"{where}: cannot tell which champion was compared ({exc})") from None
    current = registry.alias(CHAMPION)
    moved = champion_moved(compared, current.version if current else None)
    if moved:
        raise ChampionChanged(moved)


def deploy_candidate(
    *,
    candidate_uri: str,
    run_id: str,
    commit: str,
    registry: Registry,
    endpoint: Endpoint,
    storage: Storage,
    prod_models_root: str,
    prod_data_root: str,
    rollout: Rollout,
    log=print,
) -> dict:
    """Copy into prod, register a version, canary it, smoke-test it, tidy the endpoint.

    Idempotent: the version is found by its candidate label, so a re-run neither registers
    a second version nor deploys twice. A failed smoke test restores the traffic as it was,
    takes the new version off the endpoint, leaves the aliases alone, and fails the step.
    """
    baseline_uri = f"{prod_data_root}/{run_id}/baseline.json"
    finish_interrupted_deploy(
        registry=registry,
        endpoint=endpoint,
        storage=storage,
        prod_data_root=prod_data_root,
        log=log,
    )
    version = registry.find(CANDIDATE_LABEL, run_id)
    before: EndpointState = endpoint.state()
    if version is not None and before.traffic.get(version.version):
        log(f"version {version.version} already serves {before.traffic}; nothing to deploy")
        return {
            "version": version.version,
            "traffic": before.traffic,
            "undeployed": [],
            "smoke": "skipped: already serving",
            "baseline_uri": baseline_uri,
        }
    _require_same_champion(storage, candidate_uri, registry)
    if version is None:
        model_uri = storage.copy_tree(
            f"{candidate_uri}/model", f"{prod_models_root}/{run_id}/model"
        )
        for name in ("baseline.json", "train.csv", "smoke.json"):  # smoke: for a resumed deploy
            storage.copy_tree(f"{candidate_uri}/{name}", f"{prod_data_root}/{run_id}/{name}")
        labels = {CANDIDATE_LABEL: run_id, "commit": commit, "run": run_id}
        if _has_on_device(storage, candidate_uri):
            labels[ON_DEVICE_LABEL] = ON_DEVICE_LABEL_VALUE  # model/model.onnx, beside it
        model_json = json.loads(storage.read_text(f"{candidate_uri}/model/{METADATA_FILE}"))
        labels["trainer"] = label_value(model_json.get("trainer", CUSTOM_TRAINER))
        version = registry.register(model_uri, labels=labels)
        log(f"registered version {version.version} from {model_uri}")
    # From here until the aliases move, the version is marked: a deploy killed part way is
    # recognised by the next deploy or `mlops canary`, which completes or rolls it back.
    registry.set_alias(DEPLOYING, version.version)
    traffic = canary_split(before, version.version, rollout.canary_percent)
    endpoint.deploy(version.version, traffic, rollout)
    log(f"deployed version {version.version}: traffic {traffic}")
    instances = json.loads(storage.read_text(f"{candidate_uri}/smoke.json"))
    try:
        problems = _smoke_problems(endpoint, instances, version.version)
    except PlatformRefused as exc:
        raise DeployFailed(
            f"the smoke test of version {version.version} could not run: {exc}. Nothing was "
            f"rolled back: version {version.version} stays registered at {traffic} and marked "
            f"'{DEPLOYING}'; once the call is allowed, the next deploy or `mlops canary` "
            "smoke-tests it and completes or rolls it back"
        ) from None
    if problems:
        restored = _roll_back(registry, endpoint, before, version.version)
        raise DeployFailed(
            f"smoke test of version {version.version} failed ({'; '.join(problems)}); "
            f"traffic rolled back to {restored or 'nothing'}"
        )
    log(f"smoke test passed on {len(instances)} instances")
    _move_aliases(registry, version.version, traffic)
    after = endpoint.state()
    undeployed = to_undeploy(after.deployed, after.traffic, rollout.versions_kept)
    for old in undeployed:
        endpoint.undeploy(old)
    if undeployed:
        log(f"undeployed versions without traffic: {', '.join(undeployed)}")
    return {
        "version": version.version,
        "traffic": traffic,
        "undeployed": undeployed,
        "smoke": "passed",
        "baseline_uri": baseline_uri,
    }


def _smoke_problems(endpoint: Endpoint, instances: list[dict], version: str) -> list[str]:
    try:
        return predict.check_predictions(instances, endpoint.predict(instances, version))
    except PlatformRefused:  # the call was refused: the model was never asked
        raise
    except Exception as exc:  # any other failure to answer is the model's: a failed test
        return [f"prediction failed: {exc}"]


def _move_aliases(registry: Registry, version: str, traffic: dict[str, int]) -> None:
    """The last step of a deploy: champion at 100%, challenger otherwise; then unmarked."""
    if traffic.get(version) == 100:
        registry.set_alias(CHAMPION, version)
        registry.set_alias(CHALLENGER, None)
    else:
        registry.set_alias(CHALLENGER, version)
    registry.set_alias(DEPLOYING, None)


def _roll_back(registry: Registry, endpoint: Endpoint, before: EndpointState, version: str):
    """Traffic as `before` had it without `version`, the version off the endpoint and out of
    the registry (no orphan left behind); returns the restored split."""
    restored = rollback(before, version)
    now = endpoint.state()
    if restored and restored != now.traffic:  # none: it was the only model, undeploy clears
        endpoint.set_traffic(restored)
    if version in now.deployed:
        endpoint.undeploy(version)
    for alias in (DEPLOYING, CHALLENGER, CHAMPION):
        held = registry.alias(alias)
        if held is not None and held.version == version:
            registry.set_alias(alias, None)
    registry.delete(version)
    return restored


def finish_interrupted_deploy(
    *, registry: Registry, endpoint: Endpoint, storage: Storage, prod_data_root: str, log=print
) -> str | None:
    """A deploy killed part way left its version marked `deploying`. Complete it (smoke
    test, aliases) when it serves traffic and passes; otherwise roll it back. Returns
    "completed", "rolled back", or None when nothing was interrupted."""
    marked = registry.alias(DEPLOYING)
    if marked is None:
        return None
    version, state = marked.version, endpoint.state()
    share = state.traffic.get(version, 0)
    if share:
        where = f"{prod_data_root}/{marked.labels.get('run', '')}/smoke.json"
        try:
            instances = json.loads(storage.read_text(where))
        except (FileNotFoundError, ValueError) as exc:
            problems = [f"no smoke instances at {where} ({exc})"]
        else:
            problems = _smoke_problems(endpoint, instances, version)
    else:
        problems = ["it was killed before it got traffic"]
    if not problems:
        _move_aliases(registry, version, state.traffic)
        log(f"an interrupted deploy of version {version} completed: smoke test passed")
        return "completed"
    restored = _roll_back(registry, endpoint, state, version)
    log(
        f"an interrupted deploy of version {version} rolled back ({'; '.join(problems)}); "
        f"traffic {restored or 'nothing'}"
    )
    return "rolled back"


# 7. monitor ------------------------------------------------------------------------------


def monitoring_config(
    *, endpoint_id: str, baseline_uri: str, monitoring: MonitoringSettings, kms_key: str
) -> dict:
    """One description of monitoring, applied locally as a file and on Vertex as the job."""
    skew, drift = monitoring.thresholds("skew"), monitoring.thresholds("drift")
    return {
        "endpoint_id": endpoint_id,
        "baseline_uri": baseline_uri,
        "features": sorted(skew),
        "skew_thresholds": dict(sorted(skew.items())),
        "drift_thresholds": dict(sorted(drift.items())),
        "sample_rate": monitoring.sample_rate,
        "interval_hours": monitoring.interval_hours,
        "alert_emails": list(monitoring.emails),
        "kms_key": kms_key,
    }


# Concluding a canary (`mlops canary`) ----------------------------------------------------


class NothingToJudge(UserError):
    exit_code = exit_codes.NOTHING_TO_JUDGE


@dataclass(frozen=True)
class CanaryOutcome:
    champion: str
    challenger: str
    verdict: canary.Verdict
    traffic: dict[str, int]
    undeployed: list[str]


def conclude_canary(
    *,
    registry: Registry,
    endpoint: Endpoint,
    monitoring: Monitoring,
    criteria: CanaryCriteria,
    versions_kept: int,
    window_end: datetime,
) -> CanaryOutcome:
    """Judge the challenger on the window's figures, then promote it, roll it back, or wait.

    Promotion moves the champion alias to the challenger; both verdicts clear the challenger
    alias and undeploy what no longer gets traffic; waiting changes nothing.
    """
    champion, challenger = registry.alias(CHAMPION), registry.alias(CHALLENGER)
    if champion is None or challenger is None:
        raise NothingToJudge("no canary to judge: the endpoint has no challenger version")
    start = window_end - timedelta(minutes=criteria.window_minutes)
    stats = monitoring.version_stats(start, window_end)

    def figures(version: str):
        return stats.get(version) or canary.no_traffic(version)

    verdict = canary.judge(figures(champion.version), figures(challenger.version), criteria)
    traffic, undeploy = canary.plan(
        endpoint.state(), champion.version, challenger.version, verdict, versions_kept
    )
    if verdict.action != "wait":
        endpoint.set_traffic(traffic)
        if verdict.action == "promote":
            registry.set_alias(CHAMPION, challenger.version)
        registry.set_alias(CHALLENGER, None)
        for version in undeploy:
            endpoint.undeploy(version)
    return CanaryOutcome(champion.version, challenger.version, verdict, traffic, undeploy)
