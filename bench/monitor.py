"""Time to compute skew and drift for 1,000,000 logged rows against the training baseline.

Builds a request log of 1,000,000 rows (census test rows resampled, half in each of two
consecutive one-hour windows) as a Parquet segment, then times monitoring.monitor.run, which
counts both windows' values in SQL, builds TFDV's statistics from the counts and computes
every feature's distances (the baseline comes from the warehouse, as the validate step's).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

# bench/serving.py would shadow the serving package: keep this folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import numpy as np  # noqa: E402

from adapters.local import request_log  # noqa: E402
from adapters.local.request_log import COLUMNS  # noqa: E402
from adapters.local.warehouse import DuckDBWarehouse  # noqa: E402
from monitoring import monitor  # noqa: E402
from promotion.domain import statistics as stats  # noqa: E402
from settings import load_platform  # noqa: E402
from trainer import loader, schema  # noqa: E402

ROWS, REPEATS = 1_000_000, 5
END = datetime(2026, 11, 21, 12, 0)


def build_log(path: Path) -> None:
    frame = loader.load_census(split="test").frame
    rng = np.random.default_rng(0)
    sample = frame.iloc[rng.integers(0, len(frame), ROWS)].reset_index(drop=True)
    offsets = rng.uniform(0, 7200, ROWS)  # two hours before END
    sample.insert(0, "ts", [END - timedelta(seconds=float(s)) for s in offsets])
    sample.insert(1, "request_id", np.arange(ROWS).astype(str))
    sample.insert(2, "version", "1")
    sample.insert(3, "status", 200)
    sample.insert(4, "latency_ms", 1.0)
    sample.insert(5, "error", None)
    for f in schema.FEATURES:
        if f.is_categorical:
            sample[f.name] = sample[f.name].astype(object).where(sample[f.name].notna(), None)
    sample["label"] = "<=50K"
    sample["probability"] = 0.2
    sample = sample[list(COLUMNS)]
    request_log.append(path, sample)


def main() -> None:
    m = load_platform()["prod"].monitoring_settings()
    skew = m.thresholds("skew")
    drift = m.thresholds("drift")
    with tempfile.TemporaryDirectory() as folder:
        warehouse = DuckDBWarehouse(Path(folder) / "warehouse.duckdb")
        warehouse.ingest("train", "bundled:train")
        baseline = stats.compute(warehouse.value_counts("train"))
        path = Path(folder) / "request_log"
        started = time.perf_counter()
        build_log(path)
        print(f"built a request log of {ROWS:,} rows in {time.perf_counter() - started:.1f} s")
        times = []
        for _ in range(REPEATS):
            t = time.perf_counter()
            results, _ = monitor.run(
                request_log=path,
                baseline=baseline,
                skew_thresholds=skew,
                drift_thresholds=drift,
                window=timedelta(hours=1),
                until=END,
                report_dir=Path(folder) / "reports",
            )
            times.append(time.perf_counter() - t)
    alerts = sum(r.alert for r in results)
    print(
        f"skew + drift over {ROWS:,} rows (2 windows x 14 features, {len(results)} "
        f"distances, {alerts} alerts): median {statistics.median(times):.2f} s "
        f"(min {min(times):.2f}, max {max(times):.2f}) over {REPEATS} runs; target < 1 s"
    )


if __name__ == "__main__":
    main()
