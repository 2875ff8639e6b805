"""The real server process on loopback: the Vertex entry point, and `mlops serve` with its
request log; a bounded load test with zero 5xx and flat memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from local_prod import ROLLOUT, open_local_prod
from server_process import free_port, image_python, rss_mib, start, stop
from serving_fixtures import sample_instances, save_small_model

from adapters.local import request_log
from adapters.local.request_log import TABLE
from adapters.local.storage import LocalStorage

pytestmark = pytest.mark.slow  # synthesizes the stacks or starts the simulated cloud

REQUESTS, CONCURRENCY = 400, 8


@pytest.fixture(scope="module")
def serving_image_python(tmp_path_factory) -> str:
    """The serving image's dependencies (Dockerfile, target serving): the base and `serving`."""
    return image_python(tmp_path_factory.mktemp("image") / "venv", "serving")


def importable(python: str, modules: tuple[str, ...]) -> list[str]:
    probe = (
        "import importlib.util as u, json, sys; "
        "print(json.dumps([m for m in sys.argv[1:] if u.find_spec(m)]))"
    )
    found = subprocess.run([python, "-c", probe, *modules], capture_output=True, text=True)
    assert found.returncode == 0, found.stderr
    return json.loads(found.stdout)


# What the pipeline, the CLI and the model-building steps use, and no server does.
NOT_SERVED = ("kfp", "google_cloud_pipeline_components", "google.cloud.aiplatform",
              "google.cloud.bigquery", "duckdb", "matplotlib", "sklearn", "onnxruntime", "flaml",
              "cdktf", "pytest")  # fmt: skip


def test_the_serving_image_holds_the_server_and_nothing_of_the_pipeline(serving_image_python):
    assert importable(serving_image_python, NOT_SERVED) == []
    assert importable(serving_image_python, ("fastapi", "uvicorn", "lleaves", "lightgbm")) == [
        "fastapi",
        "uvicorn",
        "lleaves",
        "lightgbm",
    ]


def test_the_trainer_image_trains_without_the_pipeline_or_the_server(tmp_path):
    python = image_python(tmp_path / "venv", "training")
    assert importable(python, ("kfp", "google.cloud.aiplatform", "fastapi", "onnxruntime")) == []
    trainer = subprocess.run(
        [python, "-m", "trainer.task", "--help"], capture_output=True, text=True
    )
    assert trainer.returncode == 0 and "usage" in trainer.stdout, trainer.stderr


@pytest.fixture(scope="module")
def vertex_server(tmp_path_factory, serving_image_python):
    """`python -m serving` exactly as Vertex AI starts the container, with the serving
    image's dependencies."""
    model_dir = save_small_model(tmp_path_factory.mktemp("artifact") / "model")
    port = free_port()
    env = {
        "AIP_HTTP_PORT": str(port),
        "AIP_HEALTH_ROUTE": "/healthz",
        "AIP_PREDICT_ROUTE": "/v1/predict",
        "AIP_STORAGE_URI": str(model_dir),
        "AIP_DEPLOYED_MODEL_ID": "9",
    }
    proc = start([serving_image_python, "-m", "serving"], env, f"http://127.0.0.1:{port}/healthz")
    yield f"http://127.0.0.1:{port}", proc
    stop(proc)


def test_vertex_entry_point_serves_the_contract(vertex_server):
    base, _ = vertex_server
    reply = httpx.post(f"{base}/v1/predict", json={"instances": list(sample_instances()[:2])})
    assert reply.status_code == 200 and reply.json()["model_version"] == "9"
    assert len(reply.json()["predictions"]) == 2


def test_bounded_load_has_no_5xx_and_flat_memory(vertex_server):
    base, proc = vertex_server
    body = {"instances": list(sample_instances()[:5])}
    bad = {"instances": [{"age": "x"}]}

    def burst(n: int) -> list[int]:
        with httpx.Client(timeout=30) as client, ThreadPoolExecutor(CONCURRENCY) as pool:
            return list(
                pool.map(
                    lambda i: (
                        client.post(
                            f"{base}/v1/predict", json=bad if i % 10 == 0 else body
                        ).status_code
                    ),
                    range(n),
                )
            )

    burst(100)  # warm up allocators and caches
    before = rss_mib(proc.pid)
    statuses = burst(REQUESTS)
    after = rss_mib(proc.pid)
    assert statuses.count(200) == REQUESTS - REQUESTS // 10
    assert statuses.count(400) == REQUESTS // 10
    assert not [s for s in statuses if s >= 500]
    print(f"server RSS {before:.1f} -> {after:.1f} MiB over {REQUESTS} requests")
    assert after - before < 15, f"memory grew {after - before:.1f} MiB over {REQUESTS} requests"


def test_missing_storage_uri_is_a_clear_error():
    proc = subprocess.run(
        [sys.executable, "-m", "serving"],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "AIP_STORAGE_URI"},
    )
    assert proc.returncode == 2 and "AIP_STORAGE_URI is not set" in proc.stderr


def test_mlops_serve_splits_traffic_and_logs_everything(tmp_path):
    """Two versions at 70/30 on the local endpoint; every request lands in the log."""
    workspace = tmp_path / "ws"
    prod = open_local_prod(workspace)
    model_dir = save_small_model(tmp_path / "model")
    for version in ("1", "2"):
        registered = prod.registry.register(
            LocalStorage().copy_tree(str(model_dir), str(tmp_path / f"v{version}")),
            {"candidate": version},
        )
        assert registered.version == version
    prod.endpoint.deploy("1", {"1": 100}, ROLLOUT)
    prod.endpoint.deploy("2", {"1": 70, "2": 30}, ROLLOUT)
    port = free_port()
    proc = start(
        [
            sys.executable,
            "-m",
            "mlops.cli",
            "serve",
            "--workspace",
            str(workspace),
            "--port",
            str(port),
        ],
        {},
        f"http://127.0.0.1:{port}/health",
    )
    with httpx.Client() as client:
        versions = [
            client.post(
                f"http://127.0.0.1:{port}/predict", json={"instances": [sample_instances()[i % 50]]}
            ).json()["model_version"]
            for i in range(300)
        ]
        assert client.post(f"http://127.0.0.1:{port}/predict", content=b"nope").status_code == 400
    out = stop(proc)
    assert "request log: 301 rows written" in out
    assert 0.2 < versions.count("2") / len(versions) < 0.4
    log = read_log(workspace / "census-ml-prod" / "request_log")
    assert len(log) == 301 and (log.status == 200).sum() == 300
    assert set(log.version.dropna()) == {"1", "2"}
    row = log[log.status == 200].iloc[0]
    assert row.age == sample_instances()[0]["age"] and row.label in ("<=50K", ">50K")
    assert log[log.status == 400].error.iloc[0].startswith("malformed JSON")


def read_log(path):
    with request_log.reader(path) as con:
        return con.execute(f"SELECT * FROM {TABLE} ORDER BY ts").df()
