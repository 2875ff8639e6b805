"""Abusive and broken requests, and broken parts of the server: each gets a clear status, and
every predict response reaches the request log (docs/reliability.md)."""

from __future__ import annotations

import gzip
import json

import pytest
from fastapi.testclient import TestClient
from serving_fixtures import sample_instances, small_model

from adapters.local import request_log
from adapters.local.request_log import TABLE, RequestLog
from serving.app import create_app
from serving.contract import ServerConfig
from serving.models import Deployed, SingleModel

LIMIT = 64 * 1024


def body(count: int = 1) -> bytes:
    return json.dumps({"instances": list(sample_instances()[:count])}).encode()


@pytest.fixture
def served(tmp_path):
    log = RequestLog(tmp_path / "log")
    config = ServerConfig(max_body_bytes=LIMIT)
    client = TestClient(create_app(SingleModel(small_model(), "7"), config, log))
    yield client, log
    log.close()


def logged(log: RequestLog) -> list[tuple]:
    log.close()
    with request_log.reader(log.folder) as con:
        return con.execute(f"SELECT status, version, error FROM {TABLE} ORDER BY ts").fetchall()


def test_a_body_over_the_limit_is_refused_before_it_is_parsed(served):
    client, log = served
    big = b'{"instances": [' + b" " * (LIMIT + 10) + b"]}"
    reply = client.post("/predict", content=big)
    assert reply.status_code == 413 and "at most 65,536" in reply.json()["error"]

    def chunks():  # no Content-Length: counted as it arrives
        yield b'{"instances": ['
        for _ in range(100):
            yield b" " * 1024

    reply = client.post("/predict", content=chunks())
    assert reply.status_code == 413 and "over 65,536 bytes" in reply.json()["error"]
    assert [status for status, _, _ in logged(log)] == [413, 413]


def test_gzip_is_decompressed_within_the_limit_and_other_encodings_are_415(served):
    client, log = served
    headers = {"Content-Encoding": "gzip"}
    assert (
        client.post("/predict", content=gzip.compress(body(3)), headers=headers).status_code == 200
    )
    bomb = gzip.compress(b'{"instances": [' + b" " * (50 * LIMIT) + b"]}")
    assert len(bomb) < LIMIT
    reply = client.post("/predict", content=bomb, headers=headers)
    assert reply.status_code == 413 and "decompressed body over" in reply.json()["error"]
    reply = client.post("/predict", content=b"not gzip", headers=headers)
    assert reply.status_code == 400 and "not valid gzip" in reply.json()["error"]
    reply = client.post("/predict", content=body(), headers={"Content-Encoding": "br"})
    assert reply.status_code == 415 and "'br' not supported" in reply.json()["error"]
    assert [status for status, _, _ in logged(log)] == [200] * 3 + [413, 400, 415]


@pytest.mark.parametrize(
    "content_type, status",
    [
        ("application/json", 200),
        ("application/json; charset=utf-8", 200),
        ('Application/JSON; charset="UTF-8"', 200),
        ("application/vnd.census+json", 200),
        (None, 200),  # no header: read as JSON, as FastAPI reads one
        ("application/xml", 415),
        ("application/x-www-form-urlencoded", 415),  # curl -d without -H
        ("text/plain", 415),
        ("application/json; charset=utf-16", 415),
        ("multipart/form-data; boundary=x", 415),
    ],
)
def test_only_json_is_read_and_other_types_are_415_before_the_body(served, content_type, status):
    client, log = served
    headers = {"Content-Type": content_type} if content_type else {}
    reply = client.post("/predict", content=body(), headers=headers)
    assert reply.status_code == status, reply.text
    if status == 415:
        assert reply.json()["error"].endswith(
            "send application/json" if "charset" not in content_type else "sent as UTF-8"
        )
    assert [row[0] for row in logged(log)] == [status]  # the refusal is logged too


def test_duplicate_keys_are_refused_not_resolved(served):
    client, _ = served
    instance = json.dumps(sample_instances()[0])
    twice = ('{"instances": [' + instance + '], "instances": [' + instance + "]}").encode()
    reply = client.post("/predict", content=twice)
    assert reply.status_code == 400
    assert reply.json()["error"] == "duplicate key 'instances' in a JSON object"
    inner = instance.replace('{"age": ', '{"age": 200, "age": ', 1).encode()
    reply = client.post("/predict", content=b'{"instances": [' + inner + b"]}")
    assert reply.json()["error"] == "duplicate key 'age' in a JSON object"


