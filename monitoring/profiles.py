"""Serving-traffic distributions from the request log, bucketed like the training baseline.

One SQL query per window: DuckDB aggregates a million logged rows in well under a second,
using the same bucket formula as promotion.domain.statistics.bucket_index.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from adapters.local.request_log import TABLE
from promotion.domain.statistics import MISSING
from trainer import schema


def _numeric_bucket(name: str, edges: list[float]) -> str:
    lo, hi, bins = edges[0], edges[-1], len(edges) - 1
    width = (hi - lo) / bins
    return (
        f'CASE WHEN "{name}" IS NULL OR isnan("{name}") THEN {bins + 2} '
        f'WHEN "{name}" < {lo!r} THEN 0 WHEN "{name}" > {hi!r} THEN {bins + 1} '
        f'ELSE least(greatest(CAST(floor(("{name}" - {lo!r}) / {width!r}) AS BIGINT) + 1, 1), '
        f"{bins}) END"
    )


def profile_query(baseline: dict) -> str:
    """(feature, key, n) for every feature, over the rows of one window ($start..$end)."""
    parts = []
    for feature in schema.FEATURES:
        stats = baseline["features"][feature.name]
        if feature.is_categorical:
            key = f"coalesce(\"{feature.name}\", '{MISSING}')"
        else:
            key = f"CAST({_numeric_bucket(feature.name, stats['edges'])} AS VARCHAR)"
        parts.append(
            f"SELECT '{feature.name}' AS feature, {key} AS key, count(*) AS n FROM window_rows "
            f"GROUP BY ALL"
        )
    scope = (
        f"WITH window_rows AS (SELECT * FROM {TABLE} WHERE status = 200 "
        "AND ts >= $start AND ts < $end) "
    )
    return scope + " UNION ALL ".join(parts)


def profile(con: duckdb.DuckDBPyConnection, baseline: dict, start: datetime, end: datetime) -> dict:
    """{"rows": n, "features": {name: counts}}: counts like the baseline's (list or dict)."""
    raw: dict[str, dict[str, int]] = {}
    for feature, key, n in con.execute(
        profile_query(baseline), {"start": start, "end": end}
    ).fetchall():
        raw.setdefault(feature, {})[key] = int(n)
    features = {}
    rows = 0
    for feature in schema.FEATURES:
        counts = raw.get(feature.name, {})
        if feature.is_categorical:
            features[feature.name] = counts
        else:
            size = len(baseline["features"][feature.name]["counts"])
            features[feature.name] = [counts.get(str(i), 0) for i in range(size)]
        rows = max(rows, sum(counts.values()))
    return {"rows": rows, "features": features}
