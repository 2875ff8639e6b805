"""Serving traffic profiled like the training baseline: the same value-count query.

One SQL query per window (promotion.domain.statistics.value_counts_sql, the query the
warehouse runs over census_train), then TFDV's statistics from the counts; DuckDB counts a
million logged rows in well under a second (bench/monitor.py).
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from adapters.local.request_log import TABLE
from promotion.domain import statistics
from trainer.rules import in_dialect


def window_counts(
    con: duckdb.DuckDBPyConnection, start: datetime, end: datetime
) -> list[statistics.CountRow]:
    """Value counts of the successful requests logged in [start, end)."""
    where = "WHERE status = 200 AND ts >= @start AND ts < @end"
    sql = in_dialect(statistics.value_counts_sql(TABLE, where), "duckdb")
    rows = con.execute(sql, {"start": start, "end": end}).fetchall()
    return [(f, t, n, int(c)) for f, t, n, c in rows]


def profile(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> dict:
    """TFDV's statistics of one window of the request log."""
    return statistics.profile(window_counts(con, start, end))
