"""The AutoML stand-in for local runs: FLAML searches LightGBM hyperparameters in a time budget.

Vertex AutoML Tabular cannot run on this machine; this searches for real, within a budget
from settings, but only over LightGBM so that the result is an ordinary CensusModel: the
local server, the compiled trees and the ONNX export serve it unchanged. Every trial trains
on part of the training split and is scored by ROC AUC on the rest (never the test split);
the best configuration is then trained on the whole training split. The tuner
(`flaml.tune`) is used directly: FLAML's `AutoML` class imports xgboost even for LightGBM
alone (docs/automl.md).
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib.metadata import version

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from kernel.errors import DataError
from trainer import features, schema
from trainer.hyperparameters import Hyperparameters
from trainer.model import CensusModel, train

STAND_IN = "automl-stand-in"
VERTEX_AUTOML = "Vertex AutoML Tabular"
# What a model trained by the simulated Vertex AutoML says it is (simulation/apis/vertex/automl.py)
VERTEX_AUTOML_SIMULATED = f"{VERTEX_AUTOML} (simulated: FLAML stand-in)"
VERTEX_AUTOML_FORMAT = "census-vertex-automl/1"  # a reference to a Vertex model, no trees
# Vertex AutoML Tabular trains on the warehouse's typed table: the label is its target, the
# 14 features its columns; line_number (and the label) pass through batch prediction
# untouched, so predictions join back to their rows.
TARGET_COLUMN = schema.LABEL
PASSED_THROUGH = ("line_number", schema.LABEL)
HOLDOUT_SHARE = 0.2
# Where the search starts (cheap) and the space it searches: the knobs that matter most for
# boosted trees on this data; the rest keep the custom trainer's defaults.
LOW_COST = {"num_boost_round": 50, "num_leaves": 4}


def _tune():
    with warnings.catch_warnings():  # "flaml.automl is not available": not used here
        warnings.simplefilter("ignore", UserWarning)
        from flaml import tune
    return tune


def search_space() -> dict:
    tune = _tune()
    return {
        "learning_rate": tune.loguniform(0.01, 0.3),
        "num_boost_round": tune.lograndint(50, 2000),
        "num_leaves": tune.lograndint(4, 256),
        "min_child_samples": tune.lograndint(5, 200),
        "feature_fraction": tune.uniform(0.3, 1.0),
        "lambda_l2": tune.loguniform(1e-3, 30.0),
    }


def column_specs() -> dict[str, str]:
    """AutoML's transformation per feature, from the schema (line_number is left out, so
    AutoML never learns from row order)."""
    return {f.name: "categorical" if f.is_categorical else "numeric" for f in schema.FEATURES}


def trainer_label() -> str:
    """How a stand-in model names its trainer everywhere it appears."""
    return f"{STAND_IN} (FLAML {version('flaml')})"


@dataclass(frozen=True)
class Search:
    budget_seconds: float
    max_trials: int | None
    elapsed_seconds: float
    trials: int
    best_holdout_roc_auc: float
    best: dict

    def as_dict(self) -> dict:
        return asdict(self)


def hyperparameters_for(config: dict, base: Hyperparameters) -> Hyperparameters:
    """A searched configuration as the trainer's validated hyperparameters."""
    chosen = {key: config[key] for key in search_space() if key in config}
    for key in ("num_boost_round", "num_leaves", "min_child_samples"):
        if key in chosen:
            chosen[key] = round(chosen[key])
    return Hyperparameters.model_validate({**base.model_dump(), **chosen})


