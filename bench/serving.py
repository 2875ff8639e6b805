"""Serving latency: LightGBM against compiled trees, in-process and over HTTP, side by side.

Trains the default model on adult.data (1,200 trees), compiles it with lleaves (timed, into
a fresh cache), then for each engine: in-process predict of 1 and 1,000 instances (encoding
included), and `python -m serving` on loopback (MLOPS_COMPILED_TREES=off, then on): single
requests on one keep-alive connection, one 1,000-instance request, and single requests from
20 concurrent clients (p50/p99). Bodies are serialized before the clock starts.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

# bench/serving.py would shadow the serving package: keep this folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import httpx  # noqa: E402
import numpy as np  # noqa: E402

from trainer import compiled, loader, predict  # noqa: E402
from trainer.hyperparameters import Hyperparameters  # noqa: E402
from trainer.model import train  # noqa: E402

SINGLE, BATCHES, CLIENTS, PER_CLIENT = 2000, 30, 20, 200


def timed(call, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        call()
        out.append((time.perf_counter() - t) * 1000)
    return out


def in_process(model, instances) -> dict:
    single = timed(lambda: model.predict_matrix(predict.encode_instances(instances[:1])), SINGLE)
    batch = timed(lambda: model.predict_matrix(predict.encode_instances(instances)), BATCHES)
    return {"single": single, "batch": batch}


def over_http(folder: str, instances, compiled_trees: bool) -> dict:
    import server_process

    port = server_process.free_port()
    env = {
        "AIP_HTTP_PORT": str(port),
        "AIP_STORAGE_URI": folder,
        compiled.SWITCH_ENV: "on" if compiled_trees else "off",
    }
    url = f"http://127.0.0.1:{port}"
    proc = server_process.start([sys.executable, "-m", "serving"], env, f"{url}/health")
    try:
        while compiled_trees:
            state = httpx.get(f"{url}/health").json()["engines"]["unknown"]["state"]
            if state != "compiling":
                assert state == "compiled", state
                break
            time.sleep(0.2)
        headers = {"content-type": "application/json"}
        bodies = [json.dumps({"instances": [i]}).encode() for i in instances]
        big = json.dumps({"instances": instances}).encode()
        with httpx.Client() as client:
            post = client.post
            for _ in range(200):  # warm up
                post(f"{url}/predict", content=bodies[0], headers=headers)
            counter = iter(range(10**9))
            single = timed(
                lambda: post(
                    f"{url}/predict", content=bodies[next(counter) % 1000], headers=headers
                ),
                SINGLE,
            )
            batch = timed(lambda: post(f"{url}/predict", content=big, headers=headers), BATCHES)
        concurrent: list[float] = []
        lock = threading.Lock()

        def client_loop(seed: int) -> None:
            with httpx.Client() as own:
                mine = timed(
                    lambda: own.post(
                        f"{url}/predict", content=bodies[seed % 1000], headers=headers
                    ),
                    PER_CLIENT,
                )
            with lock:
                concurrent.extend(mine)

        threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server_process.stop(proc)
    return {"single": single, "batch": batch, "concurrent": concurrent}


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    data = loader.load_census(split="train")
    model = train(data.frame, Hyperparameters(), data_sha256=data.sha256)
    instances = predict.frame_to_instances(loader.load_census(split="test").frame.head(1000))
    with tempfile.TemporaryDirectory() as folder:
        os.environ[compiled.CACHE_ENV] = str(Path(folder) / "cache")
        model.save(Path(folder) / "model")
        os.environ[compiled.SWITCH_ENV] = "on"
        started = time.perf_counter()
        engine = model.compile()
        engine.done.wait()
        assert engine.state == "compiled", engine.reason
        cache = sum(p.stat().st_size for p in (Path(folder) / "cache").glob("*.o"))
        print(
            f"model: {model.booster.num_trees()} trees; compile + verify "
            f"{time.perf_counter() - started:.1f} s (lleaves, finline=False); object "
            f"{cache / 1e6:.1f} MB; {engine.reason}"
        )
        results = {"compiled": {"in-process": in_process(model, instances)}}
        model.engine = None
        results["LightGBM"] = {"in-process": in_process(model, instances)}
        for name, on in (("LightGBM", False), ("compiled", True)):
            results[name]["HTTP"] = over_http(str(Path(folder) / "model"), instances, on)

    print(f"{'engine':<10}{'path':<12}{'1 inst. p50':>12}{'p99':>9}{'1,000 median':>14}")
    for name in ("LightGBM", "compiled"):
        for path in ("in-process", "HTTP"):
            r = results[name][path]
            p50, p99 = np.percentile(r["single"], [50, 99])
            batch = statistics.median(r["batch"])
            print(f"{name:<10}{path:<12}{p50:>9.3f} ms{p99:>6.3f} ms{batch:>11.2f} ms")
    for name in ("LightGBM", "compiled"):
        c = results[name]["HTTP"]["concurrent"]
        print(
            f"{name:<10}{CLIENTS} concurrent clients, single instances: p50 "
            f"{np.percentile(c, 50):.2f} ms, p99 {np.percentile(c, 99):.2f} ms"
        )
    lgb_http = statistics.median(results["LightGBM"]["HTTP"]["batch"])
    comp_http = statistics.median(results["compiled"]["HTTP"]["batch"])
    print(
        f"1,000 instances over HTTP: compiled {comp_http:.2f} ms vs LightGBM {lgb_http:.2f} ms "
        f"= {lgb_http / comp_http:.1f}x (targets: < 15 ms, >= 4x); single p99 over HTTP "
        f"{np.percentile(results['compiled']['HTTP']['single'], 99):.2f} ms (target < 2 ms)"
    )


if __name__ == "__main__":
    main()
