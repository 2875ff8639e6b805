"""Canary analysis: the verdict, the plan, the local figures, Cloud Monitoring, the CLI."""

import json
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from local_prod import PROD_PROJECT, ROLLOUT, open_local_prod
from monitoring_fixtures import census_test_frame, log_frame
from serving_fixtures import save_small_model

from adapters.local.storage import LocalStorage
from adapters.vertex import requests
from promotion.domain import canary as can
from promotion.ports import EndpointState, VersionStats
from settings import CanaryCriteria

C = CanaryCriteria(
    min_requests=100,
    max_error_rate_increase=0.01,
    max_latency_ratio=1.5,
    window_minutes=60,
    schedule="*/30 * * * *",
)
CHAMP = VersionStats("1", 1000, 5, 4.0, 8.0)
NOW = datetime(2026, 11, 21, 12, 0)


@pytest.mark.parametrize(
    ("challenger", "action", "reason"),
    [
        (VersionStats("2", 50, 0, 4.0, 8.0), "wait", "served 50 requests"),
        (VersionStats("2", 200, 6, 4.0, 8.0), "rollback", "error rate 3.00% vs champion 0.50%"),
        (VersionStats("2", 200, 1, 9.0, 16.0), "rollback", "p95 latency 16.0 ms is 2.00x"),
        (VersionStats("2", 200, 2, 4.0, 9.0), "promote", "error rate 1.00% vs 0.50%"),
    ],
)
def test_verdicts(challenger, action, reason):
    verdict = can.judge(CHAMP, challenger, C)
    assert verdict.action == action and reason in verdict.reason


def test_plans():
    state = EndpointState({"1": 90, "2": 10}, ("0", "1", "2"))
    assert can.plan(state, "1", "2", can.Verdict("promote", ""), keep=2) == ({"2": 100}, ["0"])
    assert can.plan(state, "1", "2", can.Verdict("rollback", ""), keep=2) == ({"1": 100}, ["2"])
    assert can.plan(state, "1", "2", can.Verdict("wait", ""), keep=2) == (state.traffic, [])


def test_stats_from_the_request_log(tmp_path):
    path = tmp_path / PROD_PROJECT / "request_log"
    path.parent.mkdir()
    rows = census_test_frame().head(100)
    log_frame(path, rows, NOW - timedelta(minutes=10), version="1", latency_ms=4.0)
    log_frame(path, rows.head(30), NOW - timedelta(minutes=10), version="2", latency_ms=9.0)
    log_frame(path, rows.head(3), NOW - timedelta(minutes=10), version="2", status=500)
    log_frame(path, rows, NOW - timedelta(hours=5), version="2")  # outside the window
    stats = open_local_prod(tmp_path).figures.version_stats(NOW - timedelta(hours=1), NOW)
    assert stats["1"] == VersionStats("1", 100, 0, 4.0, 4.0)
    assert (stats["2"].requests, stats["2"].errors) == (33, 3)


def test_cloud_monitoring_queries_and_interpretation():
    queries = requests.monitoring_queries("census-ml-prod", "4242000001", 1000, 4600)
    q = queries["errors"]
    assert q["path"] == "/v3/projects/census-ml-prod/timeSeries"
    params = q["params"]
    assert (
        'metric.type = "aiplatform.googleapis.com/prediction/online/error_count"'
        in (params["filter"])
    )
    assert 'resource.labels.endpoint_id = "4242000001"' in params["filter"]
    assert params["aggregation.alignmentPeriod"] == "3600s"
    assert params["interval.startTime"] == "1970-01-01T00:16:40Z"
    assert params["aggregation.groupByFields"] == "metric.labels.deployed_model_id"
    latency = queries["latency"]["params"]
    assert latency["aggregation.perSeriesAligner"] == "ALIGN_PERCENTILE_95"
    assert 'metric.labels.latency_type = "total"' in latency["filter"]

    def series(model, *values, kind="int64Value"):
        return {
            "metric": {"labels": {"deployed_model_id": model}},
            "points": [{"value": {kind: str(v) if kind == "int64Value" else v}} for v in values],
        }

    stats = requests.interpret_time_series(
        {
            "requests": [series("111", 600, 400), series("222", 90, 10)],
            "errors": [series("111", 1), series("222", 4)],
            "latency": [
                series("111", 7.5, kind="doubleValue"),
                series("222", 30.0, kind="doubleValue"),
            ],
        },
        {"111": "1", "222": "2"},
    )
    assert stats["1"] == VersionStats("1", 1000, 1, None, 7.5)
    assert stats["2"] == VersionStats("2", 100, 4, None, 30.0)
    assert can.judge(stats["1"], stats["2"], C).action == "rollback"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("latency", "action", "traffic"),
    [
        (4.0, "PROMOTE", {"2": 100}),
        (40.0, "ROLLBACK", {"1": 100}),
    ],
)
def test_mlops_canary_end_to_end(tmp_path, latency, action, traffic):
    prod = open_local_prod(tmp_path)
    model = save_small_model(tmp_path / "model")
    for version in ("1", "2"):
        prod.registry.register(LocalStorage().copy_tree(str(model), str(tmp_path / version)), {})
    prod.endpoint.deploy("1", {"1": 100}, ROLLOUT)
    prod.endpoint.deploy("2", {"1": 90, "2": 10}, ROLLOUT)
    prod.registry.set_alias("champion", "1")
    prod.registry.set_alias("challenger", "2")
    log = tmp_path / PROD_PROJECT / "request_log"
    rows = census_test_frame().head(250)
    log_frame(log, rows, NOW - timedelta(minutes=10), version="1", latency_ms=4.0)
    log_frame(log, rows, NOW - timedelta(minutes=10), version="2", latency_ms=latency)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlops.cli",
            "canary",
            "--workspace",
            str(tmp_path),
            "--until",
            NOW.isoformat(),
            *(["--json"] if action == "ROLLBACK" else []),  # as a script reads it
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == {"PROMOTE": 0, "ROLLBACK": 4, "WAIT": 5}[action], proc.stderr
    if action == "ROLLBACK":
        verdict = json.loads(proc.stdout)
        assert (verdict["action"], verdict["champion"], verdict["challenger"]) == (
            "rollback",
            "1",
            "2",
        )
        assert verdict["traffic"] == traffic and "latency" in verdict["reason"]
    else:
        assert f"canary v2 vs champion v1: {action}:" in proc.stdout
    assert prod.endpoint.state().traffic == traffic
    aliases = {a: v.version for v in prod.registry.versions() for a in v.aliases}
    assert aliases == ({"champion": "2"} if action == "PROMOTE" else {"champion": "1"})


@pytest.mark.slow
def test_mlops_canary_without_a_challenger_exits_6_nothing_to_judge(tmp_path):
    prod = open_local_prod(tmp_path)
    model = save_small_model(tmp_path / "m")
    prod.registry.register(LocalStorage().copy_tree(str(model), str(tmp_path / "v1")), {})
    prod.endpoint.deploy("1", {"1": 100}, ROLLOUT)
    prod.registry.set_alias("champion", "1")
    command = [sys.executable, "-m", "mlops.cli", "canary", "--workspace", str(tmp_path)]
    proc = subprocess.run(command, capture_output=True, text=True)
    assert proc.returncode == 6 and "no canary to judge" in proc.stderr
    as_json = subprocess.run([*command, "--json"], capture_output=True, text=True)
    assert as_json.returncode == 6 and as_json.stdout == ""  # the exit code says it
