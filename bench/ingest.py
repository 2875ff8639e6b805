"""Ingest speed and peak memory: the warehouse (DuckDB, the census rules in SQL) against the
Python row parser it replaced, on the census file and on 1 and 10 million resampled rows.

Each measurement runs in a fresh process (peak RSS is that process's own), three times; the
median time is printed. "Before" is trainer/loader.py as of commit BEFORE, read from git, so
both run in the same session on the same files. Usage: python bench/ingest.py [--quick]
"""

from __future__ import annotations

import gzip
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from figures import record

ROOT = Path(__file__).resolve().parent.parent
BEFORE = "956c8c9"  # the last commit with the row-by-row parser
REPEATS = 3

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
kind, path, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
# imports are a process's start-up, not ingest: both paths import before the clock starts
if kind == "warehouse":
    from adapters.local.warehouse import DuckDBWarehouse
    started = time.perf_counter()
    result = DuckDBWarehouse(work / "warehouse.duckdb").ingest("train", str(path))
    rows, bad = result.rows, result.quarantined
else:
    sys.path.insert(0, str(work))
    import loader_before
    started = time.perf_counter()
    result = loader_before.load_census(path, max_bad_fraction=1.0)
    rows, bad = len(result.frame), len(result.bad_rows)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak, "rows": rows, "bad": bad}))
"""


def census_lines() -> list[bytes]:
    data = gzip.decompress((ROOT / "trainer/census_data/adult.data.gz").read_bytes())
    return [line for line in data.split(b"\n") if line.strip()]


def synthetic(path: Path, rows: int, lines: list[bytes]) -> Path:
    rng = np.random.default_rng(0)
    with open(path, "wb") as out:
        for start in range(0, rows, 1_000_000):
            picks = rng.integers(0, len(lines), min(1_000_000, rows - start))
            out.write(b"\n".join(lines[i] for i in picks) + b"\n")
    return path


def measure(kind: str, path: Path, work: Path) -> dict:
    runs = []
    for _ in range(REPEATS):
        for old in work.glob("warehouse.duckdb*"):
            old.unlink()
        done = subprocess.run(
            [sys.executable, "-c", CHILD, kind, str(path), str(work)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    seconds = statistics.median(r["seconds"] for r in runs)
    return {**runs[0], "seconds": seconds, "peak_mb": max(r["peak_mb"] for r in runs)}


def main() -> None:
    quick = "--quick" in sys.argv
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        work = Path(tmp)
        before = subprocess.run(
            ["git", "show", f"{BEFORE}:trainer/loader.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        (work / "loader_before.py").write_text(before)
        lines = census_lines()
        files = {"census (32,561 rows)": work / "census.csv"}
        files["census (32,561 rows)"].write_bytes(b"\n".join(lines) + b"\n")
        sizes = [1_000_000] if quick else [1_000_000, 10_000_000]
        for rows in sizes:
            files[f"{rows:,} rows"] = synthetic(work / f"rows-{rows}.csv", rows, lines)
        print(f"{'file':<22} {'path':<10} {'median s':>9} {'rows/s':>12} {'peak MB':>9}")
        figures: dict[str, float | int] = {}
        for label, path in files.items():
            kinds = ["warehouse", "before"]
            if path.stat().st_size > 500_000_000:
                kinds = ["warehouse"]  # the row parser holds ~10 GB here; measured at 1M
            for kind in kinds:
                r = measure(kind, path, work)
                rate = (r["rows"] + r["bad"]) / r["seconds"]
                print(
                    f"{label:<22} {kind:<10} {r['seconds']:>9.2f} {rate:>12,.0f} "
                    f"{r['peak_mb']:>9,.0f}",
                    flush=True,
                )
                name = f"{label.split(' ')[0].replace(',', '')}_{kind}"  # census_, 1000000_
                figures[f"{name}_s"] = round(r["seconds"], 2)
                figures[f"{name}_rows_per_s"] = round(rate, -3)
                figures[f"{name}_peak_mb"] = round(r["peak_mb"])
    if not quick:
        record("ingest", figures)


if __name__ == "__main__":
    main()
