"""Train, save and load the census model.

The artifact is a folder: LightGBM's own text format (`model.txt`, no pickle, no training-code
state) and `model.json` with the schema, hyperparameters, library versions and the checksum of
the data it was trained on. Loading checks the schema, so a server never feeds a model
features in the wrong order.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from kernel.atomic import write_json, write_text
from kernel.errors import UserError
from trainer import features, schema
from trainer.compiled import Engine
from trainer.hyperparameters import Hyperparameters

ARTIFACT_FORMAT = "census-lightgbm/1"
MODEL_FILE = "model.txt"
METADATA_FILE = "model.json"
Progress = Callable[[int, int, float], None]
PARALLEL_ROWS = 64


@dataclass
class CensusModel:
    booster: lgb.Booster
    metadata: dict
    engine: Engine | None = None  # compiled trees once built and verified (trainer/compiled.py)

    @property
    def threshold(self) -> float:
        return float(self.metadata.get("threshold", 0.5))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """P(income > 50K) for each row."""
        return self.predict_matrix(features.encode(frame))

    def predict_matrix(self, matrix: np.ndarray) -> np.ndarray:
        engine = self.engine
        if engine is not None and engine.predict is not None:
            return engine.predict(matrix)
        return self.predict_lightgbm(matrix)

    def compile(self, report: Callable[[Engine], None] | None = None) -> Engine:
        """Start compiling the trees in the background; LightGBM answers until they are
        verified against it (trainer/compiled.py)."""
        from trainer import compiled, loader

        def test_matrix() -> np.ndarray:
            return features.encode(loader.load_census(split="test").frame)

        self.engine = compiled.start(
            self.booster.model_to_string(), self.predict_lightgbm, test_matrix, report
        )
        return self.engine

    def predict_lightgbm(self, matrix: np.ndarray) -> np.ndarray:
        # One thread for small requests (no thread start-up); every core for batches, where
        # 1,200 trees over 1,000 rows take ~80 ms on one core and ~42 ms on two.
        threads = 1 if len(matrix) < PARALLEL_ROWS else (os.cpu_count() or 1)
        return np.asarray(self.booster.predict(matrix, num_threads=threads))

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        write_text(directory / MODEL_FILE, self.booster.model_to_string())
        write_json(directory / METADATA_FILE, self.metadata)
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> CensusModel:
        directory = Path(directory)
        meta_path = directory / METADATA_FILE
        try:
            metadata = json.loads(meta_path.read_text())
        except FileNotFoundError:
            raise UserError(f"no model at {directory}: {METADATA_FILE} is missing") from None
        except json.JSONDecodeError as exc:
            raise UserError(f"{meta_path}: not valid JSON ({exc})") from None
        if metadata.get("format") != ARTIFACT_FORMAT:
            raise UserError(
                f"{meta_path}: format {metadata.get('format')!r}, expected {ARTIFACT_FORMAT!r}"
            )
        if metadata.get("schema") != schema.as_dict():
            raise UserError(
                f"{meta_path}: the model's feature schema differs from this code's schema"
            )
        try:
            booster = lgb.Booster(model_str=(directory / MODEL_FILE).read_text())
        except FileNotFoundError:
            raise UserError(f"no model at {directory}: {MODEL_FILE} is missing") from None
        except lgb.basic.LightGBMError as exc:
            raise UserError(f"{directory / MODEL_FILE}: not a LightGBM model ({exc})") from None
        return cls(booster=booster, metadata=metadata)


def library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "lightgbm": version("lightgbm"),
        "numpy": version("numpy"),
        "pandas": version("pandas"),
    }


def train(
    frame: pd.DataFrame,
    hyperparameters: Hyperparameters,
    *,
    data_sha256: str,
    progress: Progress | None = None,
) -> CensusModel:
    """Fit the boosted trees on a loaded census frame; deterministic for a given seed."""
    matrix = features.encode(frame)
    target = features.labels(frame)
    dataset = lgb.Dataset(
        matrix,
        label=target,
        feature_name=list(schema.FEATURE_NAMES),
        categorical_feature=features.CATEGORICAL_INDICES,
        free_raw_data=True,
    )
    callbacks = [_progress_callback(progress, hyperparameters.num_boost_round)] if progress else []
    booster = lgb.train(
        hyperparameters.lightgbm_params(),
        dataset,
        num_boost_round=hyperparameters.num_boost_round,
        callbacks=callbacks,
    )
    metadata = {
        "format": ARTIFACT_FORMAT,
        "schema": schema.as_dict(),
        "threshold": 0.5,
        "hyperparameters": hyperparameters.model_dump(),
        "libraries": library_versions(),
        "training_data": {"sha256": data_sha256, "rows": len(frame)},
        "typical": features.typical(frame),  # the on-device app's defaults
    }
    return CensusModel(booster=booster, metadata=metadata)


def _progress_callback(progress: Progress, total: int) -> Callable:
    start = time.perf_counter()

    def callback(env: lgb.callback.CallbackEnv) -> None:
        done = env.iteration + 1
        progress(done, total, time.perf_counter() - start)

    return callback


def print_progress(every_percent: int = 10) -> Progress:
    """A progress reporter that prints a line at every `every_percent` of the rounds."""
    last = [-1]

    def report(done: int, total: int, elapsed: float) -> None:
        step = done * 100 // total // every_percent
        if step != last[0]:
            last[0] = step
            print(
                f"  training: {done:>6,}/{total:,} rounds ({done * 100 // total:>3}%) "
                f"{elapsed:5.1f}s",
                file=sys.stderr,
                flush=True,
            )

    return report
