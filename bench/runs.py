"""`mlops runs` with 1,000 recorded runs: the time a person waits for the table.

Runs the real pipeline once in a fresh workspace (its steps record the run as they do in
every run), copies that run's step records into 999 more runs (new ids and times, varied
metrics) straight into the run log's table, then times the commands as a person runs them
(a new process each: interpreter start and imports included) and the read itself in-process.
"""

from __future__ import annotations

import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from figures import record

# bench/serving.py would shadow the serving package: keep this folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import duckdb  # noqa: E402

from adapters.local.runlog import SCHEMA, TABLE, DuckDBRunLog  # noqa: E402
from kernel.workspace import LocalTenant  # noqa: E402
from pipelines import params  # noqa: E402
from pipelines.runner import run_local  # noqa: E402
from promotion.domain import runs  # noqa: E402
from settings import load_platform  # noqa: E402

RUNS, REPEATS = 1000, 5


def timed(call) -> list[float]:
    out = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        call()
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    platform = load_platform()
    built = params.build(platform, "staging", {}, local=True)
    with tempfile.TemporaryDirectory() as folder:
        workspace = Path(folder)
        result = run_local(built, workspace, out=io.StringIO())
        path = LocalTenant(workspace, built.tenants.staging_project).warehouse_path
        log = DuckDBRunLog(path)
        template = log.records()
        rows = []
        for i in range(1, RUNS):
            for r in template:
                facts = json.loads(json.dumps(r.facts))
                if r.step == "evaluate":
                    facts["metrics"]["roc_auc"] -= i * 1e-6
                at = (r.recorded_at - timedelta(hours=i)).replace(tzinfo=None)
                rows.append((f"{result.run_id}-{i:04d}", r.step, at, json.dumps(facts)))
        with duckdb.connect(str(path)) as con:
            con.execute(SCHEMA)
            con.executemany(f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?)", rows)
        recorded = runs.merge(log.records())
        facts = sum(len(runs.flatten(s)) for s in recorded[0].steps.values())
        print(
            f"{len(recorded):,} runs, {len(recorded[0].steps)} step records each "
            f"({', '.join(recorded[0].steps)}), {facts} facts per run; "
            f"database {path.stat().st_size / 1e6:.1f} MB"
        )
        db_bytes = path.stat().st_size

        def cli(*args: str) -> None:
            command = [sys.executable, "-m", "mlops.cli", *args, "--workspace", folder]
            subprocess.run(command, check=True, capture_output=True)

        figures = {
            "mlops runs": timed(lambda: cli("runs")),
            "mlops runs --json --limit 1000": timed(
                lambda: cli("runs", "--json", "--limit", "1000")
            ),
            "mlops runs compare A B": timed(
                lambda: cli("runs", "compare", recorded[0].run_id, recorded[-1].run_id)
            ),
            "mlops lineage 1": timed(lambda: cli("lineage", "1")),
            "read + merge in-process": timed(lambda: runs.merge(log.records())),
            "python -c 'import mlops.cli' (floor)": timed(
                lambda: subprocess.run([sys.executable, "-c", "import mlops.cli"], check=True)
            ),
        }
    for name, seconds in figures.items():
        print(f"{name:<40} median {statistics.median(seconds):.3f} s (of {REPEATS})")
    keys = ["runs_s", "runs_json_s", "compare_s", "lineage_s", "merge_s", "import_floor_s"]
    record(
        "runs",
        {
            "db_mb": round(db_bytes / 1e6, 1),
            **{
                k: round(statistics.median(s), 3)
                for k, s in zip(keys, figures.values(), strict=True)
            },
        },
    )
    print("target: mlops runs under 1 s with 1,000 recorded runs")


if __name__ == "__main__":
    main()
