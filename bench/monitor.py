"""Time to compute skew and drift for 1,000,000 logged rows against the training baseline.

Builds a request log of 1,000,000 rows (census test rows resampled, half in each of two
consecutive one-hour windows) as a Parquet segment in a local prod workspace whose monitoring
is configured as the pipeline's monitor step configures it, then times the path a user runs,
`mlops monitor` (a new process: start-up, settings, the baseline, the log read in place, the
report), and monitoring.monitor.run in-process (the counting in SQL, TFDV's statistics from
the counts and every feature's distances).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from figures import record

# bench/serving.py would shadow the serving package: keep this folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import numpy as np  # noqa: E402

from adapters import wiring  # noqa: E402
from adapters.local import request_log  # noqa: E402
from adapters.local.request_log import COLUMNS  # noqa: E402
from adapters.local.warehouse import DuckDBWarehouse  # noqa: E402
from kernel.workspace import LocalTenant  # noqa: E402
from monitoring import monitor  # noqa: E402
from promotion.domain import statistics as stats  # noqa: E402
from promotion.steps.monitor import monitoring_config  # noqa: E402
from settings import load_platform, tenants_for  # noqa: E402
from trainer import loader, schema  # noqa: E402

ROWS, REPEATS = 1_000_000, 5
END = datetime(2026, 11, 21, 12, 0)


def build_log(path: Path) -> None:
    frame = loader.load_census(split="test").frame
    rng = np.random.default_rng(0)
    sample = frame.iloc[rng.integers(0, len(frame), ROWS)].reset_index(drop=True)
    offsets = rng.uniform(0, 7200, ROWS)  # two hours before END
    sample.insert(0, "ts", [END - timedelta(seconds=float(s)) for s in offsets])
    sample.insert(1, "request_id", np.arange(ROWS).astype(str))
    sample.insert(2, "instance", 0)  # one instance a request
    sample.insert(3, "version", "1")
    sample.insert(4, "status", 200)
    sample.insert(5, "latency_ms", 1.0)
    sample.insert(6, "error", None)
    for f in schema.FEATURES:
        if f.is_categorical:
            sample[f.name] = sample[f.name].astype(object).where(sample[f.name].notna(), None)
    sample["label"] = "<=50K"
    sample["probability"] = 0.2
    sample = sample[list(COLUMNS)]
    request_log.append(path, sample)


def configure_monitoring(workspace: Path, baseline: dict) -> Path:
    """A local prod whose monitoring is set as the pipeline's monitor step sets it; the
    request log folder `mlops serve` would write."""
    import json

    platform = load_platform()
    tenants = tenants_for(platform, "staging", local=True)
    prod = wiring.open_prod("local", str(workspace), tenants)
    workspace.mkdir(parents=True, exist_ok=True)
    baseline_uri = workspace / "baseline.json"
    baseline_uri.write_text(json.dumps(baseline))
    config = monitoring_config(
        endpoint_id=tenants.endpoint_id,
        baseline_uri=str(baseline_uri),
        monitoring=platform["prod"].monitoring_settings(),
        kms_key=tenants.prod_kms_key,
    )
    prod.monitoring.apply(config)
    return LocalTenant(workspace, tenants.prod_project).request_log_path


def mlops_monitor_command(workspace: Path) -> list[str]:
    """`mlops monitor` over the last of the log's two hours, as a user runs it."""
    command = [sys.executable, "-m", "mlops.cli", "monitor", "--workspace", str(workspace)]
    return [*command, "--window", "1h", "--until", END.isoformat()]


def mlops_monitor(workspace: Path) -> float:
    """Wall seconds of `mlops monitor` as a user runs it (exit 3 is an alert, not a failure)."""
    started = time.perf_counter()
    done = subprocess.run(
        mlops_monitor_command(workspace), capture_output=True, text=True, env=os.environ
    )
    wall = time.perf_counter() - started
    if done.returncode not in (0, 3):
        sys.exit(f"mlops monitor failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return wall


def main() -> None:
    m = load_platform()["prod"].monitoring_settings()
    skew = m.thresholds("skew")
    drift = m.thresholds("drift")
    with tempfile.TemporaryDirectory() as folder:
        warehouse = DuckDBWarehouse(Path(folder) / "warehouse.duckdb")
        warehouse.ingest("train", "bundled:train")
        baseline = stats.compute(warehouse.value_counts("train"))
        workspace = Path(folder) / "workspace"
        path = configure_monitoring(workspace, baseline)
        started = time.perf_counter()
        build_log(path)
        print(f"built a request log of {ROWS:,} rows in {time.perf_counter() - started:.1f} s")
        cli = [mlops_monitor(workspace) for _ in range(REPEATS)]
        times = []
        for _ in range(REPEATS):
            t = time.perf_counter()
            results, _ = monitor.run(
                request_log=path,
                baseline=baseline,
                skew_thresholds=skew,
                drift_thresholds=drift,
                window=timedelta(hours=1),
                until=END,
                report_dir=Path(folder) / "reports",
            )
            times.append(time.perf_counter() - t)
    alerts = sum(r.alert for r in results)
    figures = {
        "cli_s": round(statistics.median(cli), 2),
        "cli_min_s": round(min(cli), 2),
        "cli_max_s": round(max(cli), 2),
        "run_s": round(statistics.median(times), 2),
        "run_min_s": round(min(times), 2),
        "run_max_s": round(max(times), 2),
        "rows": ROWS,
    }
    print(
        f"mlops monitor over {ROWS:,} logged rows (a new process, as a user runs it): median "
        f"{figures['cli_s']} s (min {figures['cli_min_s']}, max {figures['cli_max_s']}) over "
        f"{REPEATS} runs"
    )
    print(
        f"skew + drift in-process (2 windows x 14 features, {len(results)} distances, {alerts} "
        f"alerts): median {figures['run_s']} s (min {figures['run_min_s']}, max "
        f"{figures['run_max_s']}); target < 1 s"
    )
    record("monitor", figures)


if __name__ == "__main__":
    main()
