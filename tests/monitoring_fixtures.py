"""Request logs built from census rows, for the monitor and canary tests."""

from __future__ import annotations

import tempfile
from datetime import datetime
from functools import cache
from pathlib import Path

import duckdb
import pandas as pd

from adapters.local.request_log import append, rows_of
from adapters.local.warehouse import DuckDBWarehouse
from promotion.domain import statistics
from trainer import loader, predict
from trainer.rules import in_dialect


@cache
def baseline() -> dict:
    """The skew baseline as the validate step writes it: from the warehouse's counts."""
    with tempfile.TemporaryDirectory() as folder:
        warehouse = DuckDBWarehouse(Path(folder) / "w.duckdb")
        warehouse.ingest("train", "bundled:train")
        return statistics.compute(warehouse.value_counts("train"))


def profile_of(frame: pd.DataFrame) -> dict:
    """TFDV's statistics of rows held in memory (NaN in a numeric column: missing)."""
    with duckdb.connect() as con:
        con.register("frame_rows", frame)
        sql = in_dialect(statistics.value_counts_sql("frame_rows"), "duckdb")
        counts = [(f, t, n, int(c)) for f, t, n, c in con.execute(sql).fetchall()]
    return statistics.profile(counts)


@cache
def census_test_frame() -> pd.DataFrame:
    return loader.load_census(split="test").frame


def log_frame(
    path: Path,
    frame: pd.DataFrame,
    at: datetime,
    *,
    version: str = "1",
    status: int = 200,
    latency_ms: float = 5.0,
) -> None:
    """Log each row as one successful single-instance request at time `at`."""
    stamp = at.timestamp() if at.tzinfo else (at - datetime(1970, 1, 1)).total_seconds()
    rows = []
    for i, instance in enumerate(predict.frame_to_instances(frame)):
        rows += rows_of(
            {
                "ts": stamp,
                "request_id": f"{version}-{stamp}-{i}",
                "version": version,
                "status": status,
                "latency_ms": latency_ms,
                "instances": [instance],
                "predictions": [{"label": "<=50K", "probability": 0.2}] if status == 200 else None,
                "error": None if status == 200 else "boom",
            }
        )
    append(path, rows)
