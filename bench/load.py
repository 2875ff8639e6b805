"""The local prod endpoint under load: latency at 1 and 20 concurrent clients, memory over
20,000 requests, and rows logged against answers received when the server is stopped
(SIGTERM) or killed (SIGKILL) mid-load.

A real `mlops serve` process on loopback, serving a model trained on the bundled census
data; clients are threads with their own HTTP connection, posting one census instance per
request. Usage: python bench/load.py [--quick]
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from figures import record  # siblings: imported before this folder leaves the path
from proctree import rss_kib

# bench/serving.py would shadow the serving package: keep this folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import httpx  # noqa: E402

from adapters import wiring  # noqa: E402
from adapters.local import request_log  # noqa: E402
from adapters.local.storage import LocalStorage  # noqa: E402
from settings import load_platform, tenants_for  # noqa: E402
from trainer import loader, predict  # noqa: E402
from trainer.hyperparameters import Hyperparameters  # noqa: E402
from trainer.model import train  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def workspace(folder: Path) -> Path:
    """A local prod endpoint with one version of a model trained on the census."""
    platform = load_platform()
    tenants = tenants_for(platform, "staging", local=True)
    prod = wiring.open_prod("local", str(folder), tenants)
    data = loader.load_census(split="train")
    model = train(data.frame, Hyperparameters(), data_sha256=data.sha256)
    saved = model.save(folder / "model")
    prod.registry.register(LocalStorage().copy_tree(str(saved), str(folder / "v1")), {})
    prod.endpoint.deploy("1", {"1": 100}, platform["prod"].serving_settings().rollout)
    return folder


def start(folder: Path) -> tuple[subprocess.Popen, str]:
    """`mlops serve` on a free port, ready (the tests' own helper: tests/server_process.py)."""
    sys.path.insert(0, str(ROOT / "tests"))
    import server_process

    port = server_process.free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "mlops.cli", "serve", "--workspace", str(folder)]
    proc = server_process.start([*command, "--port", str(port)], {}, f"{base}/health")
    return proc, base


def load(base: str, clients: int, requests: int, instances: list[dict]) -> list[float]:
    """Latencies (ms) of `requests` requests spread over `clients` threads."""
    per_client = requests // clients

    def client(offset: int) -> list[float]:
        times = []
        with httpx.Client(timeout=30) as http:
            for i in range(per_client):
                body = {"instances": [instances[(offset + i) % len(instances)]]}
                started = time.perf_counter()
                reply = http.post(f"{base}/predict", json=body)
                times.append((time.perf_counter() - started) * 1000)
                if reply.status_code != 200:
                    raise SystemExit(f"status {reply.status_code}: {reply.text}")
        return times

    with ThreadPoolExecutor(clients) as pool:
        return [t for times in pool.map(client, range(clients)) for t in times]


def stopped_under_load(folder: Path, instances: list[dict], how: signal.Signals) -> tuple:
    """(answers received, rows logged, exit code) when the server gets `how` mid-load."""
    proc, base = start(folder)
    before = _logged(folder)
    done, answered, lock = threading.Event(), [0], threading.Lock()

    def client(offset: int) -> None:
        with httpx.Client(timeout=10) as http:
            i = 0
            while not done.is_set():
                body = {"instances": [instances[(offset + i) % len(instances)]]}
                i += 1
                try:
                    ok = http.post(f"{base}/predict", json=body).status_code == 200
                except httpx.HTTPError:
                    continue
                if ok:
                    with lock:
                        answered[0] += 1

    with ThreadPoolExecutor(20) as pool:
        for n in range(20):
            pool.submit(client, n)
        time.sleep(3)
        proc.send_signal(how)
        proc.wait(timeout=60)
        done.set()
    return answered[0], _logged(folder) - before, proc.returncode


def _logged(folder: Path) -> int:
    path = folder / "census-ml-prod" / "request_log"
    if not request_log.exists(path):
        return 0
    with request_log.reader(path) as con:
        (n,) = con.execute("SELECT count(*) FROM request_log WHERE status = 200").fetchone() or (0,)
    return int(n)


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1]


def main() -> None:
    quick = "--quick" in sys.argv
    total = 2_000 if quick else 20_000
    instances = predict.frame_to_instances(loader.load_census(split="test").frame.head(500))
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        folder = workspace(Path(tmp))
        os.environ.pop("MLOPS_WORKSPACE", None)
        proc, base = start(folder)
        load(base, 4, 400, instances)  # warm up allocators, caches, connections
        print(f"{'clients':>7} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
        # 20 clients twice: memory that grows in the first round and not the second is
        # the thread pool and allocator warming up, not a leak
        figures: dict[str, float | int] = {}
        for clients, requests in ((1, total // 10), (20, total), (20, total)):
            rss_before = rss_kib(proc.pid) / 1024
            started = time.perf_counter()
            times = load(base, clients, requests, instances)
            seconds = time.perf_counter() - started
            rss_after = rss_kib(proc.pid) / 1024
            print(
                f"{clients:>7} {len(times):>9,} {len(times) / seconds:>8,.0f} "
                f"{statistics.median(times):>8.2f} {percentile(times, 0.99):>8.2f}"
                f"   server RSS {rss_before:.0f} -> {rss_after:.0f} MiB",
                flush=True,
            )
            figures.update(  # the second round of 20 overwrites the first: warmed up
                {
                    f"c{clients}_req_s": round(len(times) / seconds),
                    f"c{clients}_p50_ms": round(statistics.median(times), 1),
                    f"c{clients}_p99_ms": round(percentile(times, 0.99), 1),
                    f"c{clients}_rss_mib": round(rss_after),
                }
            )
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        for how in (signal.SIGTERM, signal.SIGKILL):
            answered, logged, code = stopped_under_load(folder, instances, how)
            print(
                f"{how.name} under load (20 clients): {answered:,} answers received, "
                f"{logged:,} rows logged, {max(0, answered - logged):,} lost; exit code {code}",
                flush=True,
            )
            name = how.name.lower()
            figures.update(
                {f"{name}_answered": answered, f"{name}_lost": max(0, answered - logged)}
            )
        if not quick:
            record("load", figures)


if __name__ == "__main__":
    main()
