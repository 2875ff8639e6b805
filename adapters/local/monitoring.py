"""Local model monitoring: the configuration the monitor reads, and the canary's figures.

The Vertex job's stand-in is a state file (`mlops monitor` reads it); the serving figures
come from the request log the local server writes (adapters.local.request_log).
"""

from __future__ import annotations

from datetime import datetime

from adapters.local import request_log
from adapters.local.request_log import TABLE
from adapters.local.workspace import MONITORING, LocalTenant
from promotion.ports import VersionStats

STATS_SQL = f"""
SELECT version,
       count(*) AS requests,
       count(*) FILTER (WHERE status >= 500) AS errors,
       quantile_cont(latency_ms, 0.5) AS p50,
       quantile_cont(latency_ms, 0.95) AS p95
FROM (SELECT DISTINCT request_id, version, status, latency_ms FROM {TABLE}
      WHERE ts >= $start AND ts < $end AND version IS NOT NULL)
GROUP BY version
"""


class LocalMonitoring:
    """The monitoring configuration the local monitor reads (Vertex: the monitoring job)."""

    def __init__(self, tenant: LocalTenant) -> None:
        self.tenant = tenant

    def apply(self, config: dict) -> str:
        with self.tenant.locked():
            previous = self.tenant.read_state(MONITORING, None)
            self.tenant.write_state(MONITORING, config)
        return "updated" if previous else "created"

    def current(self) -> dict | None:
        return self.tenant.read_state(MONITORING, None)

    def version_stats(self, start: datetime, end: datetime) -> dict[str, VersionStats]:
        with request_log.reader(self.tenant.request_log_path) as con:
            rows = con.execute(STATS_SQL, {"start": start, "end": end}).fetchall()
        return {v: VersionStats(v, int(n), int(e), p50, p95) for v, n, e, p50, p95 in rows}
