"""Local model monitoring: the configuration the monitor reads, the alerts it found, and
the canary's figures.

The Vertex job's stand-in is a state file (`mlops monitor` reads it); the serving figures
come from the request log the local server writes (adapters.local.request_log).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from adapters.local import request_log
from adapters.local.request_log import TABLE
from adapters.local.warehouse import database, has_table
from kernel.workspace import MONITORING, LocalTenant, StateDamaged, damaged_message
from promotion.ports import MonitoringConfig, VersionStats

# One row per request: its row 0 (rows logged before the `instance` column have none, and
# are told apart by their request id, which needs memory for every id). Latency
# percentiles come from a t-digest, as Cloud Monitoring's distributions give them on
# Vertex: exact ones kept every latency of the window in memory. Memory stays bounded at
# any size of log (bench/reader.py: 10M rows).
STATS_SQL = f"""
SELECT version,
       count(*) AS requests,
       count(*) FILTER (WHERE status >= 500) AS errors,
       approx_quantile(latency_ms, 0.5) AS p50,
       approx_quantile(latency_ms, 0.95) AS p95
FROM (SELECT version, status, latency_ms FROM {TABLE}
      WHERE ts >= $start AND ts < $end AND version IS NOT NULL AND instance = 0
      UNION ALL
      SELECT version, status, latency_ms
      FROM (SELECT DISTINCT request_id, version, status, latency_ms FROM {TABLE}
            WHERE ts >= $start AND ts < $end AND version IS NOT NULL AND instance IS NULL))
GROUP BY version
"""


ANALYSES = """
CREATE TABLE IF NOT EXISTS monitoring_alerts (
    analysed_at TIMESTAMP NOT NULL,  -- UTC
    window_end TIMESTAMP NOT NULL,
    feature VARCHAR NOT NULL,
    measure VARCHAR NOT NULL,
    distance DOUBLE,
    threshold DOUBLE NOT NULL,
    versions JSON NOT NULL  -- the traffic split when it was judged
)
"""


class LocalMonitoring:
    """The monitoring configuration the local monitor reads (Vertex: the monitoring job)."""

    def __init__(self, tenant: LocalTenant) -> None:
        self.tenant = tenant

    def apply(self, config: MonitoringConfig) -> str:
        with self.tenant.locked():
            previous = self.tenant.read_state(MONITORING, None)
            self.tenant.write_state(MONITORING, config.as_dict())
        return "updated" if previous else "created"

    def current(self) -> MonitoringConfig | None:
        record = self.tenant.read_state(MONITORING, None)
        try:
            return MonitoringConfig.from_dict(record) if record else None
        except ValueError as exc:
            path = self.tenant.state_path(MONITORING)
            raise StateDamaged(damaged_message(path, exc)) from None


class LocalServingFigures:
    """Each version's requests, server errors and latency, from the request log."""

    def __init__(self, tenant: LocalTenant) -> None:
        self.tenant = tenant

    def version_stats(self, start: datetime, end: datetime) -> dict[str, VersionStats]:
        with request_log.reader(self.tenant.request_log_path) as con:
            rows = con.execute(STATS_SQL, {"start": start, "end": end}).fetchall()
        return {v: VersionStats(v, int(n), int(e), p50, p95) for v, n, e, p50, p95 in rows}


class LocalAlertLog:
    """The local monitor's alerts, in the prod tenant's warehouse (Vertex: the monitoring
    job's anomalies and alert emails)."""

    def __init__(self, tenant: LocalTenant) -> None:
        self.tenant = tenant

    def record_alerts(self, window_end: datetime, alerts: list[dict], traffic: dict) -> None:
        """What `mlops monitor` found above its thresholds (Vertex: the monitoring job's
        anomalies and alert emails), for `mlops lineage`."""
        now = datetime.now(UTC).replace(tzinfo=None)
        end = window_end.astimezone(UTC).replace(tzinfo=None) if window_end.tzinfo else window_end
        with database(self.tenant.warehouse_path) as con:
            con.execute(ANALYSES)
            for a in alerts:
                con.execute(
                    "INSERT INTO monitoring_alerts VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        now,
                        end,
                        a["feature"],
                        a["measure"],
                        a["distance"],
                        a["threshold"],
                        json.dumps(traffic),
                    ],
                )

    def alerts(self, since: datetime) -> list[dict]:
        path = self.tenant.warehouse_path
        if not path.exists():
            return []
        with database(path, read_only=True) as con:
            if not has_table(con, "monitoring_alerts"):
                return []
            rows = con.execute(
                "SELECT analysed_at, window_end, feature, measure, distance, threshold, versions "
                "FROM monitoring_alerts WHERE analysed_at >= ? ORDER BY analysed_at",
                [since.astimezone(UTC).replace(tzinfo=None)],
            ).fetchall()
        keys = ("analysed_at", "window_end", "feature", "measure", "distance", "threshold")
        return [
            {
                **dict(
                    zip(keys[:2], (r[0].isoformat() + "Z", r[1].isoformat() + "Z"), strict=True)
                ),
                **dict(zip(keys[2:], r[2:6], strict=True)),
                "traffic": json.loads(r[6]),
            }
            for r in rows
        ]
