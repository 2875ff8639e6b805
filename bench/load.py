"""The local prod endpoint under load: mixed traffic at 1 and 20 concurrent clients, where
each request's time goes, memory, and rows logged against answers received when the server
is stopped (SIGTERM) or killed (SIGKILL) mid-load.

Real `mlops serve` processes on loopback, serving a model trained on the bundled census
data, side by side in one run: this tree with compiled trees, this tree with LightGBM only
(MLOPS_COMPILED_TREES=off), and the same server from an earlier commit (a git worktree;
BEFORE, the server before issue 31's latency work, unless `--before REV` names another).
Rounds alternate between the servers, so the machine's noise falls on all alike; the
second round of each is kept (the first warms allocators and caches).

Traffic is mixed as issue 31 measured it: 70% single instances, 10% ten instances, 20%
invalid (half malformed JSON, half an unknown category). Clients are threads with their own
keep-alive connection (the standard library's http.client: the lightest client, so that
the load generator, which shares the 2 cores, takes as little of them as it can). Each
answer's Server-Timing header says where the server spent its time; what the client waited
beyond it is queueing, the HTTP stack and the client itself.

Usage: python bench/load.py [--quick] [--before REV | --no-before]
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
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
HEADERS = {"Content-Type": "application/json"}
MIX = (("single", 70), ("ten", 10), ("malformed", 10), ("unknown category", 10))
EXPECTED = {"single": 200, "ten": 200, "malformed": 400, "unknown category": 400}
BEFORE = "96e4cf7"  # a thread hop per request, an fsync and a full collection on its path


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


def start(folder: Path, tree: Path = ROOT, compiled: bool = True) -> tuple[subprocess.Popen, str]:
    """`mlops serve` from `tree` on a free port, ready, its trees compiled when asked (the
    tests' own helper: tests/server_process.py)."""
    sys.path.insert(0, str(ROOT / "tests"))
    import server_process

    port = server_process.free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "mlops.cli", "serve", "--workspace", str(folder)]
    env = {"MLOPS_COMPILED_TREES": "on" if compiled else "off"}
    command += ["--port", str(port)]
    proc = server_process.start(command, env, f"{base}/health", cwd=str(tree))  # its packages
    while compiled:  # measured on the engine asked for, not while it compiles
        engines = httpx.get(f"{base}/health", timeout=30).json()["engines"]
        state = next(iter(engines.values()))["state"] if engines else "compiling"
        if state != "compiling":
            assert state == "compiled", engines
            break
        time.sleep(0.2)
    return proc, base


def bodies(instances: list[dict], count: int, seed: int) -> list[tuple[str, bytes]]:
    """`count` requests drawn from MIX, each as (kind, body)."""
    draw = random.Random(seed)
    kinds, weights = zip(*MIX, strict=True)
    out = []
    for i in range(count):
        kind = draw.choices(kinds, weights)[0]
        rows = [instances[(i + k) % len(instances)] for k in range(10 if kind == "ten" else 1)]
        if kind == "unknown category":
            rows = [dict(rows[0], workclass="Astronaut")]
        text = json.dumps({"instances": rows}).encode()
        out.append((kind, text[:-7] if kind == "malformed" else text))
    return out


def load(base: str, clients: int, requests: list[tuple[str, bytes]]) -> list[tuple]:
    """(kind, client ms, server stages {name: ms}) of every request, `clients` threads each
    sending its share over its own connection."""
    host, port = base.removeprefix("http://").split(":")
    per_client = len(requests) // clients

    def client(offset: int) -> list[tuple]:
        out = []
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            for kind, body in requests[offset * per_client : (offset + 1) * per_client]:
                started = time.perf_counter()
                connection.request("POST", "/predict", body, HEADERS)
                reply = connection.getresponse()
                reply.read()
                took = (time.perf_counter() - started) * 1000
                if reply.status != EXPECTED[kind]:
                    raise SystemExit(f"{kind}: status {reply.status}, not {EXPECTED[kind]}")
                out.append((kind, took, stages(reply.getheader("Server-Timing") or "")))
        finally:
            connection.close()
        return out

    with ThreadPoolExecutor(clients) as pool:
        return [row for rows in pool.map(client, range(clients)) for row in rows]


def stages(header: str) -> dict[str, float]:
    """`body;dur=0.041, parse;dur=0.012` -> {"body": 0.041, "parse": 0.012} (ms)."""
    out = {}
    for part in filter(None, (p.strip() for p in header.split(","))):
        name, _, duration = part.partition(";dur=")
        out[name] = float(duration) if duration else 0.0
    return out


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] if len(values) > 1 else values[0]


def summary(rows: list[tuple], seconds: float) -> dict[str, float]:
    times = [took for _, took, _ in rows]
    p50, p99 = statistics.median(times), percentile(times, 0.99)
    return {"req_s": len(rows) / seconds, "p50": p50, "p99": p99, "tail": p99 / p50}


