"""Training statistics: the validate step's checks and the skew baseline, from value counts.

The warehouse counts each feature's values (`value_counts_sql`, one query, run by DuckDB
locally and by BigQuery on Vertex over census_train; the monitor runs it over the request
log); everything here works on those counts, so no step reads the training rows. The
baseline holds TFDV's statistics (promotion.domain.histograms): what Vertex AI would
compute from the same table, and what the local monitor compares serving traffic with.
Missing values are NULL everywhere: the ingest turns the census `?` into NULL, the server
logs a missing feature as NULL, and both are left out of the distances, as in TFDV.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from promotion.domain import histograms
from promotion.ports import CountRow
from trainer import schema

# Above this share of missing values a feature is anomalous (the census max is ~5.7%).
MAX_MISSING_SHARE = 0.2

# Written into every baseline: a baseline from before TFDV's histograms cannot be compared.
FORMAT = "tfdv-1.16"


def value_counts_sql(table: str, where: str = "", *, label: bool = False) -> str:
    """(feature, text, number, n) for every feature (and the label), in BigQuery's dialect.

    Categorical values come back in `text`, numbers in `number` (as FLOAT64, so NaN and
    the infinities survive); a NULL in both is the feature's missing count. `where` (a
    WHERE clause, BigQuery syntax, query parameters as @name) narrows the rows.
    """
    parts = []
    for name, categorical in _columns(label):
        text = f"CAST(`{name}` AS STRING)" if categorical else "CAST(NULL AS STRING)"
        number = "CAST(NULL AS FLOAT64)" if categorical else f"CAST(`{name}` AS FLOAT64)"
        parts.append(
            f"SELECT '{name}' AS feature, {text} AS text, {number} AS number, COUNT(*) AS n "  # noqa: S608 (names come from the schema and the code)
            f"FROM {table} {where} GROUP BY text, number"
        )
    return " UNION ALL ".join(parts)


def _columns(label: bool) -> list[tuple[str, bool]]:
    features = [(f.name, f.is_categorical) for f in schema.FEATURES]
    return [*features, (schema.LABEL, True)] if label else features


def profile(rows: Iterable[CountRow]) -> dict[str, Any]:
    """TFDV's statistics of one dataset from its value counts.

    {"rows": n, "features": {name: {"kind", "missing", "counts" | "histogram"}}}; a numeric
    histogram is None when the feature has no value at all (TFDV then has none either).
    """
    by_feature: dict[str, list[tuple[str | None, float | None, int]]] = {}
    for feature, text, number, n in rows:
        by_feature.setdefault(feature, []).append((text, number, int(n)))
    rows_total = sum(n for _, _, n in by_feature.get(schema.FEATURES[0].name, []))
    features: dict[str, dict[str, Any]] = {}
    for name, categorical in _columns(schema.LABEL in by_feature):
        entries = by_feature.get(name, [])
        value = 0 if categorical else 1
        missing = sum(e[2] for e in entries if e[value] is None)
        summary: dict[str, object] = {
            "kind": "categorical" if categorical else "numeric",
            "missing": missing,
        }
        summary["present"] = sum(e[2] for e in entries) - missing
        if categorical:
            summary["counts"] = histograms.categorical(
                {t: n for t, _, n in entries if t is not None}
            )
        else:
            numeric = histograms.numeric((number, n) for _, number, n in entries)
            summary["histogram"] = numeric.to_json() if numeric else None
        features[name] = summary
    return {"format": FORMAT, "rows": rows_total, "features": features}


def compute(rows: Iterable[CountRow]) -> dict[str, Any]:
    """The skew baseline: the training table's profile and its share of positive labels."""
    result = profile(rows)
    label = result["features"].pop(schema.LABEL, {"counts": {}})["counts"]  # none: no rows
    labelled = sum(label.values())
    positive = label.get(schema.POSITIVE_CLASS, 0)
    result["label_positive_share"] = positive / labelled if labelled else math.nan
    return result


def anomalies(stats: dict[str, Any]) -> list[str]:
    """What makes the data unfit to train on, each naming the feature and the value."""
    found = []
    rows = stats["rows"]
    if rows == 0:
        return ["no rows"]
    for feature in schema.FEATURES:
        summary = stats["features"][feature.name]
        share = summary["missing"] / rows
        if share > MAX_MISSING_SHARE:
            found.append(f"{feature.name}: {share:.1%} missing > {MAX_MISSING_SHARE:.0%}")
        if feature.is_categorical:
            unknown = set(summary["counts"]) - set(feature.categories)
            if unknown:
                found.append(f"{feature.name}: unknown categories {sorted(unknown)[:5]}")
    positive = stats["label_positive_share"]
    if not 0.05 <= positive <= 0.95:
        found.append(f"{schema.LABEL}: positive share {positive:.1%} outside 5%..95%")
    return found