def holdout_split(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices to fit on and to score on, the same for every trial."""
    order = np.random.default_rng(seed).permutation(rows)
    cut = int(rows * (1 - HOLDOUT_SHARE))
    return np.sort(order[:cut]), np.sort(order[cut:])


def search(
    frame: pd.DataFrame,
    base: Hyperparameters,
    budget_seconds: float,
    log: Callable[[str], None] = print,
    max_trials: int | None = None,
) -> Search:
    """FLAML's tuner over LightGBM within `budget_seconds` and at most `max_trials` trials;
    trials score on a holdout. With the trial count binding, the search is the same on any
    machine; with the time binding, a slower machine tries fewer configurations."""
    tune = _tune()
    matrix, target = features.encode(frame), features.labels(frame)
    fit, hold = holdout_split(len(frame), base.seed)
    dataset = lgb.Dataset(
        matrix[fit],
        label=target[fit],
        feature_name=list(schema.FEATURE_NAMES),
        categorical_feature=features.CATEGORICAL_INDICES,
        free_raw_data=False,
        params={"feature_pre_filter": False},  # trials change min_child_samples
    )
    trials: list[float] = []

    def score(config: dict) -> dict:
        params = hyperparameters_for(config, base)
        if len(np.unique(target[hold])) < 2:
            raise ValueError("the holdout has one class only: ROC AUC is undefined")
        booster = lgb.train(
            params.lightgbm_params(), dataset, num_boost_round=params.num_boost_round
        )
        auc = float(roc_auc_score(target[hold], booster.predict(matrix[hold])))
        if not trials or auc > max(trials):  # progress: each new best, not every trial
            log(
                f"automl: trial {len(trials) + 1}: best so far, holdout ROC AUC {auc:.4f} "
                f"({_brief(params)})"
            )
        trials.append(auc)
        return {"roc_auc": auc}

    started = time.perf_counter()
    try:  # a trial's error ends the search (FLAML re-raises it outside Ray): say which
        analysis = tune.run(
            score,
            config=search_space(),
            low_cost_partial_config=LOW_COST,
            metric="roc_auc",
            mode="max",
            time_budget_s=budget_seconds,
            num_samples=max_trials or -1,
            verbose=0,
            max_failure=1,
        )
    except Exception as exc:
        why = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        raise RuntimeError(f"the AutoML stand-in's search failed: trials failed: {why}") from exc
    elapsed = time.perf_counter() - started
    if not trials:
        raise RuntimeError(f"the AutoML stand-in's search failed: no trial in {budget_seconds}s")
    best = hyperparameters_for(analysis.best_config, base)
    return Search(
        budget_seconds=budget_seconds,
        max_trials=max_trials,
        elapsed_seconds=round(elapsed, 2),
        trials=len(trials),
        best_holdout_roc_auc=round(max(trials), 6),
        best={k: getattr(best, k) for k in search_space()},
    )


def _brief(params: Hyperparameters) -> str:
    return (
        f"{params.num_boost_round} rounds, {params.num_leaves} leaves, "
        f"learning rate {params.learning_rate:.3g}"
    )


def train_stand_in(
    frame: pd.DataFrame,
    base: Hyperparameters,
    budget_seconds: float,
    *,
    data_sha256: str,
    log: Callable[[str], None] = print,
    max_trials: int | None = None,
) -> CensusModel:
    """Search, then train the best configuration on the whole training split."""
    found = search(frame, base, budget_seconds, log, max_trials)
    model = train(frame, hyperparameters_for(found.best, base), data_sha256=data_sha256)
    model.metadata["trainer"] = trainer_label()
    model.metadata["automl_search"] = found.as_dict()
    return model


# Vertex AutoML's batch predictions to BigQuery: the input row, and `predicted_<target>`, a
# record of every class and its score (docs/automl.md).
PREDICTED = f"predicted_{TARGET_COLUMN}"
THRESHOLD = 0.5  # AutoML predicts the class with the higher score


def batch_predictions_sql(table: str) -> str:
    """The scored test rows of a batch prediction output table (BigQuery SQL, pure): the
    schema's columns as typed, the prediction record as JSON text."""
    columns = ", ".join(schema.RAW_COLUMNS)
    return f"SELECT {columns}, TO_JSON_STRING({PREDICTED}) AS prediction FROM {table}"  # noqa: S608


def positive_score(prediction: str | dict) -> float:
    """The positive class's score in one AutoML classification prediction (classes and
    scores side by side, in no promised order); a prediction without it is refused."""
    record = json.loads(prediction) if isinstance(prediction, str) else prediction
    classes, scores = record.get("classes") or [], record.get("scores") or []
    if len(classes) != len(scores) or schema.POSITIVE_CLASS not in classes:
        raise ValueError(
            f"an AutoML prediction without a score for {schema.POSITIVE_CLASS!r}: {record!r}"
        )
    score = float(scores[classes.index(schema.POSITIVE_CLASS)])
    if not 0.0 <= score <= 1.0:
        raise ValueError(f"an AutoML score outside 0..1: {score!r}")
    return score


def online_instances(instances: list[dict]) -> list[dict]:
    """Serving instances in AutoML tabular's online format: every value a string (numbers
    as their shortest decimal text), a missing value null."""
    return [{k: None if v is None else _text(v) for k, v in row.items()} for row in instances]


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def as_label_probability(prediction: dict) -> dict:
    """An AutoML prediction (classes and scores) as this repository's servers answer (label
    and probability of the positive class); any other prediction unchanged."""
    if "classes" not in prediction:
        return prediction
    classes, scores = prediction["classes"], prediction.get("scores") or []
    best = max(range(len(scores)), key=scores.__getitem__) if scores else None
    return {
        "label": classes[best] if best is not None else None,
        "probability": positive_score(prediction),
    }


EXPORT_ENVIRONMENT = "environment.json"  # in an exported AutoML tabular model's folder


def export_container(environment: str, where: str) -> str:
    """The prediction container an exported AutoML model names in its environment.json."""
    try:
        uri = json.loads(environment)["container_uri"]
    except (ValueError, KeyError, TypeError):
        raise DataError(
            f"{where}/{EXPORT_ENVIRONMENT}: no container_uri in {environment[:200]!r}"
        ) from None
    if not isinstance(uri, str) or not uri:
        raise DataError(f"{where}/{EXPORT_ENVIRONMENT}: container_uri {uri!r} is not an image")
    return uri
