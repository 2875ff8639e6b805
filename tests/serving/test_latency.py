"""What keeps the tail short (docs/serving.md, "Latency"): small requests answered on the
event loop and big batches in a worker thread, each answer saying where its time went, no
request waiting for the state files, a settled heap, and no fsync on a request's path."""

from __future__ import annotations

import gc
import json
import os
import threading
import time

import pytest
from fastapi.testclient import TestClient
from local_prod import ROLLOUT, open_local_prod
from serving_fixtures import sample_instances, save_small_model, small_model

from adapters.local.request_log import RequestLog
from adapters.local.storage import LocalStorage
from serving.app import INLINE_BODY_BYTES, Stopwatch, create_app, scored_inline, server_timing
from serving.contract import ServerConfig
from serving.models import (
    Deployed,
    SingleModel,
    TrafficRouter,
    release_heap,
    resettle_heap,
    settle_heap,
)
from trainer.predict import encode_instances


def test_server_timing_is_the_w3c_header_in_milliseconds():
    assert server_timing([("body", 0.0412), ("score", 1.5)]) == "body;dur=0.041, score;dur=1.500"
    assert server_timing([]) == ""
    watch = Stopwatch()
    watch.mark("parse")
    watch.mark("score")
    assert [stage for stage, _ in watch.spans] == ["parse", "score"]
    assert all(ms >= 0 for _, ms in watch.spans)
    assert watch.elapsed_ms() >= sum(ms for _, ms in watch.spans)


def test_only_bodies_up_to_the_limit_are_scored_on_the_event_loop():
    assert scored_inline(0) and scored_inline(INLINE_BODY_BYTES)
    assert not scored_inline(INLINE_BODY_BYTES + 1)
    one = len(json.dumps({"instances": [sample_instances()[0]]}))
    assert 50 <= INLINE_BODY_BYTES // one <= 200  # "about 150 instances"


class Recording(SingleModel):
    """The real small model, noting which thread scored each request."""

    def __init__(self) -> None:
        super().__init__(small_model(), "1")
        self.threads: list[str] = []

    def choose(self) -> Deployed | None:
        self.threads.append(threading.current_thread().name)
        return super().choose()


def test_a_small_request_is_scored_on_the_loop_and_a_batch_in_a_worker(tmp_path):
    models = Recording()
    log = RequestLog(tmp_path / "log")
    try:
        client = TestClient(create_app(models, ServerConfig(), log))
        with client:  # one event loop thread for the app, as uvicorn's
            small = client.post("/predict", json={"instances": list(sample_instances()[:3])})
            batch = client.post("/predict", json={"instances": list(sample_instances()[:200])})
            bad = client.post("/predict", json={"instances": [{"age": "old"}]})
    finally:
        log.close()
    assert small.status_code == batch.status_code == 200 and bad.status_code == 400
    loop, worker = models.threads
    assert loop != worker  # the batch left the loop for a worker thread
    for reply, stages in (
        (small, ["body", "wait", "parse", "encode", "score", "log"]),
        (batch, ["body", "wait", "parse", "encode", "score", "log"]),
        (bad, ["body", "wait", "parse", "log"]),  # a refusal says where it was refused too
    ):
        header = reply.headers["Server-Timing"]
        assert [part.split(";")[0] for part in header.split(", ")] == stages, header


def test_a_following_router_reads_the_split_off_the_requests_path(tmp_path):
    prod = open_local_prod(tmp_path / "ws")
    for version in ("1", "2"):
        model = save_small_model(tmp_path / f"m{version}")
        prod.registry.register(
            LocalStorage().copy_tree(str(model), str(tmp_path / f"v{version}")), {}
        )
    prod.endpoint.deploy("1", {"1": 100}, ROLLOUT)
    router = TrafficRouter(prod.endpoint, prod.registry)
    reads = []
    state = prod.endpoint.state

    def counted():
        reads.append(threading.current_thread().name)
        return state()

    prod.endpoint.state = counted
    router.follow(every=0.01)
    request_thread_reads = len(reads)
    prod.endpoint.deploy("2", {"1": 90, "2": 10}, ROLLOUT)
    deadline = time.monotonic() + 600  # a ceiling for a stalled machine, not a wait
    while router.versions() != {"1": 90, "2": 10}:
        assert time.monotonic() < deadline, router.versions()
        time.sleep(0.01)
    for _ in range(50):
        assert router.choose().version in ("1", "2")
    router.unfollow()
    assert set(reads[request_thread_reads:]) == {"traffic-split"}  # only the follower read
    stopped = len(reads)
    router.choose()  # no longer followed: a request reads the split itself, as before
    assert router._follower is None and len(reads) in (stopped, stopped + 1)


def test_a_settled_heap_keeps_the_loaded_objects_out_of_later_collections():
    release_heap()
    resettle_heap()  # a process that never settled its heap: left alone
    assert gc.get_freeze_count() == 0
    kept = [[n] for n in range(1000)]  # tracked by the collector
    try:
        settle_heap()
        assert gc.get_freeze_count() >= len(kept)
        fresh = [[n] for n in range(1000)]
        resettle_heap()  # after a model load: the new objects join
        assert gc.get_freeze_count() >= len(kept) + len(fresh)
    finally:
        release_heap()
    assert gc.get_freeze_count() == 0  # released before exit: nothing reported as leaked


def test_a_closed_segment_is_fsynced_by_the_compactor_not_the_request(tmp_path, monkeypatch):
    synced: list[str] = []
    real = os.fsync

    def fsync(fd):
        synced.append(threading.current_thread().name)
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    log = RequestLog(tmp_path / "log", segment_rows=2)
    log.record(
        status=200,
        latency_ms=1.0,
        version="1",
        instances=[sample_instances()[0]],
        predictions=[{"label": "<=50K", "probability": 0.1}],
    )
    log.record(status=400, latency_ms=1.0, error="bad")  # the second row closes the segment
    assert threading.current_thread().name not in synced
    log.close()  # the stop waits for the compactor: the segment is durable when it returns
    assert synced and threading.current_thread().name not in synced
    assert len(list((tmp_path / "log").glob("*.parquet"))) == 1  # and compacted


@pytest.mark.parametrize("count", [1, 150])
def test_answers_are_the_same_on_the_loop_and_in_a_worker(count):
    """Where a request runs changes nothing it answers."""
    instances = list(sample_instances()[:count])
    client = TestClient(create_app(SingleModel(small_model(), "1"), ServerConfig()))
    reply = client.post("/predict", json={"instances": instances}).json()
    expected = small_model().predict_matrix(encode_instances(instances, "reject"))
    assert [p["probability"] for p in reply["predictions"]] == pytest.approx(list(expected))
