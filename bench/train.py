"""Training wall time, peak memory and test metrics of the default model on 2 cores.

Runs `mlops train` in a fresh process per repeat (so imports and data loading count, as a
user sees them) and reports the median wall time and the peak resident memory.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from figures import record

REPEATS = 3


def main() -> None:
    walls, peaks = [], []
    for _ in range(REPEATS):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "mlops.cli", "train", "--output-dir", out],
                check=True,
                capture_output=True,
            )
            walls.append(time.perf_counter() - start)
            peaks.append(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
            metrics = json.loads((Path(out) / "metrics.json").read_text())
    print(
        f"train wall time   median {statistics.median(walls):.2f} s over {REPEATS} runs "
        f"(min {min(walls):.2f}, max {max(walls):.2f}); target < 60 s"
    )
    print(f"  of which fit+eval {metrics['train_seconds']:.2f} s (last run, in-process)")
    print(f"peak memory (RSS) {max(peaks):.0f} MiB")
    for key in ("accuracy", "roc_auc", "log_loss", "f1"):
        print(f"test {key:<9} {metrics[key]:.4f}")
    record(
        "train",
        {
            "wall_s": round(statistics.median(walls), 1),
            "fit_s": round(metrics["train_seconds"], 1),
            "peak_mib": round(max(peaks)),
            **{key: round(metrics[key], 4) for key in ("accuracy", "roc_auc", "log_loss", "f1")},
        },
    )


if __name__ == "__main__":
    main()
