"""Cloud Monitoring's timeSeries.list over what the simulated endpoints served.

Vertex AI's online-prediction metrics per deployed model: prediction_count, error_count (5xx)
and prediction_latencies (one series per latency_type: total, model, overhead), aligned over
the request's period and reduced across series as asked.
"""

from __future__ import annotations

import re
import time
from datetime import datetime

import numpy as np
from starlette.responses import JSONResponse

from simulation.wire import ApiError

PREFIX = "aiplatform.googleapis.com/prediction/online/"


def _seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _label(filter_: str, name: str) -> str | None:
    match = re.search(rf'{re.escape(name)}\s*=\s*"([^"]*)"', filter_)
    return match.group(1) if match else None


def install(sim) -> None:
    @sim.route(
        "monitoring",
        "GET",
        r"/v3/projects/(?P<project>[^/]+)/timeSeries",
        "monitoring.projects.timeSeries.list",
    )
    def list_series(call, project):
        call.authorize(f"projects/{sim.world.project_id(project)}")
        q = call.query
        filter_ = q.get("filter", "")
        metric = _label(filter_, "metric.type") or ""
        endpoint_id = _label(filter_, "resource.labels.endpoint_id")
        latency_type = _label(filter_, "metric.labels.latency_type")
        if not metric.startswith(PREFIX):
            raise ApiError(400, f"The simulation keeps no metric {metric!r}.")
        start, end = _seconds(q["interval.startTime"]), _seconds(q["interval.endTime"])
        end = min(end, time.time() - sim.monitoring_delay)  # later points have not arrived
        measure = metric.removeprefix(PREFIX)
        rows = [
            r
            for r in sim.predictions
            if start <= r[0] < end and (endpoint_id is None or r[1].endswith(f"/{endpoint_id}"))
        ]
        types = [latency_type] if latency_type else ["total", "model", "overhead"]
        per_series: dict[tuple[str, str], float] = {}
        for deployed in sorted({r[2] for r in rows}):
            mine = [r for r in rows if r[2] == deployed]
            if measure == "prediction_count":
                per_series[(deployed, "")] = len(mine)
            elif measure == "error_count":
                per_series[(deployed, "")] = sum(1 for r in mine if r[3] >= 500)
            elif measure == "prediction_latencies":
                for kind in types:
                    values = [
                        {"total": r[4], "model": r[5], "overhead": r[4] - r[5]}[kind] for r in mine
                    ]
                    per_series[(deployed, kind)] = float(np.percentile(values, 95))
            else:
                raise ApiError(400, f"The simulation keeps no metric {metric!r}.")
        grouped: dict[str, list[float]] = {}
        for (deployed, _), value in per_series.items():
            grouped.setdefault(deployed, []).append(value)
        reducer = q.get("aggregation.crossSeriesReducer", "REDUCE_NONE")
        series = []
        for deployed, values in grouped.items():
            value = sum(values) if reducer == "REDUCE_SUM" else float(np.mean(values))
            typed = (
                {"doubleValue": value}
                if measure == "prediction_latencies"
                else {"int64Value": str(int(value))}
            )
            series.append(
                {
                    "metric": {"type": metric, "labels": {"deployed_model_id": deployed}},
                    "resource": {
                        "type": "aiplatform.googleapis.com/Endpoint",
                        "labels": {"endpoint_id": endpoint_id or ""},
                    },
                    "points": [
                        {
                            "interval": {
                                "startTime": q["interval.startTime"],
                                "endTime": q["interval.endTime"],
                            },
                            "value": typed,
                        }
                    ],
                }
            )
        return JSONResponse({"timeSeries": series})