def test_a_huge_value_is_quoted_short_in_the_reply_and_the_log(served):
    client, log = served
    instance = dict(sample_instances()[0], sex="x" * 50_000)
    reply = client.post("/predict", json={"instances": [instance]})
    assert reply.status_code == 400 and len(reply.content) < 300
    ((status, _, error),) = logged(log)
    assert status == 400 and len(error) < 250 and "(50,000 characters)" in error


def test_implausible_numbers_are_refused_naming_field_and_range(served):
    client, _ = served
    for age, shown in ((-5, "-5"), (1e308, "1e+308")):
        reply = client.post("/predict", json={"instances": [dict(sample_instances()[0], age=age)]})
        assert reply.status_code == 400
        assert reply.json()["error"] == (
            f"instance 0: field age is {shown}, outside the plausible range 0 to 120"
        )


class Broken:
    """A version whose model fails every request."""

    threshold = 0.5

    def predict_matrix(self, matrix):
        raise RuntimeError("weights missing")


class Choosing:
    def __init__(self, deployed, fail_choose=False):
        self.deployed, self.fail_choose = deployed, fail_choose

    def choose(self):
        if self.fail_choose:
            raise OSError("state file unreadable")
        return self.deployed

    def engines(self):

        return {}

    def versions(self):
        return {self.deployed.version: 100}

    def refresh(self, force=False):
        pass

    def problems(self):
        return []


def test_a_broken_version_and_an_unexpected_error_are_logged_as_500s(tmp_path):
    from kernel.workspace import LocalTenant

    tenant = LocalTenant(tmp_path, "census-ml-prod")
    log = RequestLog(tenant.request_log_path)
    client = TestClient(
        create_app(Choosing(Deployed("9", Broken())), ServerConfig(), log),
        raise_server_exceptions=False,
    )
    reply = client.post("/predict", content=body())
    assert reply.status_code == 500
    assert reply.json()["error"] == "version 9 failed: RuntimeError: 'weights missing'"
    app = create_app(Choosing(Deployed("9", Broken()), fail_choose=True), ServerConfig(), log)
    reply = TestClient(app, raise_server_exceptions=False).post("/predict", content=body())
    assert reply.status_code == 500
    assert reply.json()["error"] == "internal error: OSError: 'state file unreadable'"
    deep = b'{"instances": [' + b"[" * 300 + b"]" * 300 + b"]}"  # a client's body: a 400
    assert TestClient(app).post("/predict", content=deep).status_code == 400
    assert logged(log) == [
        (500, "9", "version 9 failed: RuntimeError: 'weights missing'"),
        (500, None, "internal error: OSError: 'state file unreadable'"),
        (400, None, "JSON nested deeper than 254 levels"),
    ]
    # what the canary judges a version by: the version's own 500, never a request that
    # failed before a version was chosen (a client's body, the server's state)
    from datetime import UTC, datetime, timedelta

    from adapters.local.monitoring import LocalServingFigures

    now = datetime.now(UTC).replace(tzinfo=None)  # the log keeps naive UTC
    figures = LocalServingFigures(tenant).version_stats(
        now - timedelta(days=1), now + timedelta(days=1)
    )
    assert {v: (s.requests, s.errors) for v, s in figures.items()} == {"9": (1, 1)}


