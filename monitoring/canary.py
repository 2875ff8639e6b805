"""`mlops canary`: promote the challenger to 100% or roll it back, with the reason.

The verdict is pure (judge). Its inputs come from the local request log (SQL) or, on Google
Cloud, from Cloud Monitoring time series (a pure query builder and response interpreter;
the shell only sends the queries).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.core.traffic import EndpointState, promote, to_undeploy


@dataclass(frozen=True)
class VersionStats:
    version: str
    requests: int
    errors: int  # server errors (5xx): client mistakes are not the model's fault
    p50_ms: float | None
    p95_ms: float | None

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class Criteria:
    min_requests: int
    max_error_rate_increase: float
    max_latency_ratio: float


@dataclass(frozen=True)
class Verdict:
    action: str  # promote | rollback | wait
    reason: str


def judge(champion: VersionStats, challenger: VersionStats, c: Criteria) -> Verdict:
    if challenger.requests < c.min_requests:
        return Verdict(
            "wait",
            f"challenger v{challenger.version} served {challenger.requests} "
            f"requests in the window; {c.min_requests} needed to judge",
        )
    increase = challenger.error_rate - champion.error_rate
    if increase > c.max_error_rate_increase:
        return Verdict(
            "rollback",
            f"error rate {challenger.error_rate:.2%} vs champion "
            f"{champion.error_rate:.2%} (+{increase:.2%} > "
            f"{c.max_error_rate_increase:.2%} allowed)",
        )
    if champion.p95_ms and challenger.p95_ms:
        ratio = challenger.p95_ms / champion.p95_ms
        if ratio > c.max_latency_ratio:
            return Verdict(
                "rollback",
                f"p95 latency {challenger.p95_ms:.1f} ms is {ratio:.2f}x "
                f"the champion's {champion.p95_ms:.1f} ms (> "
                f"{c.max_latency_ratio}x allowed)",
            )
    latency = (
        f"p95 {challenger.p95_ms:.1f} ms vs {champion.p95_ms:.1f} ms"
        if champion.p95_ms and challenger.p95_ms
        else "latency not measured"
    )
    return Verdict(
        "promote",
        f"error rate {challenger.error_rate:.2%} vs "
        f"{champion.error_rate:.2%}, {latency}, over "
        f"{challenger.requests} requests",
    )


def plan(
    state: EndpointState, champion: str, challenger: str, verdict: Verdict, keep: int
) -> tuple[dict[str, int], list[str]]:
    """(new traffic split, versions to undeploy) for a verdict; 'wait' changes nothing."""
    if verdict.action == "promote":
        traffic = promote(challenger)
    elif verdict.action == "rollback":
        traffic = promote(champion)
    else:
        return state.traffic, []
    deployed = state.deployed
    if verdict.action == "rollback":
        deployed = tuple(v for v in deployed if v != challenger)
        return traffic, [challenger, *to_undeploy(deployed, traffic, keep)]
    return traffic, to_undeploy(deployed, traffic, keep)


# Local: the request log ---------------------------------------------------------------------

STATS_SQL = """
SELECT version,
       count(*) AS requests,
       count(*) FILTER (WHERE status >= 500) AS errors,
       quantile_cont(latency_ms, 0.5) AS p50,
       quantile_cont(latency_ms, 0.95) AS p95
FROM (SELECT DISTINCT request_id, version, status, latency_ms FROM request_log
      WHERE ts >= $start AND ts < $end AND version IS NOT NULL)
GROUP BY version
"""


def stats_from_log(con, start, end) -> dict[str, VersionStats]:
    rows = con.execute(STATS_SQL, {"start": start, "end": end}).fetchall()
    return {v: VersionStats(v, int(n), int(e), p50, p95) for v, n, e, p50, p95 in rows}


# Google Cloud: Cloud Monitoring ------------------------------------------------------------

METRICS = {
    "requests": "aiplatform.googleapis.com/prediction/online/prediction_count",
    "errors": "aiplatform.googleapis.com/prediction/online/error_count",
    "latency": "aiplatform.googleapis.com/prediction/online/prediction_latencies",
}


def monitoring_queries(project: str, endpoint_id: str, start_s: int, end_s: int) -> dict[str, dict]:
    """ListTimeSeries requests, one per measure, each summed per deployed model."""
    window = end_s - start_s
    queries = {}
    for measure, metric in METRICS.items():
        aligner = "ALIGN_PERCENTILE_95" if measure == "latency" else "ALIGN_SUM"
        reducer = "REDUCE_MEAN" if measure == "latency" else "REDUCE_SUM"
        queries[measure] = {
            "name": f"projects/{project}",
            "filter": (
                f'metric.type = "{metric}" AND resource.type = '
                f'"aiplatform.googleapis.com/Endpoint" AND '
                f'resource.labels.endpoint_id = "{endpoint_id}"'
            ),
            "interval": {"start_time": {"seconds": start_s}, "end_time": {"seconds": end_s}},
            "aggregation": {
                "alignment_period": {"seconds": window},
                "per_series_aligner": aligner,
                "cross_series_reducer": reducer,
                "group_by_fields": ["metric.labels.deployed_model_id"],
            },
            "view": "FULL",
        }
    return queries


def interpret(
    series_by_measure: dict[str, list[dict]], versions: dict[str, str]
) -> dict[str, VersionStats]:
    """Time series (as dicts) → per-version stats; `versions` maps deployed model id → version."""
    totals: dict[str, dict[str, float]] = {}
    for measure, series in series_by_measure.items():
        for s in series:
            model_id = s["metric"]["labels"]["deployed_model_id"]
            points = [
                p["value"].get("int64_value", p["value"].get("double_value", 0))
                for p in s["points"]
            ]
            value = max(points) if measure == "latency" else sum(float(p) for p in points)
            totals.setdefault(model_id, {})[measure] = float(value) if points else 0.0
    out = {}
    for model_id, t in totals.items():
        version = versions.get(model_id, model_id)
        out[version] = VersionStats(
            version, int(t.get("requests", 0)), int(t.get("errors", 0)), None, t.get("latency")
        )
    return out
