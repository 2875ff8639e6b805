"""The non-prod half of a run: ingest, validate, train, evaluate, decide and stage."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from kernel.atomic import write_json
from kernel.errors import DataError, UserError
from kernel.names import CHAMPION
from promotion.domain import layout, statistics
from promotion.domain.decision import Decision, decide_among
from promotion.ports import Registry, Storage, Warehouse
from settings import Bars
from trainer import automl, features, loader, predict
from trainer import evaluate as metrics_math
from trainer.evaluate import Evaluation
from trainer.hyperparameters import Hyperparameters
from trainer.model import METADATA_FILE, CensusModel, print_progress, train
from trainer.ondevice import ONNX_FILE

SPLITS = ("train", "test")
SMOKE_ROWS = 8  # rows of the test split sent to a new version before it gets traffic
# The on-device bar of a model no ONNX can hold (Vertex AutoML): not applied, and said so.
NOT_APPLICABLE = {
    "applicable": False,
    "passed": None,
    "reason": "not applicable: a Vertex AutoML model is served by Vertex, not exported to ONNX",
    "largest_difference": None,
    "rows": 0,
    "bytes": 0,
}


def ingest(
    warehouse: Warehouse,
    uris: dict[str, str],
    max_bad_fraction: float,
    out: dict[str, str],
    quarantine_dir: Path,
) -> dict[str, dict[str, int | str]]:
    """Each raw CSV into the warehouse, which parses, validates and quarantines in SQL.

    Tables per split: census_<split> (typed rows) and quarantine_<split> (line, reason,
    raw), beside what each warehouse keeps on the way (docs/ingest.md). The bad fraction is
    judged from the counts the warehouse returns; the quarantine also goes to
    `quarantine_dir` (JSON lines, the run's evidence) and the typed rows to the folder
    `out[split]` (the warehouse's own export: a path, or a gs:// URI on BigQuery) for the
    steps downstream, which may not read it.
    """
    summary: dict[str, dict[str, int | str]] = {}
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


def validate(warehouse: Warehouse, baseline_out: Path) -> dict:
    """The training table's statistics, computed from the counts the warehouse returns (no
    row leaves it): checked, then written as the skew baseline (TFDV's statistics)."""
    stats = statistics.compute(warehouse.value_counts("train"))
    problems = statistics.anomalies(stats)
    if problems:
        raise DataError("training data failed validation: " + "; ".join(problems))
    write_json(baseline_out, stats)
    return stats


def train_model(train_path: Path, hyperparameters: Hyperparameters, model_dir: Path) -> CensusModel:
    data = read_dataset(train_path)
    model = train(
        data.frame,
        hyperparameters,
        data_sha256=data.sha256,
        progress=print_progress(every_percent=25),
    )
    model.save(model_dir)
    return model


def train_automl_stand_in(
    train_path: Path,
    hyperparameters: Hyperparameters,
    budget_seconds: float,
    model_dir: Path,
    max_trials: int | None = None,
) -> CensusModel:
    """The local AutoML stand-in (trainer/automl.py): a real search in a time budget, then
    an ordinary CensusModel whose model.json names it a stand-in."""
    data = read_dataset(train_path)
    model = automl.train_stand_in(
        data.frame,
        hyperparameters,
        budget_seconds,
        data_sha256=data.sha256,
        log=lambda line: print(f"  {line}", flush=True),
        max_trials=max_trials,
    )
    model.save(model_dir)
    return model


def export_on_device(model_dir: Path, test_path: Path, folder: Path) -> dict:
    """The on-device model (ONNX) and its parity with LightGBM (trainer/ondevice.py); the
    decide step refuses a version whose parity fails."""
    from trainer import compiled, ondevice

    if is_vertex_automl(described_by(model_dir)):
        record = dict(NOT_APPLICABLE)
        (folder / layout.PARITY).write_text(json.dumps(record))
        return record
    model = CensusModel.load(model_dir)
    rows = compiled.verification_matrix(features.encode(read_dataset(test_path).frame))
    parity = ondevice.export(model.booster, model.predict_lightgbm, rows, folder)
    record = parity.as_dict()
    (folder / layout.PARITY).write_text(json.dumps(record))
    return record


def evaluate_challengers(
    models: dict[str, Path], test_path: Path, warehouse: Warehouse | None = None
) -> tuple[dict[str, Evaluation], dict[str, dict]]:
    """Each challenger's metrics on the official test split, and its own model.json as
    loaded (what the run records of it: docs/lineage.md); the split is read once. A Vertex
    AutoML challenger is scored from its batch predictions of that split (in `warehouse`)."""
    frame = read_dataset(test_path).frame
    results, metadata = {}, {}
    for name, path in models.items():
        described = described_by(path)
        if is_vertex_automl(described):
            if warehouse is None:
                raise UserError(f"{path}: a Vertex AutoML model is scored from BigQuery")
            results[name], metadata[name] = _scored_by_vertex(described, warehouse), described
            continue
        model = CensusModel.load(path)
        results[name], metadata[name] = _scored(model, frame), model.metadata
    return results, metadata


def _scored_by_vertex(described: dict, warehouse: Warehouse, test=None) -> Evaluation:
    """The metrics of the batch predictions Vertex made of the test table: the same rows the
    other challengers are scored on (both come from census_test), the same metric math.
    `test` (the split as this run read it): refused unless the predictions are of exactly
    those rows (an AutoML champion's predictions were made by its own run)."""
    table = described["predictions_table"]
    rows = warehouse.batch_predictions(table)
    if rows.empty:
        raise DataError(f"batch prediction table {table} is empty")
    scored = loader.to_frame(rows)
    if test is not None and not same_rows(scored, test):
        raise DataError(
            f"the AutoML model's predictions ({table}: {len(scored):,} rows) are not of this "
            f"run's test split ({len(test):,} rows): it changed since that model's run, and "
            "re-scoring an AutoML model on a new split is not built (docs/automl.md)"
        )
    scores = np.array([automl.positive_score(p) for p in rows["prediction"]])
    return metrics_math.evaluate(scored, features.labels(scored), scores, automl.THRESHOLD)


def same_rows(one, other) -> bool:
    """Whether two frames hold the same rows, in any order."""
    if len(one) != len(other) or list(one.columns) != list(other.columns):
        return False

    def canonical(frame):
        text = frame.astype(object).where(frame.notna(), None).astype(str)
        return text.sort_values(list(text.columns)).reset_index(drop=True)

    return bool(canonical(one).equals(canonical(other)))


def _champion_metrics(
    champion, registry: Registry, test_path: Path, warehouse
) -> tuple[Evaluation, bool]:
    """The champion on this run's test split, and whether it is an AutoML model: our model
    scored again; an AutoML one by the predictions its own run made of that split (found
    through its model.json)."""
    folder = Path(registry.fetch(replace(champion, artifact_uri=layout.model_folder(
        champion.artifact_uri))))  # fmt: skip
    described = described_by(folder)
    if not is_vertex_automl(described):
        return evaluate_model(folder, test_path), False
    if warehouse is None:
        raise UserError(f"version {champion.version} is a Vertex AutoML model: scored in BigQuery")
    return _scored_by_vertex(described, warehouse, read_dataset(test_path).frame), True


def evaluate_model(model_dir: Path, test_path: Path) -> Evaluation:
    return _scored(CensusModel.load(model_dir), read_dataset(test_path).frame)


def _scored(model: CensusModel, frame) -> Evaluation:
    return metrics_math.evaluate(
        frame, features.labels(frame), model.predict_proba(frame), model.threshold
    )


@dataclass
class Staged:
    uri: str  # empty when the decision is to keep the champion
    decision: Decision


def decide_and_stage(
    *,
    evaluations: dict[str, Evaluation],
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
    warehouse: Warehouse | None = None,
) -> Staged:
    """Compare every challenger with prod's champion on the same test split; stage the one
    chosen (promotion.domain.decision.decide_among) if it deploys.

    The candidate (promotion.domain.layout: model, baseline, training data, metrics, smoke
    instances) goes to the staging models bucket, the one place the prod deployer may read
    in staging.
    """
    champion = registry.alias(CHAMPION)
    champion_metrics: dict | None = None
    champion_automl = False
    if champion is not None:
        scored, champion_automl = _champion_metrics(champion, registry, test_path, warehouse)
        champion_metrics = {**scored, "version": champion.version}
    folders = {name: on_device_root / name for name in evaluations} if on_device_root else {}
    parity = {n: json.loads((f / layout.PARITY).read_text()) for n, f in folders.items()}
    applicable = {n: (p if p.get("applicable", True) else None) for n, p in parity.items()}
    decision = decide_among(evaluations, champion_metrics, bars, on_device=applicable)
    if not decision.deploy:
        return Staged(uri="", decision=decision)
    chosen = decision.trainer
    onnx = folders[chosen] / ONNX_FILE if folders else None
    on_device = {f"{layout.MODEL}/{ONNX_FILE}": onnx} if onnx and onnx.exists() else {}
    files: dict[str, str | Path] = {
        layout.MODEL: models[chosen],
        **on_device,  # beside the model: it travels with it into prod
        layout.BASELINE: baseline_path,
        layout.TRAIN_CSV: one_csv(train_path),  # Vertex monitoring's skew baseline
    }
    texts = {
        layout.METRICS: json.dumps(evaluations[chosen]),
        # in AutoML's format (strings) when an AutoML version serves beside the new one: both
        # kinds of server take it (docs/automl.md)
        layout.SMOKE: json.dumps(
            smoke_instances(
                test_path, as_text=champion_automl or is_vertex_automl(described_by(models[chosen]))
            )
        ),
        layout.DECISION: json.dumps(decision.as_dict()),
        **({layout.ON_DEVICE: json.dumps(parity[chosen])} if folders else {}),
    }
    where = layout.Candidate.of_run(candidates_root, run_id)
    return Staged(uri=storage.stage(files, texts, where.uri), decision=decision)


def smoke_instances(test_path: Path, as_text: bool = False) -> list[dict]:
    """A few test rows, as numbers, or `as_text` in AutoML's format (every value a string)."""
    instances = predict.frame_to_instances(read_dataset(test_path).frame.head(SMOKE_ROWS))
    return automl.online_instances(instances) if as_text else instances


def described_by(model_dir: str | Path) -> dict:
    """A model folder's own model.json (ours, or one naming a Vertex AutoML model)."""
    return json.loads((Path(model_dir) / METADATA_FILE).read_text())


def is_vertex_automl(described: dict) -> bool:
    return described.get("format") == automl.VERTEX_AUTOML_FORMAT
