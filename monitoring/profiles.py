"""Serving traffic profiled like the training baseline: the same value-count query.

The request log (promotion.ports.LoggedRequests) runs the value-count query over one window
(promotion.domain.statistics.value_counts_sql, the query the warehouse runs over
census_train); TFDV's statistics come from the counts. DuckDB counts a million logged rows in
well under a second (bench/monitor.py).
"""

from __future__ import annotations

from datetime import datetime

from promotion.domain import statistics
from promotion.ports import LoggedRequests


def profile(requests: LoggedRequests, start: datetime, end: datetime) -> dict:
    """TFDV's statistics of one window of the request log."""
    return statistics.profile(requests.value_counts(start, end))
