"""The request log read in place within a memory limit (issue 31, part 6): the canary's
per-version figures count requests exactly from each request's row 0, read segments
written before that column existed, and spill instead of failing when a query needs more
memory than the reader's limit. Peak memory at 1M and 10M rows: bench/reader.py."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from serving_fixtures import sample_instances

from adapters.local import request_log
from adapters.local.monitoring import LocalServingFigures
from adapters.local.request_log import TABLE, RequestLog, reader_config
from kernel.workspace import LocalTenant

PROJECT = "census-ml-prod"


def served(log: RequestLog, version: str, latencies: list[float], size: int = 1) -> None:
    instances = list(sample_instances()[:size])
    for ms in latencies:
        predictions = [{"label": "<=50K", "probability": 0.2}] * size
        log.record(
            status=200, latency_ms=ms, version=version, instances=instances, predictions=predictions
        )


def figures(workspace: Path) -> dict:
    tenant = LocalTenant(workspace, PROJECT)
    end = datetime.now() + timedelta(hours=1)
    return LocalServingFigures(tenant).version_stats(end - timedelta(days=1), end)


def test_requests_are_counted_once_however_many_instances_they_hold(tmp_path):
    log = RequestLog(LocalTenant(tmp_path, PROJECT).request_log_path)
    served(log, "1", [5.0] * 30, size=10)  # 300 rows, 30 requests
    served(log, "2", [7.0] * 4, size=1)
    log.record(status=500, latency_ms=9.0, version="2", error="version 2 failed")
    log.record(status=400, latency_ms=1.0, error="bad body")  # no version: in no figure
    log.close()
    stats = figures(tmp_path)
    assert (stats["1"].requests, stats["1"].errors) == (30, 0)
    assert (stats["2"].requests, stats["2"].errors) == (5, 1)


def test_segments_from_before_the_instance_column_are_counted_exactly_beside_new_ones(tmp_path):
    folder = LocalTenant(tmp_path, PROJECT).request_log_path
    now = datetime.now().timestamp()
    old = []  # as an earlier server wrote them: no `instance`, three rows a request
    for request in range(20):
        for _ in range(3):
            old.append(
                {
                    "ts": now,
                    "request_id": f"old-{request}",
                    "version": "1",
                    "status": 200,
                    "latency_ms": 4.0,
                }
            )
    old_segment = request_log.append(folder, old)
    with duckdb.connect() as con:  # rewrite it without the column, as it was on disk
        con.execute(
            f"COPY (SELECT * EXCLUDE (instance) FROM read_parquet('{old_segment}')) "
            f"TO '{old_segment}.tmp' (FORMAT parquet)"
        )
    Path(f"{old_segment}.tmp").replace(old_segment)
    log = RequestLog(folder)
    served(log, "1", [6.0] * 10, size=3)
    log.close()
    with request_log.reader(folder) as con:
        (rows, nulls) = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE instance IS NULL) FROM {TABLE}"
        ).fetchone()
    assert (rows, nulls) == (90, 60)
    assert figures(tmp_path)["1"].requests == 30


def test_latency_percentiles_are_within_a_hair_of_the_exact_ones(tmp_path):
    log = RequestLog(LocalTenant(tmp_path, PROJECT).request_log_path)
    latencies = [1.0 + (i * 37 % 1000) / 10 for i in range(2000)]  # 1..100.9 ms, shuffled
    served(log, "1", latencies)
    log.close()
    stats = figures(tmp_path)["1"]
    exact = statistics.quantiles(latencies, n=100)
    assert stats.p50_ms == pytest.approx(exact[49], rel=0.02)
    assert stats.p95_ms == pytest.approx(exact[94], rel=0.02)


def test_a_reader_has_a_memory_limit_and_its_own_spill_folder():
    first, second = reader_config({}), reader_config({})
    assert first["memory_limit"] == request_log.READER_MEMORY
    assert first["temp_directory"] != second["temp_directory"]  # readers never share one
    assert reader_config({"MLOPS_LOG_READER_MEMORY": "64MB"})["memory_limit"] == "64MB"


def test_the_canary_figures_of_a_log_larger_than_the_limit_are_read_within_it(
    tmp_path, monkeypatch
):
    """300,000 requests under a 32 MB limit that binds (a query holding 75 MB is refused),
    counted exactly: each request's row 0 needs no memory per request."""
    monkeypatch.setenv("MLOPS_LOG_READER_MEMORY", "32MB")
    folder = LocalTenant(tmp_path, PROJECT).request_log_path
    now = datetime.now().timestamp()
    request_log.append(
        folder,
        [
            {
                "ts": now,
                "request_id": f"r{i:07d}-{'x' * 40}",
                "instance": 0,
                "version": str(1 + i % 2),
                "status": 500 if i % 100 == 0 else 200,
                "latency_ms": 1.0 + i % 50,
            }
            for i in range(300_000)
        ],
    )
    with request_log.reader(folder) as con:
        (limit,) = con.execute("SELECT current_setting('memory_limit')").fetchone()
        assert limit.startswith("30.5 MiB")
        with pytest.raises(duckdb.OutOfMemoryException):  # 75 MB held at once: refused
            con.execute(f"SELECT string_agg(request_id || repeat('y', 200), ',') FROM {TABLE}")
    stats = figures(tmp_path)
    assert {v: (s.requests, s.errors) for v, s in stats.items()} == {
        "1": (150_000, 3_000),
        "2": (150_000, 0),
    }
