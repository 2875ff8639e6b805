"""TFDV's own skew and drift distances for the cases cases.py wrote: the monitor's fixtures.

Runs in TFDV's environment (reference/tfdv/setup.sh), not the project's. For every case:
statistics of the baseline, previous and current windows with TFDV's defaults (in memory,
as the Beam pipeline computes them), a schema inferred from the baseline with every
comparator's threshold at 0 so each distance is reported, then validate_statistics for skew
(baseline against the current window) and drift (the current window against the previous).
Writes tests/monitoring/tfdv_cases/expected.json.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import tensorflow_data_validation as tfdv
from tensorflow_data_validation.statistics import stats_impl, stats_options
from tensorflow_metadata.proto.v0 import statistics_pb2

CASES = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/monitoring/tfdv_cases")
WHERE = re.compile(r"The feature value with maximum difference is: (.*)$", re.S)


def record_batch(path: Path) -> pa.RecordBatch:
    """TFDV's input format: one list per cell, a NULL cell for a missing value."""
    table = pq.read_table(path)
    columns, names = [], []
    for name in table.column_names:
        column = table.column(name).combine_chunks()
        present = column.is_valid().to_numpy(zero_copy_only=False)
        offsets = pa.array(np.concatenate([[0], np.cumsum(present)]), pa.int32())
        values = column.filter(column.is_valid())
        lists = pa.ListArray.from_arrays(offsets, values, mask=pa.array(~present))
        columns.append(lists)
        names.append(name)
    return pa.RecordBatch.from_arrays(columns, names)


def statistics(path: Path):
    """TFDV's statistics; a file without rows has none (TFDV refuses an empty batch)."""
    batch = record_batch(path)
    if batch.num_rows == 0:
        empty = statistics_pb2.DatasetFeatureStatisticsList()
        empty.datasets.add(num_examples=0)
        return empty
    return stats_impl.generate_statistics_in_memory(batch, stats_options.StatsOptions())


def comparators(schema, kinds: dict[str, str]) -> None:
    for feature in schema.feature:
        for comparator in (feature.skew_comparator, feature.drift_comparator):
            if kinds[feature.name] == "categorical":
                comparator.infinity_norm.threshold = 0.0
            else:
                comparator.jensen_shannon_divergence.threshold = 0.0


def measured(anomalies, which: str) -> dict:
    found = {}
    for info in anomalies.drift_skew_info:
        name = info.path.step[0]
        for m in getattr(info, f"{which}_measurements"):
            found[name] = {"distance": m.value, "where": None}
    for name, info in anomalies.anomaly_info.items():
        for reason in info.reason:
            match = WHERE.search(reason.description)
            if match and name in found and ("Linfty" in reason.short_description):
                found[name]["where"] = match.group(1)
    return found


def main() -> None:
    base_stats = statistics(CASES / "baseline.parquet")
    kinds = {}
    for column in pq.read_schema(CASES / "baseline.parquet"):
        kinds[column.name] = "numeric" if pa.types.is_floating(column.type) else "categorical"
    results = {}
    for folder in sorted(p for p in CASES.iterdir() if p.is_dir()):
        own = folder / "baseline.parquet"
        baseline = statistics(own) if own.exists() else base_stats
        schema = tfdv.infer_schema(baseline)
        comparators(schema, kinds)
        previous, current = (
            statistics(folder / "previous.parquet"),
            statistics(folder / "current.parquet"),
        )
        skew = tfdv.validate_statistics(baseline, schema, serving_statistics=current)
        drift = tfdv.validate_statistics(current, schema, previous_statistics=previous)
        results[folder.name] = {
            "about": (folder / "about.txt").read_text().strip(),
            "skew": measured(skew, "skew"),
            "drift": measured(drift, "drift"),
        }
        print(
            f"{folder.name}: {len(results[folder.name]['skew'])} skew, "
            f"{len(results[folder.name]['drift'])} drift distances",
            file=sys.stderr,
        )
    out = {"tfdv_version": tfdv.__version__, "cases": results}
    (CASES / "expected.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
