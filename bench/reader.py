"""Memory of the request log's readers at 1M and 10M rows: the log is queried in place, so
a reader's peak should not grow with the log.

Builds a 1,000,000-row request log (bench/monitor.py's: census test rows resampled over two
hours, a monitoring config as the pipeline writes it), then a 10,000,000-row one (ten
Parquet segments, each with its own request ids), each with an open JSON-lines segment of
20,000 rows as a running server leaves it. For each, in a new process whose peak resident
memory is read from the kernel (wait4's ru_maxrss, through a small launcher): `mlops
monitor` as a user runs it, and the canary's per-version figures over the whole log
(`LocalServingFigures.version_stats`, what `mlops canary` reads).

Usage: python bench/reader.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from figures import record  # siblings: imported before this folder leaves the path
from monitor import build_log, configure_monitoring, mlops_monitor_command

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import duckdb  # noqa: E402
import orjson  # noqa: E402

from adapters.local import request_log  # noqa: E402
from adapters.local.warehouse import DuckDBWarehouse  # noqa: E402
from promotion.domain import statistics as stats  # noqa: E402

SCALES = (1, 10)  # millions of rows
FIGURES_SNIPPET = """
import sys
from datetime import datetime
from adapters.local.monitoring import LocalServingFigures
from kernel.workspace import LocalTenant
tenant = LocalTenant(sys.argv[1], sys.argv[2])
stats = LocalServingFigures(tenant).version_stats(datetime(2000, 1, 1), datetime(2100, 1, 1))
print(sum(s.requests for s in stats.values()))
"""


# A small launcher: a child forked from this bench (over 1 GiB after building the log)
# would count the bench's pages in its own peak until it execs.
LAUNCHER = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(proc.pid, 0)
print(f"peak-kib {usage.ru_maxrss}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def peak(command: list[str]) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in MiB, output) of one process, from the kernel's own count
    (wait4's ru_maxrss)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *command], capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if done.returncode not in (0, 3):  # 3: the monitor's alert, not a failure
        sys.exit(f"{command} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    output, _, kib = done.stdout.rpartition("peak-kib ")
    return wall, round(int(kib) / 1024), output


def grow(folder: Path, copies: int) -> None:
    """The 1M-row segment copied until the log holds `copies` million rows, each copy with
    its own request ids (the canary's figures count distinct requests)."""
    (first,) = sorted(folder.glob("*.parquet"))
    have = len(list(folder.glob("*.parquet")))
    with duckdb.connect(config={"threads": 2}) as con:
        for k in range(have, copies):
            target = folder / f"copy-{k:02d}.parquet"
            con.execute(
                f"COPY (SELECT * REPLACE (request_id || '-{k}' AS request_id) "
                f"FROM read_parquet('{first}')) TO '{target}' (FORMAT parquet)"
            )


def open_segment(folder: Path, rows: int = 20_000) -> None:
    """A JSON-lines segment as a running server leaves it (read by every reader too)."""
    with duckdb.connect() as con:
        sample = con.execute(
            f"SELECT * FROM read_parquet('{sorted(folder.glob('*.parquet'))[0]}') LIMIT {rows}"
        ).df()
    lines = []
    for row in sample.to_dict("records"):
        row["ts"] = row["ts"].timestamp()
        row["request_id"] = f"open-{row['request_id']}"
        lines.append(orjson.dumps(row, option=orjson.OPT_SERIALIZE_NUMPY))
    (folder / "open.jsonl").write_bytes(b"\n".join(lines) + b"\n")


def main() -> None:
    figures: dict[str, float | int] = {}
    with tempfile.TemporaryDirectory(prefix="bench-reader-") as tmp:
        warehouse = DuckDBWarehouse(Path(tmp) / "warehouse.duckdb")
        warehouse.ingest("train", "bundled:train")
        baseline = stats.compute(warehouse.value_counts("train"))
        workspace = Path(tmp) / "workspace"
        path = configure_monitoring(workspace, baseline)
        build_log(path)
        tenant = path.parent
        print(
            f"{'rows':>12}{'on disk':>10}{'monitor s':>11}{'peak MiB':>10}"
            f"{'canary s':>10}{'peak MiB':>10}"
        )
        for millions in SCALES:
            grow(path, millions)
            (path / "open.jsonl").unlink(missing_ok=True)
            open_segment(path)
            with request_log.reader(path) as con:
                (rows,) = con.execute(f"SELECT count(*) FROM {request_log.TABLE}").fetchone()
            size = sum(f.stat().st_size for f in path.iterdir()) / 2**20
            monitor_s, monitor_mib, _ = peak(mlops_monitor_command(workspace))
            snippet = [sys.executable, "-c", FIGURES_SNIPPET, str(workspace), tenant.name]
            canary_s, canary_mib, output = peak(snippet)
            counted = output.split()[-1]
            print(
                f"{rows:>12,}{size:>8.0f} MB{monitor_s:>11.2f}{monitor_mib:>10,}"
                f"{canary_s:>10.2f}{canary_mib:>10,}   ({int(counted):,} requests counted)",
                flush=True,
            )
            figures.update(
                {
                    f"m{millions}_rows": rows,
                    f"m{millions}_disk_mb": round(size),
                    f"m{millions}_monitor_s": round(monitor_s, 2),
                    f"m{millions}_monitor_peak_mib": monitor_mib,
                    f"m{millions}_canary_s": round(canary_s, 2),
                    f"m{millions}_canary_peak_mib": canary_mib,
                }
            )
    for reader in ("monitor", "canary"):
        ratio = figures[f"m10_{reader}_peak_mib"] / figures[f"m1_{reader}_peak_mib"]
        figures[f"{reader}_peak_ratio"] = round(ratio, 2)
        print(f"{reader}: peak at 10M rows / at 1M rows = {ratio:.2f}")
    record("reader", figures)


if __name__ == "__main__":
    main()
