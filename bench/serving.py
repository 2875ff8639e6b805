"""Serving latency: LightGBM against compiled trees, in-process and over HTTP, side by side.

Trains the default model on adult.data (1,200 trees), compiles it with lleaves (timed, into
a fresh cache), then measures both engines: in-process predict of 1 and 1,000 instances
(encoding included), one engine after the other; and two `python -m serving` processes on
loopback at once (MLOPS_COMPILED_TREES=off and on), requests alternating between them: single
requests on one keep-alive connection and 1,000-instance requests; then single requests from
20 concurrent clients (p50/p99), one server after the other. Bodies are serialized before
the clock starts.
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

from figures import record  # a sibling: imported before this folder leaves the path

# bench/serving.py would shadow the serving package: keep this folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import httpx  # noqa: E402
import numpy as np  # noqa: E402

from trainer import compiled, loader, predict  # noqa: E402
from trainer.hyperparameters import Hyperparameters  # noqa: E402
from trainer.model import train  # noqa: E402

SINGLE, BATCHES, CLIENTS, PER_CLIENT = 2000, 60, 20, 200
ENGINES = ("LightGBM", "compiled")


def timed(call, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        call()
        out.append((time.perf_counter() - t) * 1000)
    return out


def in_process(model, instances) -> dict:
    """One engine after the other (alternating call by call here would measure LightGBM's
    idle OpenMP threads spinning beside lleaves' threads, which no server does)."""
    engines = {"LightGBM": model.predict_lightgbm, "compiled": model.predict_matrix}
    out: dict = {}
    for name, call in engines.items():
        out[name] = {
            "single": timed(lambda c=call: c(predict.encode_instances(instances[:1])), SINGLE),
            "batch": timed(lambda c=call: c(predict.encode_instances(instances)), BATCHES),
        }
    return out


def start_server(folder: str, compiled_trees: bool):
    import server_process

    port = server_process.free_port()
    env = {
        "AIP_HTTP_PORT": str(port),
        "AIP_STORAGE_URI": folder,
        compiled.SWITCH_ENV: "on" if compiled_trees else "off",
    }
    url = f"http://127.0.0.1:{port}"
    proc = server_process.start([sys.executable, "-m", "serving"], env, f"{url}/health")
    while compiled_trees:
        state = httpx.get(f"{url}/health").json()["engines"]["unknown"]["state"]
        if state != "compiling":
            assert state == "compiled", state
            break
        time.sleep(0.2)
    return proc, url


def over_http(folder: str, instances) -> dict:
    """Both servers up at once, requests alternating between them: the machine's noise
    falls on both engines alike, so their ratio holds even when the absolute times drift."""
    import server_process

    servers = {name: start_server(folder, name == "compiled") for name in ENGINES}
    headers = {"content-type": "application/json"}
    bodies = [json.dumps({"instances": [i]}).encode() for i in instances]
    big = json.dumps({"instances": instances}).encode()
    results: dict = {name: {"single": [], "batch": [], "concurrent": []} for name in ENGINES}
    try:
        with httpx.Client() as client:
            for _, url in servers.values():
                for _ in range(200):  # warm up
                    client.post(f"{url}/predict", content=bodies[0], headers=headers)
            for round_ in range(SINGLE // 100):  # blocks of 100, alternating
                for name, (_, url) in servers.items():
                    results[name]["single"] += timed_each(
                        lambda i, url=url: client.post(
                            f"{url}/predict", content=bodies[i % 1000], headers=headers
                        ),
                        range(round_ * 100, round_ * 100 + 100),
                    )
            for _ in range(BATCHES):
                for name, (_, url) in servers.items():
                    results[name]["batch"] += timed(
                        lambda url=url: client.post(f"{url}/predict", content=big, headers=headers),
                        1,
                    )
        for name, (_, url) in servers.items():
            results[name]["concurrent"] = concurrently(url, bodies, headers)
    finally:
        for proc, _ in servers.values():
            server_process.stop(proc)
    return results


def timed_each(call, items) -> list[float]:
    out = []
    for item in items:
        t = time.perf_counter()
        call(item)
        out.append((time.perf_counter() - t) * 1000)
    return out


def concurrently(url: str, bodies: list[bytes], headers: dict) -> list[float]:
    """CLIENTS threads, each on its own connection, single instances."""
    latencies: list[float] = []
    lock = threading.Lock()

    def client_loop(seed: int) -> None:
        with httpx.Client() as own:
            mine = timed(
                lambda: own.post(f"{url}/predict", content=bodies[seed % 1000], headers=headers),
                PER_CLIENT,
            )
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


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
        compile_s = round(time.perf_counter() - started, 1)
        print(
            f"model: {model.booster.num_trees()} trees; compile + verify "
            f"{compile_s} s (lleaves, finline=False); object "
            f"{cache / 1e6:.1f} MB; {engine.reason}"
        )
        results = {name: {"in-process": m} for name, m in in_process(model, instances).items()}
        for name, measured in over_http(str(Path(folder) / "model"), instances).items():
            results[name]["HTTP"] = measured

    print(f"{'engine':<10}{'path':<12}{'1 inst. p50':>12}{'p99':>9}{'1,000 median':>14}")
    table: dict[str, float] = {}
    for name in ("LightGBM", "compiled"):
        for path in ("in-process", "HTTP"):
            r = results[name][path]
            p50, p99 = np.percentile(r["single"], [50, 99])
            batch = statistics.median(r["batch"])
            print(f"{name:<10}{path:<12}{p50:>9.3f} ms{p99:>6.3f} ms{batch:>11.2f} ms")
            key = f"{name.lower()}_{'http' if path == 'HTTP' else 'local'}"
            table.update(
                {
                    f"{key}_p50_ms": round(float(p50), 3),
                    f"{key}_p99_ms": round(float(p99), 2),
                    f"{key}_1000_ms": round(batch, 1),
                }
            )
    for name in ("LightGBM", "compiled"):
        c = results[name]["HTTP"]["concurrent"]
        print(
            f"{name:<10}{CLIENTS} concurrent clients, single instances: p50 "
            f"{np.percentile(c, 50):.2f} ms, p99 {np.percentile(c, 99):.2f} ms"
        )
    lgb_http = statistics.median(results["LightGBM"]["HTTP"]["batch"])
    comp_http = statistics.median(results["compiled"]["HTTP"]["batch"])
    single_p99 = float(np.percentile(results["compiled"]["HTTP"]["single"], 99))
    print(
        f"1,000 instances over HTTP: compiled {comp_http:.2f} ms vs LightGBM {lgb_http:.2f} ms "
        f"= {lgb_http / comp_http:.1f}x (targets: < 15 ms, >= 4x); single p99 over HTTP "
        f"{single_p99:.2f} ms (target < 2 ms)"
    )
    concurrent = results["compiled"]["HTTP"]["concurrent"]
    record(
        "serving",
        {
            "compile_s": compile_s,
            "http_1000_compiled_ms": round(comp_http, 1),
            "http_1000_lightgbm_ms": round(lgb_http, 1),
            "http_1000_ratio": round(lgb_http / comp_http, 1),
            "http_single_p99_ms": round(single_p99, 2),
            "concurrent_p50_ms": round(float(np.percentile(concurrent, 50)), 1),
            "concurrent_p99_ms": round(float(np.percentile(concurrent, 99)), 1),
            **table,
        },
    )


if __name__ == "__main__":
    main()