def where_time_goes(rows: list[tuple]) -> dict[str, tuple[float, float, float]]:
    """{stage: (median ms, p99 ms, mean ms in the slowest 1% of requests)} over every
    answer, with `outside` the client's time beyond the server's stages (queueing before
    the server reads the request, HTTP, the client itself)."""
    slow = percentile([took for _, took, _ in rows], 0.99)
    spans: dict[str, list[float]] = defaultdict(list)
    tail: dict[str, list[float]] = defaultdict(list)
    for _, took, timing in rows:
        for name, ms in {**timing, "outside": took - sum(timing.values())}.items():
            spans[name].append(ms)
            if took >= slow:
                tail[name].append(ms)
    return {
        name: (statistics.median(v), percentile(v, 0.99), statistics.fmean(tail[name] or [0]))
        for name, v in spans.items()
    }


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


def worktree(rev: str, into: Path) -> Path:
    """`rev` checked out beside this tree (its server runs on this tree's packages)."""
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(into), rev],
        check=True,
        capture_output=True,
    )
    return into


def main() -> None:
    quick = "--quick" in sys.argv
    before = sys.argv[sys.argv.index("--before") + 1] if "--before" in sys.argv else BEFORE
    if "--no-before" in sys.argv:
        before = None
    total = 2_000 if quick else 20_000
    instances = predict.frame_to_instances(loader.load_census(split="test").frame.head(500))
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        folder = workspace(Path(tmp))
        os.environ.pop("MLOPS_WORKSPACE", None)
        trees = {"compiled": (ROOT, True), "LightGBM only": (ROOT, False)}
        if before:
            trees[f"before ({before})"] = (worktree(before, Path(tmp) / "before"), True)
        servers = {name: start(folder, tree, on) for name, (tree, on) in trees.items()}
        results: dict[tuple[str, int], tuple[dict, list]] = {}
        try:
            for round_ in range(2):  # the second round is kept: the first warms up
                for clients, count in ((1, total // 10), (20, total)):
                    requests = bodies(instances, count, seed=clients)
                    for name, (proc, base) in servers.items():
                        started = time.perf_counter()
                        rows = load(base, clients, requests)
                        seconds = time.perf_counter() - started
                        figures = summary(rows, seconds)
                        figures["rss"] = rss_kib(proc.pid) / 1024
                        results[name, clients] = (figures, rows)
                        if round_:
                            print(
                                f"{name:<22}{clients:>8}{len(rows):>9,}{figures['req_s']:>8,.0f}"
                                f"{figures['p50']:>8.2f}{figures['p99']:>8.2f}"
                                f"{figures['tail']:>7.1f}x   RSS {figures['rss']:.0f} MiB",
                                flush=True,
                            )
                        elif name == next(iter(servers)) and clients == 1:
                            print(
                                f"{'server':<22}{'clients':>8}{'requests':>9}{'req/s':>8}"
                                f"{'p50 ms':>8}{'p99 ms':>8}{'p99/p50':>8}",
                                flush=True,
                            )
        finally:
            for proc, _ in servers.values():
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=60)
            if before:
                subprocess.run(
                    [
                        "git",
                        "-C",
                        str(ROOT),
                        "worktree",
                        "remove",
                        "--force",
                        str(Path(tmp) / "before"),
                    ],
                    check=False,
                )
        figures: dict[str, float | int | str] = {}
        for name in servers:
            rows = results[name, 20][1]
            print(f"\n{name}, 20 clients: where the time goes (ms: median, p99, slowest 1%)")
            for stage, (median, p99, slowest) in where_time_goes(rows).items():
                print(f"  {stage:<10}{median:>8.3f}{p99:>9.3f}{slowest:>9.2f}")
            by_kind = defaultdict(list)
            for kind, took, _ in rows:
                by_kind[kind].append(took)
            print(
                "  by kind, p50 / p99 ms: "
                + "; ".join(
                    f"{kind} {statistics.median(t):.1f} / {percentile(t, 0.99):.1f}"
                    for kind, t in by_kind.items()
                )
            )
            key = {"compiled": "", "LightGBM only": "lightgbm_"}.get(name, "before_")
            for clients in (1, 20):
                measured = results[name, clients][0]
                figures.update(
                    {
                        f"{key}c{clients}_req_s": round(measured["req_s"]),
                        f"{key}c{clients}_p50_ms": round(measured["p50"], 1),
                        f"{key}c{clients}_p99_ms": round(measured["p99"], 1),
                    }
                )
            figures[f"{key}c20_tail"] = round(results[name, 20][0]["tail"], 1)
            figures[f"{key}c20_rss_mib"] = round(results[name, 20][0]["rss"])
        for stage, (median, p99, _) in where_time_goes(results["compiled", 20][1]).items():
            figures[f"stage_{stage}_p50_ms"] = round(median, 3)
            figures[f"stage_{stage}_p99_ms"] = round(p99, 2)
        if before:
            figures["before_rev"] = before
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
