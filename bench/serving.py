"""Serving latency and throughput on loopback, next to in-process predict as the floor.

Starts `python -m serving` (the Vertex entry point) on a free port with the default model
trained on adult.data, then measures single-instance latency (p50, p99 over sequential
requests on one keep-alive connection) and one 1,000-instance request. Request bodies are
serialized before the clock starts, as a load generator sends them: the figures are the
server's round trip, not the client's JSON encoder.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import httpx
import numpy as np

from trainer import loader, predict
from trainer.hyperparameters import Hyperparameters
from trainer.model import train

SINGLE, BATCHES = 2000, 30


def percentile(values, q):
    return float(np.percentile(values, q))


def main() -> None:
    data = loader.load_census(split="train")
    model = train(data.frame, Hyperparameters(), data_sha256=data.sha256)
    instances = predict.frame_to_instances(loader.load_census(split="test").frame.head(1000))

    floor_single, floor_batch = [], []
    for i in range(SINGLE):
        t = time.perf_counter()
        model.predict_matrix(predict.encode_instances([instances[i % 1000]]))
        floor_single.append((time.perf_counter() - t) * 1000)
    for _ in range(BATCHES):
        t = time.perf_counter()
        model.predict_matrix(predict.encode_instances(instances))
        floor_batch.append((time.perf_counter() - t) * 1000)

    with tempfile.TemporaryDirectory() as folder:
        model.save(folder)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "AIP_HTTP_PORT": str(port), "AIP_STORAGE_URI": folder}
        server = subprocess.Popen([sys.executable, "-m", "serving"], env=env)
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    if httpx.get(f"{url}/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            with httpx.Client() as client:
                headers = {"content-type": "application/json"}
                bodies = [json.dumps({"instances": [i]}).encode() for i in instances]
                for _ in range(200):  # warm up
                    client.post(f"{url}/predict", content=bodies[0], headers=headers)
                single = []
                for i in range(SINGLE):
                    t = time.perf_counter()
                    reply = client.post(f"{url}/predict", content=bodies[i % 1000], headers=headers)
                    single.append((time.perf_counter() - t) * 1000)
                    assert reply.status_code == 200
                big = json.dumps({"instances": instances}).encode()
                batch = []
                for _ in range(BATCHES):
                    t = time.perf_counter()
                    reply = client.post(f"{url}/predict", content=big, headers=headers)
                    batch.append((time.perf_counter() - t) * 1000)
                    assert reply.status_code == 200 and len(reply.json()["predictions"]) == 1000
        finally:
            server.terminate()
            server.wait()

    print(
        f"model: {model.booster.num_trees()} trees; {SINGLE} single requests, "
        f"{BATCHES} batches of 1,000"
    )
    print(
        f"single instance, HTTP loopback  p50 {percentile(single, 50):6.2f} ms   "
        f"p99 {percentile(single, 99):6.2f} ms   (target p99 < 10 ms)"
    )
    print(
        f"single instance, in-process     p50 {percentile(floor_single, 50):6.2f} ms   "
        f"p99 {percentile(floor_single, 99):6.2f} ms   (floor)"
    )
    med = statistics.median(batch)
    print(
        f"1,000 instances, HTTP loopback  median {med:6.1f} ms  "
        f"= {1000 / med * 1000:,.0f} instances/s   (target < 50 ms)"
    )
    fmed = statistics.median(floor_batch)
    print(
        f"1,000 instances, in-process     median {fmed:6.1f} ms  "
        f"= {1000 / fmed * 1000:,.0f} instances/s   (floor; HTTP/floor {med / fmed:.2f}x)"
    )


if __name__ == "__main__":
    main()