def test_a_log_that_cannot_be_written_turns_health_red_and_refuses_when_full(tmp_path, monkeypatch):
    log = RequestLog(tmp_path / "log", backlog_limit=3)
    client = TestClient(create_app(SingleModel(small_model(), "7"), ServerConfig(), log))
    assert client.post("/predict", content=body()).status_code == 200
    real_write = request_log.os.write

    def disk_full(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(request_log.os, "write", disk_full)  # injected fault: a full disk
    assert client.post("/predict", content=body(2)).status_code == 200  # 2 rows kept
    health = client.get("/health")
    assert health.status_code == 503
    assert "2 rows waiting to be written" in health.json()["problems"][0]
    assert "No space left on device" in health.json()["problems"][0]
    assert client.post("/predict", content=body()).status_code == 200  # 3 waiting: full
    reply = client.post("/predict", content=body())
    assert reply.status_code == 503 and "request log full" in reply.json()["error"]
    monkeypatch.setattr(request_log.os, "write", real_write)  # space again
    assert client.post("/predict", content=body()).status_code == 200  # all written now
    assert client.get("/health").status_code == 200
    statuses = [status for status, _, _ in logged(log)]
    assert statuses.count(200) == 1 + 2 + 1 + 1 and statuses.count(503) == 1


class Split:
    """Two versions served alternately, as the traffic router would at 50/50."""

    def __init__(self, *deployed: Deployed) -> None:
        self.deployed, self.calls = deployed, 0

    def choose(self):
        self.calls += 1
        return self.deployed[self.calls % 2]

    def engines(self):

        return {}

    def versions(self):
        return {d.version: 50 for d in self.deployed}

    def refresh(self, force=False):
        pass

    def problems(self):
        return []


@pytest.mark.slow
def test_a_broken_challenger_is_rolled_back_by_the_canary_on_its_error_rate(tmp_path):
    """Its failures reach the log with its version, so `mlops canary` sees the error rate."""
    import subprocess
    import sys

    from local_prod import PROD_PROJECT, ROLLOUT, open_local_prod
    from serving_fixtures import save_small_model

    from adapters.local.storage import LocalStorage

    prod = open_local_prod(tmp_path)
    model = LocalStorage().copy_tree(str(save_small_model(tmp_path / "m")), str(tmp_path / "v"))
    for version in ("1", "2"):
        prod.registry.register(model, {"candidate": version})
    prod.endpoint.deploy("1", {"1": 100}, ROLLOUT)
    prod.endpoint.deploy("2", {"1": 50, "2": 50}, ROLLOUT)
    prod.registry.set_alias("champion", "1")
    prod.registry.set_alias("challenger", "2")
    log = RequestLog(tmp_path / PROD_PROJECT / "request_log")
    app = create_app(
        Split(Deployed("1", small_model()), Deployed("2", Broken())), ServerConfig(), log
    )
    client = TestClient(app)
    statuses = [client.post("/predict", content=body()).status_code for _ in range(400)]
    log.close()
    assert statuses.count(500) == 200 and statuses.count(200) == 200
    command = [sys.executable, "-m", "mlops.cli", "canary", "--workspace", str(tmp_path)]
    proc = subprocess.run(command, capture_output=True, text=True)
    assert proc.returncode == 4, proc.stdout + proc.stderr  # rolled back
    assert "canary v2 vs champion v1: ROLLBACK" in proc.stdout
    assert prod.endpoint.state().traffic == {"1": 100}


def test_a_short_write_counts_only_whole_rows_and_the_rest_is_written_whole_later(
    tmp_path, monkeypatch
):
    """With 200 KiB free, a 10,000-instance response was reported written while 9,590 rows
    were lost (os.write's count was dropped). Now: the whole rows that reached the file
    count, the torn one and the rest wait, whole, for the next file."""
    log = RequestLog(tmp_path / "log", retry_seconds=0)
    real_write = request_log.os.write
    room = [3_000]  # bytes left on the disk

    def nearly_full(fd, data):
        if room[0] <= 0:
            raise OSError(28, "No space left on device")
        done = real_write(fd, bytes(data[: room[0]]))  # the disk takes what fits
        room[0] -= done
        return done

    monkeypatch.setattr(request_log.os, "write", nearly_full)
    instances = list(sample_instances()[:40])
    log.record(status=200, latency_ms=1.0, version="7", instances=instances,
               predictions=[{"label": "<=50K", "probability": 0.1}] * 40)  # fmt: skip
    assert 0 < log.written < 40 and log.written + log.backlog_rows == 40
    assert log.failure.startswith("short write: 3,000 of ")
    assert log.problems() and f"{log.backlog_rows:,} rows waiting" in log.problems()[0]
    log.record(status=400, latency_ms=1.0, error="bad")  # the disk is full: no new file
    files = sorted((tmp_path / "log").glob("*.jsonl"))
    assert len(files) == 1  # the failed tries left no empty segment behind
    monkeypatch.setattr(request_log.os, "write", real_write)  # room again
    log.record(status=400, latency_ms=1.0, error="after")
    assert log.backlog_rows == 0 and log.failure is None and log.lost == 0
    assert [s for s, _, _ in logged(log)].count(200) == 40  # every row, once, readable


def test_the_backlog_is_bounded_and_a_stop_that_cannot_write_says_so(tmp_path, monkeypatch):
    log = RequestLog(tmp_path / "log", backlog_limit=2, retry_seconds=3600)

    def disk_full(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(request_log.os, "write", disk_full)
    for _ in range(10):
        log.record(status=503, latency_ms=1.0, error="request log full")
    assert log.backlog_rows == 4 and log.dropped == 6  # kept up to twice the limit
    assert not list((tmp_path / "log").glob("*.jsonl"))  # no empty segment per try
    log.close()  # the stop tries once more, and counts what never reached the file
    assert log.lost == 10 and log.written == 0
