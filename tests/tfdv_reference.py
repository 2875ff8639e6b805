"""The monitor's path run over the TFDV reference cases (tests/monitoring/tfdv_cases).

Shared by the parity test and reference/tfdv/compare.py, which prints the differences.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from monitoring import monitor
from promotion.domain import statistics
from trainer.rules import in_dialect

CASES = Path(__file__).parent / "monitoring" / "tfdv_cases"


def expected() -> dict:
    return json.loads((CASES / "expected.json").read_text())


def profile(path: Path, *, label: bool = False) -> dict:
    """A Parquet file through the value-count query (DuckDB) and TFDV's statistics."""
    with duckdb.connect() as con:
        con.execute(f"CREATE VIEW rows AS SELECT * FROM read_parquet('{path}')")
        sql = in_dialect(statistics.value_counts_sql("rows", label=label), "duckdb")
        counts = [(f, t, n, int(c)) for f, t, n, c in con.execute(sql).fetchall()]
    return statistics.compute(counts) if label else statistics.profile(counts)


def measured(case: str) -> dict[str, dict]:
    """{"skew"|"drift": {feature: (distance, where)}} as the monitor computes them."""
    folder = CASES / case
    own = folder / "baseline.parquet"
    baseline = profile(own if own.exists() else CASES / "baseline.parquet", label=True)
    previous, current = profile(folder / "previous.parquet"), profile(folder / "current.parquet")
    return {
        "skew": monitor.compare(baseline, current, treatment_is_reference=True),
        "drift": monitor.compare(previous, current, treatment_is_reference=False),
    }


def differences(case: str, want: dict) -> list[tuple[str, str, float | None, dict | None]]:
    """(measure, feature, the monitor's distance, TFDV's measurement) for every feature."""
    got = measured(case)
    return [
        (measure, feature, distance, want[measure].get(feature))
        for measure in ("skew", "drift")
        for feature, (distance, _) in got[measure].items()
    ]
